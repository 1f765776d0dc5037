"""`ignition.node_configs`, the program's stage: Outputs in, one secret Ignition text per node out."""

from __future__ import annotations

import hashlib

import pulumi
import pytest

from ignition import node_configs
from ignition.render import render_node
from infra.contracts import InstallAssets
from infra.secrets import StackSecrets
from infra.stages import ignition_input
from tests.harness import TEST_SECRETS, resolved
from tests.ignition.support import SSH_KEYS, install_off_configs, loaded_stack, okd_fixture_configs


class _NoResources(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args):
        return {}


@pytest.fixture
def mocked():
    pulumi.runtime.set_mocks(_NoResources(), project="eaf", stack="dev", preview=False)


def _configs():
    okd = okd_fixture_configs()
    secrets = StackSecrets(pull_secret=pulumi.Output.secret(TEST_SECRETS["pullSecret"]),
                           ssh_public_keys=pulumi.Output.secret(list(SSH_KEYS)))
    # A plain string, a plain Output and a secret Output: the three kinds the OKD stage hands over.
    assets = InstallAssets(master_pointer=okd.master_pointer,
                           worker_pointer=pulumi.Output.from_input(okd.worker_pointer),
                           bootstrap=pulumi.Output.secret(okd.bootstrap))
    return node_configs(ignition_input(loaded_stack("dev")), secrets.ssh_public_keys, assets)


def test_node_configs_gives_every_planned_node_its_rendered_text(mocked):
    loaded = loaded_stack("dev")
    configs = _configs()
    assert list(configs) == [n.name for n in loaded.plan.nodes], f"dev: {list(configs)}"
    for node in loaded.plan.nodes:
        text, _ = resolved(configs[node.name])
        assert text == render_node(ignition_input(loaded), node, okd_fixture_configs(), SSH_KEYS), f"dev/{node.name}"


def test_every_node_config_is_a_pulumi_secret(mocked):
    """bootstrap carries the pull secret; all carry the SSH keys, which the stack hands over as a secret."""
    for name, output in _configs().items():
        _, secret = resolved(output)
        assert secret, f"dev/{name}: Ignition text is not a Pulumi secret"


def test_the_program_boots_the_local_stack_with_exactly_these_configs(stack_runs):
    """Whole program under mocks: the machine layer gets what render_node makes (the ignitionSha256 export)."""
    run = stack_runs("local")
    loaded = loaded_stack("local")
    keys = [line for line in TEST_SECRETS["sshPublicKeys"].splitlines() if line.strip()]
    args = ignition_input(loaded)
    want = {n.name: hashlib.sha256(render_node(args, n, install_off_configs(loaded), keys).encode()).hexdigest()
            for n in loaded.plan.nodes}
    assert run.outputs["ignitionSha256"] == want, f"local: program digests {run.outputs['ignitionSha256']}"

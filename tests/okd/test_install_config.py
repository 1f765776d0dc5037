"""install-config.yaml: rendered from each stack's spec, parsed back and compared; a secret; bad input refused."""

from __future__ import annotations

import dataclasses
import ipaddress

import pulumi
import pytest
import yaml

from infra.okd import install_config as ic
from infra.plan.model import Role
from infra.spec.errors import ConfigError
from infra.spec.layering import read_stack_file
from infra.spec.load import load_spec
from infra.stages import install_input
from tests.harness import DEPLOYED_STACKS, PROJECT_DIR, TEST_SECRETS, resolved, run_stack

MANIFESTS = "okd-installer-create-manifests"


def _loaded(stack: str):
    """What the OKD stage gets for the stack."""
    own = {**read_stack_file(PROJECT_DIR, stack), **TEST_SECRETS}
    return install_input(load_spec(stack, own, PROJECT_DIR))


def _rendered(stack_runs, stack: str) -> dict:
    """The install-config the create-manifests command gets on stdin, parsed back."""
    return yaml.safe_load(stack_runs(stack).named(MANIFESTS).inputs["stdin"])


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_install_config_names_the_cluster_and_domain_of_the_stack(stack_runs, stack):
    loaded, config = _loaded(stack), _rendered(stack_runs, stack)
    assert config["metadata"]["name"] == loaded.cluster.name, f"{stack}: {config['metadata']}"
    assert config["baseDomain"] == loaded.cluster.base_domain, f"{stack}: {config['baseDomain']}"
    assert config["apiVersion"] == "v1"


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_install_config_is_platform_none(stack_runs, stack):
    assert _rendered(stack_runs, stack)["platform"] == {"none": {}}, stack


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_install_config_networks_are_the_specs(stack_runs, stack):
    loaded, networking = _loaded(stack), _rendered(stack_runs, stack)["networking"]
    okd_net = loaded.okd.networking
    assert networking["machineNetwork"] == [{"cidr": str(loaded.network.cidr)}], stack
    assert networking["clusterNetwork"] == [{"cidr": str(okd_net.cluster_network), "hostPrefix": okd_net.host_prefix}]
    assert networking["serviceNetwork"] == [str(okd_net.service_network)], stack
    assert networking["networkType"] == "OVNKubernetes", stack
    assert ipaddress.ip_network(networking["machineNetwork"][0]["cidr"]) == loaded.network.cidr


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_install_config_replicas_count_controllers_and_all_workers(stack_runs, stack):
    loaded, config = _loaded(stack), _rendered(stack_runs, stack)
    workers = len(loaded.plan.by_role(Role.WORKER)) + len(loaded.plan.by_role(Role.GPU_WORKER))
    assert config["controlPlane"]["replicas"] == len(loaded.plan.by_role(Role.CONTROLLER)) == 3, stack
    assert config["compute"][0]["replicas"] == workers, f"{stack}: workers + GPU workers = {workers}"
    assert workers == {"dev": 9, "prod-a": 4, "prod-b": 4}[stack]  # dev: 3 workers, 4 old-GPU workers, 2 GPU workers


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_install_config_carries_the_pull_secret_and_ssh_key(stack_runs, stack):
    config = _rendered(stack_runs, stack)
    assert config["pullSecret"] == TEST_SECRETS["pullSecret"], stack
    assert config["sshKey"] == TEST_SECRETS["sshPublicKeys"].strip(), stack


def test_install_config_without_workers_has_zero_compute_replicas_and_schedulable_masters():
    loaded = _loaded("prod-a")
    # A plan without any worker (the planner's own output minus the workers: the apps layer refuses such a
    # stack file while GPU apps are on, which is beside the point here).
    plan = dataclasses.replace(loaded.plan, nodes=tuple(
        n for n in loaded.plan.nodes if n.role not in (Role.WORKER, Role.GPU_WORKER)))
    no_workers = dataclasses.replace(loaded, plan=plan)
    text = ic.render(ic.template_values(no_workers), TEST_SECRETS["pullSecret"], ["ssh-ed25519 AAAAkey"])
    assert yaml.safe_load(text)["compute"][0]["replicas"] == 0
    assert ic.masters_schedulable(no_workers) is True, "a cluster without workers runs workloads on its masters"
    assert ic.check(text, no_workers) == []


def test_masters_are_not_schedulable_when_workers_exist(stack_runs):
    manifests = stack_runs("dev").named(MANIFESTS)
    assert manifests.inputs["environment"]["EAF_MASTERS_SCHEDULABLE"] == "false", manifests.urn


def test_install_config_is_a_secret_output():
    loaded = _loaded("dev")
    secrets_in = ic.StackSecrets(pull_secret=pulumi.Output.secret(TEST_SECRETS["pullSecret"]),
                                 ssh_public_keys=pulumi.Output.secret(["ssh-ed25519 AAAAkey test"]))
    text = ic.install_config(loaded, secrets_in)
    value, secret = resolved(text)
    assert secret, "the install-config holds the pull secret: it must be a secret Output"
    assert "pullSecret:" in value


def test_proxy_and_mirrors_are_rendered_when_set():
    run = run_stack("dev", overrides={"okd": {
        "proxy": {"httpProxy": "http://squid.fnal.gov:3128", "noProxy": ".fnal.gov,10.0.0.0/8"},
        "imageMirrors": [{"source": "quay.io/openshift/okd", "mirrors": ["registry.fnal.gov/okd/okd"]}]}})
    config = yaml.safe_load(run.named(MANIFESTS).inputs["stdin"])
    assert config["proxy"] == {"httpProxy": "http://squid.fnal.gov:3128", "noProxy": ".fnal.gov,10.0.0.0/8"}
    assert config["imageDigestSources"] == [{"source": "quay.io/openshift/okd",
                                             "mirrors": ["registry.fnal.gov/okd/okd"]}]


def test_install_config_has_no_proxy_or_mirrors_by_default(stack_runs):
    config = _rendered(stack_runs, "dev")
    assert "proxy" not in config and "imageDigestSources" not in config, sorted(config)


def test_check_reports_a_template_that_disagrees_with_the_spec():
    loaded = _loaded("prod-a")
    text = ic.render(ic.template_values(loaded), TEST_SECRETS["pullSecret"], ["ssh-ed25519 AAAAkey"])
    problems = ic.check(text.replace("replicas: 4", "replicas: 7"), loaded)
    assert [p.path for p in problems] == ["eaf:nodes.workers.count"], problems
    assert "compute.0.replicas is 7, the spec says 4" in problems[0].why


def _refused(stack: str, overrides=None, secrets=None) -> str:
    with pytest.raises(ConfigError) as raised:
        run_stack(stack, overrides=overrides, secrets=secrets)
    return str(raised.value)


def test_overlapping_cluster_and_machine_networks_are_refused():
    message = _refused("dev", {"okd": {"networking": {"clusterNetwork": "10.42.0.0/16"}}})
    assert "eaf:okd.networking.clusterNetwork = '10.42.0.0/16'" in message, message
    assert "overlaps eaf:network.cidr 10.42.16.0/24" in message, message


def test_a_service_network_in_ovn_reserved_space_is_refused():
    message = _refused("prod-a", {"okd": {"networking": {"serviceNetwork": "100.64.0.0/16"}}})
    assert "eaf:okd.networking.serviceNetwork" in message and "OVN-Kubernetes reserves" in message, message


def test_a_host_prefix_not_inside_the_cluster_network_is_refused():
    message = _refused("dev", {"okd": {"networking": {"clusterNetwork": "10.128.0.0/24", "hostPrefix": 23}}})
    assert "eaf:okd.networking.hostPrefix = 23" in message and "use a hostPrefix above 24" in message, message


def test_openshift_sdn_is_refused():
    message = _refused("dev", {"okd": {"networking": {"networkType": "OpenShiftSDN"}}})
    assert "eaf:okd.networking.networkType = 'OpenShiftSDN'" in message and "use OVNKubernetes" in message, message


def test_a_proxy_that_is_not_a_url_is_refused():
    message = _refused("dev", {"okd": {"proxy": {"httpsProxy": "squid.fnal.gov:3128"}}})
    assert "eaf:okd.proxy.httpsProxy = 'squid.fnal.gov:3128'" in message and "not an http:// or https:// URL" \
        in message, message


def test_a_mirror_source_with_a_tag_is_refused():
    mirror = {"source": "quay.io/openshift/okd:4.15", "mirrors": ["registry.fnal.gov/okd"]}
    message = _refused("dev", {"okd": {"imageMirrors": [mirror]}})
    assert "eaf:okd.imageMirrors[0].source = 'quay.io/openshift/okd:4.15'" in message, message


def test_a_pull_secret_that_is_not_json_is_refused_without_showing_it():
    message = _refused("dev", secrets={"pullSecret": "hunter2-not-json"})
    assert "eaf:pullSecret = '(secret, not shown)'" in message and "not JSON" in message, message
    assert "hunter2" not in message, "the message must not show the secret"


def test_a_pull_secret_without_auths_is_refused():
    message = _refused("prod-b", secrets={"pullSecret": '{"registry": "x"}'})
    assert 'needs a non-empty "auths" mapping' in message, message


def test_a_private_key_given_as_ssh_key_is_refused():
    message = _refused("dev", secrets={"sshPublicKeys": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\n"})
    assert "eaf:sshPublicKeys" in message and "it is a PRIVATE key, not a public one" in message, message
    assert "b3BlbnNzaA" not in message


def test_a_work_dir_shared_by_stacks_is_refused():
    message = _refused("dev", {"okd": {"install": {"workDir": ".work/okd"}}})
    assert "eaf:okd.install.workDir = '.work/okd'" in message and "keep {stack} in the path" in message, message


def test_missing_extra_manifests_dir_is_refused():
    message = _refused("dev", {"okd": {"install": {"extraManifests": "okd/no-such-dir"}}})
    assert "eaf:okd.install.extraManifests = 'okd/no-such-dir'" in message and "no .yaml/.yml files" in message


def test_the_trust_bundle_reaches_the_install_config_with_its_policy():
    from tests.pki import ca_certificate_pem

    run = run_stack("dev", overrides={"okd": {"additionalTrustBundle": ca_certificate_pem(),
                                              "additionalTrustBundlePolicy": "Always"}})
    config = yaml.safe_load(run.named(MANIFESTS).inputs["stdin"])
    assert config["additionalTrustBundle"] == ca_certificate_pem()
    assert config["additionalTrustBundlePolicy"] == "Always"


def test_a_trust_bundle_holding_a_private_key_is_refused_without_showing_it():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from tests.pki import ca_certificate_pem

    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    with pytest.raises(ConfigError) as error:
        run_stack("dev", overrides={"okd": {"additionalTrustBundle": ca_certificate_pem() + key}})
    message = str(error.value)
    assert "PRIVATE KEY" in message and "exposed" in message
    assert key.splitlines()[1] not in message, "the key's bytes must not be shown"


def test_an_expired_certificate_in_the_trust_bundle_is_refused():
    from tests.pki import ca_certificate_pem

    with pytest.raises(ConfigError, match="expired on"):
        run_stack("dev", overrides={"okd": {"additionalTrustBundle": ca_certificate_pem("Old CA", days=-1)}})


def test_day_two_settings_are_no_part_of_the_install_identity():
    from tests.pki import ca_certificate_pem

    base = ic.identity_hash(_loaded("dev"))
    own = {**read_stack_file(PROJECT_DIR, "dev"), **TEST_SECRETS, "okd": {
        **read_stack_file(PROJECT_DIR, "dev").get("okd", {}),
        "proxy": {"httpProxy": "http://squid.fnal.gov:3128"},
        "imageMirrors": [{"source": "quay.io/openshift/okd", "mirrors": ["registry.fnal.gov/okd/okd"]}],
        "additionalTrustBundle": ca_certificate_pem()}}
    assert ic.identity_hash(install_input(load_spec("dev", own, PROJECT_DIR))) == base

"""The install's step resources: which exist, in which order, with which triggers; what the stages hand on."""

from __future__ import annotations

import json

import pytest

from tests.harness import DEPLOYED_STACKS, TEST_SECRETS, resolved, run_stack
from tests.mock_state import STEP_TYPE as COMMAND

ORDER = ("okd-installer-fetch-installer", "okd-installer-create-manifests", "okd-installer-create-ignition-configs",
         "okd-bring-up-wait-bootstrap-complete", "okd-bring-up-approve-csrs", "okd-bring-up-wait-install-complete")
INSTALLER_COMMANDS = ORDER[:3]


def _commands(run) -> dict[str, object]:
    return {r.name: r for r in run.of_type(COMMAND) if r.name.startswith("okd-")}


def _depends_on(run, name: str) -> set[str]:
    return {run.by_urn(urn).name for urn in run.named(name).dependencies}


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_each_step_waits_for_the_one_before(stack_runs, stack):
    run = stack_runs(stack)
    for before, after in zip(ORDER, ORDER[1:], strict=False):
        assert before in _depends_on(run, after), f"{stack}: {after} must depend on {before}"


def test_bootstrap_complete_waits_for_every_vm(monkeypatch):
    import infra.libvirt

    captured = []
    original = infra.libvirt.create_machines
    monkeypatch.setattr(infra.libvirt, "create_machines", lambda *a: captured.append(original(*a)) or captured[-1])
    run = run_stack("dev")
    vms = {resource._name for resource in captured[0].domains.values()}  # noqa: SLF001 - the registered name
    # 2 load balancers, bootstrap, 3 controllers, 3 workers, 4 old-GPU workers, 2 GPU workers.
    assert len(vms) == 15, f"dev: expected 15 VMs, the machine layer made {sorted(vms)}"
    missing = vms - _depends_on(run, "okd-bring-up-wait-bootstrap-complete")
    assert not missing, f"wait-bootstrap-complete does not wait for {sorted(missing)}"


@pytest.mark.parametrize("balancer, address", [("lb-0", "10.42.16.5"), ("lb-1", "10.42.16.6")])
def test_bootstrap_leaves_each_load_balancer_after_bootstrap_complete_and_before_install_complete(
        stack_runs, balancer, address):
    run = stack_runs("dev")
    remove = run.named(f"okd-bring-up-{balancer}-remove-bootstrap")
    assert "okd-bring-up-wait-bootstrap-complete" in _depends_on(run, remove.name), remove.urn
    assert remove.name in _depends_on(run, "okd-bring-up-wait-install-complete")
    environment = remove.inputs["environment"]
    assert (environment["EAF_LB_SSH_USER"], environment["EAF_LB_HOST"]) == ("core", address), \
        f"{remove.urn}: core@ the balancer's planned address (offsets 5, 6 of 10.42.16.0/24)"


def test_node_configs_wait_for_the_installers_ignition(stack_runs):
    run = stack_runs("dev")
    ignition_users = [r for r in run.resources if "okd-installer-create-ignition-configs" in
                      {run.by_urn(u).name for u in r.dependencies} and not r.name.startswith("okd-")]
    assert ignition_users, "no machine-layer resource depends on create-ignition-configs"


def test_commands_are_children_of_their_components(stack_runs):
    run = stack_runs("dev")
    for name, command in _commands(run).items():
        parent = run.by_urn(command.parent)
        expected = "eaf:okd:Installer" if name.startswith("okd-installer-") else "eaf:okd:BringUp"
        assert parent.type == expected, f"{command.urn}: parent {parent.type}"


def test_steps_name_one_step_of_the_step_script(stack_runs):
    from infra.okd.scripts.okd_step import STEPS

    for name, command in _commands(stack_runs("prod-a")).items():
        assert command.inputs["create"] in STEPS and command.inputs["update"] in STEPS, f"{name}: {command.urn}"


def test_ignition_bundle_stdout_is_a_secret_output(stack_runs):
    command = stack_runs("dev").named("okd-installer-create-ignition-configs")
    assert "stdout" in command.additional_secret_outputs, f"{command.urn}: its stdout holds the pull secret"


def test_the_install_config_on_stdin_and_the_pull_secret_are_secret_in_the_state(stack_runs):
    command = stack_runs("dev").named("okd-installer-create-manifests")
    assert {"stdin", "redact"} <= set(command.additional_secret_outputs), command.urn
    assert command.inputs["redact"] == [TEST_SECRETS["pullSecret"]], "its progress never shows the pull secret"


def test_an_update_keeps_what_the_create_made(stack_runs):
    for name, command in _commands(stack_runs("dev")).items():
        assert command.inputs["update"] in ("keep", "read-ignition-configs", command.inputs["create"]), name


def _triggers(run) -> dict[str, object]:
    return {name: c.inputs["triggers"] for name, c in _commands(run).items()}


def _all_inputs(run) -> dict[str, object]:
    return {name: c.inputs for name, c in _commands(run).items()}


@pytest.mark.parametrize("overrides", [
    {"nodes": {"workers": {"memoryGiB": 96}}},
    {"nodes": {"gpuWorkers": {"vcpu": 60}}},
    {"apps": {"triton": {"enabled": False}}},
], ids=["worker-memory", "gpu-worker-vcpu", "app-toggle"])
def test_a_change_that_must_not_reinstall_leaves_every_install_command_unchanged(stack_runs, overrides):
    before, after = _all_inputs(stack_runs("dev")), _all_inputs(run_stack("dev", overrides=overrides))
    changed = sorted(name for name in before if before[name] != after.get(name))
    assert not changed, f"{overrides} would re-run {changed}"


def test_a_new_release_changes_every_install_trigger(stack_runs):
    before = _triggers(stack_runs("dev"))
    after = _triggers(run_stack("dev", overrides={"okd": {"release": "4.17.0-okd-scos.0"}}))
    same = sorted(name for name in before if before[name] == after[name])
    assert not same, f"a release change must replace (re-run) {same}"
    assert after["okd-installer-fetch-installer"][0] == "4.17.0-okd-scos.0"


def test_a_new_install_config_replaces_the_installer_but_not_the_download(stack_runs):
    before = _triggers(stack_runs("dev"))
    after = _triggers(run_stack("dev", overrides={"okd": {"networking": {"hostPrefix": 24}}}))
    assert before["okd-installer-fetch-installer"] == after["okd-installer-fetch-installer"]
    for name in ORDER[1:]:
        assert before[name] != after[name], f"{name}: a new install-config must make a new install"


def test_adding_a_worker_does_not_reinstall_but_approves_its_csrs(stack_runs):
    before = stack_runs("dev")
    after = run_stack("dev", overrides={"nodes": {"workers": {"count": 4, "vcpu": 12}}})  # room on the hosts
    assert _triggers(after) == _triggers(before), "scaling out must not make a new install"
    approve = after.named("okd-bring-up-approve-csrs").inputs["environment"]["EAF_EXPECTED_NODES"]
    assert "worker-3" in approve.split(","), f"the new worker's CSRs must be approved: {approve}"
    assert after.named("okd-bring-up-approve-csrs").inputs["update"] == "approve-csrs"


def test_rotating_the_pull_secret_does_not_reinstall(stack_runs):
    rotated = run_stack("dev", secrets={"pullSecret": '{"auths":{"registry.fnal.gov":{"auth":"bmV3OnRva2Vu"}}}'})
    assert _triggers(rotated) == _triggers(stack_runs("dev")), "a new pull secret is no new cluster"
    assert not any("bmV3OnRva2Vu" in json.dumps(t) for t in _triggers(rotated).values()), "no secret in a trigger"


def test_a_pre_staged_installer_does_not_reinstall(stack_runs):
    before = _triggers(stack_runs("dev"))
    run = run_stack("dev", overrides={"okd": {"install": {"installerPath": "/opt/okd/openshift-install"}}})
    assert _triggers(run) == before, "staging the same release elsewhere is no new install"
    assert run.named("okd-installer-fetch-installer").inputs["environment"]["EAF_INSTALLER_PATH"] == \
        "/opt/okd/openshift-install"


def test_fetch_uses_the_pinned_installer(stack_runs):
    from infra.catalog import versions

    fetch = stack_runs("dev").named("okd-installer-fetch-installer")
    pin = versions().release("4.15.0-0.okd-2024-03-10-010116").installer
    env = fetch.inputs["environment"]
    assert (env["EAF_INSTALLER_URL"], env["EAF_INSTALLER_SHA256"]) == (pin.url, pin.sha256), fetch.urn
    assert env["EAF_WORK_DIR"] == ".work/dev/okd"


def test_csr_approval_expects_every_cluster_node(stack_runs):
    approve = stack_runs("dev").named("okd-bring-up-approve-csrs")
    expected = approve.inputs["environment"]["EAF_EXPECTED_NODES"].split(",")
    # controllers, workers, old-GPU workers, GPU workers
    assert len(expected) == 3 + 3 + 4 + 2, f"{approve.urn}: {expected}"
    assert not any("lb" in n or "bootstrap" in n for n in expected), expected


def test_local_stack_runs_no_installer_and_exports_no_cluster_access(stack_runs):
    run = stack_runs("local")
    assert not _commands(run), f"local: {sorted(_commands(run))}"
    for key in ("apiUrl", "consoleUrl", "kubeconfig", "kubeadminPassword", "okdVersion"):
        assert key not in run.outputs, f"local exports {key}"


@pytest.mark.parametrize("stack", DEPLOYED_STACKS)
def test_cluster_access_is_exported_with_secrets_kept_secret(stack_runs, stack):
    run = stack_runs(stack)
    domain = run.outputs["apiUrl"].removeprefix("https://api.").removesuffix(":6443")
    assert domain.startswith(f"eaf-{stack}.") and domain.endswith(".fnal.gov"), run.outputs["apiUrl"]
    assert run.outputs["consoleUrl"] == f"https://console-openshift-console.apps.{domain}"
    assert run.outputs["okdVersion"] == run.outputs["okdRelease"]
    assert {"kubeconfig", "kubeadminPassword"} <= run.secret_outputs, f"{stack}: {run.secret_outputs}"
    assert f"server: https://api.{domain}:6443" in run.outputs["kubeconfig"]


def test_install_assets_hand_on_the_installers_pointers_and_bootstrap(monkeypatch):
    import infra.okd

    captured = []
    original = infra.okd.prepare_install
    monkeypatch.setattr(infra.okd, "prepare_install", lambda *a: captured.append(original(*a)) or captured[-1])
    run_stack("prod-b")
    assets = captured[0].assets
    master_text, master_secret = resolved(assets.master_pointer)
    master = json.loads(master_text)
    assert master["ignition"]["config"]["merge"] == [
        {"source": "https://api-int.eaf-prod-b.fnal.gov:22623/config/master"}], master["ignition"]["config"]
    assert not master_secret, "a pointer holds only the URL and the public CA"
    bootstrap_text, bootstrap_secret = resolved(assets.bootstrap)
    assert bootstrap_secret, "bootstrap.ign holds the pull secret: it must stay secret"
    bootstrap = json.loads(bootstrap_text)
    assert bootstrap["ignition"]["version"] == "3.2.0"

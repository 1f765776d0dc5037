"""The install's step resources: which exist, in which order, with which triggers; what the stages hand on."""

from __future__ import annotations

import base64
import json

import pytest

from tests.harness import DEPLOYED_STACKS, TEST_SECRETS, resolved, run_stack
from tests.ignition.support import loaded_stack
from tests.mock_state import STEP_TYPE as COMMAND

ORDER = ("okd-installer-fetch-installer", "okd-installer-create-manifests", "okd-installer-create-ignition-configs",
         "okd-bring-up-wait-bootstrap-complete", "okd-bring-up-approve-csrs", "okd-bring-up-wait-install-complete",
         "okd-bring-up-apply-cluster-settings")
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
    approve = json.loads(after.named("okd-bring-up-approve-csrs").inputs["environment"]["EAF_PLANNED_NODES"])
    assert "worker-3" in [n["name"] for n in approve], f"the new worker's CSRs must be approved: {approve}"
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


def test_csr_approval_is_given_every_cluster_nodes_planned_names_and_address(stack_runs):
    approve = stack_runs("dev").named("okd-bring-up-approve-csrs")
    planned = json.loads(approve.inputs["environment"]["EAF_PLANNED_NODES"])
    # controllers, workers, old-GPU workers, GPU workers
    assert len(planned) == 3 + 3 + 4 + 2, f"{approve.urn}: {planned}"
    assert not any("lb" in n["name"] or "bootstrap" in n["name"] for n in planned), planned
    worker = loaded_stack("dev").plan.node("worker-0")
    assert {"name": "worker-0", "hostname": worker.hostname, "fqdn": worker.fqdn, "ip": str(worker.ip)} in planned


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


def _settings(run) -> dict:
    """What apply-cluster-settings sets on the running cluster (its stdin)."""
    return json.loads(run.named("okd-bring-up-apply-cluster-settings").inputs["stdin"])


def _patch(run, resource: str) -> dict:
    return next(p["patch"] for p in _settings(run)["patch"] if p["resource"] == resource)


@pytest.mark.parametrize("overrides", [
    {"okd": {"proxy": {"httpProxy": "http://squid.fnal.gov:3128", "noProxy": ".fnal.gov"}}},
    {"okd": {"imageMirrors": [{"source": "quay.io/openshift/okd", "mirrors": ["registry.fnal.gov/okd/okd"]}]}},
], ids=["proxy", "mirrors"])
def test_proxy_or_mirror_changes_go_to_the_running_cluster_not_to_a_new_install(stack_runs, overrides):
    before, after = stack_runs("dev"), run_stack("dev", overrides=overrides)
    assert _triggers(after) == _triggers(before), f"{overrides} must not make a new install"
    assert _settings(after) != _settings(before), "apply-cluster-settings must carry the change"
    assert after.named("okd-bring-up-apply-cluster-settings").inputs["update"] == "apply-cluster-settings"


def _dev_with_workers(count: int):
    """dev's install input with `count` workers, no GPU workers and no worker pools (count 0: a compact cluster)."""
    from infra.spec.layering import read_stack_file
    from infra.spec.load import load_spec
    from infra.stages import install_input
    from tests.harness import PROJECT_DIR

    own = read_stack_file(PROJECT_DIR, "dev")
    nodes = {**own["nodes"], "workers": {**own["nodes"]["workers"], "count": count},
             "gpuWorkers": {**own["nodes"]["gpuWorkers"], "count": 0, "nodes": {}}, "pools": {}}
    # Apps off: the VO catalog's GPU profiles need GPU workers; the install does not look at apps.
    apps = {key: {**own["apps"].get(key, {}), "enabled": False} for key in own["apps"]}
    return install_input(load_spec("dev", {**own, **TEST_SECRETS, "nodes": nodes, "apps": apps}, PROJECT_DIR))


def test_adding_the_first_worker_to_a_compact_cluster_makes_masters_unschedulable_in_place():
    from infra.okd.cluster_settings import cluster_settings
    from infra.okd.installer import install_triggers, installer_args

    compact, grown = _dev_with_workers(0), _dev_with_workers(1)
    assert install_triggers(installer_args(grown)) == install_triggers(installer_args(compact)), \
        "the first worker must not make a new install"
    assert cluster_settings(compact).masters_schedulable is True
    assert cluster_settings(grown).masters_schedulable is False, "the Scheduler object takes the switch"


def test_removing_the_proxy_sets_its_fields_to_null_on_the_cluster(stack_runs):
    assert _patch(stack_runs("dev"), "proxies.config.openshift.io") == {"spec": {
        "httpProxy": None, "httpsProxy": None, "noProxy": None, "trustedCA": None}}


def test_the_cluster_settings_hold_the_pull_secret_as_a_secret(stack_runs):
    step = stack_runs("dev").named("okd-bring-up-apply-cluster-settings")
    assert {"stdin", "redact"} <= set(step.additional_secret_outputs), step.urn
    secret = next(o for o in _settings(stack_runs("dev"))["apply"] if o["kind"] == "Secret")
    assert secret["metadata"] == {"name": "pull-secret", "namespace": "openshift-config"}
    assert json.loads(base64.b64decode(secret["data"][".dockerconfigjson"])) == json.loads(TEST_SECRETS["pullSecret"])


def _bootstrap_vms(run) -> list[str]:
    return sorted(r.name for r in run.resources if r.type == "eaf:libvirt:ClusterNode" and r.name == "bootstrap")


def _record(run) -> dict:
    return run.outputs["okdBootstrap"]


def test_the_state_records_bootstrap_complete_for_this_install(stack_runs):
    record = _record(stack_runs("dev"))
    assert record["complete"] is True and record["vm"] == "present" and record["removeBootstrap"] == "auto"
    assert record["install"].startswith("sha256:")


def test_once_bootstrap_complete_is_recorded_the_bootstrap_vm_goes(stack_runs):
    first = stack_runs("dev")
    assert _bootstrap_vms(first), "the first up plans the bootstrap VM"
    second = run_stack("dev", previous_outputs={"okdBootstrap": _record(first)})
    assert not _bootstrap_vms(second), "the second evaluation leaves the bootstrap VM out"
    assert _record(second)["vm"] == "removed"
    assert _triggers(second) == _triggers(first), "removing the bootstrap node is no new install"


def test_a_record_of_another_install_keeps_the_bootstrap_vm(stack_runs):
    record = {**_record(stack_runs("dev")), "install": "sha256:" + "0" * 64}
    assert _bootstrap_vms(run_stack("dev", previous_outputs={"okdBootstrap": record}))


def test_manual_bootstrap_removal_keeps_the_vm_until_the_stack_turns_it_off(stack_runs):
    record = _record(stack_runs("dev"))
    run = run_stack("dev", overrides={"okd": {"install": {"removeBootstrap": "manual"}}},
                    previous_outputs={"okdBootstrap": record})
    assert _bootstrap_vms(run)


def test_infra_up_runs_a_second_pass_only_after_a_completed_bootstrap():
    from infra.cli.up import up_with_bootstrap_removal
    from infra.okd.bootstrap_retirement import second_pass_needed

    def passes(records: list[dict | None], code: int = 0) -> int:
        runs = []
        up_with_bootstrap_removal(lambda: runs.append(1) or (code, {}), lambda _env: records[len(runs) - 1],
                                  second_pass_needed)
        return len(runs)

    done = {"install": "sha256:x", "complete": True, "vm": "present", "removeBootstrap": "auto"}
    assert passes([done, {**done, "vm": "removed"}]) == 2
    assert passes([{**done, "vm": "removed"}]) == 1, "nothing left to remove"
    assert passes([{**done, "removeBootstrap": "manual"}]) == 1
    assert passes([{**done, "complete": False}]) == 1
    assert passes([done], code=1) == 1, "a failed up is not followed by another"
    assert passes([None]) == 1, "a stack without the record (local)"


def test_the_nodes_chrony_machine_configs_go_into_the_install(stack_runs):
    import yaml

    env = stack_runs("dev").named("okd-installer-create-manifests").inputs["environment"]
    manifests = {name: yaml.safe_load(text) for name, text in json.loads(env["EAF_OPENSHIFT_MANIFESTS"]).items()}
    assert sorted(manifests) == ["99-master-eaf-chrony.yaml", "99-worker-eaf-chrony.yaml"], sorted(manifests)
    assert {m["kind"] for m in manifests.values()} == {"MachineConfig"}


def test_new_ntp_servers_do_not_reinstall(stack_runs):
    after = run_stack("dev", overrides={"network": {"ntpServers": ["ntp3.fnal.gov"]}})
    assert _triggers(after) == _triggers(stack_runs("dev")), "new time servers reach the nodes via node-settings"
    assert after.named("okd-installer-create-manifests").inputs["update"] == "keep"

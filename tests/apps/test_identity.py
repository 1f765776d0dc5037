"""Identity from FERRY as the stacks deploy it: the sync CronJob and its narrow rights, the identity map's
ConfigMap, the SCC of exactly the site's UID range, and the checks of the settings."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from infra.apps import identity
from infra.apps.app import AppContext
from infra.apps.ferry.spawner_hook import HookSettings
from infra.apps.images import image
from infra.spec.errors import ConfigError
from tests.apiserver.apps_on_server import loaded_stack
from tests.apps.manifests import manifests_for, manifests_of, named
from tests.harness import run_stack

HUB = "jupyterhub"
UNITS = [{"unit": "cms", "primaryGroup": "us_cms", "vo": "cms"}]


def _identity(**settings) -> dict:
    return {"identity": {"enabled": True, "units": UNITS, **settings}}


def _manifests(**settings) -> list[dict]:
    return manifests_of(run_stack("dev", overrides={"apps": _identity(**settings)}))


def _refusal(apps: dict, secrets: dict | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", overrides={"apps": apps}, secrets=secrets)
    return str(caught.value)


def test_the_sync_runs_the_ferry_package_in_the_pinned_python_image_on_its_schedule():
    cron = named(_manifests(schedule="17 * * * *"), "CronJob", "eaf-identity-sync", HUB)
    container = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert cron["spec"]["schedule"] == "17 * * * *"
    assert container["image"] == image("ferry-sync")
    assert container["command"] == ["python", "-m", "ferry.sync", "/opt/eaf/sync-settings.json"]


def test_the_code_the_cronjob_runs_is_the_tested_package_byte_for_byte():
    data = named(_manifests(), "ConfigMap", "eaf-identity-code", HUB)["data"]
    for name in identity.FERRY_FILES:
        assert data[name] == (identity.FERRY_PACKAGE / name).read_text(encoding="utf-8"), name


def test_the_sync_reads_the_stacks_units_and_uid_range():
    data = named(_manifests(uidRange={"min": 50000, "max": 60000}), "ConfigMap", "eaf-identity-code", HUB)["data"]
    settings = json.loads(data["sync-settings.json"])
    assert settings["units"] == UNITS and settings["uidRange"] == {"min": 50000, "max": 60000}
    assert (settings["namespace"], settings["configMap"]) == (HUB, "eaf-identities")


def test_the_sync_may_only_read_and_patch_the_identity_map():
    role = named(_manifests(), "Role", "eaf-identity-sync", HUB)
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "patch"],
                              "resourceNames": ["eaf-identities"]}]


def test_pulumi_creates_the_identity_map_without_data_so_no_up_resets_what_the_sync_wrote():
    assert "data" not in named(_manifests(), "ConfigMap", "eaf-identities", HUB)


def test_the_ferry_client_certificate_is_a_secret_in_the_state():
    run = run_stack("dev", overrides={"apps": _identity()}, secrets={"ferryClientCert": "PEM-test-only"})
    secret = run.named(f"{HUB}/ferry-client-cert")
    assert secret.inputs["stringData"] == {"client.pem": "PEM-test-only"}
    assert {"data", "stringData"} <= set(secret.additional_secret_outputs), secret.urn


def test_the_scc_allows_exactly_the_sites_uid_and_gid_ranges():
    scc = named(_manifests(uidRange={"min": 50000, "max": 60000}, gidRange={"min": 5000, "max": 9999}),
                "SecurityContextConstraints", "eaf-singleuser-ferry")
    assert scc["runAsUser"] == {"type": "MustRunAsRange", "uidRangeMin": 50000, "uidRangeMax": 60000}
    assert scc["fsGroup"] == scc["supplementalGroups"] == {"type": "MustRunAs", "ranges": [{"min": 5000, "max": 9999}]}
    assert not scc["allowPrivilegedContainer"] and scc["requiredDropCapabilities"] == ["ALL"]


def test_only_the_single_user_service_account_may_use_the_scc():
    manifests = _manifests()
    role = named(manifests, "Role", "eaf-singleuser", HUB)
    binding = named(manifests, "RoleBinding", "eaf-singleuser", HUB)
    assert role["rules"] == [{"apiGroups": ["security.openshift.io"], "resources": ["securitycontextconstraints"],
                              "verbs": ["use"], "resourceNames": ["eaf-singleuser-ferry"]}]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "eaf-singleuser", "namespace": HUB}]
    assert named(manifests, "SecurityContextConstraints", "eaf-singleuser-ferry")["users"] == []


@pytest.mark.parametrize("stack", ["dev", "prod-a", "prod-b"])
def test_each_facility_stack_deploys_the_sync_and_the_scc(stack):
    manifests = manifests_for(stack)
    assert named(manifests, "CronJob", "eaf-identity-sync", HUB)
    assert named(manifests, "SecurityContextConstraints", "eaf-singleuser-ferry")


def test_the_hub_is_told_the_service_account_and_the_hooks():
    spec = loaded_stack("dev").spec
    wiring = identity.spawner_identity(AppContext(stack="dev", apps=spec.apps, plan=None, catalog=None))
    assert wiring is not None and wiring.service_account == "eaf-singleuser"
    assert wiring.env == {"PYTHONPATH": "/opt/eaf"}
    compile(wiring.hub_config, "jupyterhub_config.py", "exec")
    assert "hooks(\"/opt/eaf/hook-settings.json\")" in wiring.hub_config


def test_the_hooks_narrow_the_stacks_home_area_and_guard_its_cms_areas():
    data = named(manifests_for("dev"), "ConfigMap", "eaf-identity-code", HUB)["data"]
    settings = HookSettings.from_json(data["hook-settings.json"])
    assert (settings.home_volume, settings.home_mount_path) == ("nfs-nashome", "/nashome")
    assert settings.vo_volumes == {"nfs-uscms-home": "cms", "nfs-uscms-data": "cms"}


# -- the settings' checks ------------------------------------------------------------------------------------------


def test_ferry_is_asked_over_https_only():
    assert "ferryUrl" in _refusal(_identity(ferryUrl="http://ferry.fnal.gov:8445"))


def test_a_uid_range_upside_down_is_refused_saying_so():
    refusal = _refusal(_identity(uidRange={"min": 60000, "max": 50000}))
    assert "uidRange" in refusal and "min 60000 is above max 50000" in refusal


def test_a_unit_naming_a_vo_outside_the_catalog_is_refused_with_the_catalogs_groups():
    refusal = _refusal(_identity(units=[{"unit": "lsst", "primaryGroup": "lsst", "vo": "lsst"}]))
    assert "eaf:apps.identity.units[0].vo" in refusal and "use one of: accel-ai, astro, cms" in refusal


def test_an_experiment_area_the_storage_app_does_not_have_is_refused():
    refusal = _refusal(_identity(voAreas={"dune-data": "dune"}))
    assert "eaf:apps.identity.voAreas.dune-data" in refusal and "not an NFS area" in refusal


def test_no_unit_at_all_is_refused():
    assert "eaf:apps.identity.units" in _refusal({"identity": {"enabled": True, "units": []}})


def test_the_client_certificate_is_required_while_the_sync_is_on():
    assert "eaf:ferryClientCert" in _refusal(_identity(), secrets={"ferryClientCert": None})


def test_the_shipped_package_needs_nothing_but_the_standard_library(tmp_path):
    """As in the CronJob's image: the ConfigMap's files under <dir>/ferry, imported by an isolated interpreter
    that sees no project and no virtualenv."""
    package = tmp_path / "ferry"
    package.mkdir()
    for item in identity.code_items():
        if item["path"].startswith("ferry/"):
            (tmp_path / item["path"]).write_text((identity.FERRY_PACKAGE / item["key"]).read_text(encoding="utf-8"))
    probe = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import ferry.sync, ferry.spawner_hook"
    result = subprocess.run([sys.base_prefix + "/bin/python3", "-I", "-S", "-c", probe], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr

"""The FERRY identity app's SCC is judged by openshift/api's SCC CRD on the real API server (the positive side, every
object of dev, prod-a and prod-b, is test_apps_on_real_apiserver.py's): a built SCC is accepted as it is, and one
whose UID range is not a number is refused by the server, so the check can fail."""

from __future__ import annotations

import pytest

from infra.apps.identity import IdentitySettings, IdRange, scc
from tests.support.dryrun import submit

pytestmark = pytest.mark.real

SETTINGS = IdentitySettings.model_validate({"uidRange": {"min": 50000, "max": 60000}})


def test_the_scc_of_the_sites_uid_range_is_accepted(kube_api_client, upstream_crds_installed):
    assert submit([scc(SETTINGS, "jupyterhub")], kube_api_client) == []


def test_an_scc_whose_uid_range_is_not_a_number_is_refused_by_the_server(kube_api_client, upstream_crds_installed):
    bypassed = SETTINGS.model_copy(update={"uid_range": IdRange.model_construct(min="fifty-thousand", max=60000)})
    (rejection,) = submit([scc(bypassed, "jupyterhub")], kube_api_client)
    assert (rejection.kind, rejection.status) == ("SecurityContextConstraints", 422), rejection.message
    assert "runAsUser.uidRangeMin" in rejection.message, rejection.message

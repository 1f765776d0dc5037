# The fixtures live in tests/support so any test directory can pull in the same server.
from tests.support.apiserver import kube_api_client, kube_apiserver  # noqa: F401
from tests.support.crds import upstream_crds_installed  # noqa: F401

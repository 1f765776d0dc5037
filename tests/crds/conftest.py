# The session's kube-apiserver (tests/support/apiserver.py) and the upstream CRDs on it (tests/support/crds.py).
from tests.support.apiserver import kube_api_client, kube_apiserver  # noqa: F401
from tests.support.crds import upstream_crds_installed  # noqa: F401

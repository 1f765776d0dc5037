# The real API server of tests/support/apiserver.py, for tests/engine/test_kubernetes_plugin.py.
from tests.support.apiserver import kube_api_client, kube_apiserver  # noqa: F401

"""The notebooks' HTCondor client config, read by HTCondor's own config parser (the htcondor bindings from PyPI).

What runs here: the bindings' config reader, the same code `condor_submit` and `condor_q` use to find the pool. What
does not: no collector or schedd of CMSLPC or FermiGrid is reachable, and the PyPI wheel ships no daemons, so no job
is submitted (docs/apps.md says where it stops).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from infra.apps.htcondor import CondorPool, client_config

pytestmark = pytest.mark.real

POOL = CondorPool.model_validate({"collector": "cmslpc-cm.fnal.gov:9618",
                                  "schedds": ["lpcschedd1.fnal.gov", "lpcschedd2.fnal.gov"],
                                  "trustDomain": "cmslpc.fnal.gov"})
READ = """
import json, htcondor2
names = ["COLLECTOR_HOST", "SCHEDD_HOST", "EAF_SCHEDDS", "TRUST_DOMAIN", "SEC_CLIENT_AUTHENTICATION_METHODS",
         "SEC_TOKEN_DIRECTORY", "SEC_DEFAULT_ENCRYPTION", "UID_DOMAIN"]
print(json.dumps({name: htcondor2.param.get(name) for name in names}))
"""


def _read(config: str, tmp_path) -> subprocess.CompletedProcess:
    path = tmp_path / "condor_config"
    path.write_text(config, encoding="utf-8")
    try:
        import htcondor2  # noqa: F401
    except ImportError:
        pytest.fail("the htcondor bindings are missing from the venv: bash scripts/setup-venv.sh (requirements.lock)")
    return subprocess.run([sys.executable, "-c", READ], env={"CONDOR_CONFIG": str(path)}, capture_output=True,
                          text=True, timeout=60, check=False)


def test_htcondor_reads_the_pool_the_notebook_submits_to(tmp_path):
    result = _read(client_config("cmslpc", POOL), tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "COLLECTOR_HOST": "cmslpc-cm.fnal.gov:9618", "SCHEDD_HOST": "lpcschedd1.fnal.gov",
        "EAF_SCHEDDS": "lpcschedd1.fnal.gov, lpcschedd2.fnal.gov", "TRUST_DOMAIN": "cmslpc.fnal.gov",
        "SEC_CLIENT_AUTHENTICATION_METHODS": "IDTOKENS", "SEC_TOKEN_DIRECTORY": "/etc/condor/tokens.d",
        "SEC_DEFAULT_ENCRYPTION": "REQUIRED", "UID_DOMAIN": "fnal.gov"}


def test_htcondors_parser_refuses_a_broken_config(tmp_path):
    """The check above can fail: HTCondor's reader stops at what it cannot parse."""
    result = _read(client_config("cmslpc", POOL) + "if\n", tmp_path)
    assert result.returncode != 0 and "Configuration Error" in result.stderr, result.stderr

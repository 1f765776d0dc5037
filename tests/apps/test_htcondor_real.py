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


SUBMIT = """
import json, htcondor2
from dask_jobqueue import HTCondorCluster
cluster = HTCondorCluster(scheduler_options={"host": "127.0.0.1"}, n_workers=0)
script, submit = cluster.job_script(), " ".join(cluster._dummy_job.submit_command.split())
cluster.close()
description = htcondor2.Submit(script.split("\\n", 1)[1])  # without the #! line
print(json.dumps({"submit": submit, "description": dict(description)}))
"""


def test_a_notebooks_htcondor_cluster_writes_a_submit_description_htcondor_accepts(tmp_path):
    """dask-jobqueue (PyPI) with the mounted defaults builds the worker job; HTCondor's submit parser reads it."""
    from infra.apps.htcondor import jobqueue_config

    (tmp_path / "dask").mkdir()
    (tmp_path / "dask" / "jobqueue.yaml").write_text(jobqueue_config(POOL), encoding="utf-8")
    (tmp_path / "condor_config").write_text(client_config("cmslpc", POOL), encoding="utf-8")
    result = subprocess.run([sys.executable, "-c", SUBMIT], capture_output=True, text=True, timeout=120,
                            check=False, cwd=tmp_path, env={"DASK_CONFIG": str(tmp_path / "dask"),
                                                            "CONDOR_CONFIG": str(tmp_path / "condor_config"),
                                                            "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-3000:]
    job = json.loads(result.stdout.splitlines()[-1])
    assert job["submit"] == "condor_submit -name lpcschedd1.fnal.gov"
    description = job["description"]
    assert (description["MY.DaskWorkerCores"], description["MY.DaskWorkerMemory"]) == ("1", str(2 * 1024**3))
    assert description["MY.DaskWorkerDisk"] == str(4 * 1024**3) and description["MY.EAF_Notebook"] == "true"
    assert "distributed.cli.dask_worker tcp://127.0.0.1:" in description["Arguments"]

"""HTCondor from the notebooks: remote submission to the experiments' pools (CMSLPC, FermiGrid, ...).

The facility's notebooks are HTCondor submit clients of pools that run elsewhere: no daemon runs on the cluster.
Per pool (`eaf:apps.htcondor.pools.<name>`: its collector, schedds and trust domain) this app puts into the hub's
namespace a ConfigMap with the client configuration and a Secret with the pool's IDTOKEN. A profile of the VO catalog
that names the pool (`htcondorPool`) mounts both into its servers and sets CONDOR_CONFIG, so `condor_submit`, `condor_q`
and the htcondor Python bindings in the notebook talk to that pool, and dask-jobqueue's `HTCondorCluster()` submits
Dask workers as jobs of that pool (the talk's client-side HTCondor submission from the COFFEA-Dask notebook).

The tokens are the stack secret `eaf:htcondorTokens`: a YAML mapping of pool name to the IDTOKEN the pool's admins
issued for the facility's submit identity (one per pool, shared by the profile's users; per-user tokens would need
the pool's token issuer reachable from the hub, which the talk does not describe).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import pulumi
import yaml
from pydantic import Field

from infra.apps import objects as o
from infra.apps.app import AppBuild, AppContext, AppDefinition, ObjectGroup, SecretNeed
from infra.apps.render import render
from infra.spec.apps import AppSettings
from infra.spec.base import DnsLabel, DnsName, Strict
from infra.spec.errors import Problem

APP = "eaf-htcondor"
TOKENS_SECRET = "htcondorTokens"
CONFIG_DIR = PurePosixPath("/etc/condor")
CONFIG_FILE = "condor_config"
TOKEN_DIR = CONFIG_DIR / "tokens.d"
# dask reads every YAML file in /etc/dask: dask-jobqueue's HTCondorCluster() then needs no arguments in the notebook.
DASK_CONFIG_DIR = PurePosixPath("/etc/dask")
JOBQUEUE_FILE = "jobqueue.yaml"


class DaskWorkerJob(Strict):
    """The HTCondor job each Dask worker of a notebook's HTCondorCluster (dask-jobqueue) runs as."""

    cores: int = Field(1, gt=0)
    memory_gib: int = Field(2, alias="memoryGiB", gt=0)
    disk_gib: int = Field(4, alias="diskGiB", gt=0)


class CondorPool(Strict):
    """A pool notebooks submit to: the central manager and the schedds that accept the facility's jobs."""

    collector: str = Field(pattern=r"^[a-z0-9.-]+(:[0-9]{1,5})?$", description="host[:port] of the collector")
    schedds: tuple[DnsName, ...] = Field(min_length=1, description="schedd hosts; the first is the default")
    trust_domain: DnsName = Field(description="the pool's TRUST_DOMAIN (its tokens' issuer)")
    uid_domain: DnsName = Field("fnal.gov", description="UID_DOMAIN of the pool")
    dask_worker: DaskWorkerJob = Field(DaskWorkerJob(), description="each Dask worker's job (HTCondorCluster)")


class HtcondorSettings(AppSettings):
    enabled: bool = False
    pools: dict[DnsLabel, CondorPool] = Field({}, description="pool name -> where it is; profiles name a pool")


def config_map_name(pool: str) -> str:
    return f"htcondor-{pool}"


def token_secret_name(pool: str) -> str:
    return f"htcondor-{pool}-token"


def client_config(name: str, pool: CondorPool) -> str:
    return render("htcondor_client.conf.j2", {
        "pool": name, "collector": pool.collector, "schedd": pool.schedds[0], "schedds": ", ".join(pool.schedds),
        "uid_domain": pool.uid_domain, "trust_domain": pool.trust_domain, "token_dir": str(TOKEN_DIR),
        "config_path": str(CONFIG_DIR / CONFIG_FILE)})


def jobqueue_config(pool: CondorPool) -> str:
    """dask-jobqueue's `jobqueue.htcondor` defaults: the worker job's size, submitted to the pool's first schedd."""
    schedd = ["-name", pool.schedds[0]]
    job = pool.dask_worker
    document = {"jobqueue": {"htcondor": {
        "cores": job.cores, "memory": f"{job.memory_gib}GiB", "disk": f"{job.disk_gib}GiB",
        "submit-command-extra": schedd, "cancel-command-extra": schedd,
        "job-extra-directives": {"+EAF_Notebook": "true"}}}}
    return "# dask-jobqueue defaults of the EAF notebooks (infra/apps/htcondor.py)\n" + yaml.safe_dump(document)


def server_mounts(pool: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]:
    """(volumes, volume mounts, environment) a notebook server of a profile that names `pool` gets."""
    volumes = [{"name": "htcondor-config", "configMap": {"name": config_map_name(pool)}},
               {"name": "htcondor-token", "secret": {"secretName": token_secret_name(pool), "defaultMode": 0o400}}]
    mounts = [{"name": "htcondor-config", "mountPath": str(CONFIG_DIR / CONFIG_FILE), "subPath": CONFIG_FILE,
               "readOnly": True},
              {"name": "htcondor-token", "mountPath": str(TOKEN_DIR), "readOnly": True},
              {"name": "htcondor-config", "mountPath": str(DASK_CONFIG_DIR / JOBQUEUE_FILE), "subPath": JOBQUEUE_FILE,
               "readOnly": True}]
    return volumes, mounts, {"CONDOR_CONFIG": str(CONFIG_DIR / CONFIG_FILE)}


def _token_of(pool: str, document: str) -> str:
    tokens = yaml.safe_load(document) if document else None
    if not isinstance(tokens, dict) or not isinstance(tokens.get(pool), str) or not tokens[pool].strip():
        # The message never carries the document: it is a secret.
        raise ValueError(f"eaf:{TOKENS_SECRET} has no token for the HTCondor pool {pool!r}; set it as a YAML "
                         f"mapping of pool name to IDTOKEN: pulumi config set --secret eaf:{TOKENS_SECRET} < FILE")
    return tokens[pool].strip()


def build(context: AppContext) -> AppBuild:
    assert context.credentials is not None
    settings: HtcondorSettings = context.apps.htcondor
    namespace = context.apps.jupyterhub.namespace
    tokens = pulumi.Output.from_input(context.credentials.stack_secret(TOKENS_SECRET))
    objects = []
    for name, pool in sorted(settings.pools.items()):
        objects.append({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": o.metadata(config_map_name(name), namespace, APP, name),
                        "data": {CONFIG_FILE: client_config(name, pool), JOBQUEUE_FILE: jobqueue_config(pool)}})
        token = pulumi.Output.secret(tokens.apply(lambda document, pool_name=name: _token_of(pool_name, document)))
        objects.append({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                        "metadata": o.metadata(token_secret_name(name), namespace, APP, name),
                        "stringData": {f"{name}.token": token}})
    return AppBuild((ObjectGroup("client-config", objects),))


def problems(context: AppContext) -> list[Problem]:
    settings: HtcondorSettings = context.apps.htcondor
    found = []
    if not context.apps.jupyterhub.enabled:
        found.append(Problem("eaf:apps.htcondor.enabled", True, "the HTCondor client config is for the hub's "
                             "notebooks, and JupyterHub is off", "set eaf:apps.jupyterhub.enabled: true, or turn "
                             "eaf:apps.htcondor off"))
    if not settings.pools:
        found.append(Problem("eaf:apps.htcondor.pools", {}, "HTCondor is on but names no pool",
                             "add a pool (collector, schedds, trustDomain), or turn eaf:apps.htcondor off"))
    return found


def profile_problems(context: AppContext, pool: str | None, where: str) -> list[Problem]:
    """A profile's `htcondorPool`, checked by the hub's catalog checks."""
    if pool is None:
        return []
    settings: HtcondorSettings = context.apps.htcondor
    if not settings.enabled:
        return [Problem(f"{where}.htcondorPool", pool, "the profile submits to an HTCondor pool while "
                        "eaf:apps.htcondor is off", "set eaf:apps.htcondor.enabled: true with the pool, or drop "
                        "htcondorPool")]
    if pool not in settings.pools:
        return [Problem(f"{where}.htcondorPool", pool, "no such pool in eaf:apps.htcondor.pools",
                        f"use one of: {', '.join(sorted(settings.pools)) or '(none: add the pool)'}")]
    return []


DEFINITION = AppDefinition(
    key="htcondor", settings=HtcondorSettings, component="Htcondor", build=build, problems=problems,
    description="HTCondor submission from notebooks to the experiments' pools (client config + IDTOKEN per pool)",
    secrets=(SecretNeed(TOKENS_SECRET, "the HTCondor pools' IDTOKENs (eaf:apps.htcondor.pools)",
                        "pulumi config set --secret eaf:htcondorTokens -s {stack} < tokens.yaml "
                        "(pool name: IDTOKEN, one line each)",
                        needed=lambda apps: apps.htcondor.enabled),),
    uses_credentials=False)

"""Apps on the cluster: each one switched on/off and configured per stack (`eaf:apps.<app>`).

Only the typed shape lives here; cross-checks that need data files (the VO catalog, image pins, MIG layouts) are in
infra/apps/validate.py, and run inside `load_spec`, before any resource is registered. Every field has a default,
so a stack file without `eaf:apps` stays valid and deploys no app.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from infra.spec.base import DnsLabel, DnsName, Strict


class Range(Strict):
    """A request and its limit, as the scheduler (request) and the kernel (limit) see them."""

    request: float = Field(gt=0)
    limit: float = Field(gt=0)

    @model_validator(mode="after")
    def _request_within_limit(self) -> Range:
        if self.request > self.limit:
            raise ValueError(f"request {self.request:g} is above limit {self.limit:g}; the API server refuses such a "
                             "pod (set request <= limit)")
        return self


class Compute(Strict):
    """CPU cores and memory in GiB of one container."""

    cpu: Range
    memory_gib: Range = Field(alias="memoryGiB")


def _compute(cpu: tuple[float, float], memory_gib: tuple[float, float]) -> Compute:
    return Compute(cpu=Range(request=cpu[0], limit=cpu[1]),
                   memory_gib=Range(request=memory_gib[0], limit=memory_gib[1]))


class App(Strict):
    enabled: bool = False


# -- the VO catalog (infra/data/apps/vo-catalog.yaml; a stack may add profiles) ----------------------------------------


class Flavour(Strict):
    """A notebook environment: its image (a key of versions.yaml apps.images) and what it mounts."""

    display_name: str
    image: str = Field(description="key of infra/data/versions.yaml apps.images")
    cvmfs: tuple[DnsName, ...] = Field((), description="CVMFS repositories mounted under /cvmfs/<repo>")
    nfs: tuple[DnsLabel, ...] = Field((), description="names of eaf:apps.storage.nfs areas")


class VoGroup(Strict):
    """An OIDC group (the identity provider's group claim) a profile may be offered to."""

    display_name: str


class Profile(Strict):
    """One server option: a flavour, a size and, for GPU servers, one MIG slice."""

    slug: DnsLabel
    display_name: str
    description: str = ""
    flavour: DnsLabel
    groups: tuple[str, ...] = Field(min_length=1, description="OIDC groups this option is shown to")
    compute: Compute
    mig_profile: str | None = Field(None, description="a MIG profile, e.g. 1g.10gb -> nvidia.com/mig-1g.10gb: 1")
    default: bool = False


class VoCatalog(Strict):
    groups: dict[str, VoGroup] = Field(min_length=1)
    flavours: dict[DnsLabel, Flavour] = Field(min_length=1)
    profiles: tuple[Profile, ...] = Field(min_length=1)


# -- per app --------------------------------------------------------------------------------------------------------


class Oidc(Strict):
    """Generic OAuthenticator against the lab's identity provider. The client secret is the stack secret
    `eaf:jupyterhubOidcClientSecret`."""

    issuer: str = Field(pattern=r"^https://[^\s/]+(/[^\s]*)?$", description="https URL of the OIDC issuer")
    client_id: str = Field(min_length=1)
    username_claim: str = "preferred_username"
    groups_claim: str = Field("groups", description="claim of the userinfo that lists the user's groups")
    scopes: tuple[str, ...] = ("openid", "profile", "email")


class Culler(Strict):
    timeout_minutes: int = Field(60, ge=5, description="stop servers idle this long")
    every_minutes: int = Field(10, ge=1)
    max_age_hours: int = Field(0, ge=0, description="stop servers after this age even if busy; 0: never")


class JupyterHub(App):
    namespace: DnsLabel = "jupyterhub"
    hostname: DnsName | None = Field(None, description="default: jupyter.apps.<cluster domain>")
    oidc: Oidc | None = Field(None, description="required when enabled")
    admin_groups: tuple[str, ...] = ("eaf-admins",)
    catalog: str = Field("vo-catalog.yaml", description="file in infra/data/apps with groups, flavours, profiles")
    extra_profiles: tuple[Profile, ...] = Field((), description="profiles this stack adds to the catalog's")
    named_servers_per_user: int = Field(4, ge=1, le=10)
    home_gib: int = Field(25, alias="homeGiB", gt=0, description="persistent home, shared by a user's servers")
    home_storage_class: str | None = Field(None, description="default: the cluster's default StorageClass")
    home_access_mode: Literal["ReadWriteMany", "ReadWriteOnce"] = Field(
        "ReadWriteMany", description="ReadWriteMany lets a user's named servers share the home on any node")
    gpu_scratch_gib: int = Field(40, alias="gpuScratchGiB", gt=0, description="per-server scratch of GPU servers")
    scratch_storage_class: str | None = None
    culler: Culler = Culler()
    hub: Compute = _compute((0.5, 2), (1, 4))
    proxy: Compute = _compute((0.2, 1), (0.25, 1))
    hub_db_gib: int = Field(1, alias="hubDbGiB", gt=0)


class NfsArea(Strict):
    """An NFS export mounted into notebooks (e.g. /nashome, /uscms/home): one PV + PVC per consumer namespace."""

    name: DnsLabel
    server: DnsName
    path: str = Field(pattern=r"^/.*")
    mount_path: str = Field(pattern=r"^/.*")
    read_only: bool = False
    size_gib: int = Field(1000, alias="sizeGiB", gt=0, description="informational: NFS does not enforce it")
    mount_options: tuple[str, ...] = ("nfsvers=4.1", "hard")


class Storage(App):
    namespace: DnsLabel = "eaf-storage"
    cvmfs_repositories: tuple[DnsName, ...] = (
        "cms.cern.ch", "dune.opensciencegrid.org", "fermilab.opensciencegrid.org", "larsoft.opensciencegrid.org",
        "mu2e.opensciencegrid.org", "gm2.opensciencegrid.org", "sft.cern.ch", "unpacked.cern.ch",
        "sw.lsst.eu", "oasis.opensciencegrid.org",
    )
    cvmfs_http_proxy: str = Field("DIRECT", description="CVMFS_HTTP_PROXY, e.g. the site squid")
    cvmfs_cache_gib: int = Field(20, alias="cvmfsCacheGiB", gt=0)
    nfs: tuple[NfsArea, ...] = ()


class GpuOperator(App):
    namespace: DnsLabel = "nvidia-gpu-operator"
    nfd_namespace: DnsLabel = "openshift-nfd"
    node_name: Literal["fqdn", "hostname"] = Field(
        "hostname", description="how GPU workers' Node objects are named: ignition/node.py writes the short hostname "
                                "to /etc/hostname, and the kubelet registers under it")
    install_plan_approval: Literal["Manual", "Automatic"] = Field(
        "Manual", description="Manual: only the pinned CSV is ever installed (approved by the program's Job)")


class Monitoring(App):
    namespace: DnsLabel = "eaf-monitoring"
    grafana_hostname: DnsName | None = Field(None, description="default: grafana.apps.<cluster domain>")
    grafana: Compute = _compute((0.1, 1), (0.25, 1))


class Triton(App):
    namespace: DnsLabel = "triton"
    mig_profile: str | None = Field("3g.40gb", description="MIG slice per replica; null: one whole GPU")
    min_replicas: int = Field(1, ge=1)
    max_replicas: int = Field(4, ge=1)
    queue_latency_target_ms: float = Field(50, gt=0, description="average queue time per request to scale at")
    requests_per_second_per_replica: float = Field(100, gt=0, description="throughput one replica serves")
    keda_namespace: DnsLabel = "keda"
    install_plan_approval: Literal["Manual", "Automatic"] = "Manual"
    model_repository_gib: int = Field(100, alias="modelRepositoryGiB", gt=0)
    model_repository_storage_class: str | None = None
    compute: Compute = _compute((2, 8), (8, 32))

    @model_validator(mode="after")
    def _min_within_max(self) -> Triton:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas {self.min_replicas} is above maxReplicas {self.max_replicas}")
        return self


class GroupLimits(Strict):
    """What one user of a group may hold in one Dask cluster."""

    max_cores: float = Field(gt=0)
    max_memory_gib: float = Field(alias="maxMemoryGiB", gt=0)
    max_workers: int = Field(gt=0)


class DaskGateway(App):
    namespace: DnsLabel = "dask-gateway"
    flavour: DnsLabel = Field("coffea-dask", description="VO catalog flavour of schedulers and workers: its image, "
                                                       "CVMFS repositories and NFS areas")
    idle_timeout_minutes: int = Field(30, ge=1, description="shut down clusters without a client this long")
    scheduler: Compute = _compute((0.5, 1), (2, 4))
    worker: Compute = _compute((1, 2), (4, 8))
    default_limits: GroupLimits = Field(GroupLimits(max_cores=16, max_memory_gib=64, max_workers=8),
                                        description="for users in none of groupLimits' groups")
    group_limits: dict[str, GroupLimits] = Field(
        {"cms": GroupLimits(max_cores=200, max_memory_gib=800, max_workers=100),
         "accel-ai": GroupLimits(max_cores=64, max_memory_gib=256, max_workers=32)},
        description="per VO group (a user in several gets the largest)")
    controller: Compute = _compute((0.1, 0.5), (0.25, 1))
    api: Compute = _compute((0.2, 1), (0.5, 2))
    proxy: Compute = _compute((0.2, 1), (0.25, 1))


class Keycloak(App):
    """Keycloak for the apps that need OIDC roles (MLflow); users log in through the lab's identity provider,
    brokered by the realm (client secret at the lab's IdP: the stack secret `eaf:keycloakUpstreamClientSecret`)."""

    namespace: DnsLabel = "keycloak"
    hostname: DnsName | None = Field(None, description="default: keycloak.apps.<cluster domain>")
    realm: DnsLabel = "eaf"
    upstream: Oidc | None = Field(None, description="the lab's identity provider; required when enabled")
    db_gib: int = Field(10, alias="dbGiB", gt=0)
    db_storage_class: str | None = None
    compute: Compute = _compute((0.5, 2), (1, 2))


class Mlflow(App):
    namespace: DnsLabel = "mlflow"
    hostname: DnsName | None = Field(None, description="default: mlflow.apps.<cluster domain>")
    allowed_groups: tuple[str, ...] = Field(("cms", "dune", "fife", "astro", "accel-ai"),
                                            description="VO groups allowed in (Keycloak groups from the IdP claim)")
    artifacts_gib: int = Field(200, alias="artifactsGiB", gt=0)
    artifacts_storage_class: str | None = None
    db_gib: int = Field(20, alias="dbGiB", gt=0)
    db_storage_class: str | None = None
    compute: Compute = _compute((0.5, 2), (1, 4))


class Apps(Strict):
    gpu_operator: GpuOperator = Field(GpuOperator(), description="NVIDIA GPU operator + NFD, MIG per node")
    jupyterhub: JupyterHub = JupyterHub()
    dask_gateway: DaskGateway = DaskGateway()
    triton: Triton = Triton()
    mlflow: Mlflow = Mlflow()
    keycloak: Keycloak = Keycloak()
    monitoring: Monitoring = Monitoring()
    storage: Storage = Storage()

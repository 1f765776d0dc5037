"""What an app of the facility is: its definition, the context its checks and build see, what it builds.

Each app module (infra/apps/<app>.py) declares one AppDefinition; infra/apps/registry.py lists the modules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from infra.apps.charts import ChartRelease
from infra.plan.model import ClusterPlan
from infra.spec.apps import AppSettings, VoCatalog
from infra.spec.errors import Problem

if TYPE_CHECKING:
    import pulumi

class Credentials(Protocol):
    """The apps' internal credentials (infra.apps.credentials); placeholders where nothing is deployed."""

    def derived(self, purpose: str, length: int = 64) -> pulumi.Input[str]: ...

    def stack_secret(self, name: str) -> pulumi.Input[str]: ...


@dataclass(frozen=True)
class SecretNeed:
    """A stack secret an app needs while it is enabled."""

    key: str  # eaf:<key>
    why: str
    fix: str  # the command that sets it; `{stack}` is replaced
    needed: Callable[[Any], bool] = lambda _apps: True  # given the Apps settings: e.g. only when a feature is on


@dataclass(frozen=True)
class OidcClient:
    """A confidential OIDC client an app needs at the facility's Keycloak realm."""

    client_id: str
    redirect_uris: tuple[str, ...]
    secret: Any  # pulumi.Input[str]


@dataclass(frozen=True)
class AppContext:
    """What an app's checks and build see: every app's settings, the machine plan, the VO catalog."""

    stack: str
    apps: Any  # the Apps model below (typed by the registry, so any app reads any other's settings)
    plan: ClusterPlan | None  # None only for checks while the plan itself has problems
    catalog: VoCatalog | None  # None when the catalog file has problems (reported by the hub's checks)
    catalog_problems: tuple[Problem, ...] = ()
    credentials: Credentials | None = None  # set for builds


@dataclass(frozen=True)
class ObjectGroup:
    """Manifests registered together. Each waits for the groups of the same app named in `after` (and, when it is
    namespaced, for its namespace if the apps layer creates it). `patch`: server-side-apply a patch to an object
    that exists already (node labels)."""

    name: str
    manifests: list[dict[str, Any]]
    after: tuple[str, ...] = ()
    patch: bool = False


@dataclass(frozen=True)
class AppBuild:
    groups: tuple[ObjectGroup, ...]
    # Upstream Helm charts, each rendered by the provider plugin into its own objects (infra/apps/charts.py). The
    # charts wait for the app's `namespaces` group; a group that names "charts" in its `after` waits for them.
    charts: tuple[ChartRelease, ...] = ()
    exports: dict[str, str] = field(default_factory=dict)  # stack output `apps`: name -> URL or address
    outputs: dict[str, Any] = field(default_factory=dict)  # the component's registered outputs

    @property
    def manifests(self) -> list[dict[str, Any]]:
        return [m for group in self.groups for m in group.manifests]


@dataclass(frozen=True)
class AppDefinition:
    key: str  # attribute of Apps, e.g. "dask_gateway" (config key eaf:apps.daskGateway)
    settings: type[AppSettings]
    description: str
    component: str  # ComponentResource type eaf:apps:<component>
    build: Callable[[AppContext], AppBuild]
    problems: Callable[[AppContext], list[Problem]] = lambda _context: []
    secrets: tuple[SecretNeed, ...] = ()
    oidc_clients: Callable[[AppContext], tuple[OidcClient, ...]] = lambda _context: ()  # at Keycloak
    charts: tuple[str, ...] = ()  # keys of versions.yaml apps.charts it deploys (their source is checked up front)
    mounts_storage: bool = False  # its pods mount CVMFS/NFS: the storage app puts claims into its namespace
    uses_credentials: bool = True  # derives internal credentials from eaf:appsSecretKey
    @property
    def config_key(self) -> str:
        return self.settings.model_config["alias_generator"](self.key)  # type: ignore[operator]

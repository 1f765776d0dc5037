"""The typed building blocks of the apps' settings: compute sizes, the VO catalog, OIDC.

Each app's own settings model lives in its module (infra/apps/<app>.py) and the `Apps` model of the spec is made
from them by the app registry (infra/apps/registry.py). Every field has a default, so a stack file without
`eaf:apps` stays valid and deploys no app.
"""

from __future__ import annotations

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


def compute(cpu: tuple[float, float], memory_gib: tuple[float, float]) -> Compute:
    """A Compute from (request, limit) pairs: the apps' defaults."""
    return Compute(cpu=Range(request=cpu[0], limit=cpu[1]),
                   memory_gib=Range(request=memory_gib[0], limit=memory_gib[1]))


class AppSettings(Strict):
    """What every app's settings have (each app module adds its own fields: infra/apps/<app>.py)."""

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
    htcondor_pool: DnsLabel | None = Field(None, description="an eaf:apps.htcondor pool its servers submit to")
    default: bool = False


class VoCatalog(Strict):
    groups: dict[str, VoGroup] = Field(min_length=1)
    flavours: dict[DnsLabel, Flavour] = Field(min_length=1)
    profiles: tuple[Profile, ...] = Field(min_length=1)



# -- shared by several apps ------------------------------------------------------------------------------


class Oidc(Strict):
    """Generic OAuthenticator against the lab's identity provider. The client secret is the stack secret
    `eaf:jupyterhubOidcClientSecret`."""

    issuer: str = Field(pattern=r"^https://[^\s/]+(/[^\s]*)?$", description="https URL of the OIDC issuer")
    client_id: str = Field(min_length=1)
    username_claim: str = "preferred_username"
    groups_claim: str = Field("groups", description="claim of the userinfo that lists the user's groups")
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    jwks_url: str | None = Field(None, pattern=r"^https://[^\s/]+(/[^\s]*)?$",
                                 description="https URL of the issuer's signing keys (JWKS), e.g. PingFederate's "
                                 "<issuer>/pf/JWKS: a broker (Keycloak) checks the ID tokens' signatures with them")

"""Cross-checks of the apps' settings against the data files and the machine plan, run by `load_spec`.

Pydantic has already checked each field's shape (and request <= limit); this adds what needs more context: which
VO groups exist, which MIG slices the stack's GPU workers are cut into, which images are pinned, which app secrets
are set. Every problem is reported at once, before any resource is registered.
"""

from __future__ import annotations

from collections.abc import Set

from infra.apps import catalog as vo_catalog
from infra.apps.credentials import APPS_SECRET_KEY, JUPYTERHUB_OIDC_SECRET, KEYCLOAK_UPSTREAM_SECRET
from infra.apps.images import image_problems, pinned_images
from infra.catalog import mig_data
from infra.plan import mig
from infra.plan.model import ClusterPlan, Role
from infra.spec.apps import Apps, Storage
from infra.spec.errors import Problem


def available_mig_profiles(plan: ClusterPlan | None) -> dict[str, int]:
    """MIG profile -> how many slices of it the stack's GPU workers offer in total."""
    offered: dict[str, int] = {}
    for node in plan.by_role(Role.GPU_WORKER) if plan is not None else ():
        if node.mig_layout is None:
            continue
        for profile, count in mig.instances_per_gpu(node.mig_layout, mig_data()).items():
            offered[profile] = offered.get(profile, 0) + count * len(node.gpus)
    return dict(sorted(offered.items()))


def _secret_problems(apps: Apps, present: Set[str], stack: str) -> list[Problem]:
    needed = []
    if any(getattr(app, "enabled", False) for _, app in apps):
        needed.append((APPS_SECRET_KEY, "the apps' internal credentials are derived from it",
                       "openssl rand -hex 32 | pulumi config set --secret eaf:appsSecretKey -s " + stack))
    if apps.keycloak.enabled:
        needed.append((KEYCLOAK_UPSTREAM_SECRET, "Keycloak's client secret at the lab's identity provider",
                       f"pulumi config set --secret eaf:{KEYCLOAK_UPSTREAM_SECRET} -s {stack} < FILE"))
    if apps.jupyterhub.enabled:
        needed.append((JUPYTERHUB_OIDC_SECRET, "JupyterHub's OIDC client secret (eaf:apps.jupyterhub.oidc)",
                       f"pulumi config set --secret eaf:{JUPYTERHUB_OIDC_SECRET} -s {stack} < FILE"))
    return [Problem(f"eaf:{key}", None, f"required secret is missing: {why}", fix)
            for key, why, fix in needed if key not in present]


def _mount_problems(storage: Storage, flavours: dict, where: str) -> list[Problem]:
    problems = []
    nfs_names = {area.name for area in storage.nfs}
    for name, flavour in sorted(flavours.items()):
        if (flavour.cvmfs or flavour.nfs) and not storage.enabled:
            problems.append(Problem(f"{where}flavours.{name}", name, "mounts CVMFS/NFS but eaf:apps.storage is off",
                                    "set eaf:apps.storage.enabled: true"))
            continue
        for repo in flavour.cvmfs:
            if repo not in storage.cvmfs_repositories:
                problems.append(Problem(f"{where}flavours.{name}.cvmfs", repo,
                                        "CVMFS repository not in eaf:apps.storage.cvmfsRepositories",
                                        f"add it there, or use one of: {', '.join(storage.cvmfs_repositories)}"))
        for area in flavour.nfs:
            if area not in nfs_names:
                problems.append(Problem(f"{where}flavours.{name}.nfs", area,
                                        "no such NFS area in eaf:apps.storage.nfs",
                                        f"add an area named {area!r} there, or use one of: "
                                        f"{', '.join(sorted(nfs_names)) or '(none configured)'}"))
    return problems


def jupyterhub_problems(apps: Apps, plan: ClusterPlan | None) -> list[Problem]:
    hub = apps.jupyterhub
    problems = []
    if hub.oidc is None:
        problems.append(Problem("eaf:apps.jupyterhub.oidc", None, "JupyterHub needs an OIDC identity provider",
                                "set oidc: {issuer: https://..., clientId: ...}"))
    catalog, more = vo_catalog.load_catalog(hub.catalog)
    problems += more
    if catalog is None:
        return problems
    where = f"infra/data/apps/{hub.catalog}:"
    problems += _mount_problems(apps.storage, catalog.flavours, where)
    images = pinned_images()
    for name, flavour in sorted(catalog.flavours.items()):
        if flavour.image not in images:
            problems.append(Problem(f"{where}flavours.{name}.image", flavour.image,
                                    "no such image key in infra/data/versions.yaml apps.images",
                                    f"pin the image there, or use one of: {', '.join(sorted(images))}"))
    offered = available_mig_profiles(plan)
    seen: set[str] = set()
    profiles = vo_catalog.offered_profiles(catalog, hub)
    for index, profile in enumerate(profiles):
        own = index >= len(catalog.profiles)
        at = (f"eaf:apps.jupyterhub.extraProfiles[{index - len(catalog.profiles)}]" if own
              else f"{where}profiles[{index}]")
        if profile.slug in seen:
            problems.append(Problem(f"{at}.slug", profile.slug, "two profiles with the same slug",
                                    "give each profile its own slug"))
        seen.add(profile.slug)
        for group in profile.groups:
            if group not in catalog.groups:
                problems.append(Problem(f"{at}.groups", group, f"unknown VO group in profile {profile.slug!r}",
                                        f"use one of: {', '.join(sorted(catalog.groups))}, or add the group to "
                                        f"infra/data/apps/{hub.catalog}"))
        if profile.flavour not in catalog.flavours:
            problems.append(Problem(f"{at}.flavour", profile.flavour, "no such flavour",
                                    f"use one of: {', '.join(sorted(catalog.flavours))}"))
        if profile.mig_profile is not None:
            if not apps.gpu_operator.enabled:
                problems.append(Problem(f"{at}.migProfile", profile.mig_profile,
                                        "GPU profile while eaf:apps.gpuOperator is off: no MIG slice is advertised",
                                        "set eaf:apps.gpuOperator.enabled: true, or drop the GPU profile"))
            elif profile.mig_profile not in offered:
                problems.append(Problem(f"{at}.migProfile", profile.mig_profile,
                                        "no GPU worker of this stack is cut into this MIG slice",
                                        f"use one of: {', '.join(offered) or '(no MIG slices: no GPU workers)'}"))
    if sum(p.default for p in profiles) > 1:
        problems.append(Problem(f"{where}profiles", [p.slug for p in profiles if p.default],
                                "more than one default profile", "mark one profile `default: true`"))
    return problems


def dask_gateway_problems(apps: Apps) -> list[Problem]:
    gateway = apps.dask_gateway
    if not apps.jupyterhub.enabled:
        return [Problem("eaf:apps.daskGateway.enabled", True, "Dask Gateway authenticates users through JupyterHub",
                        "set eaf:apps.jupyterhub.enabled: true, or turn the gateway off")]
    problems = []
    catalog, _ = vo_catalog.load_catalog(apps.jupyterhub.catalog)
    known = sorted(catalog.groups) if catalog is not None else []
    if catalog is not None and gateway.flavour not in catalog.flavours:
        problems.append(Problem("eaf:apps.daskGateway.flavour", gateway.flavour, "no such flavour in the VO catalog",
                                f"use one of: {', '.join(sorted(catalog.flavours))}"))
    for group in sorted(gateway.group_limits):
        if catalog is not None and group not in catalog.groups:
            problems.append(Problem(f"eaf:apps.daskGateway.groupLimits.{group}", group, "unknown VO group",
                                    f"use one of: {', '.join(known)}"))
    return problems


def keycloak_problems(apps: Apps) -> list[Problem]:
    problems = []
    if apps.mlflow.enabled and not apps.keycloak.enabled:
        problems.append(Problem("eaf:apps.mlflow.enabled", True, "MLflow is reached only through Keycloak login",
                                "set eaf:apps.keycloak.enabled: true"))
    if apps.keycloak.enabled and apps.keycloak.upstream is None:
        problems.append(Problem("eaf:apps.keycloak.upstream", None, "the realm brokers logins to the lab's identity "
                                "provider, which is not set", "set upstream: {issuer: https://..., clientId: ...}"))
    catalog, more = vo_catalog.load_catalog(apps.jupyterhub.catalog)
    if catalog is None:
        return problems + more
    for group in apps.mlflow.allowed_groups if apps.mlflow.enabled else ():
        if group not in catalog.groups:
            problems.append(Problem("eaf:apps.mlflow.allowedGroups", group, "unknown VO group",
                                    f"use one of: {', '.join(sorted(catalog.groups))}"))
    return problems


def app_problems(apps: Apps, plan: ClusterPlan | None, present_secrets: Set[str] | None, stack: str) -> list[Problem]:
    """Everything wrong with the stack's apps settings (empty when all apps are off)."""
    enabled = [name for name, app in apps if getattr(app, "enabled", False)]
    if not enabled:
        return []
    problems = []
    problems += image_problems(pinned_images())
    if present_secrets is not None:  # None: a tool outside the engine that reads no secret
        problems += _secret_problems(apps, present_secrets, stack)
    if apps.jupyterhub.enabled:
        problems += jupyterhub_problems(apps, plan)
    if apps.dask_gateway.enabled:
        problems += dask_gateway_problems(apps)
    if apps.keycloak.enabled or apps.mlflow.enabled:
        problems += keycloak_problems(apps)
    offered = available_mig_profiles(plan)
    if apps.gpu_operator.enabled and plan is not None and not plan.by_role(Role.GPU_WORKER):
        problems.append(Problem("eaf:apps.gpuOperator.enabled", True, "the stack has no GPU workers",
                                "turn it off, or add eaf:nodes.gpuWorkers"))
    triton = apps.triton
    if triton.enabled and triton.mig_profile is not None:
        if not apps.gpu_operator.enabled:
            problems.append(Problem("eaf:apps.triton.migProfile", triton.mig_profile,
                                    "needs the GPU operator to advertise MIG slices",
                                    "set eaf:apps.gpuOperator.enabled: true"))
        elif plan is not None and triton.mig_profile not in offered:
            problems.append(Problem("eaf:apps.triton.migProfile", triton.mig_profile,
                                    "no GPU worker of this stack is cut into this MIG slice",
                                    f"use one of: {', '.join(offered) or '(none)'}"))
        elif plan is not None and triton.max_replicas > offered[triton.mig_profile]:
            problems.append(Problem("eaf:apps.triton.maxReplicas", triton.max_replicas,
                                    f"only {offered[triton.mig_profile]} {triton.mig_profile} slice(s) exist",
                                    f"set maxReplicas <= {offered[triton.mig_profile]}"))
    if not problems and plan is not None:
        problems += _manifest_problems(apps, plan)
    return problems


def _manifest_problems(apps: Apps, plan: ClusterPlan) -> list[Problem]:
    """Build the manifests (secrets as placeholders) and check them as the API server would, before anything exists."""
    from infra.apps.build import PlaceholderCredentials, build_apps
    from infra.apps.checks import manifest_problems

    return manifest_problems(build_apps(apps, plan, PlaceholderCredentials()).manifests)

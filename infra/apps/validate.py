"""Cross-checks of the apps' settings against the data files and the machine plan, run by `load_spec`.

Pydantic has already checked each field's shape (and request <= limit); this adds what needs more context, each app
its own (its module's `problems`), plus what every app shares: pinned images and the secrets the enabled apps need.
Every problem is reported at once, before any resource is registered.
"""

from __future__ import annotations

from collections.abc import Set

from infra.apps import charts, images, olm, storage, tls
from infra.apps.app import AppContext, Credentials, SecretNeed
from infra.apps.catalog import load_catalog
from infra.apps.credentials import APPS_SECRET_KEY
from infra.plan.model import ClusterPlan
from infra.spec.errors import Problem

APPS_KEY_NEED = SecretNeed(APPS_SECRET_KEY, "the apps' internal credentials are derived from it",
                           "openssl rand -hex 32 | pulumi config set --secret eaf:appsSecretKey -s {stack}")


def app_context(stack: str, apps, plan: ClusterPlan | None, credentials: Credentials | None = None) -> AppContext:
    # The VO catalog is the facility's, named by the hub's settings; read once, shared by every app that uses it.
    catalog, problems = load_catalog(apps.jupyterhub.catalog)
    return AppContext(stack=stack, apps=apps, plan=plan, catalog=catalog, catalog_problems=problems,
                      credentials=credentials)


def app_problems(apps, plan: ClusterPlan | None, present_secrets: Set[str] | None, stack: str) -> list[Problem]:
    """Everything wrong with the stack's apps settings (empty when all apps are off). `present_secrets` None: a
    tool outside the engine that reads no secret."""
    enabled = apps.enabled()
    if not enabled:
        return []
    problems = images.image_problems(images.pinned_images()) + olm.catalog_problems()
    problems += storage.claim_problems(apps) + tls.hostname_problems(apps, plan)
    if present_secrets is not None:
        needs = [*([APPS_KEY_NEED] if any(d.uses_credentials for d in enabled) else []),
                 *(need for d in enabled for need in d.secrets)]
        problems += [Problem(f"eaf:{need.key}", None, f"required secret is missing: {need.why}",
                             need.fix.replace("{stack}", stack))
                     for need in needs if need.needed(apps) and need.key not in present_secrets]
    problems += charts.source_problems(apps.charts, tuple(name for d in enabled for name in d.charts))
    context = app_context(stack, apps, plan)
    for definition in enabled:
        problems += definition.problems(context)
    return problems

"""The app registry: the facility's apps, one module each, and the spec's `Apps` model made from them.

An app module defines its settings model (`eaf:apps.<key>`), the cross-checks of those settings against the rest of
the stack, and what it builds: ordered groups of plain manifests (infra/apps/app.py says what a definition holds).
Everything else is shared: the `Apps` model below (one field per app), the secrets each app needs and the checks
(infra/apps/validate.py), one build of every enabled app before anything is registered and the registration, one
ComponentResource per app (infra/apps/deploy.py).

Adding an app: a new module under infra/apps/ with its DEFINITION, its name in MODULES below, its data, its tests.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from pydantic import Field, create_model

from infra.apps.app import AppDefinition
from infra.apps.charts import ChartSource
from infra.spec.base import Strict

# In build order: an app may read the settings of any other (they are all validated first), never its build.
MODULES = ("node_settings", "monitoring", "gpu_operator", "jupyterhub", "dask_gateway", "triton", "keycloak", "mlflow",
           "storage", "htcondor", "tls", "identity")


@cache
def definitions() -> tuple[AppDefinition, ...]:
    return tuple(importlib.import_module(f"infra.apps.{name}").DEFINITION for name in MODULES)


def app_secret_keys() -> tuple[str, ...]:
    """Every stack secret an app may need (`eaf:<key>`): the apps' shared key first, then each app's own."""
    from infra.apps.credentials import APPS_SECRET_KEY

    own = [need.key for d in definitions() for need in d.secrets]
    return (APPS_SECRET_KEY, *dict.fromkeys(own))


class AppsBase(Strict):
    charts: ChartSource = Field(ChartSource(), description="where the apps' Helm charts come from")

    def enabled(self) -> tuple[AppDefinition, ...]:
        """The definitions of the apps this stack switches on, in build order."""
        return tuple(d for d in definitions() if getattr(self, d.key).enabled)


def _apps_model() -> type[AppsBase]:
    fields: dict[str, Any] = {d.key: (d.settings, Field(d.settings(), description=d.description))
                              for d in definitions()}
    return create_model("Apps", __base__=AppsBase, __doc__="Apps on the cluster, each switched on/off and "
                        "configured per stack (`eaf:apps.<app>`).", **fields)


Apps = _apps_model()

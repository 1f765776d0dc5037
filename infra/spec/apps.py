"""Apps on the cluster: each one switched on/off and configured per stack.

The apps layer owns the detailed settings of each app; this module only holds their typed shape.
"""

from __future__ import annotations

from pydantic import Field

from infra.spec.base import Strict


class App(Strict):
    enabled: bool = False


class Apps(Strict):
    gpu_operator: App = Field(App(), description="NVIDIA GPU operator + Node Feature Discovery, MIG per node")
    jupyterhub: App = App()
    dask_gateway: App = App()
    triton: App = App()
    mlflow: App = App()
    keycloak: App = App()
    monitoring: App = App()
    storage: App = App()

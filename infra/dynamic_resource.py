"""Dynamic resources whose provider is serialized once per provider class, not once per resource.

pulumi.dynamic.Resource pickles its provider object with dill for every resource it registers (about 5 ms each:
half the machine layer's evaluation at 200 workers). The project's providers keep no state on `self` (their
methods read everything from the inputs), so a provider's serialized form depends on its class only: it is made
once and handed on as the SDK would (a secret `__provider` input). tests/test_dynamic_resource.py proves the
cached text equals what the SDK itself serializes.
"""

from __future__ import annotations

from functools import cache

import pulumi
from pulumi.dynamic import Resource, ResourceProvider
from pulumi.dynamic.dynamic import PROVIDER_KEY, serialize_provider

# The type every Python dynamic resource has unless its class names one (`module=`, `name=`); state written
# before the project's resources had names still uses it, so a named class aliases it.
GENERIC_DYNAMIC_TYPE = "pulumi-python:dynamic:Resource"


def generic_type_alias(opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """`opts` plus an alias to the generic dynamic type: an object registered under it keeps its state."""
    alias = pulumi.Alias(type_=GENERIC_DYNAMIC_TYPE)
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[alias]))


@cache
def serialized(provider_class: type[ResourceProvider]) -> str:
    return serialize_provider(provider_class())


class StatelessProviderResource(Resource):
    """A dynamic resource of a provider class that keeps no state: its provider is serialized once per class."""

    def __init__(self, provider: ResourceProvider, name: str, props: dict[str, object],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        if vars(provider):
            raise TypeError(f"{type(provider).__name__} keeps state on self; it must be serialized per resource")
        if PROVIDER_KEY in props:
            raise ValueError(f"a dynamic resource must not define the {PROVIDER_KEY} input")
        inputs = {**props, PROVIDER_KEY: pulumi.Output.secret(serialized(type(provider)))}
        pulumi.CustomResource.__init__(self, f"pulumi-python:{self._resource_type_name}", name, inputs, opts)

"""Run the whole program for a stack under Pulumi mocks and hand tests what it registered.

Every layer is tested the same way: `run_stack("dev")` returns a `StackRun` with each registered resource's type,
name, inputs, parent, dependencies and options, plus the stack outputs, all resolved.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings

from infra.paths import PROJECT_DIR
from infra.spec.layering import deep_merge, read_stack_file

STACKS = ("dev", "prod-a", "prod-b", "local")
DEPLOYED_STACKS = ("dev", "prod-a", "prod-b")

# Test-only secret values: never real credentials. The pull secret is the fake one OKD's docs give.
TEST_SECRETS = {
    "pullSecret": '{"auths":{"fake":{"auth":"aWQ6cGFzcwo="}}}',
    # A real ed25519 public key (OpenSSH parses it); its private half was never kept.
    "sshPublicKeys": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE/HdsxKi6pBQdL/4s35kj1Q/cJDCDQ5T02q6xMlT/9W eaf-test\n",
    # The apps layer (infra/apps): the key its internal credentials derive from, and its OIDC client secrets.
    "appsSecretKey": "test-only-apps-key-0000000000000000000000000000000000000000000000000",
    "jupyterhubOidcClientSecret": "test-only-oidc-client-secret",
    "keycloakUpstreamClientSecret": "test-only-keycloak-upstream-secret",
    # Not a certificate: the sync only mounts it; FERRY would refuse it.
    "ferryClientCert": "test-only-ferry-client-pem",
}

# Per resource type: a function from inputs to the extra state a real provider would report (outputs).
StateHook = Callable[[str, dict[str, Any]], dict[str, Any]]
STATE_HOOKS: dict[str, StateHook] = {}


def state_hook(resource_type: str) -> Callable[[StateHook], StateHook]:
    """Register what the mocks answer for a resource type (e.g. a command's stdout)."""

    def register(hook: StateHook) -> StateHook:
        STATE_HOOKS[resource_type] = hook
        return hook

    return register


# After state_hook exists (the module registers through it): the mock answers of the OKD install's commands.
import tests.mock_state  # noqa: F401, E402


@dataclass(frozen=True)
class Registered:
    type: str
    name: str
    urn: str
    custom: bool
    inputs: dict[str, Any]
    parent: str
    dependencies: tuple[str, ...]
    provider: str
    protect: bool
    ignore_changes: tuple[str, ...]
    delete_before_replace: bool
    replace_on_changes: tuple[str, ...]
    additional_secret_outputs: tuple[str, ...]


@dataclass
class StackRun:
    stack: str
    resources: list[Registered] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    logs: list[str] = field(default_factory=list)

    def of_type(self, resource_type: str) -> list[Registered]:
        return [r for r in self.resources if r.type == resource_type]

    def named(self, name: str) -> Registered:
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, f"{self.stack}: expected one resource named {name!r}, found {[r.urn for r in found]}"
        return found[0]

    def by_urn(self, urn: str) -> Registered:
        return next(r for r in self.resources if r.urn == urn)

    def children_of(self, urn: str) -> list[Registered]:
        return [r for r in self.resources if r.parent == urn]

    def types(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.resources:
            counts[r.type] = counts.get(r.type, 0) + 1
        return dict(sorted(counts.items()))


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self, previous_outputs: Mapping[str, Any] | None = None):
        self.previous_outputs = dict(previous_outputs or {})

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        hook = STATE_HOOKS.get(args.typ)
        state = dict(args.inputs)
        if hook is not None:
            state.update(hook(args.name, dict(args.inputs)))
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "pulumi:pulumi:readStackOutputs":  # the stack's outputs of its last update
            return {"name": args.args.get("name"), "outputs": self.previous_outputs, "secretOutputNames": []}
        return {}


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """The stock mock monitor (set_mocks takes one), also keeping what tests need about every registration."""

    def __init__(self, mocks: pulumi.runtime.Mocks, run: StackRun):
        super().__init__(mocks)
        self.run = run

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs, _ = rpc.deserialize_properties_unwrap_secrets(request.object, keep_unknowns=True)
            self.run.resources.append(Registered(
                type=request.type, name=request.name, urn=response.urn, custom=bool(request.custom),
                inputs=inputs, parent=request.parent, dependencies=tuple(request.dependencies),
                provider=request.provider, protect=bool(request.protect),
                ignore_changes=tuple(request.ignoreChanges), delete_before_replace=bool(request.deleteBeforeReplace),
                replace_on_changes=tuple(request.replaceOnChanges),
                additional_secret_outputs=tuple(request.additionalSecretOutputs),
            ))
        return response


def resolved(value: pulumi.Input[Any]) -> tuple[Any, bool]:
    """An Output's value and whether it is secret, the way `pulumi.runtime.test` awaits what a test returns."""
    found: dict[str, Any] = {}

    def body() -> pulumi.Output[None]:
        output = pulumi.Output.from_input(value)
        secret = pulumi.Output.from_input(output.is_secret())
        return pulumi.Output.all(output, secret).apply(lambda both: found.update(value=both[0], secret=both[1]))

    pulumi.runtime.test(body)()
    return found["value"], found["secret"]


def stack_config(stack: str, overrides: Mapping[str, Any] | None = None,
                 secrets: Mapping[str, str | None] | None = None) -> tuple[dict[str, str], list[str]]:
    """The config the engine would hand the program for `stack`: the stack file, overrides, test secrets. Overrides
    reach the program as plain (not secret) config, as `pulumi config set` without --secret would put them."""
    own: dict[str, Any] = read_stack_file(PROJECT_DIR, stack)
    if overrides:
        own = deep_merge(own, copy.deepcopy(dict(overrides)))
    chosen = {**TEST_SECRETS, **(secrets or {})}
    config = {f"eaf:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in own.items()}
    secret_keys = []
    for key, value in chosen.items():
        if value is not None and not (overrides and key in overrides):
            config[f"eaf:{key}"] = value
            secret_keys.append(f"eaf:{key}")
    return config, secret_keys


def run_stack(stack: str, overrides: Mapping[str, Any] | None = None,
              secrets: Mapping[str, str | None] | None = None, preview: bool = False,
              previous_outputs: Mapping[str, Any] | None = None) -> StackRun:
    """Run `infra.program.main` for `stack` under mocks. Exceptions of the program (e.g. ConfigError) propagate.
    `previous_outputs`: the stack outputs of the last update, as the engine reports them to the program."""
    from infra import program

    run = StackRun(stack)
    # A fresh root Stack resource per run: set_mocks keeps an existing one, and with it the previous run's outputs.
    settings.reset_options()
    mocks = _Mocks(previous_outputs)
    pulumi.runtime.set_mocks(mocks, project="eaf", stack=stack, preview=preview,
                             monitor=_RecordingMonitor(mocks, run))
    config, secret_keys = stack_config(stack, overrides, secrets)
    pulumi.runtime.set_all_config(config, secret_keys)

    failure: list[BaseException] = []

    def body() -> pulumi.Output[None] | None:
        try:
            program.main()
        except BaseException as error:  # noqa: BLE001 - handed back to the caller below
            failure.append(error)
            return None
        # The stack's exports, resolved, and which of them are secret: awaited by pulumi.runtime.test.
        root = settings.get_root_resource()
        exports = {key: pulumi.Output.from_input(value) for key, value in sorted((root.outputs or {}).items())}
        secret = {key: pulumi.Output.from_input(output.is_secret()) for key, output in exports.items()}
        return pulumi.Output.all(pulumi.Output.all(**exports), pulumi.Output.all(**secret)).apply(
            lambda both: _record_outputs(run, *both))

    pulumi.runtime.test(body)()
    if failure:
        raise failure[0]
    # The engine gets registrations in the order the program's coroutines run; tests read them by URN.
    run.resources.sort(key=lambda r: r.urn)
    return run


_UNMODIFIED_RUNS: dict[str, StackRun] = {}


def unmodified_run(stack: str) -> StackRun:
    """The run of `stack` as its stack file stands, made once per test process and shared by every read-only test
    (the `stack_runs` fixture, `tests.apps.manifests.run_for`): a whole-stack run costs about a second of CPU, and
    dozens of tests read the same four. Tests must not change what it holds; one that needs a run of its own (a
    determinism check, a monkeypatched layer, overrides) calls `run_stack`."""
    if stack not in _UNMODIFIED_RUNS:
        _UNMODIFIED_RUNS[stack] = run_stack(stack)
    return _UNMODIFIED_RUNS[stack]


def _record_outputs(run: StackRun, values: dict[str, Any], secret: dict[str, bool]) -> None:
    run.outputs.update(values)
    run.secret_outputs.update(key for key, is_secret in secret.items() if is_secret)

"""One field at a time, every stack: each leaf (and each list and mapping) of the layered config, replaced by a
wrong-typed, out-of-range, empty, huge or unicode value, ends in a validated stack or a ConfigError that names the
field, is short, and shows no secret, never a traceback. Every mutation of every node is checked against
`load_spec`; a sample of them (two per top-level key) runs the whole program under mocks, to prove nothing is
registered before the error, and a few that load_spec accepts run it to the end, to prove none is refused late.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

from infra.paths import PROJECT_DIR
from infra.spec.errors import ConfigError
from infra.spec.layering import layer, read_stack_file
from infra.spec.load import load_spec
from infra.spec.secrecy import PUBLIC, looks_secret
from tests.harness import STACKS, TEST_SECRETS, run_stack

HUGE_STRING = 100_000
HUGE_LIST = 500  # entries; tests/spec/test_huge_inputs.py goes to 100 000
MAX_MESSAGE = 20_000  # characters: a message a person can read, whatever the input
SECRETS = [v for v in TEST_SECRETS.values() if v not in PUBLIC]
REFUSED_PER_KEY = 2  # refused mutations per top-level key that run the whole program under mocks (~0.1 s each)
ACCEPTED_RUNS = 1  # accepted mutations per stack that run the whole program (up to ~5 s of CPU with the apps)


@dataclass(frozen=True)
class Mutation:
    path: tuple[str | int, ...]
    kind: str
    value: Any

    @property
    def field(self) -> str:
        text = "eaf:"
        for i, part in enumerate(self.path):
            text += f"[{part}]" if isinstance(part, int) else ("" if i == 0 else ".") + str(part)
        return text

    @property
    def secret(self) -> bool:
        return any(isinstance(p, str) and looks_secret(p) for p in self.path)


def _values_for(value: Any) -> list[tuple[str, Any]]:
    """(kind, replacement) for a config node of this type."""
    if isinstance(value, bool):
        return [("wrong-type", "maybe"), ("out-of-range", 2), ("unicode", "tru\u200be")]
    if isinstance(value, int | float):
        return [("wrong-type", "three"), ("out-of-range", -1), ("huge", 10**18), ("empty", ""),
                ("unicode", f"{value}\u00a0")]
    if isinstance(value, str):
        return [("wrong-type", {"not": "text"}), ("empty", ""), ("huge", "x" * HUGE_STRING),
                ("unicode", value[:1] + "\u200b" + value[1:]), ("wrong-type", [value])]
    if isinstance(value, list):
        return [("wrong-type", "not-a-list"), ("empty", []),
                ("huge", [copy.deepcopy(value[0]) for _ in range(HUGE_LIST)] if value else ["x"] * HUGE_LIST),
                ("wrong-type", [None])]
    if isinstance(value, dict):
        return [("wrong-type", "not-a-mapping"), ("empty", {}), ("wrong-type", [value]),
                ("unicode", {**value, "unknown\u200bKey": 1})]
    return []


def _nodes(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nodes(item, (*path, index))


@cache
def _own_config(stack: str) -> dict[str, Any]:
    own = read_stack_file(PROJECT_DIR, stack)
    merged = layer(stack, PROJECT_DIR, own).merged
    if "baseline" in own:
        merged["baseline"] = own["baseline"]
    return {**merged, **TEST_SECRETS}


def own_config(stack: str) -> dict[str, Any]:
    """The stack's layered config (baseline merged in, the baseline key kept) with the test secrets."""
    return copy.deepcopy(_own_config(stack))


def mutations(stack: str) -> list[Mutation]:
    """Every node of the config with every mutation its type has."""
    found = []
    for key, value in own_config(stack).items():
        if key == "baseline":
            continue
        for path, node in _nodes(value, (key,)):
            found += [Mutation(path, kind, replacement) for kind, replacement in _values_for(node)]
    return found


def mutated(stack: str, mutation: Mutation) -> dict[str, Any]:
    """The config with one node replaced; only the containers on the way to it are copied."""
    config = dict(_own_config(stack))
    target: Any = config
    for part in mutation.path[:-1]:
        child = target[part]
        target[part] = dict(child) if isinstance(child, dict) else list(child)
        target = target[part]
    target[mutation.path[-1]] = mutation.value
    return config


def check_message(mutation: Mutation, message: str, problems) -> None:
    where = f"{mutation.field} ({mutation.kind})"
    assert "Traceback" not in message, where
    assert len(message) < MAX_MESSAGE, f"{where}: {len(message)} characters"
    named = mutation.field in message or any(p.path.startswith(mutation.field) for p in problems) or any(
        mutation.field.startswith(p.path) and repr(mutation.value)[:40] in message for p in problems)
    assert named, f"{where}: the field is not named:\n{message}"
    for secret in SECRETS:
        assert secret.strip() not in message, f"{where}: a secret value is in the message"
    if mutation.secret and isinstance(mutation.value, str) and len(mutation.value) >= 8:
        assert mutation.value not in message, f"{where}: the mutated secret is in the message"
    assert "\u200b" not in message and "\u00a0" not in message, f"{where}: an invisible character is shown raw"


def _loaded(stack: str, mutation: Mutation) -> ConfigError | None:
    """The ConfigError load_spec raises for the mutated config, None when it accepts it."""
    try:
        load_spec(stack, mutated(stack, mutation), PROJECT_DIR, secret_keys=set(TEST_SECRETS))
    except ConfigError as error:
        return error
    return None


@pytest.mark.parametrize("stack", STACKS)
def test_every_field_of_the_stack_mutated_ends_in_a_stack_or_a_named_config_error(stack: str):
    accepted_wrong_types = []
    started = time.process_time()
    cases = mutations(stack)
    refused = 0
    for mutation in cases:
        error = _loaded(stack, mutation)
        if error is not None:
            check_message(mutation, str(error), error.problems)
            refused += 1
        elif mutation.kind in ("wrong-type", "unicode"):
            accepted_wrong_types.append(f"{mutation.field} ({mutation.kind})")
    assert not accepted_wrong_types, f"{stack}: wrong-typed or invisible values accepted at {accepted_wrong_types}"
    nodes = len({m.path for m in cases})
    assert nodes > 40 and len(cases) > 3 * nodes, f"{stack}: {len(cases)} mutations of {nodes} nodes"
    assert refused > 0.8 * len(cases), f"{stack}: only {refused} of {len(cases)} mutations refused"
    elapsed = time.process_time() - started  # CPU time: the wall clock of a shared CI runner says little
    assert elapsed < 20, f"{stack}: {len(cases)} mutations took {elapsed:.1f} s of CPU"


def _program_sample(stack: str) -> tuple[list[Mutation], list[Mutation]]:
    """(refused, accepted), seeded by the stack's name so a failure repeats. Refused: per top-level key, up to
    REFUSED_PER_KEY wrong-typed or invisible-character mutations (the test above proves load_spec refuses every one).
    Accepted: ACCEPTED_RUNS mutations load_spec accepts. An emptied mapping is left out of both: the harness merges
    overrides over the stack file, where an empty mapping changes nothing."""
    chooser = random.Random(f"eaf-{stack}")
    every = mutations(stack)
    by_key: dict[str, list[Mutation]] = {}
    for mutation in every:
        if mutation.kind in ("wrong-type", "unicode"):
            by_key.setdefault(str(mutation.path[0]), []).append(mutation)
    refused = [m for group in by_key.values() for m in chooser.sample(group, min(REFUSED_PER_KEY, len(group)))]
    others = [m for m in every if m.kind in ("huge", "empty", "out-of-range") and m.value != {}]
    accepted = []
    for mutation in chooser.sample(others, len(others)):
        if len(accepted) == ACCEPTED_RUNS:
            break
        if _loaded(stack, mutation) is None:
            accepted.append(mutation)
    return refused, accepted


@pytest.fixture
def registrations(monkeypatch) -> list:
    """The resources each run of the program registers, including runs that fail."""
    from tests import harness

    runs: list = []
    original = harness._RecordingMonitor.__init__

    def keep(self, mocks, run):
        original(self, mocks, run)
        runs.append(run)

    monkeypatch.setattr(harness._RecordingMonitor, "__init__", keep)
    return runs


def _run(stack: str, mutation: Mutation) -> None:
    config = mutated(stack, mutation)
    overrides = {k: v for k, v in config.items() if k not in TEST_SECRETS}
    run_stack(stack, overrides=overrides, secrets={k: config[k] for k in TEST_SECRETS})


@pytest.mark.parametrize("stack", STACKS)
def test_the_program_registers_nothing_before_a_mutation_is_refused(stack: str, registrations):
    refused, _ = _program_sample(stack)
    assert len(refused) >= 10, f"{stack}: {len(refused)} refused mutations sampled"
    for mutation in refused:
        registrations.clear()
        with pytest.raises(ConfigError) as raised:
            _run(stack, mutation)
        check_message(mutation, str(raised.value), raised.value.problems)
        registered = [r.urn for run in registrations for r in run.resources]
        assert registered == [], f"{mutation.field} ({mutation.kind}): registered {registered[:5]} before the error"


@pytest.mark.parametrize("stack", STACKS)
def test_a_mutation_the_loader_accepts_is_not_refused_later(stack: str, registrations):
    """What load_spec accepts, the program builds: a problem found halfway through registering is caught late."""
    _, accepted = _program_sample(stack)
    assert accepted, f"{stack}: no accepted mutation found to run"
    for mutation in accepted:
        registrations.clear()
        _run(stack, mutation)
        assert [r for run in registrations for r in run.resources], f"{mutation.field} ({mutation.kind})"

"""Shared fixtures: whole-stack runs under mocks, cached per stack for the read-only tests; and what keeps the tier
fast (the collector tuned as for an evaluation, real-only modules not imported when the real tiers are left out)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.harness import unmodified_run

# A module whose every test is a real tier says so at the top level (tests/*/test_*_real.py and the like).
_REAL_MODULE = re.compile(r"^pytestmark\s*=\s*(\[[^\]\n]*)?pytest\.mark\.real\b", re.MULTILINE)


def _leaves_out_real(config: pytest.Config) -> bool:
    return config.getoption("markexpr", "").replace(" ", "") == "notreal"


def _real_only(module: Path) -> bool:
    return bool(_REAL_MODULE.search(module.read_text(encoding="utf-8")))


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With `-m "not real"` (scripts/test.sh --unit) a module marked real as a whole is not imported, nor a
    directory holding only such modules (nor so its conftest): every test there would be deselected anyway, and
    importing them costs the unit tier seconds per worker (the Kubernetes client, whole-stack runs made for their
    parameters)."""
    if not _leaves_out_real(config):
        return None
    if collection_path.is_dir():
        modules = list(collection_path.rglob("test_*.py"))
        return True if modules and all(_real_only(m) for m in modules) else None
    if collection_path.suffix == ".py" and collection_path.name.startswith("test_") and _real_only(collection_path):
        return True
    return None


def pytest_collection_finish(session: pytest.Session) -> None:
    """The collector tuned as for an evaluation (infra.program.prepare_process): what collection loaded lives for
    the whole session, and each whole-stack run makes tens of thousands of short-lived objects."""
    from infra.program import prepare_process

    prepare_process()


@pytest.fixture(autouse=True)
def _siblings_validated_afresh_after_a_monkeypatch(request: pytest.FixtureRequest):
    """A sibling stack's validation is cached per process while its files stand (infra.spec.siblings); a test that
    monkeypatches what validation reads (the pins, a builder) must not leave its verdict to the tests after it."""
    yield
    if "monkeypatch" in request.fixturenames:
        from infra.spec import siblings

        siblings._loaded.clear()  # noqa: SLF001 - the process-wide cache a patched test may have filled


@pytest.fixture(scope="session")
def stack_runs():
    """`stack_runs("dev")`: the mock run of an unmodified stack, made once per test process."""
    return unmodified_run

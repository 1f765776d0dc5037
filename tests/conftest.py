"""Shared fixtures: whole-stack runs under mocks, cached per stack for the read-only tests."""

from __future__ import annotations

import pytest

from tests.harness import run_stack

_RUNS: dict[str, object] = {}


@pytest.fixture(scope="session")
def stack_runs():
    """`stack_runs("dev")`: the mock run of an unmodified stack, made once per session."""

    def get(stack: str):
        if stack not in _RUNS:
            _RUNS[stack] = run_stack(stack)
        return _RUNS[stack]

    return get

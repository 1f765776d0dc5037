"""Fixtures for the provider tests: a cleanup ledger that deletes whatever a test created, newest first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


class Ledger:
    """What a test created through the providers; `created` also returns the CreateResult."""

    def __init__(self) -> None:
        self.entries: list[tuple[Any, str, dict[str, Any]]] = []

    def create(self, provider, props: dict[str, Any]):
        result = provider.create(props)
        self.entries.append((provider, result.id, {**props, **result.outs}))
        return result

    def forget(self, resource_id: str) -> None:
        self.entries = [e for e in self.entries if e[1] != resource_id]

    def clean(self) -> list[str]:
        problems = []
        for provider, resource_id, outs in reversed(self.entries):
            try:
                provider.delete(resource_id, {**outs, "protected": False})
            except Exception as error:  # noqa: BLE001 - keep deleting the rest; the test reports every failure
                problems.append(f"{type(error).__name__}: {error}")
        self.entries.clear()
        return problems


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    book = Ledger()
    try:
        yield book
    finally:
        problems = book.clean()
        assert not problems, f"cleanup failed: {problems}"

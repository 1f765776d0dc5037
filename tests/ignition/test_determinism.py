"""Same config, same bytes: previews must not churn."""

from __future__ import annotations

import pytest

from ignition.document import deterministic_gzip, gzip_data_url
from ignition.render import render_stack
from infra.stages import ignition_input
from tests.harness import STACKS
from tests.ignition.support import SSH_KEYS, loaded_stack, okd_fixture_configs


@pytest.mark.parametrize("stack", STACKS)
def test_rendering_a_stack_twice_gives_identical_texts(stack):
    loaded = loaded_stack(stack)
    first = render_stack(ignition_input(loaded), okd_fixture_configs(), SSH_KEYS)
    second = render_stack(ignition_input(loaded), okd_fixture_configs(), SSH_KEYS)
    assert first == second, f"{stack}: differs in {[n for n in first if first[n] != second.get(n)]}"


def test_gzip_output_carries_no_timestamp():
    blob = deterministic_gzip(b"hello")
    assert blob[4:8] == b"\x00\x00\x00\x00", f"gzip MTIME field is {blob[4:8].hex()}"


def test_gzip_data_url_is_a_pure_function_of_its_input():
    assert gzip_data_url(b"x" * 1000) == gzip_data_url(b"x" * 1000)

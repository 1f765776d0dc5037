"""The multi-host tier's site (tests/multihost/lab.py), started once for the tier's modules and torn down after."""

from __future__ import annotations

import time

import pytest

from tests.multihost.lab import Lab, LabError
from tests.multihost.project import missing_engine_or_probe

TIMINGS: dict[str, float] = {}
_STARTED: list[float] = []


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    problem = missing_engine_or_probe()
    if problem:
        pytest.fail(problem)
    _STARTED.append(time.monotonic())
    site = Lab(tmp_path_factory.mktemp("multihost") / "lab")
    try:
        site.start()
    except LabError as error:
        site.stop()
        pytest.fail(f"the multi-host site did not start: {error}", pytrace=False)
    TIMINGS.update(site.timings)
    yield site
    started = time.monotonic()
    forced = site.stop()
    TIMINGS["lab stop"] = time.monotonic() - started
    # A clean run destroys its stacks itself: whatever the teardown had to remove is a defect of the tier.
    assert not forced, f"left behind on the hypervisors (removed by the teardown): {forced}"


def pytest_terminal_summary(terminalreporter):
    if not TIMINGS:
        return
    terminalreporter.section("multi-host tier timings")
    for step, seconds in TIMINGS.items():
        terminalreporter.write_line(f"{seconds:7.1f} s  {step}")
    if _STARTED:
        terminalreporter.write_line(f"{time.monotonic() - _STARTED[0]:7.1f} s  whole tier (until this summary)")

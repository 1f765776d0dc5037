"""GPU workers: the kernel arguments a passthrough GPU needs (data in ignition/data/gpu-worker.yaml)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

# `kernelArguments` arrived in Ignition spec 3.3.0. Only GPU workers use it; every other node stays at OKD's 3.2.0.
# FCOS 39 / SCOS Ignition and Debian's ignition-validate read 3.3.0, and a 3.3.0 config may merge OKD's 3.2.0
# pointer (Ignition translates referenced configs up to its own version).
KERNEL_ARGUMENTS_SPEC = "3.3.0"

_DATA = Path(__file__).parent / "data" / "gpu-worker.yaml"


@cache
def gpu_kernel_arguments() -> tuple[str, ...]:
    with open(_DATA, encoding="utf-8") as handle:
        return tuple(yaml.safe_load(handle)["kernelArguments"])

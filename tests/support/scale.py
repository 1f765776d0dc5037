"""Generated large stacks for the benchmark (scripts/bench.py) and the scale tests: prod-a's config with many workers.

`scaled(workers, gpu_workers)` gives the overrides of a 4-host stack: 3 plain hosts and one GPU host with one A100
per GPU worker, room for every node, a /22 machine network, GPU workers' addresses far above the workers'.
"""

from __future__ import annotations

from typing import Any

GPU_BUSES = [f"{bus:02x}" for bus in range(0x10, 0xff)]


def _host(name: str, gpus: int = 0) -> dict[str, Any]:
    host: dict[str, Any] = {
        "name": name, "uri": f"qemu+ssh://root@{name}.fnal.gov/system", "cpus": 4000, "memoryGiB": 16000,
        "pool": {"name": "eaf-scale", "path": "/var/lib/libvirt/eaf-scale", "capacityGiB": 1_000_000}}
    if gpus:
        host["gpus"] = [{"address": f"0000:{bus}:00.0", "model": "A100-80GB"} for bus in GPU_BUSES[:gpus]]
    return host


def scaled(workers: int, gpu_workers: int = 10) -> dict[str, Any]:
    """Overrides of prod-a: `workers` workers and `gpu_workers` GPU workers (one GPU each) on 4 hosts."""
    hosts = [_host(f"scale-hv{i:02d}") for i in range(1, 4)] + [_host("scale-gpu01", gpus=gpu_workers)]
    overrides: dict[str, Any] = {
        "hosts": hosts,
        "network": {"cidr": "10.42.32.0/22", "gateway": "10.42.32.1", "offsets": {"gpuWorkers": 600}},
        "nodes": {"workers": {"count": workers, "vcpu": 4, "memoryGiB": 16, "diskGiB": 100},
                  "gpuWorkers": {"count": gpu_workers, "gpusPerNode": 1, "nodes": {}}},
    }
    return overrides

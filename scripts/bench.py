#!/usr/bin/env python3
"""Benchmark: how fast the program evaluates at every size, how long the unit tier and the local stack take.

Every figure is a whole process, repeated; the table gives the median (and min-max) and the ratios the targets are
about. Nothing here asserts a time inside a test: this script is the one place timings are taken.

  .venv/bin/python scripts/bench.py                 # evaluations (dev, prod-a, 3+100+10, 3+400+10), ratios
  .venv/bin/python scripts/bench.py --unit          # + the unit tier (scripts/test.sh --unit), once
  .venv/bin/python scripts/bench.py --local         # + `pulumi up` and a no-change preview of the local stack
  .venv/bin/python scripts/bench.py --repeats 7

An evaluation is the program under Pulumi's stock mocks (the same program `pulumi preview` runs, with the engine's
part answered in-process): `import` is the CPU time to load the program and the libraries its stages use, `eval`
the CPU time of one evaluation after that (every resource registered and resolved), `process` the wall time of the
whole process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# (name, stack, workers, gpu workers): None keeps the stack's own nodes.
CASES = (("dev", "dev", None, None), ("prod-a", "prod-a", None, None),
         ("3+100+10", "prod-a", 100, 10), ("3+400+10", "prod-a", 400, 10))
TARGETS = (
    ("dev eval CPU < 1.0 s", lambda r: r["dev"].eval_cpu < 1.0),
    ("prod-a eval CPU < 1.0 s", lambda r: r["prod-a"].eval_cpu < 1.0),
    ("dev process < 2 s", lambda r: r["dev"].process < 2.0),
    ("prod-a process < 2 s", lambda r: r["prod-a"].process < 2.0),
    ("3+100+10 < 1.5x dev (process CPU)", lambda r: r["3+100+10"].total_cpu < 1.5 * r["dev"].total_cpu),
    ("3+400+10 eval CPU < 5 s", lambda r: r["3+400+10"].eval_cpu < 5.0),
    ("linear to 400 (CPU per resource, 400 vs 100) < 1.25x",
     lambda r: r["3+400+10"].per_resource_ms < 1.25 * r["3+100+10"].per_resource_ms),
)


@dataclass
class Figures:
    resources: int
    import_cpu: float
    eval_cpu: float
    process: float

    @property
    def total_cpu(self) -> float:
        return self.import_cpu + self.eval_cpu

    @property
    def per_resource_ms(self) -> float:
        return 1000 * self.eval_cpu / max(self.resources, 1)


def evaluate(stack: str, workers: int | None, gpu_workers: int | None) -> dict[str, float]:
    """One evaluation in this process (the child's side of the benchmark)."""
    started = time.process_time()
    import pulumi
    from pulumi.runtime import settings
    from pulumi.runtime.mocks import MockMonitor
    from pulumi.runtime.proto import resource_pb2

    import infra.program as program
    from tests.harness import STATE_HOOKS, stack_config
    from tests.support.scale import scaled

    program.prepare_process()  # as __main__.py: loads every module the evaluation uses, then tunes the collector
    imported = time.process_time()
    overrides = scaled(workers, gpu_workers) if workers is not None else None
    count = {"resources": 0}

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args):
            hook = STATE_HOOKS[args.typ]
            return f"{args.name}-id", {**args.inputs, **hook(args.name, dict(args.inputs))}

        def call(self, args):
            return {}

    class EchoMonitor(MockMonitor):
        """The engine's side, as cheap as it gets: every resource's outputs are its inputs (what a preview
        reports), except where the harness knows what a real run answers (the OKD steps' stdout)."""

        def RegisterResource(self, request):  # noqa: N802 - gRPC method name
            count["resources"] += request.type != "pulumi:pulumi:Stack"
            if request.type in STATE_HOOKS:
                return super().RegisterResource(request)
            urn = self.make_urn(request.parent, request.type, request.name)
            return resource_pb2.RegisterResourceResponse(urn=urn, id=f"{request.name}-id", object=request.object)

    mocks = Mocks()
    settings.reset_options()
    pulumi.runtime.set_mocks(mocks, project="eaf", stack=stack, preview=False, monitor=EchoMonitor(mocks))
    config, secret_keys = stack_config(stack, overrides)
    pulumi.runtime.set_all_config(config, secret_keys)
    pulumi.runtime.test(program.main)()
    done = time.process_time()
    return {"resources": count["resources"], "import_cpu": imported - started, "eval_cpu": done - imported}


def _child(case: tuple[str, str, int | None, int | None]) -> tuple[dict[str, float], float]:
    _, stack, workers, gpu_workers = case
    code = ("import json, sys; from scripts.bench import evaluate; "
            f"print(json.dumps(evaluate({stack!r}, {workers!r}, {gpu_workers!r})))")
    began = time.monotonic()
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.monotonic() - began
    if result.returncode != 0:
        raise SystemExit(f"bench: {case[0]} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1]), wall


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} ({min(values):.2f}-{max(values):.2f})"


def _timed(command: list[str], env: dict[str, str] | None = None) -> float:
    began = time.monotonic()
    subprocess.run(command, cwd=ROOT, check=True, env={**os.environ, **(env or {})},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - began


def _local_stack(repeats: int) -> list[tuple[str, list[float]]]:
    """up, then no-change previews, then destroy, with the pinned engine (scripts/env.sh) on the local stack."""
    env_line = "source scripts/env.sh >/dev/null && source scripts/env-local.sh >/dev/null && "

    def engine(args: str) -> list[str]:
        return ["bash", "-c", env_line + "pulumi " + args]

    subprocess.run(engine("stack select --create local"), cwd=ROOT, check=True, capture_output=True)
    up = [_timed(engine("up --yes --skip-preview -s local"))]
    previews = [_timed(engine("preview --expect-no-changes -s local")) for _ in range(repeats)]
    _timed(engine("destroy --yes --skip-preview -s local"))
    return [("local: pulumi up (s)", up), ("local: no-change preview (s)", previews)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--unit", action="store_true", help="also time scripts/test.sh --unit (once)")
    parser.add_argument("--local", action="store_true", help="also time up + no-change preview of the local stack")
    args = parser.parse_args()

    results: dict[str, Figures] = {}
    print(f"{'case':<10} {'resources':>9}  {'import CPU s':>20}  {'eval CPU s':>20}  {'process wall s':>20}  "
          f"{'ms/resource':>11}")
    for case in CASES:
        runs = [_child(case) for _ in range(args.repeats)]
        figures = [r for r, _ in runs]
        walls = [w for _, w in runs]
        results[case[0]] = Figures(int(figures[0]["resources"]),
                                   statistics.median(f["import_cpu"] for f in figures),
                                   statistics.median(f["eval_cpu"] for f in figures), statistics.median(walls))
        r = results[case[0]]
        print(f"{case[0]:<10} {r.resources:>9}  {_spread([f['import_cpu'] for f in figures]):>20}  "
              f"{_spread([f['eval_cpu'] for f in figures]):>20}  {_spread(walls):>20}  {r.per_resource_ms:>11.2f}")
    dev = results["dev"]
    print()
    for name, r in results.items():
        print(f"{name:<10} process CPU {r.total_cpu:5.2f} s = {r.total_cpu / dev.total_cpu:4.2f}x dev; "
              f"eval {r.eval_cpu / dev.eval_cpu:4.2f}x dev")
    extra: list[tuple[str, list[float]]] = []
    if args.unit:
        extra.append(("unit tier: scripts/test.sh --unit (s)", [_timed(["bash", "scripts/test.sh", "--unit"])]))
    if args.local:
        extra += _local_stack(args.repeats)
    for name, values in extra:
        print(f"{name:<40} {_spread(values)}")
    print()
    failed = 0
    for name, check in TARGETS:
        ok = check(results)
        failed += not ok
        print(f"  [{'met' if ok else 'MISSED'}] {name}")
    for name, values in extra:
        if name.startswith("unit tier"):
            ok = statistics.median(values) < 60
            failed += not ok
            print(f"  [{'met' if ok else 'MISSED'}] unit tier < 60 s")
        if name.startswith("local: no-change"):
            ok = statistics.median(values) < 5
            failed += not ok
            print(f"  [{'met' if ok else 'MISSED'}] no-change preview of local < 5 s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

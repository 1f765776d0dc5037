"""The sample series of tests/monitoring/sample-series.yaml as OpenMetrics text, for `promtool tsdb
create-blocks-from openmetrics`: each series sampled every `step` seconds, counters growing, histograms cumulative."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SAMPLE_SERIES = Path(__file__).with_name("sample-series.yaml")


@dataclass(frozen=True)
class Window:
    start: float  # unix seconds of the first sample
    step: int
    samples: int

    @property
    def end(self) -> float:
        return self.start + self.step * (self.samples - 1)


def _labels(labels: Mapping[str, Any], **extra: str) -> str:
    merged = {**{k: str(v) for k, v in labels.items()}, **extra}
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(merged.items()))
    return "{" + body + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float | str) -> str:
    number = float(value)  # YAML reads 2.1e9 (no sign in the exponent) as a string
    return "+Inf" if math.isinf(number) else repr(number)


def _series_lines(entry: dict[str, Any], window: Window) -> Iterator[tuple[str, str]]:
    """(sample name, line) pairs: one line per sample of every series the entry makes."""
    name, labels = entry["name"], entry["labels"]
    times = [window.start + i * window.step for i in range(window.samples)]
    if "gauge" in entry:
        values = entry["gauge"] if isinstance(entry["gauge"], list) else [entry["gauge"]]
        for i, t in enumerate(times):
            yield name, f"{name}{_labels(labels)} {_number(values[i % len(values)])} {t:.3f}"
    elif "counter" in entry:
        rate = float(entry["counter"]["perSecond"])
        for i, t in enumerate(times):
            yield name, f"{name}{_labels(labels)} {_number(rate * window.step * i)} {t:.3f}"
    else:
        yield from _histogram_lines(name, labels, entry["histogram"], times)


def _histogram_lines(name: str, labels: Mapping[str, Any], spec: dict[str, Any],
                     times: list[float]) -> Iterator[tuple[str, str]]:
    bounds = [float(b) for b in spec["buckets"]] + [math.inf]
    once = spec.get("once")
    per_step = [float(v) for v in spec.get("observe", [])]

    def observed(i: int) -> list[float]:
        return [float(once)] if once is not None else per_step * i

    for bound in bounds:
        le = "+Inf" if math.isinf(bound) else repr(bound)
        for i, t in enumerate(times):
            count = sum(1 for v in observed(i) if v <= bound)
            yield f"{name}_bucket", f"{name}_bucket{_labels(labels, le=le)} {count} {t:.3f}"
    for i, t in enumerate(times):
        yield f"{name}_sum", f"{name}_sum{_labels(labels)} {_number(sum(observed(i)))} {t:.3f}"
    for i, t in enumerate(times):
        yield f"{name}_count", f"{name}_count{_labels(labels)} {len(observed(i))} {t:.3f}"


def load(path: Path = SAMPLE_SERIES) -> tuple[Window, list[dict[str, Any]]]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    start = document["start"]
    if isinstance(start, str):
        start = dt.datetime.fromisoformat(start)
    window = Window(start.replace(tzinfo=dt.UTC).timestamp() if start.tzinfo is None else start.timestamp(),
                    int(document["step"]), int(document["samples"]))
    return window, document["series"]


def openmetrics(path: Path = SAMPLE_SERIES) -> tuple[Window, str]:
    """OpenMetrics text with every sample family contiguous (the format requires it), ending in # EOF."""
    window, entries = load(path)
    families: dict[str, list[str]] = {}
    for entry in entries:
        for family, line in _series_lines(entry, window):
            families.setdefault(family, []).append(line)
    lines = [line for family in sorted(families) for line in families[family]]
    return window, "\n".join([*lines, "# EOF"]) + "\n"


def metric_names(path: Path = SAMPLE_SERIES) -> set[str]:
    _, entries = load(path)
    names = set()
    for entry in entries:
        if "histogram" in entry:
            names |= {f"{entry['name']}_bucket", f"{entry['name']}_sum", f"{entry['name']}_count"}
        else:
            names.add(entry["name"])
    return names

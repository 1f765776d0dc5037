"""A real Prometheus (Debian's `prometheus` + `promtool`) on loopback over a TSDB made from sample series.

`promtool tsdb create-blocks-from openmetrics` writes the blocks, `prometheus` serves them on 127.0.0.1 (no scrape
targets, nothing leaves the machine), queries go through its HTTP API exactly as Grafana's would. The server is
stopped by PID and its directory removed. Missing binaries fail the test (scripts/install-system-packages.sh
installs them).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
WORK_ROOT = REPO_ROOT / ".work" / "prometheus"
READY_TIMEOUT = 60.0


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run `bash scripts/install-system-packages.sh` (Debian's prometheus)")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class QueryResult:
    series: list[dict[str, Any]]  # [{"metric": {...}, "values": [[t, "v"], ...]}]

    def finite_values(self) -> list[float]:
        values = [float(v) for s in self.series for _, v in s["values"]]
        return [v for v in values if v == v and v not in (float("inf"), float("-inf"))]


class LocalPrometheus:
    """`openmetrics_text`: series to load as TSDB blocks first; `config`: prometheus.yml; `extra_args`: flags."""

    def __init__(self, openmetrics_text: str | None = None, config: str = "global:\n  evaluation_interval: 30s\n",
                 extra_args: tuple[str, ...] = ()) -> None:
        self._text = openmetrics_text
        self._config = config
        self._extra_args = extra_args
        self._dir: Path | None = None
        self._proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> Self:
        promtool = require_tool("promtool")
        require_tool("prometheus")
        WORK_ROOT.mkdir(parents=True, exist_ok=True)
        self._dir = Path(tempfile.mkdtemp(prefix="eaf-prom-", dir=WORK_ROOT))
        if self._text is not None:
            series = self._dir / "series.om"
            series.write_text(self._text, encoding="utf-8")
            subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(series),
                            str(self._dir / "tsdb")], check=True, capture_output=True, text=True)
        (self._dir / "prometheus.yml").write_text(self._config, encoding="utf-8")
        self._spawn()
        return self

    def _spawn(self) -> None:
        assert self._dir is not None
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        with open(self._dir / "prometheus.log", "a", encoding="utf-8") as log:
            self._proc = subprocess.Popen(
                [require_tool("prometheus"), f"--config.file={self._dir / 'prometheus.yml'}",
                 f"--storage.tsdb.path={self._dir / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}",
                 # The sample data is from a fixed past hour: time-based retention must not delete it.
                 "--storage.tsdb.retention.time=100y", *self._extra_args],
                stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self._proc is not None and self._dir is not None
        began = time.monotonic()
        while time.monotonic() - began < READY_TIMEOUT:
            if self._proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        log = (self._dir / "prometheus.log").read_text(encoding="utf-8")[-3000:]
        self.stop()
        pytest.fail(f"prometheus did not become ready within {READY_TIMEOUT:.0f} s:\n{log}")

    def backfill_recording_rules(self, rule_file: Path, start: float, end: float, eval_interval: int) -> None:
        """Evaluate the file's recording rules over [start, end] with `promtool tsdb create-blocks-from rules`
        (queries go to this server), then restart the server over the old and the new blocks."""
        assert self._dir is not None
        promtool = require_tool("promtool")
        blocks = self._dir / "rule-blocks"
        subprocess.run([promtool, "tsdb", "create-blocks-from", "rules", f"--url={self.url}", f"--start={start:.0f}",
                        f"--end={end:.0f}", f"--eval-interval={eval_interval}s", f"--output-dir={blocks}",
                        str(rule_file)], check=True, capture_output=True, text=True)
        self._stop_process()
        for block in blocks.iterdir():
            shutil.move(str(block), self._dir / "tsdb" / block.name)
        self._spawn()

    @property
    def work_dir(self) -> Path:
        assert self._dir is not None
        return self._dir

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query at the server's now: [{"metric": {...}, "value": [t, "v"]}]."""
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}",
                                    timeout=30) as response:
            body = json.loads(response.read())
        if body.get("status") != "success":
            raise AssertionError(f"{expr}: {body}")
        return body["data"]["result"]

    def query_range(self, expr: str, start: float, end: float, step: int) -> QueryResult:
        params = urllib.parse.urlencode({"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}",
                                         "step": str(step)})
        with urllib.request.urlopen(f"{self.url}/api/v1/query_range?{params}", timeout=30) as response:
            body = json.loads(response.read())
        if body.get("status") != "success":
            raise AssertionError(f"{expr}: {body}")
        return QueryResult(body["data"]["result"])

    def _stop_process(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def stop(self) -> None:
        self._stop_process()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

"""Remote write's relabelling for real: a Prometheus configured with the stack's remote-write entry scrapes a
loopback endpoint and writes to a second Prometheus (its remote-write receiver); only the facility's series arrive,
each with the cluster label. Prometheus Operator turns the entry's camelCase relabel fields into these same
snake_case ones; the URL and credential are the lab's and are not exercised here."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from infra.apps.remote_write import RemoteWrite, write_relabel_configs
from tests.support.prometheus import LocalPrometheus

pytestmark = pytest.mark.real

EXPOSED = """\
jupyterhub_running_servers 12
DCGM_FI_DEV_GPU_TEMP{gpu="0",Hostname="eaf-dev-gpu-0"} 61
eaf:status:jupyterhub_up 1
node_cpu_seconds_total{cpu="0",mode="idle"} 1234.5
apiserver_request_total{verb="GET"} 99
"""
SENT = {"jupyterhub_running_servers", "DCGM_FI_DEV_GPU_TEMP", "eaf:status:jupyterhub_up", "up"}


class _Metrics(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = EXPOSED.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _snake(relabel: dict) -> dict:
    names = {"sourceLabels": "source_labels", "targetLabel": "target_label"}
    return {names.get(k, k): v for k, v in relabel.items()}


def test_only_the_facilitys_series_reach_the_lab_marked_with_the_cluster():
    remote_write = RemoteWrite(url="https://lab.invalid/api/v1/write", auth="bearer")
    exporter = ThreadingHTTPServer(("127.0.0.1", 0), _Metrics)
    threading.Thread(target=exporter.serve_forever, daemon=True).start()
    try:
        with LocalPrometheus(extra_args=("--web.enable-remote-write-receiver",)) as lab:
            config = {"global": {"scrape_interval": "1s"},
                      "scrape_configs": [{"job_name": "hub", "static_configs": [
                          {"targets": [f"127.0.0.1:{exporter.server_address[1]}"]}]}],
                      "remote_write": [{"url": f"{lab.url}/api/v1/write",
                                        "write_relabel_configs": [_snake(r) for r in
                                                                  write_relabel_configs(remote_write, "eaf-dev")],
                                        "queue_config": {"batch_send_deadline": "1s"}}]}
            with LocalPrometheus(config=yaml.safe_dump(config)):
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    arrived = {s["metric"]["__name__"] for s in lab.query('{eaf_cluster="eaf-dev"}')}
                    if SENT <= arrived:
                        break
                    time.sleep(1)
            everything = lab.query('{__name__=~".+"}')
    finally:
        exporter.shutdown()
    assert {s["metric"]["__name__"] for s in everything} == SENT
    assert all(s["metric"]["eaf_cluster"] == "eaf-dev" for s in everything)

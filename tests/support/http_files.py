"""A file server on loopback for download tests: real HTTP through urllib, with failures on request.

    with FileServer({"/fcos.qcow2.xz": data}) as server:
        server.fail("/fcos.qcow2.xz", 503, times=2)     # the next two requests get HTTP 503
        server.truncate("/fcos.qcow2.xz", times=1)      # the next one sends half the body, then closes
        url = server.url("/fcos.qcow2.xz")
        ...
        server.requests["/fcos.qcow2.xz"]               # how many requests it answered
"""

from __future__ import annotations

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FileServer:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = dict(files)
        self.requests: Counter[str] = Counter()
        self._failures: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                with server._lock:
                    server.requests[self.path] += 1
                    planned = server._failures.get(self.path) or []
                    failure = planned.pop(0) if planned else None
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                elif failure is not None and failure > 0:
                    self.send_error(failure)
                else:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body if failure is None else body[: len(body) // 2])

            def log_message(self, *_args) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"

    def fail(self, path: str, status: int, times: int = 1) -> None:
        with self._lock:
            self._failures.setdefault(path, []).extend([status] * times)

    def truncate(self, path: str, times: int = 1) -> None:
        """Send only half of the body (with the full Content-Length), then close."""
        with self._lock:
            self._failures.setdefault(path, []).extend([0] * times)

    def __enter__(self) -> FileServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

"""A local HTTP server that must never be asked for anything: it records every request it gets.

Hostile documents and SVGs point their links, images, stylesheets and fonts at it; a test then
asserts that it saw no request. It listens on 127.0.0.1 on a port the system picks, and stops
itself after ``lifetime`` seconds even if the test that started it never does.
"""

from __future__ import annotations

import threading
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class Request:
    """One request the sentinel received."""

    method: str
    path: str


@dataclass
class Sentinel:
    """The running server: its base URL and the requests it has seen."""

    url: str
    requests: list[Request] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: _RecordingServer

    def _record(self) -> None:
        self.server.sentinel.requests.append(Request(self.command, self.path))
        body = b"sentinel"
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_HEAD = _record  # the names http.server dispatches to

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet; the requests are recorded instead."""


class _RecordingServer(ThreadingHTTPServer):
    daemon_threads = True
    sentinel: Sentinel


class SentinelServer:
    """``with SentinelServer() as sentinel:`` runs the server for the block (at most ``lifetime`` s)."""

    def __init__(self, lifetime: float = 300) -> None:
        self._server = _RecordingServer(("127.0.0.1", 0), _Handler)
        self._server.timeout = 1
        host, port = self._server.server_address[:2]
        self._server.sentinel = Sentinel(url=f"http://{host!s}:{port}")
        self._thread = threading.Thread(target=self._server.serve_forever, name="sentinel", daemon=True)
        self._stopper = threading.Timer(lifetime, self._server.shutdown)
        self._stopper.daemon = True

    def __enter__(self) -> Sentinel:
        self._thread.start()
        self._stopper.start()
        return self._server.sentinel

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stopper.cancel()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def probe(sentinel: Sentinel, path: str = "/probe") -> None:
    """Request ``path`` from the sentinel ourselves: proof that it is listening and recording."""
    with urllib.request.urlopen(sentinel.url + path, timeout=5) as response:
        response.read()

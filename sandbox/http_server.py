"""The HTTP server the fleet's tasks and the routers are made of: threaded, loopback only, and
stoppable for real: ``stop`` also shuts down the connections still open (keep-alive clients that
never hung up), so no handler thread outlives the server."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sandbox.moto_server import LOOPBACK


class LoopbackHttpServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer on 127.0.0.1:<free port> that tracks its open connections."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, handler: type[BaseHTTPRequestHandler], name: str) -> None:
        super().__init__((LOOPBACK, 0), handler)
        self.name = name
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start_serving(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.1}, name=self.name, daemon=True
        )
        self._thread.start()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A peer that hung up (a client gone, or our own ``stop`` hanging up on it mid-answer) is
        how connections end here, not an error: nothing is printed. Anything else is a bug: the
        standard traceback on stderr."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def stop(self) -> None:
        """Stop accepting, close the listening socket, and hang up on every open connection."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()
        with self._connections_lock:
            open_connections = list(self._connections)
        for connection in open_connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


def stop_servers(servers: Iterable[LoopbackHttpServer]) -> None:
    """Stop several servers at once. Each ``stop`` waits up to a poll interval (0.1 s) for its
    loop to notice; one after another, a world's 80 servers (16 services) took seconds."""
    pending = list(servers)
    if len(pending) <= 1:
        for server in pending:
            server.stop()
        return
    stoppers = [threading.Thread(target=s.stop, name=f"stopping-{s.name}", daemon=True) for s in pending]
    for stopper in stoppers:
        stopper.start()
    for stopper in stoppers:
        stopper.join()

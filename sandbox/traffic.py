"""User traffic: a steady rate of requests to each service's production listener, and the record of
who answered each one (the version and task set, the status, virtual send and answer times).

The rate is per virtual second, so the number of requests in a canary step does not depend on the
time scale; in real time it is ``rate * time_scale`` requests per second per service. Answers take
real time (a task's latency is real, see app.py), so slow answers never hold the schedule back: at
most ``max_in_flight`` requests are outstanding, and a request due while that many are still
waiting is not sent (counted in ``shed``: a user who gave up), so a 10-minute latency fault costs
threads and memory bounded by the cap, and the requests that were answered still tell the truth.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sandbox.app import TASK_SET_HEADER, VERSION_HEADER
from sandbox.clock import VirtualClock
from sandbox.load_balancer.listeners import USERS_HEADER
from sandbox.moto_server import LOOPBACK


@dataclass(frozen=True)
class RequestRecord:
    """One user request: when it was sent and answered (virtual s), and who answered with what."""

    service: str
    sent_at: float
    answered_at: float
    status: int
    version: str
    task_set: str


class TrafficGenerator:
    """Sends GET ``path`` to each (service, port) at ``rate`` requests per virtual second."""

    def __init__(
        self,
        targets: dict[str, int],
        clock: VirtualClock,
        rate: float = 1.0,
        path: str = "/",
        max_in_flight: int = 32,
    ) -> None:
        self.targets = dict(targets)
        self.clock = clock
        self.rate = rate
        self.path = path
        self.records: list[RequestRecord] = []
        self.failures = 0
        self.shed = 0  # requests not sent: max_in_flight were still waiting for their answers
        self.max_in_flight = max_in_flight
        self._in_flight = 0
        self._lock = threading.Lock()
        self._local = threading.local()
        self._all_connections: list[http.client.HTTPConnection] = []
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=max_in_flight, thread_name_prefix="traffic")
        self._thread = threading.Thread(target=self._run, name="traffic-scheduler", daemon=True)

    def start(self) -> TrafficGenerator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._close_connections()  # requests waiting on a slow answer end now
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._close_connections()  # and any a worker opened meanwhile

    def snapshot(self, service: str | None = None) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.records if service is None or r.service == service]

    def _run(self) -> None:
        interval = 1.0 / self.rate  # virtual seconds between requests to one service
        next_at = self.clock.now()
        while not self._stop.is_set():
            for service, port in self.targets.items():
                with self._lock:
                    full = self._in_flight >= self.max_in_flight
                    if full:
                        self.shed += 1
                    else:
                        self._in_flight += 1
                if not full:
                    self._pool.submit(self._send, service, port)
            next_at += interval
            self.clock.wait(self._stop, next_at - self.clock.now())

    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def _send(self, service: str, port: int) -> None:
        try:
            if not self._stop.is_set():
                self._request(service, port)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _request(self, service: str, port: int) -> None:
        sent = self.clock.now()
        connections: dict[int, http.client.HTTPConnection] = self._local.__dict__.setdefault(
            "connections", {}
        )
        connection = connections.get(port)
        if connection is None:
            connection = connections[port] = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
            with self._lock:
                self._all_connections.append(connection)
        try:
            connection.request("GET", self.path, headers={USERS_HEADER: "1"})
            response = connection.getresponse()
            response.read()
            record = RequestRecord(
                service=service,
                sent_at=sent,
                answered_at=self.clock.now(),
                status=response.status,
                version=response.getheader(VERSION_HEADER) or "",
                task_set=response.getheader(TASK_SET_HEADER) or "",
            )
        except (OSError, http.client.HTTPException):
            connection.close()
            connections.pop(port, None)
            with self._lock:
                self.failures += 1
            return
        with self._lock:
            self.records.append(record)

    def _close_connections(self) -> None:
        with self._lock:
            connections = list(self._all_connections)
        for connection in connections:
            if connection.sock is not None:  # shutdown wakes a worker blocked reading from it
                with contextlib.suppress(OSError):
                    connection.sock.shutdown(socket.SHUT_RDWR)
            connection.close()

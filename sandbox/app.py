"""One fake ECS task: an HTTP app on loopback that answers with its version, with fault knobs.

Every path answers 200 with a small JSON document (``status``, ``service``, ``version``,
``taskSet``), unless the fault says this request fails (500), or the fault says the task is
unhealthy and this is its health check path (503). Error and latency faults spare the load
balancer's health checks (User-Agent ``ELB-HealthChecker/2.0``): such a version registers healthy
and is for the smoke checks and the alarms to catch; ``unhealthy=1`` is the version that never does.

Latency is real: the virtual clock compresses waits (phases, intervals, periods), never the duration
of one request. A task takes its service time (20-60 ms, times the fault's factor, plus its latency)
in real milliseconds and reports it (``X-Bluegreen-Service-Time-Ms``, what the load balancer's
TargetResponseTime measures), so a hook's latency budget (real ms) and the latency alarm judge the
same latency. The wait is interruptible: ``stop`` ends it at once (``latency_ms=600000`` does not
hold a stop for ten minutes; the interrupted request gets no answer). It adds up that time for the
fleet's CPU gauge (``take_busy_ms``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from sandbox.faults import HEALTHY, Fault
from sandbox.http_server import LoopbackHttpServer

VERSION_HEADER = "X-Bluegreen-Version"
TASK_SET_HEADER = "X-Bluegreen-Task-Set"
SERVICE_TIME_HEADER = "X-Bluegreen-Service-Time-Ms"
HEALTH_CHECKER_AGENT = "ELB-HealthChecker/2.0"  # the User-Agent of an ALB's health checks


@dataclass(frozen=True)
class TaskIdentity:
    """What a task answers with: its service, version (task definition family:revision) and task set."""

    service: str
    version: str
    task_set_id: str


def base_latency_ms(request_number: int) -> float:
    """A healthy task's service time: 20-60 ms, spread deterministically."""
    return 20.0 + float((request_number * 37) % 41)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: AppServer
    timeout = 10  # an idle keep-alive connection ends; the thread with it

    def do_GET(self) -> None:
        self.server.answer(self)

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return


class AppServer(LoopbackHttpServer):
    """A task listening on 127.0.0.1:<free port>; ``fault`` may be changed while it runs."""

    def __init__(self, identity: TaskIdentity, fault: Fault = HEALTHY, health_path: str = "/health") -> None:
        super().__init__(_Handler, f"task-{identity.task_set_id}")
        self.identity = identity
        self.health_path = health_path
        self.fault = fault
        self._stopping = threading.Event()  # ends every request's service-time wait
        self._count = 0
        self._faulty_count = 0
        self._busy_ms = 0.0  # virtual ms of service time since the last CPU sample
        self._lock = threading.Lock()
        self._in_flight = 0  # requests being answered (what a deregistered target drains)
        self._idle = threading.Condition(self._lock)

    def start(self) -> AppServer:
        self.start_serving()
        return self

    def stop(self) -> None:
        self._stopping.set()
        super().stop()

    def drain(self, timeout: float) -> bool:
        """Wait (real seconds, at most ``timeout``) until no request is being answered, as a
        load balancer's deregistration delay lets in-flight requests finish before ECS stops a
        deregistered task; whether it drained."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def take_busy_ms(self) -> float:
        """Virtual ms spent serving requests since the last call (what the CPU gauge reads)."""
        with self._lock:
            busy, self._busy_ms = self._busy_ms, 0.0
        return busy

    def answer(self, handler: _Handler) -> None:
        with self._lock:
            self._in_flight += 1
        try:
            self._answer(handler)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _answer(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        fault = self.fault
        # Error and latency faults are bugs in what requests exercise; the load balancer's health
        # check (a shallow liveness probe) passes unless the version is unhealthy altogether.
        probe = handler.headers.get("User-Agent", "").startswith(HEALTH_CHECKER_AGENT)
        faulty = fault.applies_to(handler.path) and not probe
        with self._lock:
            number = self._count
            self._count += 1
            faulty_number = self._faulty_count
            self._faulty_count += 1 if faulty else 0
        service_ms = fault.service_ms(base_latency_ms(number)) if faulty else base_latency_ms(number)
        with self._lock:
            self._busy_ms += service_ms
        if self._stopping.wait(service_ms / 1000.0):  # real time; a stop does not wait for it
            handler.close_connection = True
            return
        failed = faulty and fault.fails(faulty_number)
        status = 500 if failed else 200
        if fault.unhealthy and handler.path.split("?", 1)[0] == self.health_path:
            failed, status = True, 503
        body: dict[str, object] = {
            "status": "error" if failed else "ok",
            "service": self.identity.service,
            "version": self.identity.version,
            "taskSet": self.identity.task_set_id,
        }
        if handler.path.startswith("/products"):
            body["products"] = [] if failed else [{"id": 1, "name": "sample"}]
        payload = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header(VERSION_HEADER, self.identity.version)
        handler.send_header(TASK_SET_HEADER, self.identity.task_set_id)
        handler.send_header(SERVICE_TIME_HEADER, f"{service_ms:.1f}")
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)

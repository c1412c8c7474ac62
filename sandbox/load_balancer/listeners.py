"""A listener of the fake load balancer: an HTTP server on loopback (a router) that forwards each
request to a task of the target group chosen by the listener's current forward weights, and records
what the ALB would publish for that target group (``target_datapoints``: RequestCount,
HTTPCode_Target_5XX_Count only when the target answered 5xx, TargetResponseTime).

Weighted choice is deterministic: the n-th request draws frac(n * golden ratio), a low-discrepancy
sequence, so a 10 % canary gets 10 % of requests within a handful of them, run after run.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler

from sandbox.app import SERVICE_TIME_HEADER, TASK_SET_HEADER, VERSION_HEADER
from sandbox.clock import VirtualClock
from sandbox.http_server import LoopbackHttpServer
from sandbox.load_balancer.balancer import ELB_NAMESPACE, LoadBalancer
from sandbox.metrics import MetricStore
from sandbox.moto_server import LOOPBACK
from sandbox.provision import target_group_dimension

GOLDEN = 0.6180339887498949
USERS_HEADER = "X-Bluegreen-Simulated-Users"
_PASSED_HEADERS = ("Content-Type", VERSION_HEADER, TASK_SET_HEADER, SERVICE_TIME_HEADER)


def target_datapoints(status: int, service_ms: float) -> list[tuple[str, float]]:
    """What the ALB publishes per target group for one answered request: RequestCount,
    TargetResponseTime (seconds) and, only for a 5xx, HTTPCode_Target_5XX_Count. AWS reports the
    5xx count only when it is nonzero ("Reporting criteria: There is a nonzero value", AWS,
    "CloudWatch metrics for your Application Load Balancer"): a healthy minute has no 5xx datapoint,
    and whoever reads it (the alarms' FILL, the canary judge) must take a missing count as 0."""
    points = [("RequestCount", 1.0), ("TargetResponseTime", service_ms / 1000.0)]
    if status >= 500:
        points.append(("HTTPCode_Target_5XX_Count", 1.0))
    return points


def draw(n: int) -> float:
    """The n-th draw in [0, 1) of the low-discrepancy sequence."""
    return (n * GOLDEN) % 1.0


def choose_target_group(weights: Sequence[tuple[str, int]], sample: float) -> str | None:
    """The target group a request goes to, given the forward weights and a draw in [0, 1).

    Weights are relative (ELBv2 allows 0-999); a group with weight 0 never gets traffic; no
    positive weight at all means nowhere to go (None).
    """
    total = sum(max(0, w) for _, w in weights)
    if total <= 0:
        return None
    point = sample * total
    running = 0.0
    for arn, weight in weights:
        if weight <= 0:
            continue
        running += weight
        if point < running:
            return arn
    return next(arn for arn, w in reversed(weights) if w > 0)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Router
    timeout = 10

    def do_GET(self) -> None:
        self.server.forward(self)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.close_upstream()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format: str, *args: object) -> None:
        return


class Router(LoopbackHttpServer):
    """One listener (production or test) of one service, bound to 127.0.0.1:<free port>."""

    def __init__(
        self, name: str, balancer: LoadBalancer | None, store: MetricStore, clock: VirtualClock
    ) -> None:
        super().__init__(_Handler, f"router-{name}")
        self.balancer = balancer
        self.store = store
        self.clock = clock
        self.listener_arn = ""  # set once the listener exists in moto (its port is ours)
        self.load_balancer_dimension = ""
        self._count = 0
        self._lock = threading.Lock()
        self._local = threading.local()

    def start(self) -> Router:
        self.start_serving()
        return self

    def close_upstream(self) -> None:
        """Close this handler thread's connections to tasks (called as its client hangs up)."""
        for connection in self._local.__dict__.pop("connections", {}).values():
            connection.close()

    def _next_draw(self) -> float:
        with self._lock:
            n = self._count
            self._count += 1
        return draw(n)

    def forward(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        balancer = self.balancer
        weights: list[tuple[str, int]] = []
        if balancer is not None:
            # The polled view (refreshed every 0.1 s, like an ALB's propagation delay). A hook's
            # smoke check right after CodeDeploy moved the listener sees the move too: before every
            # hook, World._sync_fleet reads the listeners first. Reading moto per request instead
            # put moto's latency on a busy machine into the smoke checks' real-ms budgets.
            weights = balancer.weights(self.listener_arn) or balancer.current_weights(self.listener_arn)
        target_group = choose_target_group(weights, self._next_draw())
        task = balancer.next_task(target_group) if balancer is not None and target_group else None
        if target_group is None or task is None:
            self._elb_error(handler, 503, "no healthy target")
            return
        try:
            status, headers, payload = self._upstream(task.port, handler.command, handler.path, body)
        except TimeoutError:  # an ALB answers 504 when the target does not answer in time
            self._elb_error(handler, 504, "target did not answer in time")
            return
        except (OSError, http.client.HTTPException):
            self._elb_error(handler, 502, "target closed the connection")
            return
        now = self.clock.now()
        dims = {
            "TargetGroup": target_group_dimension(target_group),
            "LoadBalancer": self.load_balancer_dimension,
        }
        service_ms = float(headers.get(SERVICE_TIME_HEADER) or 0.0)
        for name, value in target_datapoints(status, service_ms):
            self.store.add(ELB_NAMESPACE, name, dims, now, value)
        handler.send_response(status)
        for name in _PASSED_HEADERS:
            if name in headers:
                handler.send_header(name, headers[name])
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)

    def _upstream(
        self, port: int, method: str, path: str, body: bytes | None
    ) -> tuple[int, dict[str, str], bytes]:
        connections: dict[int, http.client.HTTPConnection] = self._local.__dict__.setdefault(
            "connections", {}
        )
        for attempt in (1, 2):
            connection = connections.get(port)
            if connection is None:
                connection = connections[port] = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
            try:
                connection.request(method, path, body=body)
                response = connection.getresponse()
                payload = response.read()
                return response.status, dict(response.getheaders()), payload
            except (OSError, http.client.HTTPException):
                connection.close()
                connections.pop(port, None)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _elb_error(self, handler: _Handler, status: int, reason: str) -> None:
        if self.load_balancer_dimension:
            self.store.add(
                ELB_NAMESPACE,
                "HTTPCode_ELB_5XX_Count",
                {"LoadBalancer": self.load_balancer_dimension},
                self.clock.now(),
                1,
            )
        payload = f'{{"status":"error","reason":"{reason}"}}'.encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)

"""The load balancer's routing of a target group's requests: healthy targets in turn, all of them
when none is healthy (an ALB fails open), none once deregistered."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sandbox.clock import VirtualClock
from sandbox.load_balancer.balancer import ELB_NAMESPACE, LoadBalancer, listener_weights
from sandbox.metrics import MetricStore, metric_key
from sandbox.provision import HEALTH_CHECK, target_group_dimension

BLUE, GREEN = "arn:tg/blue", "arn:tg/green"


class Elbv2:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, list[str]]] = []
        self.listeners: dict[str, dict[str, Any]] = {}  # listener ARN -> listener
        self.broken = False  # DescribeListeners fails (moto busy)

    def describe_listeners(
        self, LoadBalancerArn: str | None = None, ListenerArns: list[str] | None = None
    ) -> dict[str, Any]:
        if self.broken:
            raise RuntimeError("moto is busy")
        arns = ListenerArns if ListenerArns is not None else list(self.listeners)
        return {"Listeners": [{"ListenerArn": arn, **self.listeners[arn]} for arn in arns]}

    def register_targets(self, TargetGroupArn: str, Targets: list[dict[str, Any]]) -> None:
        self.calls.append(("register", TargetGroupArn, [t["Id"] for t in Targets]))

    def deregister_targets(self, TargetGroupArn: str, Targets: list[dict[str, Any]]) -> None:
        self.calls.append(("deregister", TargetGroupArn, [t["Id"] for t in Targets]))


def _task(port: int) -> Any:
    return SimpleNamespace(port=port)


def test_requests_go_to_healthy_targets_in_turn_and_fail_open(tmp_path: Path) -> None:
    elbv2 = Elbv2()
    balancer = LoadBalancer([], elbv2, VirtualClock(40), MetricStore(), states_path=tmp_path / "states.json")
    blue = {"10.0.100.2": _task(1), "10.0.100.3": _task(2)}
    green = {"10.0.100.4": _task(3)}
    balancer.register_targets(BLUE, 8080, blue, "/health", healthy=True)
    balancer.register_targets(GREEN, 8080, green, "/health", healthy=False)
    assert [balancer.next_task(BLUE).port for _ in range(4)] == [1, 2, 1, 2]  # type: ignore[union-attr]
    assert balancer.next_task(GREEN).port == 3  # type: ignore[union-attr]  # initial only: fail open
    assert balancer.settling() and balancer.target_state("10.0.100.4") == "initial"
    balancer.deregister_targets(GREEN, ["10.0.100.4"])
    assert balancer.next_task(GREEN) is None and not balancer.settling()
    assert elbv2.calls == [
        ("register", BLUE, ["10.0.100.2", "10.0.100.3"]),
        ("register", GREEN, ["10.0.100.4"]),
        ("deregister", GREEN, ["10.0.100.4"]),
    ]


def test_listener_weights_read_the_default_forward_action() -> None:
    listener = {
        "DefaultActions": [
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [{"TargetGroupArn": BLUE, "Weight": 90}, {"TargetGroupArn": GREEN}]
                },
            }
        ]
    }
    assert listener_weights(listener) == [(BLUE, 90), (GREEN, 1)]
    assert listener_weights({"DefaultActions": [{"Type": "forward", "TargetGroupArn": BLUE}]}) == [(BLUE, 1)]


def _forward(blue: int, green: int) -> dict[str, Any]:
    groups = [{"TargetGroupArn": BLUE, "Weight": blue}, {"TargetGroupArn": GREEN, "Weight": green}]
    return {"DefaultActions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}]}


def test_current_weights_are_read_now_and_the_polled_ones_only_when_moto_fails() -> None:
    listener = "arn:listener/production"
    elbv2 = Elbv2()
    elbv2.listeners[listener] = _forward(100, 0)
    item = SimpleNamespace(load_balancer_arn="arn:lb", target_groups={})
    balancer = LoadBalancer([item], elbv2, VirtualClock(40), MetricStore())  # type: ignore[list-item]
    balancer.refresh_listeners()
    elbv2.listeners[listener] = _forward(90, 10)  # CodeDeploy moved it; the poller has not seen it yet
    assert balancer.weights(listener) == [(BLUE, 100), (GREEN, 0)]
    assert balancer.current_weights(listener) == [(BLUE, 90), (GREEN, 10)]
    elbv2.broken = True
    assert balancer.current_weights(listener) == [(BLUE, 100), (GREEN, 0)] and balancer.errors == 1


class _Healthy(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def _serving_health() -> Iterator[int]:
    """A task whose health check passes: its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    # shutdown() waits for the next poll (socketserver's default: 0.5 s)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _closed_port() -> int:
    """A task that no longer answers: a loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_target_failing_its_health_checks_gets_no_requests_moto_hears_it_and_it_is_counted(
    tmp_path: Path,
) -> None:
    states_path = tmp_path / "states.json"
    item = SimpleNamespace(target_groups={"blue": BLUE}, load_balancer_dimension="app/lb/1")
    store, clock = MetricStore(), VirtualClock(40)
    balancer = LoadBalancer([item], Elbv2(), clock, store, states_path=states_path)  # type: ignore[list-item]
    with _serving_health() as good:
        bad = _closed_port()
        tasks = {"10.0.100.2": _task(good), "10.0.100.3": _task(bad)}
        balancer.register_targets(BLUE, 8080, tasks, "/health", healthy=True)
        start = clock.now()
        for check in range(1, HEALTH_CHECK.unhealthy_threshold + 1):
            balancer.check_health(start + check * HEALTH_CHECK.interval)
    assert balancer.target_state("10.0.100.3") == "unhealthy"
    assert {balancer.next_task(BLUE).port for _ in range(4)} == {good}  # type: ignore[union-attr]
    states = json.loads(states_path.read_text())
    assert (states["10.0.100.2"]["State"], states["10.0.100.3"]["State"]) == ("healthy", "unhealthy")
    balancer.sample(start + 60)
    dims = {"TargetGroup": target_group_dimension(BLUE), "LoadBalancer": "app/lb/1"}
    counts = {
        name: store.values(metric_key(ELB_NAMESPACE, name, dims), start + 60, start + 61)
        for name in ("HealthyHostCount", "UnHealthyHostCount")
    }
    assert counts == {"HealthyHostCount": [1.0], "UnHealthyHostCount": [1.0]}

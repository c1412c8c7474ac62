"""The load balancer's routing of a target group's requests: healthy targets in turn, all of them
when none is healthy (an ALB fails open), none once deregistered."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sandbox.clock import VirtualClock
from sandbox.load_balancer.balancer import LoadBalancer, listener_weights
from sandbox.metrics import MetricStore

BLUE, GREEN = "arn:tg/blue", "arn:tg/green"


class Elbv2:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, list[str]]] = []

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

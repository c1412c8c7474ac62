"""Target health as the load balancer keeps it: initial, then healthy or unhealthy after the
thresholds of consecutive health checks; and the states file moto reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.load_balancer.target_health import HealthCheck, TargetHealth, TargetState, write_states

CHECK = HealthCheck(interval=15.0, timeout=5.0, healthy_threshold=2, unhealthy_threshold=3)
N, H, U = TargetState.INITIAL, TargetState.HEALTHY, TargetState.UNHEALTHY


@pytest.mark.parametrize(
    ("start", "checks", "states"),
    [
        (N, "++", [N, H]),  # healthy after 2 passes in a row
        (N, "+-+", [N, N, N]),  # a failure resets the count
        (N, "---", [N, N, U]),  # unhealthy after 3 failures in a row
        (N, "--+--", [N, N, N, N, N]),
        (H, "--+", [H, H, H]),  # one pass in between: still healthy
        (H, "---++", [H, H, U, U, H]),  # and back
        (U, "+-++", [U, U, U, H]),
    ],
)
def test_thresholds(start: TargetState, checks: str, states: list[TargetState]) -> None:
    health = TargetHealth(CHECK, next_check_at=15.0, state=start)
    seen = []
    for n, mark in enumerate(checks):
        at = 15.0 * (n + 1)
        assert health.due(at) and not health.due(at - 0.1)
        health.record(mark == "+", at)
        seen.append(health.state)
    assert seen == states


def test_record_says_when_the_state_changed() -> None:
    health = TargetHealth(CHECK, next_check_at=0.0)
    assert [health.record(True, 0.0), health.record(True, 15.0), health.record(True, 30.0)] == [
        False,
        True,
        False,
    ]


@pytest.mark.parametrize(
    ("done_at", "next_due"),
    [
        (15.0, 30.0),  # on time
        (24.0, 30.0),  # late by less than an interval: the cadence holds (the verdict is not pushed back)
        (40.0, 55.0),  # later than an interval: one check, not a burst of overdue ones
    ],
)
def test_next_check_is_due_an_interval_after_the_last_was_due(done_at: float, next_due: float) -> None:
    health = TargetHealth(CHECK, next_check_at=15.0)
    health.record(True, done_at)
    assert health.next_check_at == next_due


def test_grace_is_the_longer_threshold() -> None:
    assert CHECK.grace == 45.0


def test_states_file_has_describe_target_health_fields(tmp_path: Path) -> None:
    path = tmp_path / "states.json"
    write_states(path, {"10.0.100.2": N, "10.0.100.3": H, "10.0.100.4": U})
    written = json.loads(path.read_text())
    assert written["10.0.100.2"] == {
        "State": "initial",
        "Reason": "Elb.RegistrationInProgress",
        "Description": "Target registration is in progress",
    }
    assert written["10.0.100.3"] == {"State": "healthy"}
    assert written["10.0.100.4"]["Reason"] == "Target.ResponseCodeMismatch"
    assert [p.name for p in tmp_path.iterdir()] == ["states.json"]  # no temporary file left

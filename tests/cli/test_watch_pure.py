"""watch.py as a specification: snapshots from API shapes, diff, milestones, poll intervals, call budget."""

from __future__ import annotations

import json

import pytest

from orchestrator.vocabulary import DeploymentStatus, LifecycleStatus
from orchestrator.watching.loop import CallBudget
from orchestrator.watching.snapshots import (
    Event,
    EventKind,
    PollPolicy,
    Snapshot,
    diff,
    milestone_reached,
    poll_interval,
    snapshot_from,
)
from tests.support.cli import FIXTURES

P, IP, OK, F = (
    LifecycleStatus.PENDING,
    LifecycleStatus.IN_PROGRESS,
    LifecycleStatus.SUCCEEDED,
    LifecycleStatus.FAILED,
)
S = DeploymentStatus


def snap(
    status: DeploymentStatus = S.IN_PROGRESS,
    lifecycle: dict[str, LifecycleStatus] | None = None,
    weights: tuple[float, float] | None = None,
    rollback: str | None = None,
) -> Snapshot:
    return Snapshot(
        status=status,
        lifecycle=tuple((lifecycle or {}).items()),
        original_weight=weights[0] if weights else None,
        replacement_weight=weights[1] if weights else None,
        rollback_deployment_id=rollback,
    )


def test_snapshot_from_get_deployment_and_ecs_target_fixture() -> None:
    data = json.loads((FIXTURES / "get-deployment-target-canary.json").read_text())
    snapshot = snapshot_from(data["deploymentInfo"], data["deploymentTarget"])
    assert snapshot.status is S.IN_PROGRESS
    assert snapshot.lifecycle[:3] == (("BeforeInstall", OK), ("Install", OK), ("AfterInstall", OK))
    assert snapshot.lifecycle_status("AllowTraffic") is IP
    assert (snapshot.original_weight, snapshot.replacement_weight) == (90.0, 10.0)
    assert snapshot.current_lifecycle_event == "AllowTraffic"
    assert snapshot.rollback_deployment_id is None


def test_snapshot_from_failed_deployment_names_rollback_and_error() -> None:
    info = {
        "status": "Failed",
        "rollbackInfo": {"rollbackDeploymentId": "d-ROLLBACK01"},
        "errorInformation": {"code": "HOOK_EXECUTION_FAILURE", "message": "AfterAllowTestTraffic failed"},
    }
    snapshot = snapshot_from(info)
    assert snapshot.rolled_back and snapshot.rollback_deployment_id == "d-ROLLBACK01"
    assert snapshot.error == "HOOK_EXECUTION_FAILURE: AfterAllowTestTraffic failed"


DIFF_TABLE = [
    pytest.param(
        None,
        snap(S.CREATED),
        [(EventKind.STATUS, "deployment", None, "Created")],
        id="first poll: status only",
    ),
    pytest.param(
        None,
        snap(S.IN_PROGRESS, {"BeforeInstall": OK, "Install": IP, "AfterInstall": P}),
        [
            (EventKind.STATUS, "deployment", None, "InProgress"),
            (EventKind.LIFECYCLE, "BeforeInstall", "Pending", "Succeeded"),
            (EventKind.LIFECYCLE, "Install", "Pending", "InProgress"),
        ],
        id="first poll mid-way: pending events are not news",
    ),
    pytest.param(
        snap(S.IN_PROGRESS, {"Install": IP}),
        snap(S.IN_PROGRESS, {"Install": IP}),
        [],
        id="nothing changed",
    ),
    pytest.param(
        snap(S.IN_PROGRESS, {"Install": IP, "AfterInstall": P}),
        snap(S.IN_PROGRESS, {"Install": OK, "AfterInstall": IP}),
        [
            (EventKind.LIFECYCLE, "Install", "InProgress", "Succeeded"),
            (EventKind.LIFECYCLE, "AfterInstall", "Pending", "InProgress"),
        ],
        id="lifecycle transitions in CodeDeploy order",
    ),
    pytest.param(
        snap(S.IN_PROGRESS, {"AllowTraffic": IP}, (100, 0)),
        snap(S.IN_PROGRESS, {"AllowTraffic": IP}, (90, 10)),
        [(EventKind.TRAFFIC, "traffic", "blue 100% / green 0%", "blue 90% / green 10%")],
        id="canary shift",
    ),
    pytest.param(
        snap(S.IN_PROGRESS, {"AllowTraffic": IP}),
        snap(S.IN_PROGRESS, {"AllowTraffic": IP}, (100, 0)),
        [(EventKind.TRAFFIC, "traffic", None, "blue 100% / green 0%")],
        id="weights seen for the first time",
    ),
    pytest.param(
        snap(S.IN_PROGRESS, {"AfterAllowTestTraffic": IP}),
        snap(S.FAILED, {"AfterAllowTestTraffic": F}, rollback="d-ROLLBACK01"),
        [
            (EventKind.LIFECYCLE, "AfterAllowTestTraffic", "InProgress", "Failed"),
            (EventKind.STATUS, "deployment", "InProgress", "Failed"),
            (EventKind.ROLLBACK, "rollback", None, "d-ROLLBACK01"),
        ],
        id="hook failure rolls back: the failed event, then the end status, then the rollback",
    ),
    pytest.param(
        snap(S.IN_PROGRESS, {"AllowTraffic": IP, "AfterAllowTraffic": P}, (90, 10)),
        snap(S.SUCCEEDED, {"AllowTraffic": OK, "AfterAllowTraffic": OK}, (0, 100)),
        [
            (EventKind.LIFECYCLE, "AllowTraffic", "InProgress", "Succeeded"),
            (EventKind.LIFECYCLE, "AfterAllowTraffic", "Pending", "Succeeded"),
            (EventKind.TRAFFIC, "traffic", "blue 90% / green 10%", "blue 0% / green 100%"),
            (EventKind.STATUS, "deployment", "InProgress", "Succeeded"),
        ],
        id="success reads last, after the events that led to it",
    ),
    pytest.param(
        snap(S.FAILED, rollback="d-ROLLBACK01"),
        snap(S.FAILED, rollback="d-ROLLBACK01"),
        [],
        id="rollback id reported once",
    ),
    pytest.param(
        snap(S.IN_PROGRESS, {"AfterAllowTraffic": OK}, (0, 100)),
        snap(S.BAKING, {"AfterAllowTraffic": OK}, (0, 100)),
        [(EventKind.STATUS, "deployment", "InProgress", "Baking")],
        id="termination wait",
    ),
]


@pytest.mark.parametrize(("previous", "current", "expected"), DIFF_TABLE)
def test_diff(previous: Snapshot | None, current: Snapshot, expected: list[tuple[object, ...]]) -> None:
    events = diff(previous, current, at=12.0)
    assert [(e.kind, e.subject, e.before, e.after) for e in events] == expected
    assert all(e.at == 12.0 for e in events)


def test_event_json_shape() -> None:
    event = Event(61.26, EventKind.LIFECYCLE, "Install", "InProgress", "Succeeded")
    assert event.to_json() == {
        "at": 61.3,
        "kind": "lifecycle",
        "subject": "Install",
        "from": "InProgress",
        "to": "Succeeded",
    }


MILESTONES = [
    pytest.param(snap(S.IN_PROGRESS, {"AfterInstall": IP}), "ready", False, id="installing-not-ready"),
    pytest.param(
        snap(S.IN_PROGRESS, {"AfterAllowTestTraffic": OK}), "ready", True, id="test-traffic-done-ready"
    ),
    pytest.param(snap(S.READY, {"AfterAllowTestTraffic": OK}), "ready", True, id="waiting-at-ready"),
    pytest.param(
        snap(S.IN_PROGRESS, {"AfterAllowTestTraffic": OK}), "traffic-shifted", False, id="not-shifted"
    ),
    pytest.param(snap(S.IN_PROGRESS, {"AllowTraffic": OK}), "traffic-shifted", True, id="shifted"),
    pytest.param(snap(S.BAKING, {"AllowTraffic": OK}), "done", False, id="baking-not-done"),
    pytest.param(snap(S.SUCCEEDED), "done", True, id="succeeded-done"),
    pytest.param(snap(S.FAILED), "done", True, id="failed-is-finished"),
    pytest.param(snap(S.FAILED), "ready", False, id="failed-never-ready"),
    pytest.param(snap(S.SUCCEEDED), "ready", True, id="succeeded-passed-ready"),
]


@pytest.mark.parametrize(("snapshot", "until", "reached"), MILESTONES)
def test_milestone_reached(snapshot: Snapshot, until: str, reached: bool) -> None:
    assert milestone_reached(snapshot, until) is reached


POLICY = PollPolicy(moving_seconds=5, running_seconds=10, waiting_seconds=30)
INTERVALS = [
    pytest.param(None, snap(S.CREATED), 10, id="created"),
    pytest.param(None, snap(S.QUEUED), 30, id="queued-waits"),
    pytest.param(
        snap(S.IN_PROGRESS, {"BeforeInstall": IP}), snap(S.IN_PROGRESS, {"BeforeInstall": IP}), 10, id="hook"
    ),
    pytest.param(
        snap(S.IN_PROGRESS, {"AllowTraffic": IP}, (100, 0)),
        snap(S.IN_PROGRESS, {"AllowTraffic": IP}, (90, 10)),
        5,
        id="traffic-just-moved",
    ),
    pytest.param(
        snap(S.IN_PROGRESS, {"AllowTraffic": IP}, (90, 10)),
        snap(S.IN_PROGRESS, {"AllowTraffic": IP}, (90, 10)),
        5,
        id="traffic-shifting",
    ),
    pytest.param(
        snap(S.IN_PROGRESS, {"AllowTraffic": OK, "AfterAllowTraffic": IP}),
        snap(S.IN_PROGRESS, {"AllowTraffic": OK, "AfterAllowTraffic": IP}),
        30,
        id="post-shift-bake",
    ),
    pytest.param(snap(S.BAKING), snap(S.BAKING), 30, id="termination-wait"),
    pytest.param(snap(S.READY), snap(S.READY), 30, id="waiting-for-promote"),
]


@pytest.mark.parametrize(("previous", "current", "seconds"), INTERVALS)
def test_poll_interval(previous: Snapshot | None, current: Snapshot, seconds: float) -> None:
    assert poll_interval(previous, current, POLICY) == seconds


BAKE = {"AllowTraffic": OK, "AfterAllowTraffic": IP}
# The watcher reads the alarms at every poll (stop at the first sign): while users reach the
# replacement, no poll waits longer than the quick interval; with nothing on it, the stage decides.
ALARM_WATCH_INTERVALS = [
    pytest.param(snap(S.IN_PROGRESS, BAKE, (0, 100)), True, 5, id="post-shift-bake-users-on-green"),
    pytest.param(snap(S.BAKING, None, (0, 100)), True, 5, id="termination-wait-users-on-green"),
    pytest.param(snap(S.IN_PROGRESS, BAKE, (0, 100)), False, 30, id="bake-alarms-not-read"),
    pytest.param(snap(S.IN_PROGRESS, {"BeforeInstall": IP}, (100, 0)), True, 10, id="hook-nobody-on-green"),
    pytest.param(snap(S.READY, None, (100, 0)), True, 30, id="ready-nobody-on-green"),
    pytest.param(snap(S.BAKING), True, 30, id="weights-unknown"),
    pytest.param(snap(S.IN_PROGRESS, {"AllowTraffic": IP}, (90, 10)), True, 5, id="shifting-stays-quick"),
]


@pytest.mark.parametrize(("current", "watching_alarms", "seconds"), ALARM_WATCH_INTERVALS)
def test_poll_interval_while_watching_alarms(
    current: Snapshot, watching_alarms: bool, seconds: float
) -> None:
    assert poll_interval(current, current, POLICY, watching_alarms=watching_alarms) == seconds


def test_call_budget_bounds_calls_per_window() -> None:
    now = [0.0]
    budget = CallBudget(per_minute=6, window_seconds=60.0, clock=lambda: now[0])
    assert budget.wait_needed(3) == 0.0
    budget.spend(3)
    now[0] = 10.0
    budget.spend(3)
    assert budget.wait_needed(3) == pytest.approx(50.0)  # the first three leave the window at t=60
    now[0] = 60.0
    assert budget.wait_needed(3) == 0.0
    budget.spend(3)
    assert budget.total == 9 and budget.peak == 6


@pytest.mark.parametrize(
    ("snapshot", "reached"),
    [
        pytest.param(
            snap(S.IN_PROGRESS, {"AfterAllowTestTraffic": OK}), False, id="test-traffic-done-not-yet-ready"
        ),
        pytest.param(snap(S.READY, {"AfterAllowTestTraffic": OK}), True, id="status-ready"),
        pytest.param(snap(S.IN_PROGRESS, {"AllowTraffic": OK}), True, id="already-promoted"),
    ],
)
def test_ready_with_stop_deployment_means_status_ready(snapshot: Snapshot, reached: bool) -> None:
    assert milestone_reached(snapshot, "ready", ready_waits=True) is reached


@pytest.mark.parametrize(
    ("status", "until", "continue_at_ready", "expected"),
    [
        (S.READY, "done", True, True),
        (S.READY, "traffic-shifted", True, True),
        (S.READY, "ready", True, False),  # --until ready: `bluegreen promote` continues it
        (S.READY, "done", False, False),  # `bluegreen watch` only looks
        (S.IN_PROGRESS, "done", True, False),
        (S.BAKING, "done", True, False),
    ],
)
def test_should_continue_at_ready(
    status: DeploymentStatus, until: str, continue_at_ready: bool, expected: bool
) -> None:
    from orchestrator.watching.snapshots import should_continue_at_ready

    assert should_continue_at_ready(snap(status), until, continue_at_ready) is expected

"""Watching one of Amazon ECS's native deployments: diff, milestones, poll intervals, the plain and
live views and the hook reason over snapshots whose lifecycle is ECS's stages (tables, no AWS)."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest

from orchestrator.strategies import parse_strategy
from orchestrator.vocabulary import NATIVE_LIFECYCLE_STAGES, DeploymentStatus, LifecycleStatus
from orchestrator.watching.hook_verdict import SuspectHook, suspect_hooks
from orchestrator.watching.lifecycles import NATIVE_LIFECYCLE
from orchestrator.watching.snapshots import (
    ROLLING_BACK_IN_PLACE,
    EventKind,
    PollPolicy,
    Snapshot,
    diff,
    milestone_reached,
    poll_interval,
)
from orchestrator.watching.timing import GroupTiming, expected_phases
from orchestrator.watching.views import EtaTracker, LiveView, PlainView

S = DeploymentStatus
ARN = "arn:aws:ecs:ap-northeast-2:123456789012:service-deployment/doa-market-cluster/product-service/abc"
CODEDEPLOY_WORDS = ("CodeDeploy", "lifecycle event", "BeforeInstall", "AllowTraffic", "AfterAllowTestTraffic")


def native(
    status: DeploymentStatus,
    at: str | None,
    weights: tuple[float, float] | None = (100.0, 0.0),
    *,
    failed: bool = False,
    rollback: str | None = None,
) -> Snapshot:
    """A native snapshot as the ECS engine maps one (engine.md, "Snapshot mapping"): stages before
    ``at`` Succeeded, ``at`` InProgress (Failed), later ones Pending; all Succeeded when ``at`` is None."""
    index = NATIVE_LIFECYCLE_STAGES.index(at) if at else len(NATIVE_LIFECYCLE_STAGES)
    current = LifecycleStatus.FAILED if failed else LifecycleStatus.IN_PROGRESS
    lifecycle = tuple(
        (
            name,
            LifecycleStatus.SUCCEEDED if i < index else current if i == index else LifecycleStatus.PENDING,
        )
        for i, name in enumerate(NATIVE_LIFECYCLE_STAGES)
    )
    return Snapshot(
        status=status,
        lifecycle=lifecycle,
        original_weight=weights[0] if weights else None,
        replacement_weight=weights[1] if weights else None,
        rollback_deployment_id=rollback,
    )


DIFF_TABLE = [
    pytest.param(
        None,
        native(S.QUEUED, "RECONCILE_SERVICE", None),
        [
            (EventKind.STATUS, "deployment", None, "Queued"),
            (EventKind.LIFECYCLE, "RECONCILE_SERVICE", "Pending", "InProgress"),
        ],
        id="first poll: status and the stage running, pending stages are not news",
    ),
    pytest.param(
        native(S.IN_PROGRESS, "SCALE_UP"),
        native(S.IN_PROGRESS, "POST_SCALE_UP"),
        [
            (EventKind.LIFECYCLE, "SCALE_UP", "InProgress", "Succeeded"),
            (EventKind.LIFECYCLE, "POST_SCALE_UP", "Pending", "InProgress"),
        ],
        id="one line per stage change, in ECS's order",
    ),
    pytest.param(
        native(S.IN_PROGRESS, "PRODUCTION_TRAFFIC_SHIFT", (100, 0)),
        native(S.IN_PROGRESS, "PRODUCTION_TRAFFIC_SHIFT", (90, 10)),
        [(EventKind.TRAFFIC, "traffic", "blue 100% / green 0%", "blue 90% / green 10%")],
        id="a canary step moves the weights within the stage",
    ),
    pytest.param(
        native(S.IN_PROGRESS, "POST_TEST_TRAFFIC_SHIFT"),
        native(S.READY, "POST_TEST_TRAFFIC_SHIFT"),
        [(EventKind.STATUS, "deployment", "InProgress", "Ready")],
        id="the PAUSE hook waits: Ready",
    ),
    pytest.param(
        native(S.IN_PROGRESS, "PRODUCTION_TRAFFIC_SHIFT", (90, 10)),
        native(S.IN_PROGRESS, "PRODUCTION_TRAFFIC_SHIFT", (100, 0), rollback=ARN),
        [
            (EventKind.ROLLBACK, "rollback", None, ARN),
            (EventKind.TRAFFIC, "traffic", "blue 90% / green 10%", "blue 100% / green 0%"),
        ],
        id="an alarm rolls back within the deployment: the rollback, then the traffic it moves back",
    ),
    pytest.param(
        native(S.IN_PROGRESS, "PRODUCTION_TRAFFIC_SHIFT", (90, 10)),
        native(S.IN_PROGRESS, "TEST_TRAFFIC_SHIFT", (100, 0), rollback=ARN),
        [
            (EventKind.ROLLBACK, "rollback", None, ARN),
            (EventKind.LIFECYCLE, "TEST_TRAFFIC_SHIFT", "Succeeded", "InProgress"),
            (EventKind.TRAFFIC, "traffic", "blue 90% / green 10%", "blue 100% / green 0%"),
        ],
        id="the rollback walks the stages back: the stage it runs again, never stages back to Pending",
    ),
    pytest.param(
        native(S.IN_PROGRESS, "PRODUCTION_TRAFFIC_SHIFT", (100, 0), rollback=ARN),
        native(S.FAILED, "PRODUCTION_TRAFFIC_SHIFT", (100, 0), failed=True, rollback=ARN),
        [
            (EventKind.LIFECYCLE, "PRODUCTION_TRAFFIC_SHIFT", "InProgress", "Failed"),
            (EventKind.STATUS, "deployment", "InProgress", "Failed"),
        ],
        id="the rollback is told once; the end status reads last",
    ),
    pytest.param(
        native(S.BAKING, "BAKE_TIME", (0, 100)),
        native(S.SUCCEEDED, None, (0, 100)),
        [
            (EventKind.LIFECYCLE, "BAKE_TIME", "InProgress", "Succeeded"),
            (EventKind.LIFECYCLE, "CLEAN_UP", "Pending", "Succeeded"),
            (EventKind.STATUS, "deployment", "Baking", "Succeeded"),
        ],
        id="success after the bake",
    ),
]


@pytest.mark.parametrize(("previous", "current", "expected"), DIFF_TABLE)
def test_diff_of_native_snapshots(
    previous: Snapshot | None, current: Snapshot, expected: list[tuple[object, ...]]
) -> None:
    events = diff(previous, current, 5.0)
    assert [(e.kind, e.subject, e.before, e.after) for e in events] == expected


def test_a_native_rollback_says_it_happens_within_the_deployment() -> None:
    [event] = [
        e
        for e in diff(
            native(S.IN_PROGRESS, "PRODUCTION_TRAFFIC_SHIFT"),
            native(S.IN_PROGRESS, "PRODUCTION_TRAFFIC_SHIFT", rollback=ARN),
        )
        if e.kind is EventKind.ROLLBACK
    ]
    assert event.in_place and event.message() == ROLLING_BACK_IN_PLACE
    assert event.to_json() == {"at": 0.0, "kind": "rollback", "subject": "rollback", "from": None, "to": ARN}
    # CodeDeploy's rollback is another deployment, named as before
    codedeploy = diff(
        Snapshot(S.IN_PROGRESS, (("AllowTraffic", LifecycleStatus.IN_PROGRESS),)),
        Snapshot(S.FAILED, (("AllowTraffic", LifecycleStatus.FAILED),), rollback_deployment_id="d-ROLLBACK1"),
    )
    assert codedeploy[-1].message() == "rolled back by deployment d-ROLLBACK1" and not codedeploy[-1].in_place


@pytest.mark.parametrize(
    ("snapshot", "until", "ready_waits", "reached"),
    [
        (native(S.IN_PROGRESS, "POST_TEST_TRAFFIC_SHIFT"), "ready", True, False),  # smoke hook running
        (native(S.READY, "POST_TEST_TRAFFIC_SHIFT"), "ready", True, True),  # the PAUSE hook waits
        (native(S.IN_PROGRESS, "PRODUCTION_TRAFFIC_SHIFT"), "ready", False, True),  # no PAUSE hook
        (native(S.IN_PROGRESS, "PRODUCTION_TRAFFIC_SHIFT", (90, 10)), "traffic-shifted", False, False),
        (native(S.IN_PROGRESS, "POST_PRODUCTION_TRAFFIC_SHIFT", (0, 100)), "traffic-shifted", False, True),
        (native(S.BAKING, "BAKE_TIME", (0, 100)), "done", False, False),
        (native(S.SUCCEEDED, None, (0, 100)), "done", False, True),
        (native(S.FAILED, "SCALE_UP", failed=True, rollback=ARN), "ready", True, False),
        (native(S.FAILED, "SCALE_UP", failed=True, rollback=ARN), "done", True, True),  # ended
    ],
)
def test_native_milestones(snapshot: Snapshot, until: str, ready_waits: bool, reached: bool) -> None:
    assert milestone_reached(snapshot, until, ready_waits) is reached


@pytest.mark.parametrize(
    ("current", "seconds"),
    [
        (native(S.IN_PROGRESS, "SCALE_UP"), 5.0),  # tasks start: quick
        (native(S.IN_PROGRESS, "PRODUCTION_TRAFFIC_SHIFT", (90, 10)), 5.0),  # traffic moves: quick
        (native(S.IN_PROGRESS, "POST_TEST_TRAFFIC_SHIFT"), 10.0),  # a hook runs
        (native(S.IN_PROGRESS, "POST_PRODUCTION_TRAFFIC_SHIFT", (0, 100)), 30.0),  # the hook's bake
        (native(S.BAKING, "BAKE_TIME", (0, 100)), 30.0),
        (native(S.READY, "POST_TEST_TRAFFIC_SHIFT"), 30.0),  # waiting for promote
    ],
)
def test_native_poll_interval(current: Snapshot, seconds: float) -> None:
    assert poll_interval(current, current, PollPolicy()) == seconds


CANARY = [
    (0.0, native(S.QUEUED, "RECONCILE_SERVICE", None)),
    (20.0, native(S.IN_PROGRESS, "SCALE_UP")),
    (200.0, native(S.IN_PROGRESS, "POST_TEST_TRAFFIC_SHIFT")),
    (260.0, native(S.IN_PROGRESS, "PRODUCTION_TRAFFIC_SHIFT", (90, 10))),
    (560.0, native(S.IN_PROGRESS, "POST_PRODUCTION_TRAFFIC_SHIFT", (0, 100))),
    (700.0, native(S.BAKING, "BAKE_TIME", (0, 100))),
    (1600.0, native(S.SUCCEEDED, None, (0, 100))),
]


def _plain(timeline: list[tuple[float, Snapshot]], eta: EtaTracker | None = None) -> str:
    out = io.StringIO()
    view = PlainView(out, eta)
    previous = None
    for at, snapshot in timeline:
        view.update(snapshot, diff(previous, snapshot, at), at)
        previous = snapshot
    return out.getvalue()


def test_plain_view_of_a_native_canary_names_ecs_stages_aligned() -> None:
    text = _plain(CANARY)
    assert not any(word in text for word in CODEDEPLOY_WORDS)
    lines = text.splitlines()
    assert "  00:20  SCALE_UP                      InProgress" in lines
    assert "  04:20  traffic                       blue 90% / green 10%" in lines
    assert "  11:40  deployment                    Baking" in lines
    assert lines[-1] == "  26:40  deployment                    Succeeded"
    # one line per stage change seen (a stage that began and ended between two polls: one line),
    # and every stage is told until it Succeeded
    for stage in NATIVE_LIFECYCLE_STAGES:
        told = [line.split()[-1] for line in lines if f" {stage} " in line]
        assert told and told[-1] == "Succeeded" and len(told) == len(set(told)), (stage, told)


def test_plain_view_eta_follows_native_phases_and_stops_while_rolling_back() -> None:
    timing = GroupTiming("CONTINUE_DEPLOYMENT", 0, 15, {}, install_seconds=180.0, lifecycle=NATIVE_LIFECYCLE)
    phases = expected_phases(parse_strategy("canary10"), timing)
    text = _plain(CANARY[:3], EtaTracker(phases))
    assert "(phase SCALE_UP, about " in text and "(phase POST_TEST_TRAFFIC_SHIFT, about " in text
    tracker = EtaTracker(phases)
    assert tracker.update(native(S.IN_PROGRESS, "PRODUCTION_TRAFFIC_SHIFT", rollback=ARN), 300.0) == (
        None,
        None,
    )
    rolled = _plain(
        [
            (0.0, native(S.IN_PROGRESS, "PRODUCTION_TRAFFIC_SHIFT", (90, 10))),
            (30.0, native(S.IN_PROGRESS, "PRODUCTION_TRAFFIC_SHIFT", (100, 0), rollback=ARN)),
        ]
    )
    assert f"  00:30  rollback                      {ROLLING_BACK_IN_PLACE}" in rolled.splitlines()


def test_live_view_lists_the_native_stages() -> None:
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=False)
    timing = GroupTiming.from_deployment_configuration({"bakeTimeInMinutes": 15})
    view = LiveView(
        console, "product-service", EtaTracker(expected_phases(parse_strategy("canary10"), timing))
    )
    view.update(native(S.IN_PROGRESS, "PRODUCTION_TRAFFIC_SHIFT", (90, 10)), [], 260.0)
    view.close()
    text = out.getvalue()
    assert all(stage in text for stage in NATIVE_LIFECYCLE_STAGES)
    assert not any(word in text for word in CODEDEPLOY_WORDS)
    assert "blue 90% / green 10%" in text and "ETA" in text


# --- which hook failed a native deployment, and its own reason -------------------------------------

HOOKS = {
    "BeforeInstall": "freeze",
    "AfterAllowTestTraffic": "smoke",
    "BeforeAllowTraffic": "gate",
    "AfterAllowTraffic": "bake",
}


ANY_HOOK = [
    SuspectHook("BeforeInstall", "PRE_SCALE_UP", False),
    SuspectHook("AfterAllowTestTraffic", "POST_TEST_TRAFFIC_SHIFT", False),
    SuspectHook("BeforeAllowTraffic", "PRE_PRODUCTION_TRAFFIC_SHIFT", False),
    SuspectHook("AfterAllowTraffic", "POST_PRODUCTION_TRAFFIC_SHIFT", False),
]


def test_a_codedeploy_failure_without_a_hook_blames_none() -> None:
    # CodeDeploy's rollback is another deployment: the failed event is where it failed
    assert suspect_hooks([("Install", "Failed")], HOOKS) == []
    assert suspect_hooks([("PRE_SCALE_UP", "Succeeded")], HOOKS) == []  # nothing failed


def _failed_at(stage: str) -> list[tuple[str, str]]:
    return [(name, status.value) for name, status in native(S.FAILED, stage, failed=True).lifecycle]


@pytest.mark.parametrize(
    ("stage", "suspects"),
    [
        ("PRE_SCALE_UP", [SuspectHook("BeforeInstall", "PRE_SCALE_UP", True)]),
        # no hook runs there, and ECS rolls back within the deployment, walking its stages back
        # (it ends where the walk ends): any hook may have failed it, each blamed only by its verdict
        ("SCALE_UP", ANY_HOOK),
        ("TEST_TRAFFIC_SHIFT", ANY_HOOK),
        (
            "POST_TEST_TRAFFIC_SHIFT",
            [
                SuspectHook("AfterAllowTestTraffic", "POST_TEST_TRAFFIC_SHIFT", True),
                SuspectHook("BeforeAllowTraffic", "PRE_PRODUCTION_TRAFFIC_SHIFT", False),
            ],
        ),
        # the pre-shift alarm gate, or an alarm during the shift: only the gate's verdict can tell
        (
            "PRODUCTION_TRAFFIC_SHIFT",
            [SuspectHook("BeforeAllowTraffic", "PRE_PRODUCTION_TRAFFIC_SHIFT", False)],
        ),
        (
            "POST_PRODUCTION_TRAFFIC_SHIFT",
            [SuspectHook("AfterAllowTraffic", "POST_PRODUCTION_TRAFFIC_SHIFT", True)],
        ),
        ("BAKE_TIME", ANY_HOOK),
    ],
)
def test_suspect_hooks_of_a_failed_native_stage(stage: str, suspects: list[SuspectHook]) -> None:
    assert suspect_hooks(_failed_at(stage), HOOKS) == suspects


@pytest.fixture
def dev_session(repo_root: Any) -> Any:
    from types import SimpleNamespace

    from orchestrator.catalog import load_catalog

    return SimpleNamespace(catalog=load_catalog(repo_root / "services.yaml"))


def _verdict(event: str, reason: str, stage: str | None = None) -> dict[str, Any]:
    fields = {
        "level": "WARNING",
        "message": f"{event} Failed: {reason}",
        "verdict": "Failed",
        "deployment_id": ARN,
        "lifecycle_event": event if stage is None else stage,
        "reason": reason,
    }
    return {"message": json.dumps(fields), "timestamp": int(time.time() * 1000)}


@pytest.mark.parametrize(
    ("stage", "logged", "expected"),
    [
        # the smoke hook at the test traffic stage, its verdict naming the catalog's event
        (
            "POST_TEST_TRAFFIC_SHIFT",
            [("AfterAllowTestTraffic", "health: status 500", None)],
            ("POST_TEST_TRAFFIC_SHIFT", "AfterAllowTestTraffic", "health: status 500"),
        ),
        # ... or ECS's stage
        (
            "POST_TEST_TRAFFIC_SHIFT",
            [("AfterAllowTestTraffic", "health: status 500", "POST_TEST_TRAFFIC_SHIFT")],
            ("POST_TEST_TRAFFIC_SHIFT", "AfterAllowTestTraffic", "health: status 500"),
        ),
        # the alarm gate before a production step
        (
            "PRODUCTION_TRAFFIC_SHIFT",
            [("BeforeAllowTraffic", "alarm product-service-5xx-errors in ALARM", None)],
            (
                "PRE_PRODUCTION_TRAFFIC_SHIFT",
                "BeforeAllowTraffic",
                "alarm product-service-5xx-errors in ALARM",
            ),
        ),
        # an alarm stopped the shift, no hook failed: no hook is blamed
        ("PRODUCTION_TRAFFIC_SHIFT", [], None),
        # the smoke hook failed and ECS's rollback walked back to TEST_TRAFFIC_SHIFT, where it ended
        (
            "TEST_TRAFFIC_SHIFT",
            [("AfterAllowTestTraffic", "health: status 500", None)],
            ("POST_TEST_TRAFFIC_SHIFT", "AfterAllowTestTraffic", "health: status 500"),
        ),
        ("TEST_TRAFFIC_SHIFT", [], None),  # an alarm: every hook's log read once, none blamed
    ],
)
def test_the_hook_reason_of_a_native_deployment(
    dev_session: Any,
    stage: str,
    logged: list[tuple[str, str, str | None]],
    expected: tuple[str, str, str] | None,
) -> None:
    from orchestrator.commands.hook_reason import hook_failure
    from tests.support.fakes import FakeClients

    fakes = FakeClients()
    hooks = dev_session.catalog.resolve("product-service", "dev").settings.hooks
    for function in hooks.values():
        fakes.logs.events[f"/aws/lambda/{function}"] = []
    for event, reason, as_stage in logged:
        fakes.logs.events[f"/aws/lambda/{hooks[event]}"].append(_verdict(event, reason, as_stage))

    found = hook_failure(
        dev_session,
        fakes,
        ARN,
        "product-service",
        "dev",
        _failed_at(stage),
        since=time.time(),
        sleep=lambda _: None,
    )

    if expected is None:
        assert found is None
        return
    step, event, reason = expected
    assert found is not None and (found.lifecycle_event, found.function, found.reason) == (
        step,
        hooks[event],
        reason,
    )
    assert found.lines()[0] == f"{step} hook ({hooks[event]}) failed: {reason}"


def test_no_eta_from_phases_of_the_other_lifecycle() -> None:
    # a native deployment described with CodeDeploy's phases (GroupTiming without its lifecycle):
    # no ETA rather than one that counts CodeDeploy's events
    codedeploy_phases = expected_phases(parse_strategy("canary10"), GroupTiming("CONTINUE_DEPLOYMENT", 0, 15))
    assert EtaTracker(codedeploy_phases).update(native(S.IN_PROGRESS, "SCALE_UP"), 20.0) == (None, None)

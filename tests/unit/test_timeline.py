"""The timeline model (orchestrator/insight/timeline.py): Evidence -> lanes, as tables."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.insight.evidence import (
    AlarmChange,
    DeploymentFacts,
    Evidence,
    HookVerdict,
    Inspection,
    Outcome,
    Step,
    TrafficPoint,
    Unreadable,
)
from orchestrator.insight.timeline import Band, MarkKind, Span, TrafficStep, Verdict, build, verdict_of

T0 = datetime(2026, 11, 30, 5, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def facts(**more: object) -> DeploymentFacts:
    base: dict[str, object] = {
        "deployment_id": "d-TIMELINE1",
        "engine": "codedeploy",
        "status": "Failed",
        "outcome": Outcome.ROLLED_BACK,
        "service": "product-service",
        "environment": "dev",
        "strategy": "canary10",
        "created": T0,
        "completed": at(400),
    }
    base.update(more)
    return DeploymentFacts(**base)  # type: ignore[arg-type]


def evidence(**more: object) -> Evidence:
    about = more.pop("facts", None) or facts()
    inspection = {k: more.pop(k) for k in list(more) if k in Inspection.__dataclass_fields__}
    return Evidence(Inspection(about, **inspection), **more)  # type: ignore[arg-type]


def step(name: str, status: str, start: float | None = None, end: float | None = None, **more: str) -> Step:
    return Step(
        name, status, at(start) if start is not None else None, at(end) if end is not None else None, **more
    )


def hook(
    step_name: str, verdict: str, seconds: float, function: str = "fn", reason: str = "ok"
) -> HookVerdict:
    return HookVerdict(step_name, function, verdict, reason, at(seconds))


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("Succeeded", Verdict.SUCCEEDED),
        ("SUCCEEDED", Verdict.SUCCEEDED),
        ("SUCCESSFUL", Verdict.SUCCEEDED),
        ("Failed", Verdict.FAILED),
        ("TIMED_OUT", Verdict.FAILED),
        ("InProgress", Verdict.IN_PROGRESS),
        ("IN_PROGRESS", Verdict.IN_PROGRESS),
        ("AWAITING_ACTION", Verdict.IN_PROGRESS),
        ("Skipped", Verdict.SKIPPED),
        ("Pending", Verdict.PENDING),
        ("STOPPED", Verdict.STOPPED),
        ("Unknown", Verdict.UNKNOWN),
        ("", Verdict.UNKNOWN),
        (None, Verdict.UNKNOWN),
    ],
)
def test_verdict_words_of_both_engines(word: str | None, expected: Verdict) -> None:
    assert verdict_of(word) is expected


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        ((), [(0, 0)]),
        # canary10 rolled back: 10 % at 120 s, back to 0 at 300 s
        (((120, 10), (300, 0)), [(0, 0), (120, 10), (300, 0)]),
        # a point at the origin replaces the 0 % start; a repeated share adds no step
        (((0, 10), (60, 10), (360, 100)), [(0, 10), (360, 100)]),
        # a point before the creation (clock skew) is drawn at 0 s; unsorted input is sorted
        (((300, 100), (-5, 10)), [(0, 10), (300, 100)]),
    ],
)
def test_traffic_is_green_share_from_zero(points: tuple[tuple[float, float], ...], expected: list) -> None:
    timeline = build(evidence(traffic=tuple(TrafficPoint(at(s), pct) for s, pct in points)))
    assert [(s.at, s.green_percent) for s in timeline.traffic] == expected
    assert all(s.blue_percent == 100 - s.green_percent for s in timeline.traffic)


def test_codedeploy_steps_are_spans_with_their_own_times_and_verdicts() -> None:
    steps = (
        step("BeforeInstall", "Succeeded", 0, 5),
        step("Install", "Succeeded", 5, 60),
        step("AfterAllowTestTraffic", "Failed", 60, 90, error_code="ScriptFailed", message="smoke 500"),
        step("BeforeAllowTraffic", "Skipped"),
    )
    timeline = build(evidence(steps=steps))
    assert timeline.lifecycle == (
        Span("BeforeInstall", Verdict.SUCCEEDED, 0, 5),
        Span("Install", Verdict.SUCCEEDED, 5, 60),
        Span("AfterAllowTestTraffic", Verdict.FAILED, 60, 90, "ScriptFailed: smoke 500"),
        Span("BeforeAllowTraffic", Verdict.SKIPPED, None, None, source="none"),
    )
    assert next((m.kind, m.at, m.label) for m in timeline.marks) == (
        MarkKind.FAILED,
        90,
        "AfterAllowTestTraffic failed",
    )


@pytest.mark.parametrize(
    ("hook_step", "hook_times", "expected"),
    [
        # the stage's hook answered at 40 s: the stage ran from the previous stage's end (10 s) to 40 s
        ("POST_SCALE_UP", (40,), (10, 40, "hooks")),
        # a hook line may name the CodeDeploy event the hook is written for: the same stage
        ("AfterInstall", (40,), (10, 40, "hooks")),
        # a bake answered IN_PROGRESS several times: the stage ends at the last line
        ("POST_SCALE_UP", (20, 30, 45), (10, 45, "hooks")),
        # no hook at that stage: nothing times it
        ("PRE_SCALE_UP", (40,), (None, None, "none")),
    ],
)
def test_ecs_stages_are_timed_by_their_hooks_lines(
    hook_step: str, hook_times: tuple[float, ...], expected: tuple
) -> None:
    steps = (step("SCALE_UP", "Succeeded", 0, 10), step("POST_SCALE_UP", "Succeeded"))
    hooks = tuple(hook(hook_step, "InProgress", t) for t in hook_times)
    timeline = build(evidence(facts=facts(engine="ecs"), steps=steps, hooks=hooks))
    span = timeline.lifecycle[1]
    assert (span.start, span.end, span.source) == expected
    assert span.placed is (expected[0] is not None)


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        # a stage after an untimed one starts at its hook's first line, not at an earlier stage's end
        (
            (
                step("RECONCILE_SERVICE", "Succeeded", 0, 3),
                step("SCALE_UP", "Succeeded"),
                step("POST_TEST_TRAFFIC_SHIFT", "Failed"),
            ),
            [(0, 3), (None, None), (70, 70)],
        ),
        # the stage ECS reached has an end (the rollback's start) but no start: the stage before's end
        (
            (
                step("POST_TEST_TRAFFIC_SHIFT", "Succeeded"),
                step("PRODUCTION_TRAFFIC_SHIFT", "Failed", None, 150),
            ),
            [(0, 70), (70, 150)],
        ),
        # ... unless the stage before it is not timed either
        (
            (step("SCALE_UP", "Succeeded"), step("PRODUCTION_TRAFFIC_SHIFT", "Failed", None, 150)),
            [(None, None), (None, 150)],
        ),
        # the first stage starts at the creation
        ((step("PRODUCTION_TRAFFIC_SHIFT", "Failed", None, 150),), [(0, 150)]),
    ],
)
def test_a_stage_without_a_start_starts_when_the_stage_before_it_ended(steps: tuple, expected: list) -> None:
    hooks = (hook("POST_TEST_TRAFFIC_SHIFT", "Succeeded", 70),)
    timeline = build(evidence(facts=facts(engine="ecs"), steps=steps, hooks=hooks))
    assert [(s.start, s.end) for s in timeline.lifecycle] == expected


ECS_ROLLED_BACK = {"engine": "ecs", "rollback_started": at(250), "completed": at(300)}


@pytest.mark.parametrize(
    ("more", "hooks", "expected"),
    [
        # canary10 on ECS: the gate passed at 100 s, 10 % until the rollback put traffic back at 250 s
        (ECS_ROLLED_BACK, (hook("BeforeAllowTraffic", "Succeeded", 100),), [(0, 0), (100, 10), (250, 0)]),
        # the gate line may name ECS's stage; the first passed line starts the shift
        (
            ECS_ROLLED_BACK,
            (
                hook("PRE_PRODUCTION_TRAFFIC_SHIFT", "Succeeded", 100),
                hook("PRE_PRODUCTION_TRAFFIC_SHIFT", "Failed", 240),
            ),
            [(0, 0), (100, 10), (250, 0)],
        ),
        # succeeded: the rest after 5 minutes; the bake hook's first line is the shift's end at the latest
        (
            {"engine": "ecs", "status": "SUCCESSFUL", "outcome": Outcome.SUCCEEDED, "completed": at(900)},
            (
                hook("BeforeAllowTraffic", "Succeeded", 100),
                hook("POST_PRODUCTION_TRAFFIC_SHIFT", "InProgress", 402),
            ),
            [(0, 0), (100, 10), (400, 100)],
        ),
        # the gate failed before any traffic moved: green never had production traffic
        (ECS_ROLLED_BACK, (hook("BeforeAllowTraffic", "Failed", 100),), [(0, 0)]),
        # a strategy bluegreen has no name for (the engine's own words): no schedule to draw
        (
            {**ECS_ROLLED_BACK, "strategy": "CANARY 7% then the rest after 3 min"},
            (hook("BeforeAllowTraffic", "Succeeded", 100),),
            [(0, 0)],
        ),
    ],
)
def test_traffic_from_the_hooks_when_the_engine_could_not_pin_it(
    more: dict, hooks: tuple[HookVerdict, ...], expected: list
) -> None:
    timeline = build(evidence(facts=facts(**more), hooks=hooks))
    assert [(s.at, s.green_percent) for s in timeline.traffic] == expected


def test_codedeploy_stopped_before_allow_traffic_moved_no_traffic_whatever_the_gate_logged() -> None:
    """The watcher's stop (an alarm) lands after the BeforeAllowTraffic gate logged its pass but before
    AllowTraffic started: CodeDeploy's events say production never moved, so no 10 % is drawn (the
    hooks' schedule is only for an engine that keeps no shift times)."""
    steps = (
        step("BeforeAllowTraffic", "Failed", 90, 110),
        step("AllowTraffic", "Skipped"),
    )
    hooks = (hook("BeforeAllowTraffic", "Succeeded", 100),)
    more = {"rollback_started": at(110), "completed": at(200)}
    timeline = build(evidence(facts=facts(**more), steps=steps, hooks=hooks))
    assert [(s.at, s.green_percent) for s in timeline.traffic] == [(0, 0)]


def test_the_engines_traffic_wins_over_the_hooks() -> None:
    hooks = (hook("BeforeAllowTraffic", "Succeeded", 100),)
    timeline = build(evidence(traffic=(TrafficPoint(at(60), 10),), hooks=hooks))
    assert [(s.at, s.green_percent) for s in timeline.traffic] == [(0, 0), (60, 10)]


def test_hooks_are_one_span_per_step_and_function_with_the_failing_verdict() -> None:
    hooks = (
        hook("POST_PRODUCTION_TRAFFIC_SHIFT", "InProgress", 200, "bake", "alarms OK"),
        hook("AfterAllowTestTraffic", "Succeeded", 80, "smoke", "3 checks passed"),
        hook("POST_PRODUCTION_TRAFFIC_SHIFT", "Failed", 260, "bake", "alarm product-service-5xx ALARM"),
        hook("POST_PRODUCTION_TRAFFIC_SHIFT", "InProgress", 230, "bake", "alarms OK"),
    )
    timeline = build(evidence(hooks=hooks))
    assert timeline.hooks == (
        Span("AfterAllowTestTraffic", Verdict.SUCCEEDED, 80, 80, "3 checks passed", "hooks", "smoke"),
        Span(
            "POST_PRODUCTION_TRAFFIC_SHIFT",
            Verdict.FAILED,
            200,
            260,
            "alarm product-service-5xx ALARM",
            "hooks",
            "bake",
        ),
    )


def change(alarm: str, seconds: float, old: str, new: str) -> AlarmChange:
    return AlarmChange(alarm, at(seconds), old, new, f"{old} -> {new}")


@pytest.mark.parametrize(
    ("watched", "changes", "expected"),
    [
        # no change in the window: one band of unknown state across it
        (("a",), (), [("a", None, 0, 400)]),
        # OK until 150 s, ALARM until 330 s, OK again to the end
        (
            ("a",),
            (change("a", 330, "ALARM", "OK"), change("a", 150, "OK", "ALARM")),
            [("a", "OK", 0, 150), ("a", "ALARM", 150, 330), ("a", "OK", 330, 400)],
        ),
        # a change at the very start leaves no empty band before it
        (("a",), (change("a", 0, "INSUFFICIENT_DATA", "OK"),), [("a", "OK", 0, 400)]),
        # an alarm that changed but was not among the watched ones still gets its lane, after them
        (
            ("a",),
            (change("b", 100, "OK", "ALARM"),),
            [("a", None, 0, 400), ("b", "OK", 0, 100), ("b", "ALARM", 100, 400)],
        ),
    ],
)
def test_alarm_states_are_bands(watched: tuple[str, ...], changes: tuple, expected: list) -> None:
    timeline = build(evidence(alarm_names=watched, alarms=changes))
    assert [(b.alarm, b.state, b.start, b.end) for b in timeline.alarms] == expected
    assert timeline.alarm_names == tuple(dict.fromkeys(name for name, *_ in expected))


def test_a_band_keeps_the_reason_of_the_change_that_began_it() -> None:
    timeline = build(evidence(alarms=(change("a", 150, "OK", "ALARM"),)))
    assert timeline.alarms[-1] == Band("a", "ALARM", 150, 400, "OK -> ALARM")


def test_codedeploy_rollback_marks_and_the_rollback_deployments_steps() -> None:
    rolled = facts(
        rolled_back=True,
        rollback_deployment_id="d-ROLLBACK1",
        rollback_started=at(300),
        rollback_reason="alarm product-service-5xx",
        completed=at(301),
    )
    timeline = build(
        evidence(
            facts=rolled,
            steps=(step("AllowTraffic", "Failed", 100, 300),),
            rollback_steps=(
                step("BeforeInstall", "Succeeded", 305, 306),
                step("AllowTraffic", "Succeeded", 310, 330),
            ),
        )
    )
    assert [(s.label, s.start, s.end) for s in timeline.rollback] == [
        ("BeforeInstall", 305, 306),
        ("AllowTraffic", 310, 330),
    ]
    assert [(m.kind, m.at, m.label) for m in timeline.marks] == [
        (MarkKind.FAILED, 300, "AllowTraffic failed"),
        (MarkKind.ROLLBACK_STARTED, 300, "rollback started: alarm product-service-5xx"),
        (MarkKind.ENDED, 301, "rolled back (Failed)"),
        (MarkKind.ROLLBACK_COMPLETED, 330, "rollback completed"),
    ]
    assert timeline.end == 330


def test_ecs_rolls_back_in_place_its_completion_is_the_rollbacks_end() -> None:
    rolled = facts(
        engine="ecs",
        status="ROLLBACK_SUCCESSFUL",
        rolled_back=True,
        rollback_started=at(250),
        completed=at(320),
    )
    timeline = build(evidence(facts=rolled))
    assert [(m.kind, m.at) for m in timeline.marks] == [
        (MarkKind.ROLLBACK_STARTED, 250),
        (MarkKind.ROLLBACK_COMPLETED, 320),
    ]


def test_a_rollback_without_a_start_time_starts_at_its_first_step() -> None:
    rolled = facts(rolled_back=True, rollback_deployment_id="d-ROLLBACK1", completed=at(200))
    timeline = build(evidence(facts=rolled, rollback_steps=(step("BeforeInstall", "Succeeded", 210, 215),)))
    assert (MarkKind.ROLLBACK_STARTED, 210) in [(m.kind, m.at) for m in timeline.marks]


def test_a_stop_is_marked_at_the_completion() -> None:
    stopped = facts(status="Stopped", outcome=Outcome.STOPPED, stopped_by_user=True, completed=at(90))
    timeline = build(evidence(facts=stopped))
    assert [(m.kind, m.at) for m in timeline.marks] == [(MarkKind.STOPPED, 90), (MarkKind.ENDED, 90)]


def test_a_deployment_still_running_has_no_end_mark_and_ends_at_its_last_known_time() -> None:
    running = facts(status="InProgress", outcome=Outcome.IN_PROGRESS, completed=None)
    timeline = build(evidence(facts=running, steps=(step("Install", "InProgress", 5, None),)))
    assert timeline.marks == ()
    assert timeline.lifecycle[0] == Span("Install", Verdict.IN_PROGRESS, 5, None)
    assert timeline.end == 1.0  # nothing ended yet: the axis still has a width


def test_without_a_creation_time_the_earliest_known_time_is_the_origin() -> None:
    timeline = build(
        evidence(facts=facts(created=None, completed=at(100)), steps=(step("Install", "Succeeded", 20, 50),))
    )
    assert timeline.origin == at(20)
    assert timeline.lifecycle[0].start == 0 and timeline.lifecycle[0].end == 30


def test_no_time_at_all_is_refused() -> None:
    with pytest.raises(ValueError, match="no source gives any time"):
        build(evidence(facts=facts(created=None, completed=None)))


def test_unreadable_sources_and_title() -> None:
    timeline = build(
        Evidence(
            Inspection(facts(), unreadable=(Unreadable("ECS tasks", "AccessDenied"),)),
            unreadable=(Unreadable("alarm history", "throttled"),),
        )
    )
    assert timeline.unreadable == ("ECS tasks: AccessDenied", "alarm history: throttled")
    assert timeline.title == "product-service (dev) d-TIMELINE1 canary10 on codedeploy: rolled back"
    assert replace(timeline, service=None, strategy=None).title == "d-TIMELINE1 on codedeploy: rolled back"
    arn = "arn:aws:ecs:ap-northeast-2:123456789012:service-deployment/doa-market-cluster/product-service/Ab12"
    ecs = replace(timeline, deployment_id=arn, engine="ecs")
    assert ecs.title == "product-service (dev) Ab12 canary10 on ecs: rolled back"  # fits a picture's width


def test_traffic_step_blue_is_the_rest() -> None:
    assert TrafficStep(10, 25).blue_percent == 75


def test_a_codedeploy_rollback_whose_steps_were_not_read_has_no_rollback_end_mark() -> None:
    # breaker: the original deployment's completion is not its rollback deployment's end
    rolled = facts(
        rolled_back=True, rollback_deployment_id="d-ROLLBACK1", rollback_started=at(300), completed=at(301)
    )
    timeline = build(evidence(facts=rolled, steps=(step("AllowTraffic", "Failed", 100, 300),)))
    assert [m.kind for m in timeline.marks] == [MarkKind.FAILED, MarkKind.ROLLBACK_STARTED, MarkKind.ENDED]


def test_a_rollback_without_a_start_time_starts_at_its_earliest_step() -> None:
    # breaker: the latest step's start was taken
    rolled = facts(rolled_back=True, rollback_deployment_id="d-ROLLBACK1", completed=at(200))
    steps = (step("BeforeInstall", "Succeeded", 210, 215), step("AllowTraffic", "Succeeded", 220, 230))
    timeline = build(evidence(facts=rolled, rollback_steps=steps))
    started = [m.at for m in timeline.marks if m.kind is MarkKind.ROLLBACK_STARTED]
    assert started == [210]

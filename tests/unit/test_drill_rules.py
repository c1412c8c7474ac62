"""`bluegreen drill`'s pure rules: who may be drilled, the bound a rollback must meet, the verdict."""

from __future__ import annotations

import pytest

from orchestrator.commands import drill_rules
from orchestrator.commands.drill_rules import (
    Bound,
    Fault,
    Marked,
    Observed,
    alarm_bound,
    fault_marker,
    hook_bound,
    marked_fault,
    verdict,
)


@pytest.mark.parametrize(
    ("environment", "production", "force", "refused"),
    [
        ("dev", None, False, False),
        ("staging", None, False, False),
        ("prod", None, False, True),  # unsaid: by the name
        ("Production", None, False, True),
        ("prod", None, True, False),  # --force
        ("prod", False, False, False),  # the catalog says it is not production
        ("eu-main", True, False, True),  # the catalog says it is, whatever the name
        ("eu-main", True, True, False),
    ],
)
def test_production_is_refused_without_force(
    environment: str, production: bool | None, force: bool, refused: bool
) -> None:
    why = drill_rules.refusal(environment, production, force)
    assert (why is not None) is refused
    if refused:
        assert why is not None and environment in why and "--force" in why


@pytest.mark.parametrize(
    ("engine", "period", "evaluations", "drill_poll", "forced", "kept", "seconds"),
    [
        # one engine poll may fall in the gap a CloudWatch evaluation leaves: two polls, + the drill's
        # poll to see the end, + a minute to reroute
        ("codedeploy", 60.0, 1, 5.0, True, None, 60 * 2 + 5 + 60),
        ("ecs", 60.0, 3, 5.0, True, None, 60 * 2 + 5 + 60),  # forced: the evaluation periods do not count
        # the drill's poll as long as the alarm's period: gaps as long as a period, one more miss
        ("codedeploy", 10.0, 1, 10.0, True, None, 60 * 3 + 10 + 60),
        # ... unless the state was re-asserted between polls: the gaps are the re-assertions'
        ("codedeploy", 10.0, 1, 10.0, True, 2.0, 60 * 2 + 10 + 60),
        ("codedeploy", 10.0, 1, 5.0, True, 10.0, 60 * 3 + 5 + 60),
        # a real breach first needs its evaluation periods of bad datapoints
        ("codedeploy", 60.0, 3, 5.0, False, None, 60 * 2 + 5 + 180 + 60),
    ],
)
def test_alarm_bound(
    engine: str,
    period: float,
    evaluations: int,
    drill_poll: float,
    forced: bool,
    kept: float | None,
    seconds: float,
) -> None:
    bound = alarm_bound(engine, period, evaluations, drill_poll, forced=forced, reassert_gap=kept)
    assert bound.seconds == pytest.approx(seconds)
    assert f"{drill_rules.ENGINE_ALARM_POLL_SECONDS[engine]:g} s" in bound.why
    # the report says which gap counted the misses: the re-assertions' when measured, else the polls'
    if kept is None:
        assert "re-asserted" not in bound.why, bound.why
    else:
        assert f"ALARM re-asserted every {kept:g} s at most" in bound.why, bound.why


def test_hook_bound_adds_the_hooks_answer_and_the_drills_poll_to_the_reroute() -> None:
    bound = hook_bound(5.0)
    assert bound.seconds == pytest.approx(
        drill_rules.HOOK_ANSWER_SECONDS + 5 + drill_rules.ROLLBACK_REROUTE_SECONDS
    )
    assert "the drill's poll 5 s" in bound.why and hook_bound(5.0, 10.0).detect_seconds == 15.0


@pytest.mark.parametrize(
    ("text", "marked"),
    [
        ("bg:abc; drill-fault: hook; bluegreen drill product-service canary10", Marked(Fault.HOOK, None)),
        (
            "drill-fault: hook for arn:aws:ecs:r:1:task-definition/x:3",
            Marked(Fault.HOOK, "arn:aws:ecs:r:1:task-definition/x:3"),
        ),
        ("DRILL-FAULT: Alarm", Marked(Fault.ALARM, None)),
        ("drill-fault: latency", None),  # no fault of ours: no marker
        ("bluegreen drill product-service canary10", None),
        ("", None),
        (None, None),
    ],
)
def test_marked_fault(text: str | None, marked: Marked | None) -> None:
    assert marked_fault(text) == marked


@pytest.mark.parametrize("target", [None, "arn:aws:ecs:r:1:task-definition/x:3"])
def test_a_marker_reads_back(target: str | None) -> None:
    assert marked_fault(f"bg:t; {fault_marker(Fault.HOOK, target)}; more") == Marked(Fault.HOOK, target)


BOUND = Bound(150.0, 60.0, "how")  # 210 s


@pytest.mark.parametrize(
    ("observed", "passed", "words"),
    [
        (
            Observed("d-1", "Stopped", True, 30.0, 120.0),
            True,
            "drill passed: d-1 stopped and back on blue 90 s",
        ),
        (
            Observed("d-1", "Stopped", True, 30.0, 250.0),
            False,
            "rolled back 220 s after the fault, beyond the 210 s",
        ),
        (
            Observed("d-1", "Stopped", False, 30.0, None, "no DEPLOYMENT_STOP_ON_ALARM"),
            False,
            "was not rolled back (status Stopped): no DEPLOYMENT_STOP_ON_ALARM",
        ),
        (Observed("d-1", "Succeeded", False, 30.0, None), False, "was not rolled back (status Succeeded)"),
        (Observed("d-1", "Failed", True, None, 20.0), False, "before the fault could be injected"),
    ],
)
def test_verdict(observed: Observed, passed: bool, words: str) -> None:
    outcome = verdict(observed, BOUND)
    assert outcome.passed is passed
    assert words in outcome.line, outcome.line


@pytest.mark.parametrize(("text", "fault"), [("alarm", Fault.ALARM), (" HOOK ", Fault.HOOK)])
def test_parse_fault(text: str, fault: Fault) -> None:
    assert drill_rules.parse_fault(text) is fault


def test_an_unknown_fault_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="valid faults are alarm, hook"):
        drill_rules.parse_fault("latency")

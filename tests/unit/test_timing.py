"""How long a deployment takes: phases in CodeDeploy's order, durations, timeout, ETA and --until."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.catalog import Catalog
from orchestrator.strategies import parse_strategy
from orchestrator.watching.timing import (
    ASSUMED_INSTALL_SECONDS,
    HOOK_OVERHEAD_SECONDS,
    LISTENER_SWITCH_SECONDS,
    UNTIL_PHASES,
    GroupTiming,
    Phase,
    current_phase,
    default_timeout,
    eta_seconds,
    expected_duration,
    expected_phases,
    hook_budgets,
    phases_until,
    until_reached,
)

# A group with a budget for every hook, round numbers so the tables read easily.
BUDGETS = {
    "BeforeInstall": 10.0,
    "AfterInstall": 10.0,
    "AfterAllowTestTraffic": 40.0,
    "BeforeAllowTraffic": 10.0,
    "AfterAllowTraffic": 130.0,
}
TIMING = GroupTiming("CONTINUE_DEPLOYMENT", 0, 15, BUDGETS, install_seconds=180.0)


def test_canary10_expected_phases() -> None:
    assert [
        (p.name, p.expected_seconds, p.lifecycle_event)
        for p in expected_phases(parse_strategy("canary10"), TIMING)
    ] == [
        ("BeforeInstall", 10.0, "BeforeInstall"),
        ("Install", 180.0, "Install"),
        ("AfterInstall", 10.0, "AfterInstall"),
        ("AllowTestTraffic", LISTENER_SWITCH_SECONDS, "AllowTestTraffic"),
        ("AfterAllowTestTraffic", 40.0, "AfterAllowTestTraffic"),
        ("BeforeAllowTraffic", 10.0, "BeforeAllowTraffic"),
        ("traffic-shift", 300.0, "AllowTraffic"),  # 10 %, then the rest after 5 minutes
        ("AfterAllowTraffic", 130.0, "AfterAllowTraffic"),
        ("termination-wait", 900.0, None),
    ]


@pytest.mark.parametrize(
    ("strategy", "shift_seconds"),
    [
        ("all-at-once", 0.0),
        ("canary10", 300.0),
        ("canary10-15m", 900.0),
        ("linear10", 540.0),  # 10 steps, one a minute; the first moves at once
        ("linear10-3m", 1620.0),
        ("linear:30:2", 360.0),  # 30, 60, 90, 100
        ("canary:25:3", 180.0),
    ],
)
def test_expected_duration_is_fixed_phases_plus_the_traffic_shift(
    strategy: str, shift_seconds: float
) -> None:
    fixed = sum(BUDGETS.values()) + 180.0 + LISTENER_SWITCH_SECONDS + 900.0
    assert expected_duration(parse_strategy(strategy), TIMING) == fixed + shift_seconds


def test_linear10_shift_is_ten_steps() -> None:
    strategy = parse_strategy("linear10")
    assert len(strategy.traffic_steps()) == 10
    [shift] = [p for p in expected_phases(strategy, TIMING) if p.name == "traffic-shift"]
    assert shift.expected_seconds == (10 - 1) * 60


def test_ready_wait_only_when_the_group_stops_for_promote() -> None:
    stop = GroupTiming("STOP_DEPLOYMENT", 30, 15, BUDGETS, install_seconds=180.0)
    names = [p.name for p in expected_phases(parse_strategy("canary10"), stop)]
    assert names.index("ready-wait") == names.index("AfterAllowTestTraffic") + 1
    assert "ready-wait" not in [p.name for p in expected_phases(parse_strategy("canary10"), TIMING)]
    assert (
        expected_duration(parse_strategy("canary10"), stop)
        == expected_duration(parse_strategy("canary10"), TIMING) + 30 * 60
    )


@pytest.mark.parametrize("strategy", ["all-at-once", "canary10", "linear10-3m"])
@pytest.mark.parametrize(
    ("timing", "continued", "ready_wait_seconds"),
    [
        # bluegreen continues at Ready itself (deploy, rollback): the window costs nothing
        (GroupTiming("STOP_DEPLOYMENT", 60, 15, BUDGETS), True, 0.0),
        # someone else's deployment waiting for promote: the whole window, the upper bound
        (GroupTiming("STOP_DEPLOYMENT", 60, 15, BUDGETS), False, 3600.0),
        # a group that never waits: continuing changes nothing
        (GroupTiming("CONTINUE_DEPLOYMENT", 0, 15, BUDGETS), True, None),
    ],
)
def test_ready_wait_costs_nothing_when_bluegreen_continues_at_ready(
    strategy: str, timing: GroupTiming, continued: bool, ready_wait_seconds: float | None
) -> None:
    chosen = parse_strategy(strategy)
    phases = expected_phases(chosen, timing, continued_at_ready=continued)
    ready = [p.expected_seconds for p in phases if p.name == "ready-wait"]
    assert ready == ([] if ready_wait_seconds is None else [ready_wait_seconds])
    never_waits = GroupTiming("CONTINUE_DEPLOYMENT", 0, 15, BUDGETS)
    extra = ready_wait_seconds or 0.0
    expected = expected_duration(chosen, timing, continued_at_ready=continued)
    assert expected == expected_duration(chosen, never_waits) + extra
    timeout = default_timeout(chosen, timing, continued_at_ready=continued)
    assert timeout == pytest.approx(expected + max(300, 0.2 * expected))


@pytest.mark.parametrize("strategy", ["all-at-once", "canary10", "canary10-15m", "linear10", "linear10-3m"])
@pytest.mark.parametrize("termination_wait", [0, 5, 60])
def test_default_timeout_is_at_least_expected_plus_five_minutes(strategy: str, termination_wait: int) -> None:
    timing = GroupTiming("CONTINUE_DEPLOYMENT", 0, termination_wait, BUDGETS)
    expected = expected_duration(parse_strategy(strategy), timing)
    timeout = default_timeout(parse_strategy(strategy), timing)
    assert timeout >= expected + 300
    assert timeout == pytest.approx(expected + max(300, 0.2 * expected))


def test_default_timeout_beats_the_fixed_ten_minutes_other_tools_use() -> None:
    # linear10-3m with a 15 minute termination wait takes well over 30 minutes.
    timing = GroupTiming("CONTINUE_DEPLOYMENT", 0, 15, BUDGETS)
    assert default_timeout(parse_strategy("linear10-3m"), timing) > 30 * 60


def test_timing_for_a_catalog_service(real_catalog: Catalog) -> None:
    service = real_catalog.resolve("payment-service", "prod")  # linear10, bake 300 s, termination 15 min
    timing = GroupTiming.for_service(service)
    assert (timing.ready_action, timing.ready_wait_minutes, timing.termination_wait_minutes) == (
        "STOP_DEPLOYMENT",  # the shipped catalog waits at Ready, so `--until ready` + promote work
        60,
        15,
    )
    smoke = service.settings.smoke
    assert timing.hook_budget_seconds == {
        "BeforeInstall": HOOK_OVERHEAD_SECONDS,
        "AfterInstall": HOOK_OVERHEAD_SECONDS,
        "AfterAllowTestTraffic": HOOK_OVERHEAD_SECONDS
        + smoke.warmup_seconds
        + sum(c.latency_budget_ms for c in smoke.checks) / 1000,
        "BeforeAllowTraffic": HOOK_OVERHEAD_SECONDS,
        "AfterAllowTraffic": HOOK_OVERHEAD_SECONDS + 300,  # the bake
    }
    assert timing.install_seconds == ASSUMED_INSTALL_SECONDS


def test_events_without_a_hook_cost_nothing(good_catalog: Catalog) -> None:
    # good.yaml only hooks AfterAllowTestTraffic and AfterAllowTraffic.
    budgets = hook_budgets(good_catalog.resolve("cart-service", "prod"))
    assert set(budgets) == {"AfterAllowTestTraffic", "AfterAllowTraffic"}
    assert budgets["AfterAllowTraffic"] == HOOK_OVERHEAD_SECONDS + 90
    phases = expected_phases(
        parse_strategy("canary10"), GroupTiming.for_service(good_catalog.resolve("cart-service", "prod"))
    )
    assert {p.name: p.expected_seconds for p in phases}["BeforeInstall"] == 0


@pytest.mark.parametrize(
    ("blue_green", "expected"),
    [
        (None, ("CONTINUE_DEPLOYMENT", 0, 0)),
        (
            {
                "deploymentReadyOption": {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60},
                "terminateBlueInstancesOnDeploymentSuccess": {
                    "action": "TERMINATE",
                    "terminationWaitTimeInMinutes": 5,
                },
            },
            ("STOP_DEPLOYMENT", 60, 5),
        ),
        (
            {
                "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
                "terminateBlueInstancesOnDeploymentSuccess": {
                    "action": "KEEP_ALIVE",
                    "terminationWaitTimeInMinutes": 5,
                },
            },
            ("CONTINUE_DEPLOYMENT", 0, 0),
        ),
    ],
)
def test_timing_from_codedeploy_blue_green_configuration(
    blue_green: dict[str, Any] | None, expected: tuple[str, int, int]
) -> None:
    timing = GroupTiming.from_blue_green_config(blue_green, {"AfterAllowTraffic": 60.0})
    assert (timing.ready_action, timing.ready_wait_minutes, timing.termination_wait_minutes) == expected
    assert timing.hook_budget_seconds == {"AfterAllowTraffic": 60.0}


def test_bad_ready_action() -> None:
    with pytest.raises(ValueError, match="ready_action"):
        GroupTiming("WAIT", 0, 0)


PHASES = expected_phases(parse_strategy("canary10"), TIMING)
TOTAL = sum(p.expected_seconds for p in PHASES)


@pytest.mark.parametrize(
    ("phase", "elapsed", "until", "eta"),
    [
        ("BeforeInstall", 0, "done", TOTAL),
        ("BeforeInstall", 4, "done", TOTAL - 4),
        ("Install", 60, "done", TOTAL - 10 - 60),
        ("Install", 999, "done", TOTAL - 10 - 180),  # overdue: this phase counts 0, never negative
        ("traffic-shift", 120, "done", 180 + 130 + 900),
        ("termination-wait", 900, "done", 0),
        ("termination-wait", 300, "done", 600),
        ("BeforeInstall", 0, "ready", 10 + 180 + 10 + LISTENER_SWITCH_SECONDS + 40),
        ("AfterAllowTestTraffic", 10, "ready", 30),
        ("BeforeAllowTraffic", 0, "ready", 0),  # already past ready
        ("BeforeAllowTraffic", 0, "traffic-shifted", 10 + 300),
        ("AfterAllowTraffic", 0, "traffic-shifted", 0),
    ],
)
def test_eta_is_phase_aware(phase: str, elapsed: float, until: str, eta: float) -> None:
    assert eta_seconds(PHASES, phase, elapsed, until) == pytest.approx(eta)


def test_eta_unknown_phase_or_until() -> None:
    with pytest.raises(ValueError, match="unknown phase"):
        eta_seconds(PHASES, "Baking", 0)
    with pytest.raises(ValueError, match="until must be one of ready, traffic-shifted, done"):
        eta_seconds(PHASES, "Install", 0, "halfway")


def test_phases_until() -> None:
    assert UNTIL_PHASES == ("ready", "traffic-shifted", "done")
    assert phases_until(PHASES, "ready")[-1].name == "AfterAllowTestTraffic"
    assert phases_until(PHASES, "traffic-shifted")[-1].name == "traffic-shift"
    assert phases_until(PHASES, "done") == PHASES


def _events(**statuses: str) -> list[dict[str, str]]:
    order = [
        "BeforeInstall",
        "Install",
        "AfterInstall",
        "AllowTestTraffic",
        "AfterAllowTestTraffic",
        "BeforeAllowTraffic",
        "AllowTraffic",
        "AfterAllowTraffic",
    ]
    return [{"lifecycleEventName": name, "status": statuses.get(name, "Pending")} for name in order]


TO_TEST_TRAFFIC = ("BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic")
DONE_TO_TEST = dict.fromkeys(TO_TEST_TRAFFIC, "Succeeded")
ALL_DONE = {
    **DONE_TO_TEST,
    **dict.fromkeys(("BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"), "Succeeded"),
}
STOP_PHASES = expected_phases(parse_strategy("canary10"), GroupTiming("STOP_DEPLOYMENT", 30, 15, BUDGETS))


@pytest.mark.parametrize(
    ("phases", "status", "events", "phase"),
    [
        (PHASES, "Created", [], "BeforeInstall"),
        (PHASES, "InProgress", _events(BeforeInstall="InProgress"), "BeforeInstall"),
        (PHASES, "InProgress", _events(BeforeInstall="Succeeded", Install="InProgress"), "Install"),
        (PHASES, "InProgress", _events(BeforeInstall="Skipped", Install="Succeeded"), "AfterInstall"),
        (
            PHASES,
            "InProgress",
            _events(**{**DONE_TO_TEST, "BeforeAllowTraffic": "Succeeded", "AllowTraffic": "InProgress"}),
            "traffic-shift",
        ),
        (PHASES, "InProgress", _events(**ALL_DONE), "termination-wait"),
        (STOP_PHASES, "Ready", _events(**DONE_TO_TEST), "ready-wait"),
        (STOP_PHASES, "InProgress", _events(**DONE_TO_TEST), "BeforeAllowTraffic"),
    ],
)
def test_current_phase_from_a_poll(
    phases: list[Phase], status: str, events: list[dict[str, str]], phase: str
) -> None:
    assert current_phase(phases, status, events) == phase


@pytest.mark.parametrize(
    ("until", "status", "events", "reached"),
    [
        ("ready", "InProgress", _events(BeforeInstall="Succeeded", Install="InProgress"), False),
        ("ready", "InProgress", _events(**DONE_TO_TEST), True),
        ("ready", "Ready", _events(**DONE_TO_TEST), True),
        ("traffic-shifted", "Ready", _events(**DONE_TO_TEST), False),
        ("traffic-shifted", "InProgress", _events(**{**DONE_TO_TEST, "AllowTraffic": "InProgress"}), False),
        ("traffic-shifted", "InProgress", _events(**{**DONE_TO_TEST, "AllowTraffic": "Succeeded"}), True),
        ("done", "InProgress", _events(**ALL_DONE), False),  # termination wait still to come
        ("done", "Succeeded", _events(**ALL_DONE), True),
        ("ready", "Succeeded", [], True),
        ("done", "Failed", _events(**ALL_DONE), False),
    ],
)
def test_until_reached(until: str, status: str, events: list[dict[str, str]], reached: bool) -> None:
    assert until_reached(until, status, events) is reached


def test_until_reached_rejects_unknown_until() -> None:
    with pytest.raises(ValueError, match="until must be one of"):
        until_reached("half", "InProgress", [])

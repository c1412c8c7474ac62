"""How long one of Amazon ECS's native deployments takes: its phases in ECS's stage order, from the
same catalog settings as CodeDeploy's; the ETA and --until on native lifecycle stages (tables)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from orchestrator.catalog import Catalog
from orchestrator.strategies import parse_strategy
from orchestrator.vocabulary import NATIVE_LIFECYCLE_STAGES
from orchestrator.watching.lifecycles import CODEDEPLOY_LIFECYCLE, NATIVE_LIFECYCLE, lifecycle_of
from orchestrator.watching.timing import (
    LISTENER_SWITCH_SECONDS,
    GroupTiming,
    current_phase,
    default_timeout,
    eta_seconds,
    expected_duration,
    expected_phases,
    phases_until,
    until_reached,
)

# A budget for every hook, round numbers so the tables read easily (as test_timing.py's).
BUDGETS = {
    "BeforeInstall": 10.0,
    "AfterInstall": 10.0,
    "AfterAllowTestTraffic": 40.0,
    "BeforeAllowTraffic": 10.0,
    "AfterAllowTraffic": 130.0,
}
NATIVE = GroupTiming("CONTINUE_DEPLOYMENT", 0, 15, BUDGETS, install_seconds=180.0, lifecycle=NATIVE_LIFECYCLE)
PAUSED = dataclasses.replace(NATIVE, ready_action="STOP_DEPLOYMENT", ready_wait_minutes=30)


def test_canary10_native_phases_follow_ecs_stages() -> None:
    assert [
        (p.name, p.expected_seconds, p.lifecycle_event)
        for p in expected_phases(parse_strategy("canary10"), NATIVE)
    ] == [
        ("RECONCILE_SERVICE", 0.0, "RECONCILE_SERVICE"),
        ("PRE_SCALE_UP", 10.0, "PRE_SCALE_UP"),  # BeforeInstall's hook
        ("SCALE_UP", 180.0, "SCALE_UP"),
        ("POST_SCALE_UP", 10.0, "POST_SCALE_UP"),  # AfterInstall's hook
        ("TEST_TRAFFIC_SHIFT", LISTENER_SWITCH_SECONDS, "TEST_TRAFFIC_SHIFT"),
        ("POST_TEST_TRAFFIC_SHIFT", 40.0, "POST_TEST_TRAFFIC_SHIFT"),  # smoke via the test listener
        # 10 %, the rest after 5 minutes; the pre-shift hook (BeforeAllowTraffic's) before both steps
        ("PRODUCTION_TRAFFIC_SHIFT", 300.0 + 2 * 10.0, "PRODUCTION_TRAFFIC_SHIFT"),
        ("POST_PRODUCTION_TRAFFIC_SHIFT", 130.0, "POST_PRODUCTION_TRAFFIC_SHIFT"),  # smoke + bake
        ("BAKE_TIME", 900.0, "BAKE_TIME"),  # the catalog's termination wait = bakeTimeInMinutes
        ("CLEAN_UP", 0.0, "CLEAN_UP"),
    ]


@pytest.mark.parametrize(
    ("strategy", "shift_seconds", "steps"),
    [
        ("all-at-once", 0.0, 1),  # BLUE_GREEN: all production traffic at once
        ("canary10", 300.0, 2),  # CANARY 10 %, the rest after 5 minutes
        ("canary10-15m", 900.0, 2),
        ("linear10", 540.0, 10),  # LINEAR 10 % a minute; no bake after 100 %
        ("linear10-3m", 1620.0, 10),
        ("linear:30:2", 360.0, 4),  # 30, 60, 90, 100
        ("canary:25:3", 180.0, 2),
    ],
)
def test_native_duration_is_fixed_stages_plus_the_shift_and_a_pre_shift_hook_per_step(
    strategy: str, shift_seconds: float, steps: int
) -> None:
    once = sum(BUDGETS.values()) - BUDGETS["BeforeAllowTraffic"]
    fixed = once + 180.0 + LISTENER_SWITCH_SECONDS + 900.0
    expected = fixed + shift_seconds + steps * BUDGETS["BeforeAllowTraffic"]
    assert expected_duration(parse_strategy(strategy), NATIVE) == expected


def test_the_pause_hook_is_the_ready_wait_after_the_test_traffic_stage() -> None:
    names = [p.name for p in expected_phases(parse_strategy("canary10"), PAUSED)]
    assert names[names.index("POST_TEST_TRAFFIC_SHIFT") + 1] == "ready-wait"
    [wait] = [p for p in expected_phases(parse_strategy("canary10"), PAUSED) if p.name == "ready-wait"]
    assert wait.expected_seconds == 30 * 60  # nobody continues it: the PAUSE hook's whole timeout
    [continued] = [
        p
        for p in expected_phases(parse_strategy("canary10"), PAUSED, continued_at_ready=True)
        if p.name == "ready-wait"
    ]
    assert continued.expected_seconds == 0  # deploy releases it at the poll that sees it waiting
    assert default_timeout(parse_strategy("canary10"), PAUSED) > expected_duration(
        parse_strategy("canary10"), PAUSED
    )


def test_the_catalog_engine_chooses_the_lifecycle(real_catalog: Catalog) -> None:
    service = real_catalog.resolve("payment-service", "prod")
    native = dataclasses.replace(service, settings=service.settings.model_copy(update={"engine": "ecs"}))
    codedeploy = dataclasses.replace(
        service, settings=service.settings.model_copy(update={"engine": "codedeploy"})
    )
    assert GroupTiming.for_service(native).lifecycle is NATIVE_LIFECYCLE
    assert GroupTiming.for_service(codedeploy).lifecycle is CODEDEPLOY_LIFECYCLE
    # the same waits and budgets: only the stage order differs
    same = dataclasses.replace(GroupTiming.for_service(native), lifecycle=CODEDEPLOY_LIFECYCLE)
    assert same == GroupTiming.for_service(codedeploy)
    phases = expected_phases(parse_strategy("linear10"), GroupTiming.for_service(native))
    assert [p.lifecycle_event for p in phases if p.lifecycle_event] == list(NATIVE_LIFECYCLE_STAGES)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (None, ("CONTINUE_DEPLOYMENT", 0, 0)),
        ({"strategy": "CANARY", "bakeTimeInMinutes": 15}, ("CONTINUE_DEPLOYMENT", 0, 15)),
        (
            {
                "strategy": "LINEAR",
                "bakeTimeInMinutes": 5,
                "lifecycleHooks": [
                    {
                        "targetType": "AWS_LAMBDA",
                        "hookTargetArn": "arn:aws:lambda:ap-northeast-2:123456789012:function:smoke",
                        "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
                    },
                    {
                        "targetType": "PAUSE",
                        "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
                        "timeoutConfiguration": {"timeoutInMinutes": 60, "action": "ROLLBACK"},
                    },
                ],
            },
            ("STOP_DEPLOYMENT", 60, 5),
        ),
        (  # a PAUSE hook elsewhere is no ready wait
            {
                "strategy": "BLUE_GREEN",
                "bakeTimeInMinutes": 0,
                "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP"]}],
            },
            ("CONTINUE_DEPLOYMENT", 0, 0),
        ),
    ],
)
def test_timing_from_ecs_deployment_configuration(
    config: dict[str, Any] | None, expected: tuple[str, int, int]
) -> None:
    timing = GroupTiming.from_deployment_configuration(config, {"AfterAllowTraffic": 60.0})
    assert (timing.ready_action, timing.ready_wait_minutes, timing.termination_wait_minutes) == expected
    assert timing.lifecycle is NATIVE_LIFECYCLE and timing.hook_budget_seconds == {"AfterAllowTraffic": 60.0}


PHASES = expected_phases(parse_strategy("canary10"), NATIVE)
PAUSED_PHASES = expected_phases(parse_strategy("canary10"), PAUSED)


def test_native_milestones() -> None:
    assert phases_until(PHASES, "ready")[-1].name == "POST_TEST_TRAFFIC_SHIFT"
    assert phases_until(PAUSED_PHASES, "ready")[-1].name == "POST_TEST_TRAFFIC_SHIFT"
    assert phases_until(PHASES, "traffic-shifted")[-1].name == "PRODUCTION_TRAFFIC_SHIFT"
    assert phases_until(PHASES, "done") == PHASES


@pytest.mark.parametrize(
    ("phase", "elapsed", "until", "eta"),
    [
        ("SCALE_UP", 60.0, "done", 120 + 10 + 5 + 40 + 320 + 130 + 900),
        ("SCALE_UP", 60.0, "ready", 120 + 10 + 5 + 40),
        ("PRODUCTION_TRAFFIC_SHIFT", 100.0, "traffic-shifted", 220.0),
        ("PRODUCTION_TRAFFIC_SHIFT", 100.0, "done", 220 + 130 + 900),
        ("BAKE_TIME", 1000.0, "done", 0.0),  # longer than expected: nothing left, never negative
        ("POST_PRODUCTION_TRAFFIC_SHIFT", 0.0, "ready", 0.0),  # past the milestone
    ],
)
def test_native_eta(phase: str, elapsed: float, until: str, eta: float) -> None:
    assert eta_seconds(PHASES, phase, elapsed, until) == pytest.approx(eta)


def stages(at: str | None, status: str = "InProgress") -> list[dict[str, str]]:
    """A native deployment's stages in GetDeploymentTarget's shape: before ``at`` Succeeded, ``at``
    ``status``, after it Pending (the ECS engine's mapping); every one Succeeded when ``at`` is None."""
    index = NATIVE_LIFECYCLE_STAGES.index(at) if at else len(NATIVE_LIFECYCLE_STAGES)
    return [
        {
            "lifecycleEventName": name,
            "status": "Succeeded" if i < index else status if i == index else "Pending",
        }
        for i, name in enumerate(NATIVE_LIFECYCLE_STAGES)
    ]


@pytest.mark.parametrize(
    ("phases", "status", "events", "phase"),
    [
        (PHASES, "Queued", stages("RECONCILE_SERVICE", "Pending"), "RECONCILE_SERVICE"),
        (PHASES, "InProgress", stages("SCALE_UP"), "SCALE_UP"),
        (PHASES, "InProgress", stages("POST_TEST_TRAFFIC_SHIFT"), "POST_TEST_TRAFFIC_SHIFT"),
        (PAUSED_PHASES, "Ready", stages("POST_TEST_TRAFFIC_SHIFT"), "ready-wait"),
        (PHASES, "InProgress", stages("PRODUCTION_TRAFFIC_SHIFT"), "PRODUCTION_TRAFFIC_SHIFT"),
        (PHASES, "Baking", stages("BAKE_TIME"), "BAKE_TIME"),
        (PHASES, "InProgress", stages(None), "CLEAN_UP"),
    ],
)
def test_current_phase_of_a_native_poll(
    phases: list[Any], status: str, events: list[dict[str, str]], phase: str
) -> None:
    assert current_phase(phases, status, events) == phase


@pytest.mark.parametrize(
    ("until", "status", "events", "reached"),
    [
        ("ready", "InProgress", stages("SCALE_UP"), False),
        ("ready", "InProgress", stages("POST_TEST_TRAFFIC_SHIFT"), False),  # its smoke hook runs
        ("ready", "Ready", stages("POST_TEST_TRAFFIC_SHIFT"), True),  # the PAUSE hook waits
        ("ready", "InProgress", stages("PRODUCTION_TRAFFIC_SHIFT"), True),  # no PAUSE: gone past it
        ("traffic-shifted", "Ready", stages("POST_TEST_TRAFFIC_SHIFT"), False),
        ("traffic-shifted", "InProgress", stages("PRODUCTION_TRAFFIC_SHIFT"), False),
        ("traffic-shifted", "InProgress", stages("POST_PRODUCTION_TRAFFIC_SHIFT"), True),  # 100 % on it
        ("traffic-shifted", "Baking", stages("BAKE_TIME"), True),
        ("done", "Baking", stages("BAKE_TIME"), False),
        ("done", "Succeeded", stages(None), True),
        ("done", "Failed", stages("PRODUCTION_TRAFFIC_SHIFT", "Failed"), False),
    ],
)
def test_until_reached_on_native_stages(
    until: str, status: str, events: list[dict[str, str]], reached: bool
) -> None:
    assert until_reached(until, status, events) is reached


@pytest.mark.parametrize(
    ("names", "lifecycle"),
    [
        ((), CODEDEPLOY_LIFECYCLE),  # before CodeDeploy lists its target's events
        (("BeforeInstall", "Install"), CODEDEPLOY_LIFECYCLE),
        (("RECONCILE_SERVICE",), NATIVE_LIFECYCLE),
        ((None, "BAKE_TIME"), NATIVE_LIFECYCLE),  # a group wait (no step) then a stage
    ],
)
def test_the_names_say_whose_lifecycle_it_is(names: tuple[str | None, ...], lifecycle: Any) -> None:
    assert lifecycle_of(names) is lifecycle

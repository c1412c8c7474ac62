"""Evidence built by hand for the timeline's renderer and CLI tests: a canary10 that CodeDeploy rolled
back when the 5xx alarm fired, with every lane filled (the shapes ``insight.gather`` returns)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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

T0 = datetime(2026, 11, 30, 5, 0, 0, tzinfo=UTC)
DEPLOYMENT_ID = "d-TIMELINE1"
ALARMS = ("product-service-5xx", "product-service-latency-p99-with-a-rather-long-name")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _step(name: str, status: str, start: float | None, end: float | None, **more: str) -> Step:
    return Step(
        name, status, at(start) if start is not None else None, at(end) if end is not None else None, **more
    )


def rolled_back_canary() -> Evidence:
    """canary10 on CodeDeploy: 10 % at 65 s, the 5xx alarm at 200 s, back to blue at 300 s."""
    facts = DeploymentFacts(
        deployment_id=DEPLOYMENT_ID,
        engine="codedeploy",
        status="Failed",
        outcome=Outcome.ROLLED_BACK,
        service="product-service",
        environment="dev",
        strategy="canary10",
        created=T0,
        completed=at(301),
        error_code="ALARM_ACTIVE",
        error_message="One or more alarms have been activated: product-service-5xx",
        rolled_back=True,
        rollback_deployment_id="d-ROLLBACK1",
        rollback_reason="alarm product-service-5xx",
        rollback_started=at(300),
    )
    steps = (
        _step("BeforeInstall", "Succeeded", 0, 2),
        _step("Install", "Succeeded", 2, 40),
        _step("AfterInstall", "Succeeded", 40, 45),
        _step("AllowTestTraffic", "Succeeded", 45, 46),
        _step("AfterAllowTestTraffic", "Succeeded", 46, 60),
        _step("BeforeAllowTraffic", "Succeeded", 60, 65),
        _step("AllowTraffic", "Failed", 65, 300, error_code="ALARM_ACTIVE"),
        _step("AfterAllowTraffic", "Skipped", None, None),
    )
    rollback = (
        _step("BeforeInstall", "Succeeded", 305, 306),
        _step("Install", "Succeeded", 306, 320),
        _step("AllowTraffic", "Succeeded", 320, 330),
    )
    inspection = Inspection(
        facts=facts,
        steps=steps,
        traffic=(TrafficPoint(at(65), 10.0), TrafficPoint(at(300), 0.0)),
        rollback_steps=rollback,
        alarm_names=ALARMS,
        unreadable=(Unreadable("ECS tasks", "AccessDeniedException: not allowed"),),
    )
    hooks = (
        HookVerdict(
            "AfterAllowTestTraffic", "bluegreen-dev-after-allow-test-traffic", "Succeeded", "3 checks", at(59)
        ),
        HookVerdict(
            "BeforeAllowTraffic", "bluegreen-dev-before-allow-traffic", "Succeeded", "alarms OK", at(64)
        ),
    )
    alarms = (
        AlarmChange(ALARMS[0], at(200), "OK", "ALARM", "Threshold Crossed: 1 datapoint [12.5] > 5 & <x>"),
    )
    return Evidence(inspection=inspection, hooks=hooks, alarms=alarms)

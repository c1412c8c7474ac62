"""hooks/ledger_event.py (pure): what an EventBridge event names, which of a service's deployments an
ECS event may be about, and the outcome line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hooks.ledger_event import (
    StateChange,
    dora_metrics,
    duration_text,
    outcome_line,
    parse,
    recent_deployments,
)
from orchestrator.insight.outcome import Outcome
from orchestrator.insight.records import DeploymentKind, DeploymentRecord, Provenance

AT = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)
SERVICE_ARN = "arn:aws:ecs:ap-northeast-2:123456789012:service/doa-market-cluster/inventory-service"


def codedeploy(**detail: Any) -> dict[str, Any]:
    return {
        "source": "aws.codedeploy",
        "detail-type": "CodeDeploy Deployment State-change Notification",
        "time": "2026-11-30T05:00:00Z",
        "detail": {
            "deploymentId": "d-A1",
            "application": "doa-market-dev",
            "deploymentGroup": "svc",
            **detail,
        },
    }


def ecs(resources: Any) -> dict[str, Any]:
    return {
        "source": "aws.ecs",
        "detail-type": "ECS Deployment State Change",
        "time": "2026-11-30T05:00:00Z",
        "resources": resources,
        "detail": {"eventName": "SERVICE_DEPLOYMENT_COMPLETED", "deploymentId": "ecs-svc/1"},
    }


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            codedeploy(state="SUCCESS"),
            StateChange("codedeploy", "d-A1", AT, "SUCCESS", "doa-market-dev", "svc"),
        ),
        (
            ecs([SERVICE_ARN]),
            StateChange(
                "ecs",
                "ecs-svc/1",
                AT,
                "SERVICE_DEPLOYMENT_COMPLETED",
                cluster="doa-market-cluster",
                ecs_service="inventory-service",
                account="123456789012",
            ),
        ),
        (  # the old ARN format names no cluster
            ecs(["arn:aws:ecs:ap-northeast-2:123456789012:service/inventory-service"]),
            StateChange(
                "ecs",
                "ecs-svc/1",
                AT,
                "SERVICE_DEPLOYMENT_COMPLETED",
                cluster=None,
                ecs_service="inventory-service",
                account="123456789012",
            ),
        ),
        (
            {**codedeploy(), "time": "not a time"},
            StateChange("codedeploy", "d-A1", None, "", "doa-market-dev", "svc"),
        ),
    ],
)
def test_the_deployment_an_event_names(event: dict[str, Any], expected: StateChange) -> None:
    assert parse(event) == expected


@pytest.mark.parametrize(
    "event",
    [
        None,
        "text",
        {
            "source": "aws.codedeploy",
            "detail-type": "CodeDeploy Instance State-change Notification",
            "detail": {},
        },
        {
            "source": "aws.ecs",
            "detail-type": "ECS Task State Change",
            "detail": {},
            "resources": [SERVICE_ARN],
        },
        codedeploy(deploymentId=""),
        codedeploy(application=None),
        {**codedeploy(), "detail": "not a mapping"},
        ecs([]),
        ecs(["arn:aws:ecs:ap-northeast-2:123456789012:task/doa-market-cluster/abc"]),
        ecs("not a list"),
    ],
)
def test_anything_else_is_no_state_change(event: Any) -> None:
    assert parse(event) is None


def brief(
    name: str, status: str, created_minutes_ago: float, finished_minutes_ago: float | None
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "serviceDeploymentArn": name,
        "status": status,
        "createdAt": AT - timedelta(minutes=created_minutes_ago),
    }
    if finished_minutes_ago is not None:
        found["finishedAt"] = AT - timedelta(minutes=finished_minutes_ago)
    return found


def test_an_ecs_event_is_about_the_running_and_the_recently_finished_deployments() -> None:
    briefs = [
        brief("old-success", "SUCCESSFUL", 300, 290),  # finished long before the event
        brief("rolled-back", "ROLLBACK_SUCCESSFUL", 20, 1),
        brief("running", "IN_PROGRESS", 5, None),
        brief("finished-no-time", "STOPPED", 400, None),  # no finishedAt: read it, to be sure
        brief("unknown-status", "SOMETHING_NEW", 500, 480),
    ]

    assert recent_deployments(briefs, AT) == ["running", "rolled-back", "finished-no-time", "unknown-status"]


def test_a_deployment_finished_exactly_an_hour_before_the_event_is_still_read() -> None:
    # breaker: '>' for '>=' at the FINISHED_WITHIN edge left it out
    briefs = [brief("edge", "SUCCESSFUL", 90, 60), brief("older", "SUCCESSFUL", 91, 60.5)]

    assert recent_deployments(briefs, AT) == ["edge"]


def test_an_event_time_without_offset_is_utc() -> None:
    event = {**codedeploy(state="SUCCESS"), "time": "2026-11-30T05:00:00"}

    found = parse(event)
    assert found is not None and found.time == AT


def test_at_most_one_describe_call_of_them() -> None:
    briefs = [brief(f"sd-{n:02d}", "IN_PROGRESS", n, None) for n in range(30)]

    assert recent_deployments(briefs, AT) == [f"sd-{n:02d}" for n in range(20)]  # newest first


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (42.4, "42s"), (60, "1m00s"), (372, "6m12s"), (3599.6, "1h00m"), (3725, "1h02m")],
)
def test_durations_as_a_person_says_them(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def record(**changes: Any) -> DeploymentRecord:
    base: dict[str, Any] = {
        "deployment_id": "d-XXX",
        "engine": "codedeploy",
        "service": "product-service",
        "environment": "dev",
        "status": "Failed",
        "outcome": Outcome.ROLLED_BACK,
    }
    return DeploymentRecord(**{**base, **changes})


@pytest.mark.parametrize(
    ("changes", "by", "line"),
    [
        (
            {
                "rolled_back_by": "alarm product-service-5xx-errors",
                "created": AT,
                "completed": AT + timedelta(seconds=372),
                "strategy": "canary10",
            },
            "by alice@abc123def456",
            "product-service dev: rolled back d-XXX (alarm product-service-5xx-errors) after 6m12s; "
            "canary10; by alice@abc123def456",
        ),
        (
            {"outcome": Outcome.SUCCEEDED, "status": "Succeeded", "created": AT, "completed": AT},
            None,
            "product-service dev: succeeded d-XXX after 0s",
        ),
        (
            {"outcome": Outcome.STOPPED, "rolled_back_by": "stop"},
            None,
            "product-service dev: stopped d-XXX (stop)",
        ),
    ],
)
def test_the_outcome_line(changes: dict[str, Any], by: str | None, line: str) -> None:
    assert outcome_line(record(**changes), by) == line


def deploy(deployment_id: str, outcome: Outcome, minutes: float, **changes: Any) -> DeploymentRecord:
    """A deploy of product-service created at AT + ``minutes``, done 5 minutes later."""
    created = AT + timedelta(minutes=minutes)
    status = {Outcome.SUCCEEDED: "Succeeded"}.get(outcome, "Failed")
    return record(
        deployment_id=deployment_id,
        outcome=outcome,
        status=status,
        created=created,
        completed=created + timedelta(minutes=5),
        **changes,
    )


COMMITTED = Provenance("alice", "0123456789abcdef", AT - timedelta(hours=1))
OK = deploy("d-OK", Outcome.SUCCEEDED, 0)
BAD = deploy("d-BAD", Outcome.ROLLED_BACK, 10, rollback_deployment_id="d-RB")


@pytest.mark.parametrize(
    ("ended", "earlier", "figures"),
    [
        (OK, [], {"Deployments": 1, "ChangeFailures": 0}),
        (BAD, [OK], {"Deployments": 1, "ChangeFailures": 1}),
        (deploy("d-STOP", Outcome.STOPPED, 10), [OK], {"Deployments": 1, "ChangeFailures": 1}),
        (  # commit at AT - 1 h, done at AT + 5 min
            deploy("d-OK", Outcome.SUCCEEDED, 0, provenance=COMMITTED),
            [],
            {"Deployments": 1, "ChangeFailures": 0, "LeadTimeSeconds": 3900.0},
        ),
        (  # the fix after BAD: from BAD's end (AT + 15 min) to its own (AT + 25 min)
            deploy("d-FIX", Outcome.SUCCEEDED, 20),
            [OK, BAD],
            {"Deployments": 1, "ChangeFailures": 0, "TimeToRestoreSeconds": 600.0},
        ),
        (  # CodeDeploy's own rollback of BAD: neither a deploy nor a restore
            deploy("d-RB", Outcome.SUCCEEDED, 15, kind=DeploymentKind.AUTO_ROLLBACK, rollback_of="d-BAD"),
            [OK, BAD],
            {},
        ),
        (  # `bluegreen rollback` after OK: OK becomes a change failure; the rollback restores it
            deploy("d-BACK", Outcome.SUCCEEDED, 30, kind=DeploymentKind.ROLLBACK),
            [OK],
            {"ChangeFailures": 1, "TimeToRestoreSeconds": 1800.0},
        ),
        (  # a failed `bluegreen rollback` is not a deploy, so not a change failure either (breaker)
            deploy("d-BACK", Outcome.FAILED, 30, kind=DeploymentKind.ROLLBACK),
            [],
            {},
        ),
    ],
)
def test_what_an_ended_deployment_adds_to_the_dora_figures(
    ended: DeploymentRecord, earlier: list[DeploymentRecord], figures: dict[str, float]
) -> None:
    assert dora_metrics(ended, earlier) == figures

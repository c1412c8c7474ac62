"""insight/native_records.py: a DescribeServiceDeployments entry -> DeploymentRecord (pure).

The shapes are AWS's: the AWS CLI's bundled examples (awscli/examples/ecs/describe-service-
deployments.rst, describe-service-revisions.rst) and what the sandbox's ECS endpoint answers for
rolled-back, stopped and replaced native deployments (each checked against botocore's model there).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from orchestrator.insight.native_records import (
    as_time,
    record_from_service_deployment,
    rolled_back_by,
    strategy_name,
)
from orchestrator.insight.outcome import Outcome
from orchestrator.insight.records import DeploymentKind

ARN = (
    "arn:aws:ecs:us-east-1:123456789012:service-deployment/"
    "example-cluster/example-service/ejGvqq2ilnbKT9qj0vLJe"
)
REVISION = (
    "arn:aws:ecs:us-east-1:123456789012:service-revision/example-cluster/example-service/1485800978477494678"
)

# The AWS CLI's example answer (a rolling deployment), as its JSON says it.
CLI_EXAMPLE: dict[str, Any] = {
    "serviceDeploymentArn": ARN,
    "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/example-cluster/example-service",
    "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/example-cluster",
    "createdAt": "2024-10-31T08:03:30.917000-04:00",
    "startedAt": "2024-10-31T08:03:32.510000-04:00",
    "finishedAt": "2024-10-31T08:05:04.527000-04:00",
    "updatedAt": "2024-10-31T08:05:04.527000-04:00",
    "sourceServiceRevisions": [],
    "targetServiceRevision": {
        "arn": REVISION,
        "requestedTaskCount": 1,
        "runningTaskCount": 1,
        "pendingTaskCount": 0,
    },
    "status": "SUCCESSFUL",
    "deploymentConfiguration": {
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
        "alarms": {"alarmNames": [], "rollback": False, "enable": False},
    },
    "deploymentCircuitBreaker": {"status": "MONITORING_COMPLETE", "failureCount": 0, "threshold": 3},
    "alarms": {"status": "DISABLED"},
}
CLI_REVISION: dict[str, Any] = {
    "serviceRevisionArn": REVISION,
    "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/webserver:5",
    "containerImages": [
        {
            "containerName": "aws-otel-collector",
            "image": "public.ecr.aws/aws-observability/aws-otel-collector:v0.32.0",
        },
        {"containerName": "web", "image": "nginx"},
    ],
}

CANARY = {
    "strategy": "CANARY",
    "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5},
    "alarms": {"alarmNames": ["svc-5xx-errors", "svc-latency-p99"], "enable": True, "rollback": True},
}
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def native(status: str, **members: Any) -> dict[str, Any]:
    """A native canary deployment as the sandbox's ECS endpoint renders it (boto3-parsed times)."""
    body: dict[str, Any] = {
        "serviceDeploymentArn": ARN,
        "createdAt": T0,
        "startedAt": T0 + timedelta(seconds=2),
        "status": status,
        "deploymentConfiguration": copy.deepcopy(CANARY),
        "alarms": {"status": "MONITORING_COMPLETE", "alarmNames": ["svc-5xx-errors", "svc-latency-p99"]},
    }
    if status not in ("IN_PROGRESS", "PENDING", "ROLLBACK_IN_PROGRESS"):
        body["finishedAt"] = T0 + timedelta(minutes=9)
    body.update(members)
    return body


def rollback(reason: str, **members: Any) -> dict[str, Any]:
    return native(
        "ROLLBACK_SUCCESSFUL",
        statusReason=reason,
        rollback={"reason": reason, "startedAt": T0 + timedelta(minutes=4), "serviceRevisionArn": REVISION},
        **members,
    )


ALARM_REASON = "Service deployment rolled back because alarm(s) svc-5xx-errors went into ALARM."
HOOK_REASON = (
    "Service deployment rolled back because the lifecycle hook arn:aws:lambda:us-east-1:123456789012:"
    "function:bluegreen-dev-after-allow-test-traffic at POST_TEST_TRAFFIC_SHIFT returned FAILED."
)
STOP_REASON = "Service deployment rolled back because of a stop request (StopServiceDeployment)."


@pytest.mark.parametrize(
    ("sd", "outcome", "by"),
    [
        (CLI_EXAMPLE, Outcome.SUCCEEDED, None),
        (native("IN_PROGRESS", lifecycleStage="BAKE_TIME"), Outcome.IN_PROGRESS, None),
        (native("PENDING"), Outcome.IN_PROGRESS, None),
        # ECS's alarm monitoring: triggeredAlarmNames is the structured answer
        (
            rollback(
                ALARM_REASON,
                alarms={
                    "status": "TRIGGERED",
                    "alarmNames": ["svc-5xx-errors", "svc-latency-p99"],
                    "triggeredAlarmNames": ["svc-5xx-errors"],
                },
            ),
            Outcome.ROLLED_BACK,
            "alarm svc-5xx-errors",
        ),
        (
            rollback(
                "x",
                alarms={"status": "TRIGGERED", "triggeredAlarmNames": ["a", "b"]},
            ),
            Outcome.ROLLED_BACK,
            "alarms a, b",
        ),
        # a reason that names a watched alarm, without triggeredAlarmNames
        (rollback(ALARM_REASON), Outcome.ROLLED_BACK, "alarm svc-5xx-errors"),
        # a failed hook: the stage the reason names
        (
            rollback(
                HOOK_REASON,
                lifecycleStage="POST_TEST_TRAFFIC_SHIFT",
                lifecycleHookDetails=[
                    {"hookId": "ecs-lambda-x", "targetType": "AWS_LAMBDA", "status": "FAILED"}
                ],
            ),
            Outcome.ROLLED_BACK,
            "POST_TEST_TRAFFIC_SHIFT hook",
        ),
        # PRE_PRODUCTION_TRAFFIC_SHIFT is not read as PRODUCTION_TRAFFIC_SHIFT
        (
            rollback("the lifecycle hook f at PRE_PRODUCTION_TRAFFIC_SHIFT returned FAILED."),
            Outcome.ROLLED_BACK,
            "PRE_PRODUCTION_TRAFFIC_SHIFT hook",
        ),
        # a failed hook and a reason that names no stage: where the deployment stopped
        (
            rollback(
                "Lifecycle hook failed.",
                lifecycleStage="POST_SCALE_UP",
                lifecycleHookDetails=[{"hookId": "h", "targetType": "AWS_LAMBDA", "status": "TIMED_OUT"}],
            ),
            Outcome.ROLLED_BACK,
            "POST_SCALE_UP hook",
        ),
        (rollback(STOP_REASON, stoppedAt=T0 + timedelta(minutes=5)), Outcome.ROLLED_BACK, "stop"),
        (rollback("Rolled back.", stoppedAt=T0 + timedelta(minutes=5)), Outcome.ROLLED_BACK, "stop"),
        (
            rollback(
                "Service deployment rolled back by ContinueServiceDeployment at POST_TEST_TRAFFIC_SHIFT."
            ),
            Outcome.ROLLED_BACK,
            "stop",
        ),
        (
            rollback(
                "circuit", deploymentCircuitBreaker={"status": "TRIGGERED", "failureCount": 3, "threshold": 3}
            ),
            Outcome.ROLLED_BACK,
            "circuit breaker",
        ),
        # a watched alarm's name in a reason that is not about an alarm is not an alarm (breaker)
        (
            rollback(
                "Service deployment rolled back: tasks of checkout failed their health checks.",
                alarms={"status": "MONITORING", "alarmNames": ["checkout"]},
            ),
            Outcome.ROLLED_BACK,
            "Service deployment rolled back: tasks of checkout failed their health checks.",
        ),
        # nothing structured, no known words: the reason itself
        (rollback("Something else happened."), Outcome.ROLLED_BACK, "Something else happened."),
        (
            native("ROLLBACK_FAILED", rollback={"reason": HOOK_REASON}),
            Outcome.FAILED,
            "POST_TEST_TRAFFIC_SHIFT hook",
        ),
        # an alarm without rollback stops it where it is
        (
            native(
                "STOPPED",
                stoppedAt=T0 + timedelta(minutes=3),
                statusReason="Service deployment stopped because alarm(s) svc-latency-p99 went into ALARM.",
                alarms={"status": "TRIGGERED", "triggeredAlarmNames": ["svc-latency-p99"]},
            ),
            Outcome.STOPPED,
            "alarm svc-latency-p99",
        ),
        # replaced by a newer deployment: stopped, nothing rolled it back
        (
            native("STOPPED", stoppedAt=T0, statusReason=f"Service deployment replaced by {ARN}2."),
            Outcome.STOPPED,
            None,
        ),
    ],
)
def test_outcome_and_what_rolled_it_back(sd: dict[str, Any], outcome: Outcome, by: str | None) -> None:
    record = record_from_service_deployment(sd, "svc", "dev")
    assert (record.outcome, record.rolled_back_by) == (outcome, by)
    assert rolled_back_by(sd) == by
    assert record.status == sd["status"]


def test_the_cli_example_with_its_revision() -> None:
    record = record_from_service_deployment(CLI_EXAMPLE, "example-service", "prod", CLI_REVISION)
    assert record.deployment_id == ARN
    assert (record.engine, record.service, record.environment) == ("ecs", "example-service", "prod")
    assert record.kind is DeploymentKind.DEPLOY
    eastern = timezone(timedelta(hours=-4))
    assert record.created == datetime(2024, 10, 31, 8, 3, 30, 917000, tzinfo=eastern)
    assert record.completed == datetime(2024, 10, 31, 8, 5, 4, 527000, tzinfo=eastern)
    assert record.duration_seconds == pytest.approx(93.61)
    assert record.task_definition == "arn:aws:ecs:us-east-1:123456789012:task-definition/webserver:5"
    assert record.image == "public.ecr.aws/aws-observability/aws-otel-collector:v0.32.0, nginx"
    assert record.strategy is None  # a rolling deployment names no strategy
    assert record.rollback_deployment_id is None  # ECS rolls back inside the same deployment


def test_without_the_revision_there_is_no_image_or_task_definition() -> None:
    record = record_from_service_deployment(native("SUCCESSFUL"), "svc", "dev")
    assert (record.image, record.task_definition) == (None, None)
    assert record.strategy == "canary10"
    assert record.completed == T0 + timedelta(minutes=9)


def test_a_running_deployment_has_no_end_yet() -> None:
    record = record_from_service_deployment(native("IN_PROGRESS", updatedAt=T0), "svc", "dev")
    assert record.completed is None and record.duration_seconds is None


def test_a_stopped_rollback_ends_when_its_rollback_finished_not_when_the_stop_came() -> None:
    sd = rollback(STOP_REASON, stoppedAt=T0 + timedelta(minutes=5))  # finishedAt: T0 + 9 min
    assert record_from_service_deployment(sd, "svc", "dev").completed == T0 + timedelta(minutes=9)


def test_a_stopped_rollback_ends_at_stopped_at_when_finished_at_is_missing() -> None:
    sd = rollback(STOP_REASON, stoppedAt=T0 + timedelta(minutes=5))
    del sd["finishedAt"]
    assert record_from_service_deployment(sd, "svc", "dev").completed == T0 + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("configuration", "name"),
    [
        ({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 2}, "all-at-once"),
        (CANARY, "canary10"),
        (
            {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 20.0, "stepBakeTimeInMinutes": 2}},
            "linear:20:2",
        ),
        (
            {
                "strategy": "CANARY",
                "canaryConfiguration": {"canaryPercent": 12.5, "canaryBakeTimeInMinutes": 3},
            },
            "CANARY 12.5% / 3 min",
        ),
        ({"strategy": "LINEAR", "linearConfiguration": {}}, "LINEAR ?% / ? min"),
        ({"strategy": "ROLLING"}, "ROLLING"),
        ({}, None),
    ],
)
def test_strategy_names(configuration: dict[str, Any], name: str | None) -> None:
    assert strategy_name(configuration) == name


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        (1777636800, datetime(2026, 5, 1, 12, 0, tzinfo=UTC)),
        (1777636800.5, datetime(2026, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)),
        ("2026-05-01T12:00:00Z", datetime(2026, 5, 1, 12, 0, tzinfo=UTC)),
        ("2026-05-01T12:00:00", datetime(2026, 5, 1, 12, 0, tzinfo=UTC)),
        (datetime(2026, 5, 1, 12, 0), datetime(2026, 5, 1, 12, 0, tzinfo=UTC)),
        ("not a time", None),
    ],
)
def test_times_in_every_form_aws_sends(value: Any, expected: datetime | None) -> None:
    assert as_time(value) == expected


@pytest.mark.parametrize(
    ("alarms", "probe", "text", "named", "sign"),
    [
        (("svc-5xx",), None, "alarm svc-5xx", ["svc-5xx"], None),
        (("svc-5xx", "svc-latency"), None, "alarms svc-5xx, svc-latency", ["svc-5xx", "svc-latency"], None),
        (
            (),
            "3 of the last 10 answers were wrong",
            "green probe: 3 of the last 10 answers were wrong",
            [],
            "3 of the last 10 answers were wrong",
        ),
    ],
)
def test_the_watchs_stop_words_read_back(
    alarms: tuple[str, ...], probe: str | None, text: str, named: list[str], sign: str | None
) -> None:
    from orchestrator.insight.records import stopped_by_alarms, stopped_by_probe, stopped_by_watch

    assert stopped_by_watch(alarms, probe) == text
    assert stopped_by_alarms(text) == named and stopped_by_probe(text) == sign
    assert stopped_by_alarms(None) == [] and stopped_by_probe(None) is None
    assert stopped_by_probe("a user") is None and stopped_by_alarms("alarming news") == []

"""snapshot_from_service_deployment: ECS's service deployments read as the watch loop's Snapshot (tables)."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.vocabulary import NATIVE_LIFECYCLE_STAGES, DeploymentStatus, LifecycleStatus
from orchestrator.watching.native_snapshots import snapshot_from_service_deployment

ARN = "arn:aws:ecs:ap-northeast-2:123456789012:service-deployment/c/svc/abc"
PAUSE_WAITING = {"hookId": "h-1", "targetType": "PAUSE", "status": "AWAITING_ACTION"}
LAMBDA_RUNNING = {"hookId": "h-0", "targetType": "AWS_LAMBDA", "status": "IN_PROGRESS"}


def sd(status: str, stage: str | None = None, **more: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"serviceDeploymentArn": ARN, "status": status, **more}
    if stage is not None:
        found["lifecycleStage"] = stage
    return found


@pytest.mark.parametrize(
    ("service_deployment", "expected"),
    [
        pytest.param(sd("PENDING"), DeploymentStatus.QUEUED, id="pending-queued"),
        pytest.param(sd("IN_PROGRESS", "SCALE_UP"), DeploymentStatus.IN_PROGRESS, id="in-progress"),
        pytest.param(sd("IN_PROGRESS", "BAKE_TIME"), DeploymentStatus.BAKING, id="bake-time-baking"),
        pytest.param(
            sd("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", lifecycleHookDetails=[PAUSE_WAITING]),
            DeploymentStatus.READY,
            id="pause-awaiting-ready",
        ),
        pytest.param(
            sd("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", lifecycleHookDetails=[LAMBDA_RUNNING]),
            DeploymentStatus.IN_PROGRESS,
            id="lambda-hook-running-not-ready",
        ),
        pytest.param(  # promoted: the PAUSE hook is over, production traffic moves
            sd(
                "IN_PROGRESS",
                "PRODUCTION_TRAFFIC_SHIFT",
                lifecycleHookDetails=[{**PAUSE_WAITING, "status": "SUCCEEDED"}],
            ),
            DeploymentStatus.IN_PROGRESS,
            id="pause-continued-not-ready",
        ),
        pytest.param(sd("STOP_REQUESTED", "SCALE_UP"), DeploymentStatus.IN_PROGRESS, id="stop-requested"),
        pytest.param(sd("ROLLBACK_REQUESTED"), DeploymentStatus.IN_PROGRESS, id="rollback-requested"),
        pytest.param(sd("ROLLBACK_IN_PROGRESS"), DeploymentStatus.IN_PROGRESS, id="rollback-in-progress"),
        pytest.param(sd("SUCCESSFUL", "CLEAN_UP"), DeploymentStatus.SUCCEEDED, id="successful"),
        pytest.param(sd("STOPPED"), DeploymentStatus.STOPPED, id="stopped"),
        pytest.param(
            sd("ROLLBACK_SUCCESSFUL", rollback={"reason": "Service deployment stopped by user request"}),
            DeploymentStatus.STOPPED,
            id="rolled-back-on-request-stopped",
        ),
        pytest.param(
            sd("ROLLBACK_SUCCESSFUL", alarms={"status": "TRIGGERED", "triggeredAlarmNames": ["5xx"]}),
            DeploymentStatus.FAILED,
            id="rolled-back-by-alarm-failed",
        ),
        pytest.param(
            sd("ROLLBACK_SUCCESSFUL", deploymentCircuitBreaker={"status": "TRIGGERED", "failureCount": 3}),
            DeploymentStatus.FAILED,
            id="rolled-back-by-circuit-breaker-failed",
        ),
        pytest.param(
            sd(
                "ROLLBACK_SUCCESSFUL",
                lifecycleHookDetails=[{"hookId": "h", "targetType": "AWS_LAMBDA", "status": "FAILED"}],
            ),
            DeploymentStatus.FAILED,
            id="rolled-back-by-hook-failed",
        ),
        pytest.param(  # nobody promoted within the ready wait: the PAUSE hook's timeout rolled it back
            sd(
                "ROLLBACK_SUCCESSFUL",
                lifecycleHookDetails=[{"hookId": "h", "targetType": "PAUSE", "status": "TIMED_OUT"}],
            ),
            DeploymentStatus.FAILED,
            id="rolled-back-by-hook-timeout-failed",
        ),
        pytest.param(
            sd("ROLLBACK_SUCCESSFUL", statusReason="Lifecycle hook failed at POST_TEST_TRAFFIC_SHIFT"),
            DeploymentStatus.FAILED,
            id="rolled-back-reason-says-failed",
        ),
        pytest.param(sd("ROLLBACK_FAILED"), DeploymentStatus.FAILED, id="rollback-failed"),
        pytest.param(sd("SOMETHING_NEW"), DeploymentStatus.QUEUED, id="unknown-status-queued"),
    ],
)
def test_status(service_deployment: dict[str, Any], expected: DeploymentStatus) -> None:
    assert snapshot_from_service_deployment(service_deployment).status is expected


@pytest.mark.parametrize(
    ("status", "rolled_back"),
    [
        ("IN_PROGRESS", False),
        ("STOP_REQUESTED", False),
        ("STOPPED", False),
        ("SUCCESSFUL", False),
        ("ROLLBACK_REQUESTED", True),
        ("ROLLBACK_IN_PROGRESS", True),
        ("ROLLBACK_SUCCESSFUL", True),
        ("ROLLBACK_FAILED", True),
    ],
)
def test_rollback_is_the_deployment_itself(status: str, rolled_back: bool) -> None:
    # ECS rolls back inside the same service deployment: no second id to follow.
    snapshot = snapshot_from_service_deployment(sd(status, "SCALE_UP"))
    assert snapshot.rolled_back is rolled_back
    assert snapshot.rollback_deployment_id == (ARN if rolled_back else None)


S, R, P, F, K = (
    LifecycleStatus.SUCCEEDED,
    LifecycleStatus.IN_PROGRESS,
    LifecycleStatus.PENDING,
    LifecycleStatus.FAILED,
    LifecycleStatus.SKIPPED,
)


@pytest.mark.parametrize(
    ("service_deployment", "statuses"),
    [
        pytest.param(sd("PENDING"), [P] * 10, id="pending-all-pending"),
        pytest.param(sd("IN_PROGRESS", "RECONCILE_SERVICE"), [R] + [P] * 9, id="first-stage"),
        pytest.param(sd("IN_PROGRESS", "TEST_TRAFFIC_SHIFT"), [S] * 4 + [R] + [P] * 5, id="test-traffic"),
        pytest.param(
            sd("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", lifecycleHookDetails=[PAUSE_WAITING]),
            [S] * 5 + [R] + [P] * 4,
            id="ready-at-post-test",
        ),
        pytest.param(sd("IN_PROGRESS", "BAKE_TIME"), [S] * 8 + [R, P], id="baking"),
        pytest.param(sd("SUCCESSFUL", "CLEAN_UP"), [S] * 10, id="successful-all-succeeded"),
        pytest.param(sd("SUCCESSFUL"), [S] * 10, id="successful-without-stage"),
        pytest.param(
            sd("ROLLBACK_SUCCESSFUL", "PRODUCTION_TRAFFIC_SHIFT", alarms={"status": "TRIGGERED"}),
            [S] * 6 + [F] + [P] * 3,
            id="failed-where-it-stopped",
        ),
        pytest.param(sd("ROLLBACK_SUCCESSFUL", "SCALE_UP"), [S] * 2 + [K] + [P] * 7, id="stopped-there"),
        pytest.param(sd("IN_PROGRESS", "NOT_A_STAGE"), [P] * 10, id="unknown-stage"),
    ],
)
def test_lifecycle(service_deployment: dict[str, Any], statuses: list[LifecycleStatus]) -> None:
    snapshot = snapshot_from_service_deployment(service_deployment)
    assert snapshot.lifecycle == tuple(zip(NATIVE_LIFECYCLE_STAGES, statuses, strict=True))


def _revision(weight: float | None) -> dict[str, Any]:
    found: dict[str, Any] = {"arn": "arn:rev", "requestedTaskCount": 2}
    if weight is not None:
        found["requestedProductionTrafficWeight"] = weight
    return found


@pytest.mark.parametrize(
    ("sources", "target", "expected"),
    [
        pytest.param([90.0], 10.0, (90.0, 10.0), id="canary"),
        pytest.param([60.0, 10.0], 30.0, (70.0, 30.0), id="sources-summed"),
        pytest.param([], 100.0, (0.0, 100.0), id="first-deployment-no-source"),
        pytest.param([None], None, (None, None), id="no-weights-yet"),
        pytest.param([], None, (None, None), id="nothing"),
    ],
)
def test_weights(
    sources: list[float | None], target: float | None, expected: tuple[float | None, float | None]
) -> None:
    snapshot = snapshot_from_service_deployment(
        sd(
            "IN_PROGRESS",
            "PRODUCTION_TRAFFIC_SHIFT",
            sourceServiceRevisions=[_revision(w) for w in sources],
            targetServiceRevision=_revision(target),
        )
    )
    assert (snapshot.original_weight, snapshot.replacement_weight) == expected


@pytest.mark.parametrize(
    ("service_deployment", "error"),
    [
        pytest.param(sd("IN_PROGRESS", "SCALE_UP", statusReason="scaling up"), None, id="running-no-error"),
        pytest.param(sd("SUCCESSFUL", statusReason="done"), None, id="succeeded-no-error"),
        pytest.param(
            sd(
                "ROLLBACK_SUCCESSFUL",
                statusReason="alarm 5xx in ALARM",
                alarms={"status": "TRIGGERED", "triggeredAlarmNames": ["5xx", "latency"]},
            ),
            "alarm 5xx in ALARM; alarms in ALARM: 5xx, latency",
            id="reason-and-alarms",
        ),
        pytest.param(
            sd("ROLLBACK_IN_PROGRESS", alarms={"triggeredAlarmNames": ["5xx"]}),
            "alarms in ALARM: 5xx",
            id="rolling-back-shows-alarms",
        ),
        pytest.param(sd("STOPPED", statusReason="replaced"), "replaced", id="stopped-reason"),
        pytest.param(sd("ROLLBACK_FAILED"), None, id="no-reason-given"),
    ],
)
def test_error(service_deployment: dict[str, Any], error: str | None) -> None:
    assert snapshot_from_service_deployment(service_deployment).error == error


@pytest.mark.parametrize(
    ("status", "known", "statuses"),
    [
        # ECS moved the traffic back: its stage is the rollback's; where the deployment stopped shows.
        ("ROLLBACK_SUCCESSFUL", "PRODUCTION_TRAFFIC_SHIFT", [S] * 6 + [F] + [P] * 3),
        ("ROLLBACK_IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", [S] * 6 + [R] + [P] * 3),
        ("ROLLBACK_SUCCESSFUL", None, [S] * 4 + [F] + [P] * 5),  # not known: ECS's stage it is
        ("IN_PROGRESS", "SCALE_UP", [S] * 4 + [R] + [P] * 5),  # not rolling back: ECS's stage
    ],
)
def test_the_stage_before_the_rollback_is_where_it_stopped(
    status: str, known: str | None, statuses: list[LifecycleStatus]
) -> None:
    rolled = sd(status, "TEST_TRAFFIC_SHIFT", alarms={"status": "TRIGGERED"})
    snapshot = snapshot_from_service_deployment(rolled, stage_before_rollback=known)
    assert snapshot.lifecycle == tuple(zip(NATIVE_LIFECYCLE_STAGES, statuses, strict=True))

"""The events Amazon ECS sends to EventBridge as a service deployment changes state (pure but for
the envelope's id): detail-type "ECS Deployment State Change", source aws.ecs, resources [the
service ARN], detail {eventType INFO|ERROR, eventName, deploymentId, updatedAt, reason} (AWS,
"Amazon ECS service deployment state change events"; its examples' shapes are pinned by
tests/sandbox/test_emulator_events.py).

``deploymentId`` is the ``ecs-svc/<digits>`` id of the deployment (DescribeServices'
``deployments[].id``: the target revision's here), not the service deployment's ARN, so a reader
finds the service deployment through the service (ListServiceDeployments), as it must on AWS.

When each is sent, following AWS's page: SERVICE_DEPLOYMENT_IN_PROGRESS (INFO) when the deployment
starts, and again when it starts rolling back ("sent for both initial deployments and rollback
deployments. The difference between the two is in the reason field"); SERVICE_DEPLOYMENT_COMPLETED
(INFO) when it ends SUCCESSFUL; SERVICE_DEPLOYMENT_FAILED (ERROR) when it ends any other way
(rolled back, stopped, replaced). AWS documents no event list for a blue/green rollback, which
happens inside the same service deployment; sending FAILED at its end means a reader that looks the
deployment up on that event finds it terminal. The names are the emulator's own (see
sandbox/ecs_native/vocabulary.py for why).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sandbox.ecs_native.model import ServiceDeployment
from sandbox.ecs_native.vocabulary import Status
from sandbox.events import Publish, envelope, iso_time

SOURCE = "aws.ecs"
DEPLOYMENT_STATE_CHANGE = "ECS Deployment State Change"


class EventName(StrEnum):
    """``detail.eventName``."""

    IN_PROGRESS = "SERVICE_DEPLOYMENT_IN_PROGRESS"
    COMPLETED = "SERVICE_DEPLOYMENT_COMPLETED"
    FAILED = "SERVICE_DEPLOYMENT_FAILED"


class EventType(StrEnum):
    """``detail.eventType``."""

    INFO = "INFO"
    ERROR = "ERROR"


def _arn_parts(service_arn: str) -> tuple[str, str]:
    """(region, account) of ``arn:aws:ecs:REGION:ACCOUNT:service/...``."""
    parts = service_arn.split(":")
    return parts[3], parts[4]


def state_change_event(
    deployment: ServiceDeployment, name: EventName, reason: str, at: float
) -> dict[str, Any]:
    """The event for ``deployment`` at virtual time ``at`` (deploymentId: its target revision's id)."""
    region, account = _arn_parts(deployment.service_arn)
    detail = {
        "eventType": (EventType.ERROR if name is EventName.FAILED else EventType.INFO).value,
        "eventName": name.value,
        "deploymentId": deployment.target.id,
        "updatedAt": iso_time(at),
        "reason": reason,
    }
    return envelope(
        SOURCE,
        DEPLOYMENT_STATE_CHANGE,
        detail,
        [deployment.service_arn],
        region=region,
        account=account,
        at=at,
    )


def started(deployment: ServiceDeployment, at: float) -> dict[str, Any]:
    return state_change_event(
        deployment, EventName.IN_PROGRESS, f"ECS deployment {deployment.target.id} in progress.", at
    )


def rolling_back(deployment: ServiceDeployment, reason: str, at: float) -> dict[str, Any]:
    """The rollback's IN_PROGRESS: AWS's example reason names the deployment it rolls back to."""
    source = deployment.sources[0].id if deployment.sources else deployment.target.id
    return state_change_event(
        deployment, EventName.IN_PROGRESS, f"{reason} Rolling back to deploymentId {source}.", at
    )


def ended(deployment: ServiceDeployment, at: float) -> dict[str, Any]:
    """COMPLETED for SUCCESSFUL, FAILED (with the status reason) for any other ending."""
    if deployment.status is Status.SUCCESSFUL:
        return state_change_event(
            deployment, EventName.COMPLETED, f"ECS deployment {deployment.target.id} completed.", at
        )
    reason = deployment.status_reason or f"ECS deployment {deployment.target.id} {deployment.status.value}."
    return state_change_event(deployment, EventName.FAILED, reason, at)


def send(publish: Publish | None, event: dict[str, Any]) -> None:
    if publish is not None:
        publish(event)

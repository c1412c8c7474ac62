"""The events CodeDeploy sends to EventBridge when a deployment changes state (pure but for the
envelope's id): detail-type "CodeDeploy Deployment State-change Notification", source
aws.codedeploy, resources the application's and the deployment group's ARNs, detail {region,
application, deploymentId, deploymentGroup, instanceGroupId (the group's id), state}. (AWS, "AWS
CodeDeploy events" in the EventBridge events reference; the shape of its example event, pinned by
tests/sandbox/test_emulator_events.py.)

``state_for`` says which status change is an event: START when the deployment starts (Created ->
InProgress; the walk back to InProgress after Ready is no new start), READY at the Ready wait,
SUCCESS / FAILURE / STOP at the end. A rollback deployment is a deployment: it starts and ends too.
The names are the emulator's own (not ``orchestrator.vocabulary``'s: the emulator must not trust the
client it tests); tests/unit/test_vocabulary.py-style pins in the test above keep both the same.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sandbox.codedeploy.model import ACCOUNT_ID, Deployment, arn
from sandbox.codedeploy.vocabulary import DeploymentStatus
from sandbox.events import Publish, envelope

SOURCE = "aws.codedeploy"
DEPLOYMENT_STATE_CHANGE = "CodeDeploy Deployment State-change Notification"


class EventState(StrEnum):
    """``detail.state`` of a deployment state-change notification."""

    START = "START"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    STOP = "STOP"
    READY = "READY"


_NOT_STARTED = (DeploymentStatus.CREATED, DeploymentStatus.QUEUED)
_ENDINGS = {
    DeploymentStatus.SUCCEEDED: EventState.SUCCESS,
    DeploymentStatus.FAILED: EventState.FAILURE,
    DeploymentStatus.STOPPED: EventState.STOP,
}


def state_for(previous: DeploymentStatus, status: DeploymentStatus) -> EventState | None:
    """The event a status change sends, None when it sends none."""
    if status is DeploymentStatus.IN_PROGRESS:
        return EventState.START if previous in _NOT_STARTED else None
    if status is DeploymentStatus.READY:
        return EventState.READY if previous is not DeploymentStatus.READY else None
    return _ENDINGS.get(status) if previous is not status else None


def state_change_event(
    deployment: Deployment, state: EventState, group_id: str, region: str, at: float
) -> dict[str, Any]:
    """The notification for ``deployment`` reaching ``state`` at virtual time ``at``."""
    application, group = deployment.application_name, deployment.group_name
    detail = {
        "region": region,
        "application": application,
        "deploymentId": deployment.id,
        "deploymentGroup": group,
        "instanceGroupId": group_id,
        "state": state.value,
    }
    resources = [
        arn(region, f"application:{application}"),
        arn(region, f"deploymentgroup:{application}/{group}"),
    ]
    return envelope(
        SOURCE, DEPLOYMENT_STATE_CHANGE, detail, resources, region=region, account=ACCOUNT_ID, at=at
    )


def announce(
    publish: Publish | None,
    deployment: Deployment,
    previous: DeploymentStatus,
    group_id: str,
    region: str,
    at: float,
) -> None:
    """Publish the event of ``deployment``'s change from ``previous`` to its status, if it is one."""
    state = state_for(previous, deployment.status)
    if publish is not None and state is not None:
        publish(state_change_event(deployment, state, group_id, region, at))

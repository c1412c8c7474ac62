"""Lifecycle events and the decisions of the state machine (pure): what comes next, how a
deployment ends, and whether it rolls back."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sandbox.codedeploy.vocabulary import (
    ECS,
    ECS_EVENTS,
    ECS_HOOK_EVENTS,
    LAMBDA_EVENTS,
    LAMBDA_HOOK_EVENTS,
    AutoRollbackEvent,
    DeploymentReadyAction,
    DeploymentStatus,
)

# CodeDeploy: a hook has one hour to report its status.
HOOK_TIMEOUT_SECONDS = 3600.0


def events_for(platform: str) -> tuple[str, ...]:
    return ECS_EVENTS if platform == ECS else LAMBDA_EVENTS


def hook_events_for(platform: str) -> frozenset[str]:
    return ECS_HOOK_EVENTS if platform == ECS else LAMBDA_HOOK_EVENTS


def next_event(platform: str, current: str | None) -> str | None:
    """The lifecycle event after ``current`` (the first one for None); None after the last."""
    events = events_for(platform)
    if current is None:
        return events[0]
    index = events.index(current)
    return events[index + 1] if index + 1 < len(events) else None


class EndCause(StrEnum):
    """Why a deployment ended early; each maps to CodeDeploy's status, error code and rollback event."""

    HOOK_FAILED = "HOOK_FAILED"
    ALARM = "ALARM"
    MANUAL_STOP = "MANUAL_STOP"
    READY_TIMEOUT = "READY_TIMEOUT"
    AWS_ERROR = "AWS_ERROR"
    ALARM_POLL_FAILED = "ALARM_POLL_FAILED"

    @property
    def status(self) -> DeploymentStatus:
        # A failed hook or a failed AWS call fails the deployment; an alarm or a request stops it.
        if self in (EndCause.HOOK_FAILED, EndCause.AWS_ERROR, EndCause.ALARM_POLL_FAILED):
            return DeploymentStatus.FAILED
        return DeploymentStatus.STOPPED

    @property
    def error_code(self) -> str:
        return {
            EndCause.HOOK_FAILED: "HOOK_EXECUTION_FAILURE",
            EndCause.ALARM: "ALARM_ACTIVE",
            EndCause.MANUAL_STOP: "MANUAL_STOP",
            EndCause.READY_TIMEOUT: "TIMEOUT",
            EndCause.AWS_ERROR: "ECS_UPDATE_ERROR",
            EndCause.ALARM_POLL_FAILED: "INTERNAL_ERROR",
        }[self]

    @property
    def rollback_event(self) -> str:
        """The autoRollbackConfiguration event that covers this cause."""
        if self is EndCause.ALARM:
            return AutoRollbackEvent.DEPLOYMENT_STOP_ON_ALARM.value
        if self is EndCause.MANUAL_STOP:
            return AutoRollbackEvent.DEPLOYMENT_STOP_ON_REQUEST.value
        return AutoRollbackEvent.DEPLOYMENT_FAILURE.value


@dataclass(frozen=True)
class Ending:
    """How a deployment that ended early is recorded."""

    status: DeploymentStatus
    error_code: str
    roll_back: bool


def decide_ending(
    cause: EndCause, auto_rollback: dict[str, Any] | None, stop_rollback: bool | None
) -> Ending:
    """Status, error code and whether to roll back.

    StopDeployment's autoRollbackEnabled decides for a manual stop when given; otherwise the group's
    autoRollbackConfiguration must be enabled and list the cause's event.
    """
    if cause is EndCause.MANUAL_STOP and stop_rollback is not None:
        roll_back = stop_rollback
    else:
        config = auto_rollback or {}
        roll_back = bool(config.get("enabled")) and cause.rollback_event in (config.get("events") or [])
    return Ending(cause.status, cause.error_code, roll_back)


def alarm_blocks(alarm_configuration: dict[str, Any] | None, alarms_in_alarm: list[str]) -> bool:
    """True when the group monitors alarms and one of them is in ALARM."""
    return bool((alarm_configuration or {}).get("enabled")) and bool(alarms_in_alarm)


def ready_wait_seconds(bg_config: dict[str, Any] | None) -> float | None:
    """Virtual seconds to wait in Ready before rerouting (None: reroute at once)."""
    option = (bg_config or {}).get("deploymentReadyOption") or {}
    if option.get("actionOnTimeout") != DeploymentReadyAction.STOP_DEPLOYMENT:
        return None
    return 60.0 * float(option.get("waitTimeInMinutes") or 0)


def termination_wait_seconds(bg_config: dict[str, Any] | None) -> float:
    """Virtual seconds the original task set lives on after traffic has moved."""
    terminate = (bg_config or {}).get("terminateBlueInstancesOnDeploymentSuccess") or {}
    return 60.0 * float(terminate.get("terminationWaitTimeInMinutes") or 0)

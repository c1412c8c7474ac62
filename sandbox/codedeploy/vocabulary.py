"""The emulator's own copy of CodeDeploy's names: every emulator module imports them from here.

Deliberately not ``orchestrator.vocabulary``: the emulator must not trust the client it tests, so a
wrong name there is caught here. tests/unit/test_vocabulary.py pins both copies to botocore's
CodeDeploy model where it has the enum (DeploymentStatus, LifecycleEventStatus, TargetStatus,
AutoRollbackEvent, DeploymentReadyAction, InstanceAction, TrafficRoutingType, ComputePlatform,
CloudWatch's StateValue) and the lifecycle event names, which the model leaves a plain
string, to each other and to AWS's "AppSpec 'hooks' section" page.
"""

from __future__ import annotations

from enum import StrEnum

# CodeDeploy's ComputePlatform values the emulator runs (Server has no state machine here).
ECS = "ECS"
LAMBDA = "Lambda"

# Lifecycle event names.
BEFORE_INSTALL = "BeforeInstall"
INSTALL = "Install"
AFTER_INSTALL = "AfterInstall"
ALLOW_TEST_TRAFFIC = "AllowTestTraffic"
AFTER_ALLOW_TEST_TRAFFIC = "AfterAllowTestTraffic"
BEFORE_ALLOW_TRAFFIC = "BeforeAllowTraffic"
ALLOW_TRAFFIC = "AllowTraffic"
AFTER_ALLOW_TRAFFIC = "AfterAllowTraffic"
BEFORE_BLOCK_TRAFFIC = "BeforeBlockTraffic"
BLOCK_TRAFFIC = "BlockTraffic"
AFTER_BLOCK_TRAFFIC = "AfterBlockTraffic"

# ECS blue/green, in CodeDeploy's order. The last three show the original task set's termination
# (traffic to it is already 0 %; BlockTraffic lasts the group's terminationWaitTimeInMinutes).
ECS_EVENTS = (
    BEFORE_INSTALL,
    INSTALL,
    AFTER_INSTALL,
    ALLOW_TEST_TRAFFIC,
    AFTER_ALLOW_TEST_TRAFFIC,
    BEFORE_ALLOW_TRAFFIC,
    ALLOW_TRAFFIC,
    AFTER_ALLOW_TRAFFIC,
    BEFORE_BLOCK_TRAFFIC,
    BLOCK_TRAFFIC,
    AFTER_BLOCK_TRAFFIC,
)
ECS_HOOK_EVENTS = frozenset(
    {BEFORE_INSTALL, AFTER_INSTALL, AFTER_ALLOW_TEST_TRAFFIC, BEFORE_ALLOW_TRAFFIC, AFTER_ALLOW_TRAFFIC}
)
LAMBDA_EVENTS = (BEFORE_ALLOW_TRAFFIC, ALLOW_TRAFFIC, AFTER_ALLOW_TRAFFIC)
LAMBDA_HOOK_EVENTS = frozenset({BEFORE_ALLOW_TRAFFIC, AFTER_ALLOW_TRAFFIC})


class DeploymentStatus(StrEnum):
    """CodeDeploy's DeploymentStatus."""

    CREATED = "Created"
    QUEUED = "Queued"
    IN_PROGRESS = "InProgress"
    BAKING = "Baking"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    STOPPED = "Stopped"
    READY = "Ready"

    @property
    def is_terminal(self) -> bool:
        return self in (DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED, DeploymentStatus.STOPPED)


class LifecycleEventStatus(StrEnum):
    """CodeDeploy's LifecycleEventStatus (also the hook execution's status)."""

    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SKIPPED = "Skipped"
    UNKNOWN = "Unknown"

    @property
    def is_terminal(self) -> bool:
        return self in (
            LifecycleEventStatus.SUCCEEDED,
            LifecycleEventStatus.FAILED,
            LifecycleEventStatus.SKIPPED,
        )


class TargetStatus(StrEnum):
    """CodeDeploy's TargetStatus."""

    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SKIPPED = "Skipped"
    UNKNOWN = "Unknown"
    READY = "Ready"


class AutoRollbackEvent(StrEnum):
    """CodeDeploy's AutoRollbackEvent."""

    DEPLOYMENT_FAILURE = "DEPLOYMENT_FAILURE"
    DEPLOYMENT_STOP_ON_ALARM = "DEPLOYMENT_STOP_ON_ALARM"
    DEPLOYMENT_STOP_ON_REQUEST = "DEPLOYMENT_STOP_ON_REQUEST"


class DeploymentReadyAction(StrEnum):
    """CodeDeploy's DeploymentReadyAction (deploymentReadyOption.actionOnTimeout)."""

    CONTINUE_DEPLOYMENT = "CONTINUE_DEPLOYMENT"
    STOP_DEPLOYMENT = "STOP_DEPLOYMENT"


class InstanceAction(StrEnum):
    """CodeDeploy's InstanceAction (terminateBlueInstancesOnDeploymentSuccess.action)."""

    TERMINATE = "TERMINATE"
    KEEP_ALIVE = "KEEP_ALIVE"


class TrafficRoutingType(StrEnum):
    """CodeDeploy's TrafficRoutingType."""

    TIME_BASED_CANARY = "TimeBasedCanary"
    TIME_BASED_LINEAR = "TimeBasedLinear"
    ALL_AT_ONCE = "AllAtOnce"


# CloudWatch's StateValue that stops a deployment whose group monitors the alarm.
ALARM_STATE = "ALARM"

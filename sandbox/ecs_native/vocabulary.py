"""The emulator's own copy of Amazon ECS's service-deployment names: every module of
sandbox/ecs_native imports them from here.

Deliberately not ``orchestrator.vocabulary``: the emulator must not trust the client it tests.
tests/unit/test_ecs_native_vocabulary.py pins every enum below to botocore's ECS model and the stage
order to the client's copy (both to ServiceDeploymentLifecycleStage / DeploymentLifecycleHookStage).
"""

from __future__ import annotations

from enum import StrEnum

TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."


class ControllerType(StrEnum):
    """ECS's DeploymentControllerType."""

    ECS = "ECS"
    CODE_DEPLOY = "CODE_DEPLOY"
    EXTERNAL = "EXTERNAL"


class Strategy(StrEnum):
    """ECS's DeploymentStrategy. The emulator runs the last three (ROLLING stays moto's)."""

    ROLLING = "ROLLING"
    BLUE_GREEN = "BLUE_GREEN"
    LINEAR = "LINEAR"
    CANARY = "CANARY"


NATIVE_STRATEGIES = frozenset({Strategy.BLUE_GREEN, Strategy.LINEAR, Strategy.CANARY})


class Status(StrEnum):
    """ECS's ServiceDeploymentStatus."""

    PENDING = "PENDING"
    SUCCESSFUL = "SUCCESSFUL"
    STOPPED = "STOPPED"
    STOP_REQUESTED = "STOP_REQUESTED"
    IN_PROGRESS = "IN_PROGRESS"
    ROLLBACK_REQUESTED = "ROLLBACK_REQUESTED"
    ROLLBACK_IN_PROGRESS = "ROLLBACK_IN_PROGRESS"
    ROLLBACK_SUCCESSFUL = "ROLLBACK_SUCCESSFUL"
    ROLLBACK_FAILED = "ROLLBACK_FAILED"

    @property
    def is_terminal(self) -> bool:
        return self in (Status.SUCCESSFUL, Status.STOPPED, Status.ROLLBACK_SUCCESSFUL, Status.ROLLBACK_FAILED)


# ServiceDeploymentLifecycleStage, in ECS's order.
RECONCILE_SERVICE = "RECONCILE_SERVICE"
PRE_SCALE_UP = "PRE_SCALE_UP"
SCALE_UP = "SCALE_UP"
POST_SCALE_UP = "POST_SCALE_UP"
TEST_TRAFFIC_SHIFT = "TEST_TRAFFIC_SHIFT"
POST_TEST_TRAFFIC_SHIFT = "POST_TEST_TRAFFIC_SHIFT"
PRODUCTION_TRAFFIC_SHIFT = "PRODUCTION_TRAFFIC_SHIFT"
POST_PRODUCTION_TRAFFIC_SHIFT = "POST_PRODUCTION_TRAFFIC_SHIFT"
BAKE_TIME = "BAKE_TIME"
CLEAN_UP = "CLEAN_UP"
# A hook stage only (DeploymentLifecycleHookStage): before every production traffic step ("For
# linear and canary deployments, this stage is invoked before every traffic shift step",
# botocore's DeploymentLifecycleHook.lifecycleStages documentation). It is not a lifecycleStage a
# deployment shows: meanwhile DescribeServiceDeployments says PRODUCTION_TRAFFIC_SHIFT.
PRE_PRODUCTION_TRAFFIC_SHIFT = "PRE_PRODUCTION_TRAFFIC_SHIFT"

LIFECYCLE_STAGES = (
    RECONCILE_SERVICE,
    PRE_SCALE_UP,
    SCALE_UP,
    POST_SCALE_UP,
    TEST_TRAFFIC_SHIFT,
    POST_TEST_TRAFFIC_SHIFT,
    PRODUCTION_TRAFFIC_SHIFT,
    POST_PRODUCTION_TRAFFIC_SHIFT,
    BAKE_TIME,
    CLEAN_UP,
)
HOOK_STAGES = (
    RECONCILE_SERVICE,
    PRE_SCALE_UP,
    POST_SCALE_UP,
    TEST_TRAFFIC_SHIFT,
    POST_TEST_TRAFFIC_SHIFT,
    PRE_PRODUCTION_TRAFFIC_SHIFT,
    PRODUCTION_TRAFFIC_SHIFT,
    POST_PRODUCTION_TRAFFIC_SHIFT,
)
# "PAUSE hooks cannot be configured at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT stages"
# (botocore's DeploymentLifecycleHook.lifecycleStages documentation).
LAMBDA_ONLY_STAGES = frozenset({TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT})
# "When a roll back happens, Amazon ECS runs the lifecycle hooks for the following lifecycle
# stages: PRODUCTION_TRAFFIC_SHIFT, TEST_TRAFFIC_SHIFT" (AWS, "Lifecycle hooks for Amazon ECS
# service deployments"), in the order the rollback moves the traffic.
ROLLBACK_HOOK_STAGES = (PRODUCTION_TRAFFIC_SHIFT, TEST_TRAFFIC_SHIFT)


class HookTargetType(StrEnum):
    """ECS's DeploymentLifecycleHookTargetType."""

    AWS_LAMBDA = "AWS_LAMBDA"
    PAUSE = "PAUSE"


class HookAction(StrEnum):
    """ECS's DeploymentLifecycleHookAction."""

    ROLLBACK = "ROLLBACK"
    CONTINUE = "CONTINUE"


class HookStatus(StrEnum):
    """ECS's DeploymentLifecycleHookStatus (lifecycleHookDetails[].status)."""

    AWAITING_ACTION = "AWAITING_ACTION"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"


class HookReturn(StrEnum):
    """A Lambda hook's ``hookStatus`` (no enum in botocore: the function's answer; AWS, "Lambda
    hooks for Amazon ECS service deployments")."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    IN_PROGRESS = "IN_PROGRESS"


class StopType(StrEnum):
    """ECS's StopServiceDeploymentStopType."""

    ABORT = "ABORT"
    ROLLBACK = "ROLLBACK"


class MonitorStatus(StrEnum):
    """ECS's ServiceDeploymentRollbackMonitorsStatus (alarms.status)."""

    TRIGGERED = "TRIGGERED"
    MONITORING = "MONITORING"
    MONITORING_COMPLETE = "MONITORING_COMPLETE"
    DISABLED = "DISABLED"


# CloudWatch's StateValue that triggers alarm monitoring.
ALARM_STATE = "ALARM"

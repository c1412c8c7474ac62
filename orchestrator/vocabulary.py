"""CodeDeploy's (and CloudWatch's) names, written once: everything else imports them from here.

Stdlib only: the Lambda hooks import this module at cold start (no pydantic, no yaml, no boto3).

- Lifecycle events per compute platform, in CodeDeploy's order (AWS, "AppSpec 'hooks' section",
  https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html).
  botocore's model has no enum for them (``LifecycleEventName`` is a plain string), so
  tests/unit/test_vocabulary.py pins them against that page and against the emulator's own copy.
- Statuses and options as enums with behaviour (``DeploymentStatus.is_terminal``, ...). Where
  botocore's service model has the enum, the same test pins the values to it: CodeDeploy's
  DeploymentStatus, LifecycleEventStatus, AutoRollbackEvent, DeploymentReadyAction,
  DeploymentWaitType, InstanceAction, TrafficRoutingType, TargetLabel, ComputePlatform, and
  CloudWatch's StateValue.
- ``StrategyKind`` is bluegreen's word for a TrafficRoutingType (``canary``, ``linear``, ...).

The CodeDeploy emulator (sandbox/codedeploy/vocabulary.py) keeps its own copy on purpose: it must
not trust the client it tests.
"""

from __future__ import annotations

from enum import StrEnum


class ComputePlatform(StrEnum):
    """CodeDeploy's ComputePlatform."""

    SERVER = "Server"
    LAMBDA = "Lambda"
    ECS = "ECS"


# Lifecycle event names, as GetDeploymentTarget and the AppSpec's hooks spell them.
BEFORE_INSTALL = "BeforeInstall"
INSTALL = "Install"
AFTER_INSTALL = "AfterInstall"
ALLOW_TEST_TRAFFIC = "AllowTestTraffic"
AFTER_ALLOW_TEST_TRAFFIC = "AfterAllowTestTraffic"
BEFORE_ALLOW_TRAFFIC = "BeforeAllowTraffic"
ALLOW_TRAFFIC = "AllowTraffic"
AFTER_ALLOW_TRAFFIC = "AfterAllowTraffic"

# An ECS blue/green deployment's lifecycle events in CodeDeploy's order (hookable or not).
ECS_LIFECYCLE_EVENTS = (
    BEFORE_INSTALL,
    INSTALL,
    AFTER_INSTALL,
    ALLOW_TEST_TRAFFIC,
    AFTER_ALLOW_TEST_TRAFFIC,
    BEFORE_ALLOW_TRAFFIC,
    ALLOW_TRAFFIC,
    AFTER_ALLOW_TRAFFIC,
)
# Those an AppSpec may give a Lambda hook, in the same order (the others CodeDeploy runs itself).
ECS_HOOK_EVENTS = (
    BEFORE_INSTALL,
    AFTER_INSTALL,
    AFTER_ALLOW_TEST_TRAFFIC,
    BEFORE_ALLOW_TRAFFIC,
    AFTER_ALLOW_TRAFFIC,
)
# The steps CodeDeploy runs itself that move tasks or traffic (no hook there).
ECS_TRAFFIC_EVENTS = (INSTALL, ALLOW_TEST_TRAFFIC, ALLOW_TRAFFIC)

# An AWS Lambda deployment's lifecycle events in CodeDeploy's order, and the hookable ones.
LAMBDA_LIFECYCLE_EVENTS = (BEFORE_ALLOW_TRAFFIC, ALLOW_TRAFFIC, AFTER_ALLOW_TRAFFIC)
LAMBDA_HOOK_EVENTS = (BEFORE_ALLOW_TRAFFIC, AFTER_ALLOW_TRAFFIC)


def lifecycle_events(platform: ComputePlatform | str) -> tuple[str, ...]:
    """The lifecycle events of a platform's deployment, in CodeDeploy's order."""
    return {ComputePlatform.ECS: ECS_LIFECYCLE_EVENTS, ComputePlatform.LAMBDA: LAMBDA_LIFECYCLE_EVENTS}[
        ComputePlatform(platform)
    ]


def hook_events(platform: ComputePlatform | str) -> tuple[str, ...]:
    """The lifecycle events of a platform that can run a hook, in CodeDeploy's order."""
    return {ComputePlatform.ECS: ECS_HOOK_EVENTS, ComputePlatform.LAMBDA: LAMBDA_HOOK_EVENTS}[
        ComputePlatform(platform)
    ]


class DeploymentStatus(StrEnum):
    """CodeDeploy's DeploymentStatus."""

    CREATED = "Created"
    QUEUED = "Queued"
    IN_PROGRESS = "InProgress"
    BAKING = "Baking"
    READY = "Ready"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    STOPPED = "Stopped"

    @property
    def is_terminal(self) -> bool:
        return self in (DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED, DeploymentStatus.STOPPED)

    @property
    def is_active(self) -> bool:
        return not self.is_terminal

    @property
    def succeeded(self) -> bool:
        return self is DeploymentStatus.SUCCEEDED

    @classmethod
    def active(cls) -> tuple[DeploymentStatus, ...]:
        """The statuses of a deployment that has not ended (Created .. Ready), in the enum's order."""
        return tuple(status for status in cls if status.is_active)


class LifecycleStatus(StrEnum):
    """CodeDeploy's LifecycleEventStatus (also a hook execution's status)."""

    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SKIPPED = "Skipped"
    UNKNOWN = "Unknown"

    @property
    def is_done(self) -> bool:
        """The event is behind the deployment: it succeeded or CodeDeploy skipped it."""
        return self in (LifecycleStatus.SUCCEEDED, LifecycleStatus.SKIPPED)

    @property
    def is_terminal(self) -> bool:
        return self in (LifecycleStatus.SUCCEEDED, LifecycleStatus.FAILED, LifecycleStatus.SKIPPED)


class TargetLabel(StrEnum):
    """CodeDeploy's TargetLabel: the original task set is Blue, the replacement Green."""

    BLUE = "Blue"
    GREEN = "Green"


class AutoRollbackEvent(StrEnum):
    """CodeDeploy's AutoRollbackEvent: what an autoRollbackConfiguration rolls back on."""

    DEPLOYMENT_FAILURE = "DEPLOYMENT_FAILURE"
    DEPLOYMENT_STOP_ON_ALARM = "DEPLOYMENT_STOP_ON_ALARM"
    DEPLOYMENT_STOP_ON_REQUEST = "DEPLOYMENT_STOP_ON_REQUEST"


# The events bluegreen's deployments roll back on (CreateDeployment's override, the guardrail, sync,
# the sandbox's groups), as the strings a request carries.
ROLLBACK_ON: tuple[str, ...] = (
    AutoRollbackEvent.DEPLOYMENT_FAILURE.value,
    AutoRollbackEvent.DEPLOYMENT_STOP_ON_ALARM.value,
)


class DeploymentReadyAction(StrEnum):
    """CodeDeploy's DeploymentReadyAction (deploymentReadyOption.actionOnTimeout)."""

    CONTINUE_DEPLOYMENT = "CONTINUE_DEPLOYMENT"  # reroute traffic as soon as the replacement is ready
    STOP_DEPLOYMENT = "STOP_DEPLOYMENT"  # wait at Ready for ContinueDeployment, up to waitTimeInMinutes


class DeploymentWaitType(StrEnum):
    """CodeDeploy's DeploymentWaitType (ContinueDeployment: which wait to end)."""

    READY_WAIT = "READY_WAIT"
    TERMINATION_WAIT = "TERMINATION_WAIT"


class InstanceAction(StrEnum):
    """CodeDeploy's InstanceAction (terminateBlueInstancesOnDeploymentSuccess.action)."""

    TERMINATE = "TERMINATE"
    KEEP_ALIVE = "KEEP_ALIVE"  # the original task set keeps running: no termination wait


class TrafficRoutingType(StrEnum):
    """CodeDeploy's TrafficRoutingType (a deployment config's trafficRoutingConfig.type)."""

    TIME_BASED_CANARY = "TimeBasedCanary"
    TIME_BASED_LINEAR = "TimeBasedLinear"
    ALL_AT_ONCE = "AllAtOnce"


class StrategyKind(StrEnum):
    """How traffic moves from the original to the replacement task set (bluegreen's names)."""

    ALL_AT_ONCE = "all-at-once"
    CANARY = "canary"
    LINEAR = "linear"

    @property
    def traffic_routing_type(self) -> TrafficRoutingType:
        """CodeDeploy's TrafficRoutingConfig.type for this kind."""
        return {
            StrategyKind.ALL_AT_ONCE: TrafficRoutingType.ALL_AT_ONCE,
            StrategyKind.CANARY: TrafficRoutingType.TIME_BASED_CANARY,
            StrategyKind.LINEAR: TrafficRoutingType.TIME_BASED_LINEAR,
        }[self]


class AlarmState(StrEnum):
    """CloudWatch's StateValue (DescribeAlarms)."""

    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"

    @property
    def is_alarm(self) -> bool:
        return self is AlarmState.ALARM


# ---------------------------------------------------------------------------------------------
# Amazon ECS's native deployments (deploymentController ECS, deploymentConfiguration.strategy),
# as botocore's ECS model spells them (tests/unit/test_vocabulary.py pins every enum below).


class EngineName(StrEnum):
    """bluegreen's deployment engines (the catalog's ``engine``, ``deploy --engine``)."""

    CODEDEPLOY = "codedeploy"  # CodeDeploy runs the deployment (deploymentController CODE_DEPLOY)
    ECS = "ecs"  # Amazon ECS runs it itself (deploymentController ECS, a native strategy)


class DeploymentControllerType(StrEnum):
    """ECS's DeploymentControllerType."""

    ECS = "ECS"
    CODE_DEPLOY = "CODE_DEPLOY"
    EXTERNAL = "EXTERNAL"


class NativeStrategy(StrEnum):
    """ECS's DeploymentStrategy (deploymentConfiguration.strategy)."""

    ROLLING = "ROLLING"
    BLUE_GREEN = "BLUE_GREEN"
    LINEAR = "LINEAR"
    CANARY = "CANARY"


class ServiceDeploymentStatus(StrEnum):
    """ECS's ServiceDeploymentStatus (DescribeServiceDeployments)."""

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
        return self in (
            ServiceDeploymentStatus.SUCCESSFUL,
            ServiceDeploymentStatus.STOPPED,
            ServiceDeploymentStatus.ROLLBACK_SUCCESSFUL,
            ServiceDeploymentStatus.ROLLBACK_FAILED,
        )

    @property
    def is_active(self) -> bool:
        return not self.is_terminal

    @property
    def is_rollback(self) -> bool:
        return self.value.startswith("ROLLBACK_")

    @classmethod
    def active(cls) -> tuple[ServiceDeploymentStatus, ...]:
        """The statuses of a service deployment in flight (ListServiceDeployments' filter)."""
        return tuple(status for status in cls if status.is_active)


# A native deployment's lifecycle stages in ECS's order (ServiceDeploymentLifecycleStage), and the
# stages a lifecycle hook can run at (DeploymentLifecycleHookStage). PRE_PRODUCTION_TRAFFIC_SHIFT
# is a hook stage only: ECS runs it before every production traffic step (AWS, "Lifecycle hooks
# for Amazon ECS service deployments").
RECONCILE_SERVICE = "RECONCILE_SERVICE"
PRE_SCALE_UP = "PRE_SCALE_UP"
SCALE_UP = "SCALE_UP"
POST_SCALE_UP = "POST_SCALE_UP"
TEST_TRAFFIC_SHIFT = "TEST_TRAFFIC_SHIFT"
POST_TEST_TRAFFIC_SHIFT = "POST_TEST_TRAFFIC_SHIFT"
PRE_PRODUCTION_TRAFFIC_SHIFT = "PRE_PRODUCTION_TRAFFIC_SHIFT"
PRODUCTION_TRAFFIC_SHIFT = "PRODUCTION_TRAFFIC_SHIFT"
POST_PRODUCTION_TRAFFIC_SHIFT = "POST_PRODUCTION_TRAFFIC_SHIFT"
BAKE_TIME = "BAKE_TIME"
CLEAN_UP = "CLEAN_UP"

NATIVE_LIFECYCLE_STAGES = (
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
NATIVE_HOOK_STAGES = (
    RECONCILE_SERVICE,
    PRE_SCALE_UP,
    POST_SCALE_UP,
    TEST_TRAFFIC_SHIFT,
    POST_TEST_TRAFFIC_SHIFT,
    PRE_PRODUCTION_TRAFFIC_SHIFT,
    PRODUCTION_TRAFFIC_SHIFT,
    POST_PRODUCTION_TRAFFIC_SHIFT,
)

# One hook runtime, two contracts: the catalog's `hooks` (CodeDeploy's event names, the same Lambda
# functions) run at these native stages on the ECS engine.
NATIVE_STAGE_FOR_EVENT = {
    BEFORE_INSTALL: PRE_SCALE_UP,
    AFTER_INSTALL: POST_SCALE_UP,
    AFTER_ALLOW_TEST_TRAFFIC: POST_TEST_TRAFFIC_SHIFT,
    BEFORE_ALLOW_TRAFFIC: PRE_PRODUCTION_TRAFFIC_SHIFT,
    AFTER_ALLOW_TRAFFIC: POST_PRODUCTION_TRAFFIC_SHIFT,
}
EVENT_FOR_NATIVE_STAGE = {stage: event for event, stage in NATIVE_STAGE_FOR_EVENT.items()}


class HookTargetType(StrEnum):
    """ECS's DeploymentLifecycleHookTargetType."""

    AWS_LAMBDA = "AWS_LAMBDA"
    PAUSE = "PAUSE"  # waits for ContinueServiceDeployment (bluegreen: `--until ready` + `promote`)


class HookAction(StrEnum):
    """ECS's DeploymentLifecycleHookAction (ContinueServiceDeployment, a hook's timeout action)."""

    CONTINUE = "CONTINUE"
    ROLLBACK = "ROLLBACK"


class NativeHookStatus(StrEnum):
    """ECS's DeploymentLifecycleHookStatus (lifecycleHookDetails[].status)."""

    AWAITING_ACTION = "AWAITING_ACTION"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"


class HookReturnStatus(StrEnum):
    """What a Lambda hook returns to ECS as ``hookStatus`` (no enum in botocore: the Lambda's
    answer; AWS, "Lifecycle hooks for Amazon ECS service deployments"). IN_PROGRESS: invoke me
    again after ``callBackDelay`` seconds (30 by default)."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    IN_PROGRESS = "IN_PROGRESS"


class StopType(StrEnum):
    """ECS's StopServiceDeploymentStopType."""

    ABORT = "ABORT"
    ROLLBACK = "ROLLBACK"


# ---------------------------------------------------------------------------------------------
# The state-change events CodeDeploy and Amazon ECS send to EventBridge (the ledger's input; the
# sandbox's emulators publish the same). AWS, "AWS CodeDeploy events" (EventBridge reference) and
# "Amazon ECS service deployment state change events".
CODEDEPLOY_EVENT_SOURCE = "aws.codedeploy"
CODEDEPLOY_DEPLOYMENT_STATE_CHANGE = "CodeDeploy Deployment State-change Notification"
ECS_EVENT_SOURCE = "aws.ecs"
ECS_DEPLOYMENT_STATE_CHANGE = "ECS Deployment State Change"


class CodeDeployEventState(StrEnum):
    """``detail.state`` of a CodeDeploy Deployment State-change Notification."""

    START = "START"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    STOP = "STOP"
    READY = "READY"  # blue/green: the replacement is ready for traffic (waiting for a continue)


class EcsDeploymentEventName(StrEnum):
    """``detail.eventName`` of an ECS Deployment State Change event."""

    IN_PROGRESS = "SERVICE_DEPLOYMENT_IN_PROGRESS"  # also sent when a rollback starts (``reason`` says)
    COMPLETED = "SERVICE_DEPLOYMENT_COMPLETED"
    FAILED = "SERVICE_DEPLOYMENT_FAILED"

"""A service + strategy -> Amazon ECS's native deployment request (pure: no boto3).

What the ECS engine sends with UpdateService (deploymentController ECS): the
``deploymentConfiguration`` (strategy, bake time, alarms, lifecycle hooks) and the
``loadBalancers`` with their ``advancedConfiguration``. Every limit below is ECS's own, from
botocore's ECS model (service-2.json, 2014-11-13) unless a comment says otherwise; a broken one is
a ``NativeLimitError`` (exit 2) that names the limit and its allowed range.

- ``strategy_configuration(strategy)``: the strategy part alone (strategy, linear/canary
  configuration), also what ``bluegreen strategies`` shows for the ECS engine.
- ``deployment_configuration(service, strategy, ...)``: the whole DeploymentConfiguration.
- ``load_balancers(service, ...)``: UpdateService's loadBalancers.
- ``lambda_arn(service, function_name, ...)``: a hook function's ARN (ECS wants ARNs).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from orchestrator.errors import CatalogError, StrategyError
from orchestrator.vocabulary import (
    ECS_HOOK_EVENTS,
    NATIVE_STAGE_FOR_EVENT,
    POST_TEST_TRAFFIC_SHIFT,
    DeploymentReadyAction,
    HookAction,
    HookTargetType,
    NativeStrategy,
    StrategyKind,
)

if TYPE_CHECKING:
    from orchestrator.catalog import ResolvedService
    from orchestrator.strategies import Strategy


class NativeLimitError(StrategyError):
    """A setting that Amazon ECS's native deployments do not allow (one line: the limit and its range)."""

    kind = "native-limit"


# botocore ECS LinearConfiguration.stepPercent: "multiples of 0.1 from 3.0 to 100.0".
LINEAR_STEP_PERCENT = (3.0, 100.0)
# botocore ECS CanaryConfiguration.canaryPercent: "multiples of 0.1 from 0.1 to 100.0".
CANARY_PERCENT = (0.1, 100.0)
# botocore ECS LinearConfiguration.stepBakeTimeInMinutes and CanaryConfiguration.
# canaryBakeTimeInMinutes: "0 to 1440 minutes (24 hours)".
STEP_BAKE_MINUTES = (0, 1440)
# DeploymentConfiguration.bakeTimeInMinutes: botocore states no bound. We hold it to the same
# 0..1440 as the step bake times (an assumption, not a documented limit: a CodeDeploy termination
# wait may be 2880, which ECS might accept; we refuse it here rather than find out mid-deployment).
BAKE_MINUTES = (0, 1440)
# botocore ECS DeploymentLifecycleHookTimeoutConfiguration.timeoutInMinutes (shape
# DeploymentLifecycleHookDuration): min 1, max 20160 (14 days).
HOOK_TIMEOUT_MINUTES = (1, 20160)

_PERCENT_STEP = 0.1


def _check_range(what: str, value: float, bounds: tuple[float, float], unit: str) -> None:
    low, high = bounds
    if not low <= value <= high:
        raise NativeLimitError(f"{what} {value:g}{unit} is outside ECS's {low:g}..{high:g}{unit}")


def _check_percent(what: str, value: float, bounds: tuple[float, float]) -> None:
    if value < bounds[0]:
        raise NativeLimitError(
            f"{what} {value:g}% is below ECS's {bounds[0]:.1f}% minimum "
            f"(allowed {bounds[0]:.1f}..{bounds[1]:g}%)"
        )
    _check_range(what, value, bounds, "%")
    tenths = value / _PERCENT_STEP
    if abs(tenths - round(tenths)) > 1e-6:
        raise NativeLimitError(
            f"{what} {value:g}% is not a multiple of 0.1% (ECS allows {bounds[0]:.1f}..{bounds[1]:g}%)"
        )


def linear_configuration(step_percent: float, step_bake_minutes: int) -> dict[str, Any]:
    """ECS's LinearConfiguration, limits checked."""
    _check_percent("linear step", step_percent, LINEAR_STEP_PERCENT)
    _check_range("linear step bake time", step_bake_minutes, STEP_BAKE_MINUTES, " minutes")
    return {"stepPercent": float(step_percent), "stepBakeTimeInMinutes": step_bake_minutes}


def canary_configuration(canary_percent: float, canary_bake_minutes: int) -> dict[str, Any]:
    """ECS's CanaryConfiguration, limits checked."""
    _check_percent("canary percentage", canary_percent, CANARY_PERCENT)
    _check_range("canary bake time", canary_bake_minutes, STEP_BAKE_MINUTES, " minutes")
    return {"canaryPercent": float(canary_percent), "canaryBakeTimeInMinutes": canary_bake_minutes}


def strategy_configuration(strategy: Strategy) -> dict[str, Any]:
    """The strategy part of a DeploymentConfiguration: canary10 = CANARY 10 % then the rest after
    5 minutes, linear10 = LINEAR 10 % every minute, all-at-once = BLUE_GREEN.

    CodeDeploy's interval and ECS's step bake time mean the same wait: CodeDeploy moves the first
    increment at once and the next after one interval; ECS shifts a step, then bakes it.
    """
    if strategy.kind is StrategyKind.ALL_AT_ONCE:
        return {"strategy": NativeStrategy.BLUE_GREEN.value}
    assert strategy.percentage is not None and strategy.interval_minutes is not None
    try:
        if strategy.kind is StrategyKind.CANARY:
            canary = canary_configuration(strategy.percentage, strategy.interval_minutes)
            return {"strategy": NativeStrategy.CANARY.value, "canaryConfiguration": canary}
        linear = linear_configuration(strategy.percentage, strategy.interval_minutes)
    except NativeLimitError as err:
        raise NativeLimitError(f"strategy {strategy.name!r}: {err}") from None
    return {"strategy": NativeStrategy.LINEAR.value, "linearConfiguration": linear}


def describe_native(strategy: Strategy) -> str:
    """One short line for the ECS engine, e.g. 'CANARY 10%, rest after 5 min'."""
    config = strategy_configuration(strategy)
    if "canaryConfiguration" in config:
        canary = config["canaryConfiguration"]
        return f"CANARY {canary['canaryPercent']:g}%, rest after {canary['canaryBakeTimeInMinutes']} min"
    if "linearConfiguration" in config:
        linear = config["linearConfiguration"]
        return f"LINEAR {linear['stepPercent']:g}% every {linear['stepBakeTimeInMinutes']} min"
    return "BLUE_GREEN"


def _where(service: ResolvedService) -> str:
    return f"services.{service.name} ({service.environment})"


def _required_role(service: ResolvedService, field: str, what: str) -> str:
    value = getattr(service.settings, field)
    if not value:
        raise CatalogError(
            f"{_where(service)}: field {field} is not set; the ecs engine needs {what} "
            f"(set {field} in the catalog, e.g. environments.{service.environment}.defaults.{field})"
        )
    return str(value)


def _partition(region: str) -> str:
    # ARNs name the partition: aws, aws-cn (cn-*), aws-us-gov (us-gov-*).
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


_ARN = re.compile(r"arn:[a-z-]+:lambda:")


def lambda_arn(service: ResolvedService, function_name: str, *, region: str, account_id: str) -> str:
    """The ARN of a hook function the catalog names (ECS's hookTargetArn must be an ARN)."""
    if _ARN.match(function_name):
        return function_name
    return f"arn:{_partition(region)}:lambda:{region}:{account_id}:function:{function_name}"


def _lambda_hooks(service: ResolvedService, *, region: str, account_id: str) -> list[dict[str, Any]]:
    hooks = service.settings.hooks
    if not hooks:
        return []
    role = _required_role(service, "hook_role_arn", "the role ECS assumes to invoke the hook Lambdas")
    # CodeDeploy's event order is the native stage order (NATIVE_STAGE_FOR_EVENT keeps it).
    return [
        {
            "hookTargetArn": lambda_arn(service, hooks[event], region=region, account_id=account_id),
            "roleArn": role,
            "lifecycleStages": [NATIVE_STAGE_FOR_EVENT[event]],
            "targetType": HookTargetType.AWS_LAMBDA.value,
        }
        for event in ECS_HOOK_EVENTS
        if event in hooks
    ]


def pause_hook(ready_wait_minutes: int) -> dict[str, Any]:
    """The PAUSE hook that waits at Ready (after test traffic) for ``promote`` (ContinueServiceDeployment).

    Nobody continuing within the wait rolls back, as CodeDeploy's STOP_DEPLOYMENT does.
    """
    try:
        _check_range("ready wait", ready_wait_minutes, HOOK_TIMEOUT_MINUTES, " minutes")
    except NativeLimitError as err:
        raise NativeLimitError(
            f"deployment.ready_wait_minutes: {err} (a PAUSE hook's timeoutInMinutes)"
        ) from None
    return {
        "targetType": HookTargetType.PAUSE.value,
        "lifecycleStages": [POST_TEST_TRAFFIC_SHIFT],
        "timeoutConfiguration": {"timeoutInMinutes": ready_wait_minutes, "action": HookAction.ROLLBACK.value},
    }


def alarms_configuration(service: ResolvedService) -> dict[str, Any]:
    """ECS's DeploymentAlarms from the catalog's alarms and auto rollback."""
    names = list(service.settings.alarms)
    return {"alarmNames": names, "enable": bool(names), "rollback": service.settings.deployment.auto_rollback}


def bake_minutes(service: ResolvedService) -> int:
    """The catalog's termination wait as ECS's bakeTimeInMinutes (blue runs beside green after the shift)."""
    minutes = service.settings.deployment.termination_wait_minutes
    try:
        _check_range("bake time", minutes, BAKE_MINUTES, " minutes")
    except NativeLimitError as err:
        raise NativeLimitError(
            f"deployment.termination_wait_minutes: {err} (ECS's bakeTimeInMinutes)"
        ) from None
    return minutes


def deployment_configuration(
    service: ResolvedService, strategy: Strategy, *, region: str, account_id: str, pause_at_ready: bool
) -> dict[str, Any]:
    """UpdateService's deploymentConfiguration for ``strategy`` on ``service``.

    ``pause_at_ready``: add a PAUSE hook at POST_TEST_TRAFFIC_SHIFT, listed after that stage's
    Lambda hook so the smoke checks through the test listener run first.
    """
    hooks = _lambda_hooks(service, region=region, account_id=account_id)
    if pause_at_ready:
        hooks.append(pause_hook(service.settings.deployment.ready_wait_minutes))
    return {
        **strategy_configuration(strategy),
        "bakeTimeInMinutes": bake_minutes(service),
        "alarms": alarms_configuration(service),
        "lifecycleHooks": hooks,
    }


def pauses_at_ready(service: ResolvedService) -> bool:
    """The catalog's ready action waits at Ready (STOP_DEPLOYMENT): on ECS, a PAUSE hook."""
    return service.settings.deployment.ready_action == DeploymentReadyAction.STOP_DEPLOYMENT


def load_balancers(
    service: ResolvedService,
    *,
    blue_tg_arn: str,
    green_tg_arn: str,
    production_rule_arn: str,
    test_rule_arn: str,
) -> list[dict[str, Any]]:
    """UpdateService's loadBalancers: the production target group, and in advancedConfiguration the
    alternate one, the listener rules ECS moves traffic on and the role it moves them with."""
    role = _required_role(
        service, "infrastructure_role_arn", "the role ECS assumes to move the load balancer's listener rules"
    )
    return [
        {
            "targetGroupArn": blue_tg_arn,
            "containerName": service.settings.container_name,
            "containerPort": service.container_port,
            "advancedConfiguration": {
                "alternateTargetGroupArn": green_tg_arn,
                "productionListenerRule": production_rule_arn,
                "testListenerRule": test_rule_arn,
                "roleArn": role,
            },
        }
    ]

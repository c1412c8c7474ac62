"""TEMPORARY stand-in for ``engines/ecs_config.py`` (the native-config helper's, seam.md item 3):
the same three signatures, a minimal mapping, so the ECS engine can be built and tested before
``h/native-config`` lands. Deleted when that branch is merged."""

from __future__ import annotations

from typing import Any

from orchestrator.catalog import ResolvedService
from orchestrator.strategies import Strategy
from orchestrator.vocabulary import (
    NATIVE_STAGE_FOR_EVENT,
    POST_TEST_TRAFFIC_SHIFT,
    HookAction,
    HookTargetType,
    NativeStrategy,
    StrategyKind,
)


def lambda_arn(service: ResolvedService, function_name: str, *, region: str, account_id: str) -> str:
    if function_name.startswith("arn:"):
        return function_name
    return f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"


def deployment_configuration(
    service: ResolvedService, strategy: Strategy, *, region: str, account_id: str, pause_at_ready: bool
) -> dict[str, Any]:
    settings = service.settings
    config: dict[str, Any] = {"bakeTimeInMinutes": settings.deployment.termination_wait_minutes}
    if strategy.kind is StrategyKind.CANARY:
        config["strategy"] = NativeStrategy.CANARY.value
        config["canaryConfiguration"] = {
            "canaryPercent": float(strategy.percentage or 0),
            "canaryBakeTimeInMinutes": strategy.interval_minutes,
        }
    elif strategy.kind is StrategyKind.LINEAR:
        config["strategy"] = NativeStrategy.LINEAR.value
        config["linearConfiguration"] = {
            "stepPercent": float(strategy.percentage or 0),
            "stepBakeTimeInMinutes": strategy.interval_minutes,
        }
    else:
        config["strategy"] = NativeStrategy.BLUE_GREEN.value
    if settings.alarms:
        config["alarms"] = {
            "alarmNames": list(settings.alarms),
            "enable": True,
            "rollback": settings.deployment.auto_rollback,
        }
    hooks: list[dict[str, Any]] = [
        {
            "hookTargetArn": lambda_arn(service, function, region=region, account_id=account_id),
            "roleArn": settings.hook_role_arn or "",
            "targetType": HookTargetType.AWS_LAMBDA.value,
            "lifecycleStages": [NATIVE_STAGE_FOR_EVENT[event]],
        }
        for event, function in settings.hooks.items()
        if event in NATIVE_STAGE_FOR_EVENT
    ]
    if pause_at_ready:
        hooks.append(
            {
                "targetType": HookTargetType.PAUSE.value,
                "lifecycleStages": [POST_TEST_TRAFFIC_SHIFT],
                "timeoutConfiguration": {
                    "timeoutInMinutes": settings.deployment.ready_wait_minutes,
                    "action": HookAction.ROLLBACK.value,
                },
            }
        )
    if hooks:
        config["lifecycleHooks"] = hooks
    return config


def load_balancers(
    service: ResolvedService,
    *,
    blue_tg_arn: str,
    green_tg_arn: str,
    production_rule_arn: str,
    test_rule_arn: str,
) -> list[dict[str, Any]]:
    advanced: dict[str, Any] = {
        "alternateTargetGroupArn": green_tg_arn,
        "productionListenerRule": production_rule_arn,
        "testListenerRule": test_rule_arn,
    }
    if service.settings.infrastructure_role_arn:
        advanced["roleArn"] = service.settings.infrastructure_role_arn
    return [
        {
            "targetGroupArn": blue_tg_arn,
            "containerName": service.settings.container_name,
            "containerPort": service.container_port,
            "advancedConfiguration": advanced,
        }
    ]

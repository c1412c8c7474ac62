"""What ECS refuses in a native service's configuration, before anything changes (pure).

Each problem is one InvalidParameterException message. Sources: botocore's ECS model documentation
of LinearConfiguration ("multiples of 0.1 from 3.0 to 100.0", bake "0 to 1440 minutes"),
CanaryConfiguration ("multiples of 0.1 from 0.1 to 100.0"), DeploymentConfiguration
.bakeTimeInMinutes ("You must provide this parameter when you use the BLUE_GREEN deployment
strategy"), DeploymentLifecycleHook (hookTargetArn required for AWS_LAMBDA; lifecycleStages
required; "PAUSE hooks cannot be configured at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT
stages"), and AWS's "Application Load Balancer resources for blue/green, linear, and canary
deployments" (advancedConfiguration names the alternate target group, the production listener rule
and the role ECS uses for Elastic Load Balancing).
"""

from __future__ import annotations

from typing import Any

from sandbox.ecs_native.vocabulary import LAMBDA_ONLY_STAGES, HookTargetType, Strategy

MAX_BAKE_MINUTES = 1440


def _tenths(value: float) -> bool:
    return abs(value * 10 - round(value * 10)) < 1e-6


def _percent_problem(name: str, value: Any, low: float) -> str | None:
    if not isinstance(value, (int, float)) or not low <= value <= 100.0 or not _tenths(float(value)):
        return f"{name} must be a multiple of 0.1 from {low} to 100.0, got {value}."
    return None


def _bake_problem(name: str, value: Any) -> str | None:
    if not isinstance(value, int) or not 0 <= value <= MAX_BAKE_MINUTES:
        return f"{name} must be 0 to {MAX_BAKE_MINUTES} minutes, got {value}."
    return None


def strategy_problems(config: dict[str, Any]) -> list[str]:
    """Problems of the strategy's own settings."""
    strategy = config.get("strategy")
    problems: list[str | None] = []
    if strategy == Strategy.BLUE_GREEN and "bakeTimeInMinutes" not in config:
        problems.append("bakeTimeInMinutes is required for the BLUE_GREEN deployment strategy.")
    if "bakeTimeInMinutes" in config:
        problems.append(_bake_problem("bakeTimeInMinutes", config["bakeTimeInMinutes"]))
    linear = config.get("linearConfiguration")
    if strategy == Strategy.LINEAR and linear:
        if "stepPercent" in linear:
            problems.append(_percent_problem("linearConfiguration.stepPercent", linear["stepPercent"], 3.0))
        if "stepBakeTimeInMinutes" in linear:
            problems.append(
                _bake_problem("linearConfiguration.stepBakeTimeInMinutes", linear["stepBakeTimeInMinutes"])
            )
    canary = config.get("canaryConfiguration")
    if strategy == Strategy.CANARY and canary:
        if "canaryPercent" in canary:
            problems.append(
                _percent_problem("canaryConfiguration.canaryPercent", canary["canaryPercent"], 0.1)
            )
        if "canaryBakeTimeInMinutes" in canary:
            problems.append(
                _bake_problem(
                    "canaryConfiguration.canaryBakeTimeInMinutes", canary["canaryBakeTimeInMinutes"]
                )
            )
    return [p for p in problems if p]


def hook_problems(config: dict[str, Any]) -> list[str]:
    """Problems of ``lifecycleHooks``."""
    problems: list[str] = []
    for index, hook in enumerate(config.get("lifecycleHooks") or []):
        where = f"lifecycleHooks[{index}]"
        kind = hook.get("targetType", HookTargetType.AWS_LAMBDA)
        stages = hook.get("lifecycleStages") or []
        if not stages:
            problems.append(f"{where}.lifecycleStages is required.")
        if kind == HookTargetType.AWS_LAMBDA and not hook.get("hookTargetArn"):
            problems.append(f"{where}.hookTargetArn is required for an AWS_LAMBDA hook.")
        if kind == HookTargetType.PAUSE and LAMBDA_ONLY_STAGES & set(stages):
            problems.append(
                f"{where}: PAUSE hooks cannot be configured at TEST_TRAFFIC_SHIFT or "
                "PRODUCTION_TRAFFIC_SHIFT."
            )
    return problems


def load_balancer_problems(load_balancers: list[dict[str, Any]]) -> list[str]:
    """Problems of the loadBalancers of a native service (ALB target groups)."""
    if not load_balancers:
        return [
            "A native blue/green, linear or canary service needs loadBalancers with advancedConfiguration."
        ]
    problems: list[str] = []
    for index, balancer in enumerate(load_balancers):
        advanced = balancer.get("advancedConfiguration") or {}
        if not balancer.get("targetGroupArn"):
            problems.append(f"loadBalancers[{index}].targetGroupArn is required.")
        for name in ("alternateTargetGroupArn", "productionListenerRule", "roleArn"):
            if not advanced.get(name):
                problems.append(f"loadBalancers[{index}].advancedConfiguration.{name} is required.")
        if advanced.get("alternateTargetGroupArn") and advanced["alternateTargetGroupArn"] == balancer.get(
            "targetGroupArn"
        ):
            problems.append(
                f"loadBalancers[{index}]: the alternate target group must differ from targetGroupArn."
            )
    return problems


def native_problems(config: dict[str, Any], load_balancers: list[dict[str, Any]]) -> list[str]:
    """Every problem of a native service's deploymentConfiguration and loadBalancers."""
    return strategy_problems(config) + hook_problems(config) + load_balancer_problems(load_balancers)

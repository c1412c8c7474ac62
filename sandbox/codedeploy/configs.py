"""Deployment configs: CodeDeploy's predefined ones and the rules for custom ones (pure)."""

from __future__ import annotations

from typing import Any

from sandbox.codedeploy.errors import ApiError
from sandbox.codedeploy.model import DeploymentConfig
from sandbox.codedeploy.vocabulary import TrafficRoutingType

RESERVED_PREFIX = "CodeDeployDefault."


def _canary(percent: int, minutes: int) -> dict[str, Any]:
    return {
        "type": TrafficRoutingType.TIME_BASED_CANARY.value,
        "timeBasedCanary": {"canaryPercentage": percent, "canaryInterval": minutes},
    }


def _linear(percent: int, minutes: int) -> dict[str, Any]:
    return {
        "type": TrafficRoutingType.TIME_BASED_LINEAR.value,
        "timeBasedLinear": {"linearPercentage": percent, "linearInterval": minutes},
    }


ALL_AT_ONCE: dict[str, Any] = {"type": TrafficRoutingType.ALL_AT_ONCE.value}

# The predefined configs CodeDeploy lists (ECS and Lambda with traffic routing, Server with host counts).
PREDEFINED_TRAFFIC: dict[str, tuple[str, dict[str, Any]]] = {
    "CodeDeployDefault.ECSAllAtOnce": ("ECS", ALL_AT_ONCE),
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes": ("ECS", _linear(10, 1)),
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes": ("ECS", _linear(10, 3)),
    "CodeDeployDefault.ECSCanary10Percent5Minutes": ("ECS", _canary(10, 5)),
    "CodeDeployDefault.ECSCanary10Percent15Minutes": ("ECS", _canary(10, 15)),
    "CodeDeployDefault.LambdaAllAtOnce": ("Lambda", ALL_AT_ONCE),
    "CodeDeployDefault.LambdaCanary10Percent5Minutes": ("Lambda", _canary(10, 5)),
    "CodeDeployDefault.LambdaCanary10Percent10Minutes": ("Lambda", _canary(10, 10)),
    "CodeDeployDefault.LambdaCanary10Percent15Minutes": ("Lambda", _canary(10, 15)),
    "CodeDeployDefault.LambdaCanary10Percent30Minutes": ("Lambda", _canary(10, 30)),
    "CodeDeployDefault.LambdaLinear10PercentEvery1Minute": ("Lambda", _linear(10, 1)),
    "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes": ("Lambda", _linear(10, 2)),
    "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes": ("Lambda", _linear(10, 3)),
    "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes": ("Lambda", _linear(10, 10)),
}
PREDEFINED_SERVER: dict[str, dict[str, Any]] = {
    "CodeDeployDefault.OneAtATime": {"type": "HOST_COUNT", "value": 1},
    "CodeDeployDefault.HalfAtATime": {"type": "FLEET_PERCENT", "value": 50},
    "CodeDeployDefault.AllAtOnce": {"type": "HOST_COUNT", "value": 0},
}

DEFAULT_CONFIG_FOR_PLATFORM = {
    "ECS": "CodeDeployDefault.ECSAllAtOnce",
    "Lambda": "CodeDeployDefault.LambdaAllAtOnce",
    "Server": "CodeDeployDefault.OneAtATime",
}


def predefined_configs(create_time: float) -> list[DeploymentConfig]:
    """Every predefined config, as stored records."""
    configs = [
        DeploymentConfig(name, platform, create_time, traffic_routing=routing, predefined=True)
        for name, (platform, routing) in PREDEFINED_TRAFFIC.items()
    ]
    configs += [
        DeploymentConfig(name, "Server", create_time, minimum_healthy_hosts=hosts, predefined=True)
        for name, hosts in PREDEFINED_SERVER.items()
    ]
    return configs


def check_traffic_routing(routing: dict[str, Any] | None, platform: str) -> dict[str, Any]:
    """Validate a custom config's trafficRoutingConfig; returns it normalised (AllAtOnce if absent)."""
    if platform == "Server":
        if routing:
            raise ApiError(
                "InvalidTrafficRoutingConfigurationException",
                "Traffic routing configuration is not supported for the Server compute platform.",
            )
        return {}
    if not routing:
        return dict(ALL_AT_ONCE)
    kind = routing.get("type", TrafficRoutingType.ALL_AT_ONCE)
    if kind == TrafficRoutingType.ALL_AT_ONCE:
        return dict(ALL_AT_ONCE)
    key, pct_key, interval_key = (
        ("timeBasedCanary", "canaryPercentage", "canaryInterval")
        if kind == TrafficRoutingType.TIME_BASED_CANARY
        else ("timeBasedLinear", "linearPercentage", "linearInterval")
    )
    body = routing.get(key) or {}
    pct, interval = body.get(pct_key), body.get(interval_key)
    if not isinstance(pct, int) or not 1 <= pct <= 99 or not isinstance(interval, int) or interval < 1:
        raise ApiError(
            "InvalidTrafficRoutingConfigurationException",
            f"{kind} needs {key}.{pct_key} between 1 and 99 and {key}.{interval_key} of at least 1 minute.",
        )
    return {"type": kind, key: {pct_key: pct, interval_key: interval}}


def render_config(config: DeploymentConfig) -> dict[str, Any]:
    """DeploymentConfigInfo."""
    info: dict[str, Any] = {
        "deploymentConfigId": config.id,
        "deploymentConfigName": config.name,
        "createTime": config.create_time,
        "computePlatform": config.compute_platform,
    }
    if config.minimum_healthy_hosts is not None:
        info["minimumHealthyHosts"] = config.minimum_healthy_hosts
    if config.traffic_routing:
        info["trafficRoutingConfig"] = config.traffic_routing
    return info

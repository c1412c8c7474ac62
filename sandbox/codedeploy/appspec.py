"""AppSpec content (YAML or JSON) as CodeDeploy reads it for ECS and Lambda deployments (pure)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import yaml

from sandbox.codedeploy.errors import ApiError


@dataclass(frozen=True)
class EcsResource:
    task_definition: str
    container_name: str
    container_port: int
    network_configuration: dict[str, Any] | None = None
    platform_version: str | None = None
    capacity_provider_strategy: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class LambdaResource:
    function_name: str
    alias: str
    current_version: str
    target_version: str


@dataclass(frozen=True)
class AppSpec:
    ecs: EcsResource | None = None
    function: LambdaResource | None = None
    hooks: dict[str, str] = field(default_factory=dict)


def _invalid(message: str) -> ApiError:
    return ApiError("InvalidRevisionException", f"AppSpec: {message}")


def sha256_of(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def parse_appspec(content: str, platform: str) -> AppSpec:
    """Parse and check an AppSpec; raises InvalidRevisionException with the reason."""
    try:
        doc = yaml.safe_load(content)
    except yaml.YAMLError as err:
        raise _invalid(f"not YAML or JSON ({str(err).splitlines()[0]})") from None
    if not isinstance(doc, dict):
        raise _invalid("the document must be a mapping")
    resources = doc.get("Resources") or doc.get("resources")
    if not isinstance(resources, list) or len(resources) != 1 or not isinstance(resources[0], dict):
        raise _invalid("Resources must list exactly one resource")
    (body,) = resources[0].values()
    if not isinstance(body, dict) or not isinstance(body.get("Properties"), dict):
        raise _invalid("the resource needs Type and Properties")
    props = body["Properties"]
    hooks = _hooks(doc.get("Hooks") or doc.get("hooks") or [])
    if platform == "ECS":
        if body.get("Type") != "AWS::ECS::Service":
            raise _invalid("an ECS deployment needs a resource of Type AWS::ECS::Service")
        lb = props.get("LoadBalancerInfo") or {}
        if not props.get("TaskDefinition") or not lb.get("ContainerName") or "ContainerPort" not in lb:
            raise _invalid("Properties need TaskDefinition and LoadBalancerInfo.ContainerName/ContainerPort")
        try:
            port = int(lb["ContainerPort"])
        except (TypeError, ValueError):
            raise _invalid("LoadBalancerInfo.ContainerPort must be a number") from None
        ecs = EcsResource(
            task_definition=str(props["TaskDefinition"]),
            container_name=str(lb["ContainerName"]),
            container_port=port,
            network_configuration=props.get("NetworkConfiguration"),
            platform_version=props.get("PlatformVersion"),
            capacity_provider_strategy=props.get("CapacityProviderStrategy"),
        )
        return AppSpec(ecs=ecs, hooks=hooks)
    if body.get("Type") != "AWS::Lambda::Function":
        raise _invalid("a Lambda deployment needs a resource of Type AWS::Lambda::Function")
    missing = [k for k in ("Name", "Alias", "CurrentVersion", "TargetVersion") if not props.get(k)]
    if missing:
        raise _invalid(f"Properties need {', '.join(missing)}")
    function = LambdaResource(
        str(props["Name"]), str(props["Alias"]), str(props["CurrentVersion"]), str(props["TargetVersion"])
    )
    return AppSpec(function=function, hooks=hooks)


def _hooks(raw: Any) -> dict[str, str]:
    """Hooks is a list of one-key mappings: ``- BeforeInstall: "function-name-or-arn"``."""
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise _invalid("Hooks must be a list of {LifecycleEvent: function}")
    hooks: dict[str, str] = {}
    for item in raw:
        if not isinstance(item, dict):
            raise _invalid("Hooks must be a list of {LifecycleEvent: function}")
        for event, function in item.items():
            hooks[str(event)] = str(function)
    return hooks


def network_configuration_for_ecs(appspec_network: dict[str, Any] | None) -> dict[str, Any] | None:
    """AppSpec's NetworkConfiguration (PascalCase) as ECS's networkConfiguration."""
    if not appspec_network:
        return None
    vpc = appspec_network.get("AwsvpcConfiguration") or appspec_network.get("awsvpcConfiguration") or {}
    config: dict[str, Any] = {"subnets": list(vpc.get("Subnets") or vpc.get("subnets") or [])}
    groups = vpc.get("SecurityGroups") or vpc.get("securityGroups")
    if groups:
        config["securityGroups"] = list(groups)
    public = vpc.get("AssignPublicIp") or vpc.get("assignPublicIp")
    if public:
        config["assignPublicIp"] = public
    return {"awsvpcConfiguration": config}


def render_ecs_appspec(task_definition: str, container_name: str, container_port: int) -> str:
    """A minimal ECS AppSpec (used for the revision of a rollback deployment)."""
    doc = {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "TaskDefinition": task_definition,
                        "LoadBalancerInfo": {
                            "ContainerName": container_name,
                            "ContainerPort": container_port,
                        },
                    },
                }
            }
        ],
    }
    return yaml.safe_dump(doc, sort_keys=False)

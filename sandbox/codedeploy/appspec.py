"""AppSpec content (YAML or JSON) as CodeDeploy reads it for ECS and Lambda deployments (pure)."""

from __future__ import annotations

import hashlib
import re
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


# Bounds on what an AppSpec may make the parser do (it runs under the emulator's one lock). AWS
# documents none; depth and aliases follow SnakeYAML's LoaderOptions defaults (nestingDepthLimit 50,
# maxAliasesForCollections 50), a Java YAML parser's; values are capped at 2,000 as parsed and again
# with every alias expanded, so a 2 KB alias bomb costs microseconds. A real ECS AppSpec nests 7
# levels and has a few dozen values. libyaml's parser does the reading (PyYAML's pure-Python one
# took 34 s over a 1 MiB document of small values and 4 s over one 1 MiB string).
MAX_DEPTH = 50
MAX_ALIASES = 50
MAX_NODES = 2_000
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPENS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSES = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def load_document(content: str) -> Any:
    """The AppSpec's YAML (or JSON: YAML reads it) as plain data, within the bounds above."""
    if _flow_depth_exceeds(content, MAX_DEPTH):  # PyYAML's scanners are slow on deep flow nesting
        raise _invalid(f"nested deeper than {MAX_DEPTH} levels")
    try:
        _check_events(content)  # bounds first: composing is recursive and expands nothing yet
        doc = yaml.load(content, Loader=_LOADER)  # a safe loader: CSafeLoader (or SafeLoader)
    except yaml.YAMLError as err:
        raise _invalid(f"not YAML or JSON ({str(err).splitlines()[0]})") from None
    except RecursionError:
        raise _invalid(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as err:  # e.g. an integer past Python's 4,300-digit conversion limit
        raise _invalid(f"a value cannot be read ({str(err).splitlines()[0][:80]})") from None
    if _expanded_nodes(doc, MAX_NODES) > MAX_NODES:
        raise _invalid(f"more than {MAX_NODES} values once aliases are expanded")
    return doc


def _check_events(content: str) -> None:
    """Walk the parser's events, refusing deep nesting, many aliases and many values early."""
    depth = aliases = nodes = 0
    for event in yaml.parse(content, Loader=_LOADER):
        if isinstance(event, _CLOSES):
            depth -= 1
            continue
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
        elif not isinstance(event, (yaml.ScalarEvent, *_OPENS)):
            continue  # stream and document markers
        nodes += 1
        depth += isinstance(event, _OPENS)
        if depth > MAX_DEPTH:
            raise _invalid(f"nested deeper than {MAX_DEPTH} levels")
        if aliases > MAX_ALIASES:
            raise _invalid(f"more than {MAX_ALIASES} aliases")
        if nodes > MAX_NODES:
            raise _invalid(f"more than {MAX_NODES} values")


_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")


def _flow_depth_exceeds(content: str, limit: int) -> bool:
    """Whether flow brackets nest deeper than ``limit``, quotes ignored (an over-estimate only for
    brackets inside strings, which an AppSpec has no reason to stack 50 deep)."""
    depth = 0
    for char in _NOT_A_BRACKET.sub("", content):
        depth = depth + 1 if char in "[{" else max(depth - 1, 0)
        if depth > limit:
            return True
    return False


def _expanded_nodes(doc: Any, limit: int) -> int:
    """Nodes of ``doc`` counting every alias as a copy; stops at ``limit + 1``."""
    count = 0
    stack = [doc]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def parse_appspec(content: str, platform: str) -> AppSpec:
    """Parse and check an AppSpec; raises InvalidRevisionException with the reason."""
    doc = load_document(content)
    if not isinstance(doc, dict):
        raise _invalid("the document must be a mapping")
    resources = doc.get("Resources") or doc.get("resources")
    if not isinstance(resources, list) or len(resources) != 1 or not isinstance(resources[0], dict):
        raise _invalid("Resources must list exactly one resource")
    if len(resources[0]) != 1:
        raise _invalid("each item of Resources names one resource ({TargetService: {Type, Properties}})")
    (body,) = resources[0].values()
    if not isinstance(body, dict) or not isinstance(body.get("Properties"), dict):
        raise _invalid("the resource needs Type and Properties")
    props = body["Properties"]
    hooks = _hooks(doc.get("Hooks") or doc.get("hooks") or [])
    if platform == "ECS":
        if body.get("Type") != "AWS::ECS::Service":
            raise _invalid("an ECS deployment needs a resource of Type AWS::ECS::Service")
        return AppSpec(ecs=_ecs_resource(props), hooks=hooks)
    if body.get("Type") != "AWS::Lambda::Function":
        raise _invalid("a Lambda deployment needs a resource of Type AWS::Lambda::Function")
    missing = [k for k in ("Name", "Alias", "CurrentVersion", "TargetVersion") if not _scalar(props.get(k))]
    if missing:
        raise _invalid(f"Properties need {', '.join(missing)}")
    function = LambdaResource(
        str(props["Name"]), str(props["Alias"]), str(props["CurrentVersion"]), str(props["TargetVersion"])
    )
    return AppSpec(function=function, hooks=hooks)


def _scalar(value: Any) -> bool:
    """A non-empty string or number: what CodeDeploy reads as a name, ARN or version."""
    return isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value) != ""


def _ecs_resource(props: dict[str, Any]) -> EcsResource:
    lb = props.get("LoadBalancerInfo")
    if (
        not isinstance(lb, dict)
        or not _scalar(props.get("TaskDefinition"))
        or not _scalar(lb.get("ContainerName"))
    ):
        raise _invalid("Properties need TaskDefinition and LoadBalancerInfo.ContainerName/ContainerPort")
    port = lb.get("ContainerPort")
    if isinstance(port, str) and port.strip().isdigit():
        port = int(port)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise _invalid("LoadBalancerInfo.ContainerPort must be a port number (1-65535)")
    network = props.get("NetworkConfiguration")
    if network is not None and not isinstance(network, dict):
        raise _invalid("NetworkConfiguration must be a mapping (AwsvpcConfiguration)")
    strategy = props.get("CapacityProviderStrategy")
    if strategy is not None and not (
        isinstance(strategy, list) and all(isinstance(i, dict) for i in strategy)
    ):
        raise _invalid("CapacityProviderStrategy must be a list of mappings")
    platform_version = props.get("PlatformVersion")
    if platform_version is not None and not isinstance(platform_version, str):
        raise _invalid("PlatformVersion must be a string")
    return EcsResource(
        task_definition=str(props["TaskDefinition"]),
        container_name=str(lb["ContainerName"]),
        container_port=port,
        network_configuration=network,
        platform_version=platform_version,
        capacity_provider_strategy=strategy,
    )


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
            if not isinstance(event, str) or not _scalar(function):
                raise _invalid("each hook maps a lifecycle event to a function name or ARN")
            hooks[event] = str(function)
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

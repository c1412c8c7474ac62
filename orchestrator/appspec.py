"""AppSpec rendering for ECS and Lambda deployments (pure: no boto3).

For the CLI engineer:
- ``render``: ``render_ecs_appspec(ecs_input_for(service, arn_or_None))`` gives the YAML text;
  write it to ``appspecs/SERVICE.ENV.yaml`` as is (``appspec_path(root, service)`` names the file).
  Without ``--task-definition`` pass ``None`` (or ``TASK_DEFINITION_PLACEHOLDER``): the file then
  holds ``<TASK_DEFINITION>`` where the ARN goes, as AWS's own examples do.
- ``deploy``: render with the registered task definition ARN and send
  ``appspec_revision(content)`` as CreateDeployment's ``revision``; ``appspec_sha256`` is the
  digest CodeDeploy checks.
- The output is deterministic: the same input gives the same bytes (keys in AWS's documented order,
  hooks in CodeDeploy's lifecycle order, no timestamps), so the rendered files diff cleanly in PRs.
- Errors are ``AppSpecError`` (exit 2) with one line saying what is wrong.

Additions beyond the shared interface: ``TASK_DEFINITION_PLACEHOLDER``, ``LAMBDA_HOOK_EVENTS``,
``appspec_path(root, service)``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orchestrator.catalog import CapacityProvider, Network, ResolvedService
from orchestrator.errors import AppSpecError
from orchestrator.vocabulary import ECS_HOOK_EVENTS, LAMBDA_HOOK_EVENTS, ComputePlatform

TASK_DEFINITION_PLACEHOLDER = "<TASK_DEFINITION>"


@dataclass(frozen=True)
class EcsAppSpecInput:
    """Everything an ECS AppSpec says: the replacement task set and the hooks."""

    task_definition_arn: str
    container_name: str
    container_port: int
    platform_version: str | None = None
    network: Network | None = None
    capacity_provider_strategy: list[CapacityProvider] = field(default_factory=list)
    hooks: Mapping[str, str] = field(default_factory=dict)


def ecs_input_for(service: ResolvedService, task_definition_arn: str | None) -> EcsAppSpecInput:
    """The AppSpec input for one catalog service; None as ARN renders the placeholder."""
    settings = service.settings
    return EcsAppSpecInput(
        task_definition_arn=task_definition_arn or TASK_DEFINITION_PLACEHOLDER,
        container_name=settings.container_name,
        container_port=service.container_port,
        platform_version=settings.platform_version or None,
        network=settings.network if settings.network.subnets else None,
        capacity_provider_strategy=list(settings.capacity_provider_strategy),
        hooks=dict(settings.hooks),
    )


def appspec_path(root: Path, service: ResolvedService) -> Path:
    """Where ``bluegreen render`` writes a service's AppSpec: appspecs/SERVICE.ENV.yaml."""
    return root / "appspecs" / f"{service.name}.{service.environment}.yaml"


def _hooks(hooks: Mapping[str, str], order: tuple[str, ...], platform: str) -> list[dict[str, str]]:
    unknown = sorted(set(hooks) - set(order))
    if unknown:
        raise AppSpecError(
            f"{platform} AppSpec: unknown lifecycle event(s) {', '.join(unknown)}; valid: {', '.join(order)}"
        )
    for event, function in hooks.items():
        if not function.strip():
            raise AppSpecError(f"{platform} AppSpec: hook {event} has an empty function name")
    # CodeDeploy runs hooks by lifecycle event, but listing them in that order keeps the file
    # readable and its bytes independent of how the mapping was built.
    return [{event: hooks[event]} for event in order if event in hooks]


def _ecs_document(spec: EcsAppSpecInput) -> dict[str, Any]:
    if not spec.task_definition_arn.strip():
        raise AppSpecError("ECS AppSpec: the task definition ARN is empty")
    if not spec.container_name.strip():
        raise AppSpecError("ECS AppSpec: the container name is empty")
    if not 1 <= spec.container_port <= 65535:
        raise AppSpecError(f"ECS AppSpec: container port must be 1..65535, got {spec.container_port}")
    # Property order as in AWS's "AppSpec 'resources' section for Amazon ECS deployments".
    properties: dict[str, Any] = {
        "TaskDefinition": spec.task_definition_arn,
        "LoadBalancerInfo": {"ContainerName": spec.container_name, "ContainerPort": spec.container_port},
    }
    if spec.platform_version:
        properties["PlatformVersion"] = spec.platform_version
    if spec.network is not None:
        if not spec.network.subnets:
            raise AppSpecError("ECS AppSpec: network configuration needs at least one subnet")
        awsvpc: dict[str, Any] = {"Subnets": list(spec.network.subnets)}
        if spec.network.security_groups:
            awsvpc["SecurityGroups"] = list(spec.network.security_groups)
        awsvpc["AssignPublicIp"] = spec.network.assign_public_ip
        properties["NetworkConfiguration"] = {"AwsvpcConfiguration": awsvpc}
    if spec.capacity_provider_strategy:
        properties["CapacityProviderStrategy"] = [
            {"Base": entry.base, "CapacityProvider": entry.capacity_provider, "Weight": entry.weight}
            for entry in spec.capacity_provider_strategy
        ]
    document: dict[str, Any] = {
        "version": 0.0,
        "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": properties}}],
    }
    hooks = _hooks(spec.hooks, ECS_HOOK_EVENTS, ComputePlatform.ECS)
    if hooks:
        document["Hooks"] = hooks
    return document


class _AppSpecDumper(yaml.SafeDumper):
    """SafeDumper that indents list items under their key, as AWS's AppSpec examples do."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _dump(document: Mapping[str, Any]) -> str:
    # sort_keys=False keeps the documented key order; a huge width keeps long ARNs on one line.
    return yaml.dump(
        document,
        Dumper=_AppSpecDumper,
        sort_keys=False,
        default_flow_style=False,
        width=10_000,
        allow_unicode=False,
        explicit_start=False,
    )


def render_ecs_appspec(spec: EcsAppSpecInput) -> str:
    """The ECS AppSpec (version 0.0) as YAML text; the same input always gives the same bytes."""
    return _dump(_ecs_document(spec))


_LAMBDA_VERSION = re.compile(r"[1-9]\d*")


def render_lambda_appspec(
    function_name: str, alias: str, current_version: str, target_version: str, hooks: Mapping[str, str]
) -> str:
    """The Lambda AppSpec (version 0.0) that shifts ``alias`` from one version to another."""
    if not function_name.strip() or not alias.strip():
        raise AppSpecError("Lambda AppSpec: function name and alias are required")
    for label, version in (("current", current_version), ("target", target_version)):
        # AWS: "This value must be a valid positive integer" ($LATEST cannot be an alias target).
        if not _LAMBDA_VERSION.fullmatch(str(version)):
            raise AppSpecError(f"Lambda AppSpec: {label} version must be a positive integer, got {version!r}")
    if str(current_version) == str(target_version):
        raise AppSpecError(f"Lambda AppSpec: current and target version are both {current_version}")
    # The resource's key is a logical name; a function ARN's last segment is its name.
    logical = function_name.rsplit(":", 1)[-1]
    document: dict[str, Any] = {
        "version": 0.0,
        "Resources": [
            {
                logical: {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Name": function_name,
                        "Alias": alias,
                        "CurrentVersion": str(current_version),
                        "TargetVersion": str(target_version),
                    },
                }
            }
        ],
    }
    rendered_hooks = _hooks(hooks, LAMBDA_HOOK_EVENTS, ComputePlatform.LAMBDA)
    if rendered_hooks:
        document["Hooks"] = rendered_hooks
    return _dump(document)


def appspec_sha256(content: str) -> str:
    """Hex sha256 of the AppSpec text as UTF-8, the digest CodeDeploy's AppSpecContent carries."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def appspec_revision(content: str) -> dict[str, Any]:
    """CreateDeployment's ``revision`` for an inline AppSpec."""
    return {
        "revisionType": "AppSpecContent",
        "appSpecContent": {"content": content, "sha256": appspec_sha256(content)},
    }

"""A CodeDeploy deploymentInfo (GetDeployment / BatchGetDeployments) as a ``DeploymentRecord``
(pure: stdlib and PyYAML only; the CodeDeploy engine's ``history`` and the ledger Lambda share it).

The words come from CodeDeploy's own answer, checked against botocore's CodeDeploy model:
- the outcome from ``status`` and ``rollbackInfo``: a Failed or Stopped deployment that names a
  ``rollbackDeploymentId`` was rolled back;
- the kind: CodeDeploy's own rollback deployment links back through
  ``rollbackInfo.rollbackTriggeringDeploymentId`` and is created by ``codeDeployRollback``
  (DeploymentCreator enum: user, autoscaling, codeDeployRollback, CodeDeploy, CodeDeployAutoUpdate,
  CloudFormation, CloudFormationRollback, autoscalingTermination); ``bluegreen rollback`` marks its
  deployment in the description (``codedeploy_plan._description``: "bluegreen rollback <service> ...");
- what ended it from ``errorInformation.code`` (the ErrorCode enum) and its message;
- the task definition from the AppSpec when the answer carries its content (GetDeployment never
  does; a ledger row or a GetApplicationRevision answer may);
- who deployed from which commit from the note ``deploy`` writes in the description
  (``provenance.from_description``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from orchestrator.errors import StrategyError
from orchestrator.insight.outcome import Outcome
from orchestrator.insight.provenance import from_description
from orchestrator.insight.records import DeploymentKind, DeploymentRecord, alarm_words
from orchestrator.strategies import strategy_for_config
from orchestrator.vocabulary import (
    ECS_LIFECYCLE_EVENTS,
    LAMBDA_LIFECYCLE_EVENTS,
    DeploymentStatus,
    EngineName,
)

# DeploymentCreator values of a deployment CodeDeploy (or CloudFormation) made to roll one back.
ROLLBACK_CREATORS = frozenset({"codeDeployRollback", "CloudFormationRollback"})
# What `bluegreen rollback` writes in its deployment's description (codedeploy_plan._description).
BLUEGREEN_ROLLBACK_MARK = "bluegreen rollback "
# An AppSpec bluegreen renders is well under 2 KB; anything far larger is not read.
MAX_APPSPEC_CHARS = 64 * 1024

# ErrorCode values (botocore's CodeDeploy model) that name what ended a deployment in a word.
ALARM_ACTIVE = "ALARM_ACTIVE"
HOOK_EXECUTION_FAILURE = "HOOK_EXECUTION_FAILURE"
HEALTH_CONSTRAINTS = "HEALTH_CONSTRAINTS"
MANUAL_STOP = "MANUAL_STOP"
TIMEOUT = "TIMEOUT"
_ENDED_BY = {
    MANUAL_STOP: "stop",
    TIMEOUT: "timeout",
    "ECS_UPDATE_ERROR": "ECS update error",
    "INTERNAL_ERROR": "internal error",
    "THROTTLED": "throttling",
    "INVALID_REVISION": "invalid revision",
    "INVALID_ECS_SERVICE": "invalid ECS service",
    "IAM_ROLE_PERMISSIONS": "IAM role permissions",
    "IAM_ROLE_MISSING": "IAM role missing",
    "ELASTIC_LOAD_BALANCING_INVALID": "invalid load balancer",
}
# CodeDeploy's alarm message ends "Activated alarms: <name>[, <name>...]" (the emulator copies it).
_ACTIVATED = re.compile(r"Activated alarms?:\s*(?P<names>.+?)\s*\.?\s*$", re.DOTALL)
_EVENT_NAMES = tuple(dict.fromkeys(ECS_LIFECYCLE_EVENTS + LAMBDA_LIFECYCLE_EVENTS))


@dataclass(frozen=True)
class AppSpecFacts:
    """What an AppSpec says that ``inspect`` and records show."""

    task_definition: str | None = None
    hooks: Mapping[str, str] = field(default_factory=dict)  # lifecycle event -> Lambda function
    container: str | None = None  # LoadBalancerInfo.ContainerName: the container whose image ships


def read_appspec(content: str | None) -> AppSpecFacts:
    """The task definition and hooks of an ECS (or Lambda) AppSpec, YAML or JSON; empty when
    there is none or it does not read as one."""
    import yaml

    if not content or len(content) > MAX_APPSPEC_CHARS:
        return AppSpecFacts()
    try:
        document = yaml.safe_load(content)
    except yaml.YAMLError:
        return AppSpecFacts()
    if not isinstance(document, Mapping):
        return AppSpecFacts()
    return AppSpecFacts(
        _property(document, "TaskDefinition"),
        _hooks(document),
        _property(document, "LoadBalancerInfo", "ContainerName"),
    )


def _property(document: Mapping[str, Any], *path: str) -> str | None:
    """Resources[0].TargetService.Properties.<path> when it is a non-empty string."""
    try:
        value: Any = document["Resources"][0]["TargetService"]["Properties"]
        for key in path:
            value = value[key]
    except (KeyError, IndexError, TypeError):
        return None
    return value if isinstance(value, str) and value else None


def _hooks(document: Mapping[str, Any]) -> dict[str, str]:
    hooks = document.get("Hooks")
    if not isinstance(hooks, list):
        return {}
    out: dict[str, str] = {}
    for entry in hooks:
        if isinstance(entry, Mapping):
            out.update({str(k): str(v) for k, v in entry.items() if isinstance(v, str)})
    return out


def appspec_content(info: Mapping[str, Any]) -> str | None:
    """The AppSpec text a deploymentInfo carries, if any (GetDeployment leaves it out)."""
    revision = info.get("revision") or {}
    content = (revision.get("appSpecContent") or {}).get("content")
    return content if isinstance(content, str) and content else None


def outcome_of(info: Mapping[str, Any]) -> Outcome:
    """Succeeded -> succeeded; Failed/Stopped -> rolled back when a rollback deployment is named,
    else failed/stopped; anything still running -> in progress."""
    status = str(info.get("status") or "")
    rolled_back = bool((info.get("rollbackInfo") or {}).get("rollbackDeploymentId"))
    if status == DeploymentStatus.SUCCEEDED:
        return Outcome.SUCCEEDED
    if status in (DeploymentStatus.FAILED, DeploymentStatus.STOPPED):
        if rolled_back:
            return Outcome.ROLLED_BACK
        return Outcome.FAILED if status == DeploymentStatus.FAILED else Outcome.STOPPED
    return Outcome.IN_PROGRESS


def kind_of(info: Mapping[str, Any]) -> DeploymentKind:
    """CodeDeploy's own rollback deployment, `bluegreen rollback`'s, or a deploy."""
    if (info.get("rollbackInfo") or {}).get("rollbackTriggeringDeploymentId") or (
        info.get("creator") in ROLLBACK_CREATORS
    ):
        return DeploymentKind.AUTO_ROLLBACK
    if BLUEGREEN_ROLLBACK_MARK in str(info.get("description") or ""):
        return DeploymentKind.ROLLBACK
    return DeploymentKind.DEPLOY


def ended_by(error_code: str | None, message: str | None) -> str | None:
    """What stopped, failed or rolled back a deployment, in a word or two, from its
    errorInformation: "alarm product-service-5xx", "AfterAllowTestTraffic hook", "stop", "timeout"."""
    if not error_code:
        return None
    text = message or ""
    if error_code == ALARM_ACTIVE:
        found = _ACTIVATED.search(text)
        names = [n.strip() for n in found.group("names").split(",") if n.strip()] if found else []
        if not names:
            return "alarm"
        return alarm_words(names)
    if error_code in (HOOK_EXECUTION_FAILURE, HEALTH_CONSTRAINTS):
        event = failed_event_named(text)
        if event:
            return f"{event} hook"
        return "hook" if error_code == HOOK_EXECUTION_FAILURE else "health constraints"
    return _ENDED_BY.get(error_code, error_code.lower().replace("_", " "))


def failed_event_named(message: str) -> str | None:
    """The lifecycle event a failure message names (the longest match: AfterAllowTestTraffic, not
    AllowTestTraffic)."""
    named = [event for event in _EVENT_NAMES if re.search(rf"\b{event}\b", message)]
    return max(named, key=len, default=None)


def strategy_name(config_name: str | None) -> str | None:
    """bluegreen's name for a deployment config when it reads as one, else the config's name."""
    if not config_name:
        return None
    try:
        return strategy_for_config(config_name).name
    except StrategyError:
        return config_name


def record_from_deployment(info: Mapping[str, Any], service: str, environment: str) -> DeploymentRecord:
    """One deploymentInfo as a DeploymentRecord (provenance from the description)."""
    rollback = info.get("rollbackInfo") or {}
    error = info.get("errorInformation") or {}
    outcome = outcome_of(info)
    return DeploymentRecord(
        deployment_id=str(info["deploymentId"]),
        engine=EngineName.CODEDEPLOY.value,
        service=service,
        environment=environment,
        status=str(info.get("status") or ""),
        outcome=outcome,
        kind=kind_of(info),
        strategy=strategy_name(info.get("deploymentConfigName")),
        created=as_time(info.get("createTime")),
        completed=as_time(info.get("completeTime")),
        rolled_back_by=ended_by(error.get("code"), error.get("message")) if outcome.is_failure else None,
        rollback_deployment_id=rollback.get("rollbackDeploymentId") or None,
        rollback_of=rollback.get("rollbackTriggeringDeploymentId") or None,
        task_definition=read_appspec(appspec_content(info)).task_definition,
        provenance=from_description(info.get("description")),
    )


def as_time(value: Any) -> datetime | None:
    """botocore gives datetimes; a ledger row or a raw JSON answer may give ISO text or epoch."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

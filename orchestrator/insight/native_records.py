"""One of Amazon ECS's service deployments as a ``DeploymentRecord`` (pure: stdlib only; the ledger
Lambda imports it, ``EcsEngine.history`` too).

The input is a DescribeServiceDeployments ``serviceDeployments[]`` entry (botocore's ECS model,
``ServiceDeployment``), with times as boto3 parses them (aware ``datetime``s), as epoch seconds
(the wire's JSON) or as ISO-8601 strings (EventBridge's); the target service revision
(DescribeServiceRevisions' ``ServiceRevision``), when the caller read it, adds the task definition
and the image.

- outcome: SUCCESSFUL succeeded; ROLLBACK_SUCCESSFUL rolled back (whatever started the rollback:
  ECS rolls back inside the same service deployment, as the watch report says "rolled back");
  ROLLBACK_FAILED failed (the rollback itself did not finish: the service is not restored);
  STOPPED stopped (a newer deployment replaced it, or an alarm stopped it without rollback);
  anything else in progress.
- rolled_back_by: structured signals first (``alarms.triggeredAlarmNames``: "alarm X"; the
  circuit breaker TRIGGERED), then ``rollback.reason`` / ``statusReason``: a lifecycle stage it
  names ("POST_TEST_TRAFFIC_SHIFT hook"), a stop ("stop": StopServiceDeployment; ``stoppedAt`` set
  on a rollback), the deployment's alarms it names; else the reason itself. AWS documents no fixed
  wording for ``Rollback.reason`` ("For example, the circuit breaker initiated the rollback
  operation", API_Rollback), so text is read only after the structured members.
- strategy: bluegreen's name when ``deploymentConfiguration`` reads as one (``canary10``,
  ``linear:20:2``), else ECS's own words (``ROLLING``, ``CANARY 12.5% / 5 min``).
- kind: always DEPLOY. ECS has no rollback deployment of its own (AUTO_ROLLBACK is CodeDeploy's)
  and a service deployment carries no description, so `bluegreen rollback` is told apart only by
  the ledger's row (``record_start``), never by ECS's answer. Provenance likewise stays empty here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from orchestrator.errors import StrategyError
from orchestrator.insight.outcome import Outcome
from orchestrator.insight.records import DeploymentKind, DeploymentRecord, alarm_words
from orchestrator.strategies import Strategy, parse_strategy
from orchestrator.vocabulary import (
    NATIVE_HOOK_STAGES,
    NATIVE_LIFECYCLE_STAGES,
    EngineName,
    NativeHookStatus,
    NativeStrategy,
    ServiceDeploymentStatus,
)

# ServiceDeploymentRollbackMonitorsStatus: the alarms or the circuit breaker stopped the deployment.
TRIGGERED = "TRIGGERED"
# How a rollback reason says someone asked for it (StopServiceDeployment; a PAUSE hook released
# with ContinueServiceDeployment's ROLLBACK action).
_STOP_WORDS = re.compile(r"stop request|StopServiceDeployment|ContinueServiceDeployment", re.IGNORECASE)
# A stage name as a whole word (PRE_PRODUCTION_TRAFFIC_SHIFT must not read as PRODUCTION_TRAFFIC_SHIFT).
_STAGE_NAMES = "|".join(sorted(set(NATIVE_HOOK_STAGES), key=len, reverse=True))
_STAGE = re.compile(rf"(?<![A-Z_])({_STAGE_NAMES})(?![A-Z_])")

_OUTCOME = {
    ServiceDeploymentStatus.SUCCESSFUL: Outcome.SUCCEEDED,
    ServiceDeploymentStatus.ROLLBACK_SUCCESSFUL: Outcome.ROLLED_BACK,
    ServiceDeploymentStatus.ROLLBACK_FAILED: Outcome.FAILED,
    ServiceDeploymentStatus.STOPPED: Outcome.STOPPED,
}


def status_of(sd: Mapping[str, Any]) -> ServiceDeploymentStatus | None:
    """ECS's status word as the enum (None when absent or one this model lacks)."""
    try:
        return ServiceDeploymentStatus(str(sd.get("status")))
    except ValueError:
        return None


def outcome_of(sd: Mapping[str, Any]) -> Outcome:
    """How the service deployment ended (see the module docstring)."""
    status = status_of(sd)
    return _OUTCOME.get(status, Outcome.IN_PROGRESS) if status is not None else Outcome.IN_PROGRESS


def reason_of(sd: Mapping[str, Any]) -> str | None:
    """Why it rolled back or stopped, as ECS says it (``rollback.reason``, else ``statusReason``)."""
    reason = (sd.get("rollback") or {}).get("reason") or sd.get("statusReason")
    return str(reason).strip() or None if reason else None


def triggered_alarms(sd: Mapping[str, Any]) -> list[str]:
    """The deployment's alarms that ECS saw in ALARM (``alarms.triggeredAlarmNames``)."""
    return [str(name) for name in (sd.get("alarms") or {}).get("triggeredAlarmNames") or []]


def watched_alarms(sd: Mapping[str, Any]) -> list[str]:
    """The alarms the deployment watched (``alarms.alarmNames``)."""
    return [str(name) for name in (sd.get("alarms") or {}).get("alarmNames") or []]


def failed_hook(sd: Mapping[str, Any]) -> bool:
    """Whether a lifecycle hook of the deployment FAILED or TIMED_OUT (lifecycleHookDetails)."""
    failed = (NativeHookStatus.FAILED, NativeHookStatus.TIMED_OUT)
    return any(hook.get("status") in failed for hook in sd.get("lifecycleHookDetails") or [])


def rolled_back_by(sd: Mapping[str, Any]) -> str | None:
    """What rolled the deployment back or stopped it, in a few words (None: it did neither)."""
    status = status_of(sd)
    if status is None or not (status.is_rollback or status is ServiceDeploymentStatus.STOPPED):
        return None
    triggered = triggered_alarms(sd)
    if triggered:
        return alarm_words(triggered)
    if (sd.get("deploymentCircuitBreaker") or {}).get("status") == TRIGGERED:
        return "circuit breaker"
    reason = reason_of(sd) or ""
    if _STOP_WORDS.search(reason):
        return "stop"
    stage = _STAGE.search(reason)
    if stage:
        return f"{stage.group(1)} hook"
    if failed_hook(sd) and sd.get("lifecycleStage") in NATIVE_LIFECYCLE_STAGES:
        return f"{sd['lifecycleStage']} hook"
    named = [name for name in watched_alarms(sd) if name in reason]
    if named and "alarm" in reason.lower():
        return alarm_words(named)
    if status.is_rollback and sd.get("stoppedAt") is not None:
        return "stop"  # ECS sets stoppedAt when a stop request ended the deployment
    if status is ServiceDeploymentStatus.STOPPED:
        return None  # replaced by a newer deployment: nothing rolled it back
    return reason or None


def strategy_for_native(configuration: Mapping[str, Any]) -> Strategy | None:
    """bluegreen's strategy for a deploymentConfiguration (None when it has no such name: ROLLING,
    a fractional percent)."""
    strategy = configuration.get("strategy")
    try:
        if strategy == NativeStrategy.BLUE_GREEN:
            return parse_strategy("all-at-once")
        if strategy == NativeStrategy.CANARY:
            canary = configuration.get("canaryConfiguration") or {}
            return _custom("canary", canary.get("canaryPercent"), canary.get("canaryBakeTimeInMinutes"))
        if strategy == NativeStrategy.LINEAR:
            linear = configuration.get("linearConfiguration") or {}
            return _custom("linear", linear.get("stepPercent"), linear.get("stepBakeTimeInMinutes"))
    except StrategyError:
        return None
    return None


def _custom(kind: str, percent: Any, minutes: Any) -> Strategy | None:
    if percent is None or minutes is None or float(percent) != int(float(percent)):
        return None
    return parse_strategy(f"{kind}:{int(float(percent))}:{int(minutes)}")


def strategy_name(configuration: Mapping[str, Any]) -> str | None:
    """bluegreen's strategy name, else ECS's own words for the configuration (None: none given)."""
    found = strategy_for_native(configuration)
    if found is not None:
        return found.name
    strategy = configuration.get("strategy")
    if not strategy:
        return None
    if strategy == NativeStrategy.CANARY:
        canary = configuration.get("canaryConfiguration") or {}
        return _words(strategy, canary.get("canaryPercent"), canary.get("canaryBakeTimeInMinutes"))
    if strategy == NativeStrategy.LINEAR:
        linear = configuration.get("linearConfiguration") or {}
        return _words(strategy, linear.get("stepPercent"), linear.get("stepBakeTimeInMinutes"))
    return str(strategy)


def _words(strategy: str, percent: Any, minutes: Any) -> str:
    return f"{strategy} {_num(percent)}% / {_num(minutes)} min"


def _num(value: Any) -> str:
    return "?" if value is None else f"{float(value):g}"


def as_time(value: Any) -> datetime | None:
    """An aware UTC datetime from boto3's datetime, epoch seconds, or an ISO-8601 string."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def ended_at(sd: Mapping[str, Any]) -> datetime | None:
    """When a finished deployment ended (finishedAt, else stoppedAt); None while it runs."""
    status = status_of(sd)
    if status is None or not status.is_terminal:
        return None
    return as_time(sd.get("finishedAt")) or as_time(sd.get("stoppedAt"))


def revision_image(revision: Mapping[str, Any] | None) -> str | None:
    """The image a service revision runs (``containerImages``; several: comma-joined)."""
    images = [str(c["image"]) for c in (revision or {}).get("containerImages") or [] if c.get("image")]
    return ", ".join(images) or None


def record_from_service_deployment(
    sd: Mapping[str, Any],
    service: str,
    environment: str,
    revision: Mapping[str, Any] | None = None,
) -> DeploymentRecord:
    """A DescribeServiceDeployments entry as a record; ``revision``: its target service revision
    (DescribeServiceRevisions), when read, for the task definition and image."""
    status = status_of(sd)
    task_definition = (revision or {}).get("taskDefinition")
    return DeploymentRecord(
        deployment_id=str(sd.get("serviceDeploymentArn") or ""),
        engine=EngineName.ECS.value,
        service=service,
        environment=environment,
        status=status.value if status is not None else str(sd.get("status") or ""),
        outcome=outcome_of(sd),
        kind=DeploymentKind.DEPLOY,
        strategy=strategy_name(sd.get("deploymentConfiguration") or {}),
        created=as_time(sd.get("createdAt")),
        completed=ended_at(sd),
        rolled_back_by=rolled_back_by(sd),
        image=revision_image(revision),
        task_definition=str(task_definition) if task_definition else None,
    )

"""Turns one of ECS's service deployments (DescribeServiceDeployments) into a ``Snapshot`` (pure).

The ECS engine's polls read the same ``Snapshot`` as CodeDeploy's, so the watch loop, the views and
the JSON documents need no engine branch. The mapping (issue 11's seam):

- status: PENDING -> Queued; IN_PROGRESS -> InProgress, Baking at lifecycleStage BAKE_TIME, Ready
  while a PAUSE hook is AWAITING_ACTION (ContinueServiceDeployment, i.e. `bluegreen promote`,
  releases it); STOP_REQUESTED / ROLLBACK_REQUESTED / ROLLBACK_IN_PROGRESS -> InProgress (with the
  rollback shown once it is one); SUCCESSFUL -> Succeeded; STOPPED -> Stopped; ROLLBACK_SUCCESSFUL
  -> Stopped when it was stopped on request, else Failed; ROLLBACK_FAILED -> Failed.
- rollback: ECS rolls back inside the same service deployment, so ``rollback_deployment_id`` is the
  deployment's own ARN once its status is a ROLLBACK_* one (JSON ``rolledBack: true``).
- lifecycle: ((stage, LifecycleStatus), ...) over ``NATIVE_LIFECYCLE_STAGES``: stages before
  ``lifecycleStage`` Succeeded, the current InProgress (Failed when the deployment failed there,
  Skipped when it was stopped there), later ones Pending; all Succeeded once SUCCESSFUL.
- weights: original = the source revisions' ``requestedProductionTrafficWeight`` summed,
  replacement = the target revision's.
- error: ``statusReason`` (+ the triggered alarms), for a deployment that ended without succeeding
  or is rolling back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from orchestrator.vocabulary import (
    BAKE_TIME,
    NATIVE_LIFECYCLE_STAGES,
    DeploymentStatus,
    HookTargetType,
    LifecycleStatus,
    NativeHookStatus,
    ServiceDeploymentStatus,
)
from orchestrator.watching.snapshots import Snapshot

# ServiceDeploymentRollbackMonitorsStatus: the alarms or the circuit breaker stopped the deployment.
TRIGGERED = "TRIGGERED"
# A rollback whose reason says one of these was a failure, not a stop request. AWS documents no
# fixed wording for Rollback.reason ("For example, the circuit breaker initiated the rollback
# operation", API_Rollback), so structured signals (alarms, circuit breaker, hooks) come first.
_FAILURE_WORDS = re.compile(r"fail|alarm|circuit|timed? ?out|unhealthy", re.IGNORECASE)

_STATUS = {
    ServiceDeploymentStatus.PENDING: DeploymentStatus.QUEUED,
    ServiceDeploymentStatus.IN_PROGRESS: DeploymentStatus.IN_PROGRESS,
    ServiceDeploymentStatus.STOP_REQUESTED: DeploymentStatus.IN_PROGRESS,
    ServiceDeploymentStatus.ROLLBACK_REQUESTED: DeploymentStatus.IN_PROGRESS,
    ServiceDeploymentStatus.ROLLBACK_IN_PROGRESS: DeploymentStatus.IN_PROGRESS,
    ServiceDeploymentStatus.SUCCESSFUL: DeploymentStatus.SUCCEEDED,
    ServiceDeploymentStatus.STOPPED: DeploymentStatus.STOPPED,
    ServiceDeploymentStatus.ROLLBACK_FAILED: DeploymentStatus.FAILED,
}


def service_deployment_status(sd: Mapping[str, Any]) -> ServiceDeploymentStatus:
    """ECS's status of a service deployment (PENDING when it names none, or one this model lacks)."""
    try:
        return ServiceDeploymentStatus(str(sd.get("status")))
    except ValueError:
        return ServiceDeploymentStatus.PENDING


def waiting_pause_hook(sd: Mapping[str, Any]) -> dict[str, Any] | None:
    """The PAUSE hook waiting for ContinueServiceDeployment (lifecycleHookDetails), if any."""
    for hook in sd.get("lifecycleHookDetails") or []:
        if (
            hook.get("targetType") == HookTargetType.PAUSE
            and hook.get("status") == NativeHookStatus.AWAITING_ACTION
        ):
            return dict(hook)
    return None


def failure_signalled(sd: Mapping[str, Any]) -> bool:
    """Whether something failed the deployment (as opposed to a stop or rollback on request):
    its alarms or circuit breaker triggered, a hook failed or timed out, or the reason says so."""
    if (sd.get("alarms") or {}).get("status") == TRIGGERED:
        return True
    if (sd.get("deploymentCircuitBreaker") or {}).get("status") == TRIGGERED:
        return True
    failed_hooks = (NativeHookStatus.FAILED, NativeHookStatus.TIMED_OUT)
    if any(hook.get("status") in failed_hooks for hook in sd.get("lifecycleHookDetails") or []):
        return True
    reasons = " ".join(
        str(r) for r in ((sd.get("rollback") or {}).get("reason"), sd.get("statusReason")) if r
    )
    return bool(_FAILURE_WORDS.search(reasons))


def deployment_status(sd: Mapping[str, Any]) -> DeploymentStatus:
    """The engine-neutral status of a service deployment (see the module docstring)."""
    status = service_deployment_status(sd)
    if status is ServiceDeploymentStatus.ROLLBACK_SUCCESSFUL:
        return DeploymentStatus.FAILED if failure_signalled(sd) else DeploymentStatus.STOPPED
    if status is ServiceDeploymentStatus.IN_PROGRESS:
        if waiting_pause_hook(sd) is not None:
            return DeploymentStatus.READY
        if sd.get("lifecycleStage") == BAKE_TIME:
            return DeploymentStatus.BAKING
    return _STATUS[status]


def lifecycle(
    sd: Mapping[str, Any], status: DeploymentStatus, stage_before_rollback: str | None = None
) -> tuple[tuple[str, LifecycleStatus], ...]:
    """Every native stage with its status: before the current Succeeded, the current running (or
    where it failed or stopped), after it Pending. While and after rolling back, ECS's
    lifecycleStage is the rollback's own (it moves the traffic back), so ``stage_before_rollback``
    (the stage a poll saw before the rollback) says where the deployment stopped, when known."""
    if status is DeploymentStatus.SUCCEEDED:
        return tuple((stage, LifecycleStatus.SUCCEEDED) for stage in NATIVE_LIFECYCLE_STAGES)
    stage = sd.get("lifecycleStage")
    if stage_before_rollback and service_deployment_status(sd).is_rollback:
        stage = stage_before_rollback
    if stage not in NATIVE_LIFECYCLE_STAGES:
        return tuple((name, LifecycleStatus.PENDING) for name in NATIVE_LIFECYCLE_STAGES)
    current = LifecycleStatus.IN_PROGRESS
    if status is DeploymentStatus.FAILED:
        current = LifecycleStatus.FAILED
    elif status is DeploymentStatus.STOPPED:
        current = LifecycleStatus.SKIPPED
    at = NATIVE_LIFECYCLE_STAGES.index(stage)
    return tuple(
        (
            name,
            LifecycleStatus.SUCCEEDED if i < at else current if i == at else LifecycleStatus.PENDING,
        )
        for i, name in enumerate(NATIVE_LIFECYCLE_STAGES)
    )


def _weight(revision: Mapping[str, Any]) -> float | None:
    value = revision.get("requestedProductionTrafficWeight")
    return None if value is None else float(value)


def weights(sd: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """(original, replacement) production traffic weights: the sources' sum, the target's."""
    sources = [w for w in (_weight(r) for r in sd.get("sourceServiceRevisions") or []) if w is not None]
    replacement = _weight(sd.get("targetServiceRevision") or {})
    original = sum(sources) if sources else None
    # A first deployment has no source revision: what the target does not take goes nowhere else.
    if original is None and replacement is not None:
        original = 100.0 - replacement
    return original, replacement


def error_text(sd: Mapping[str, Any], status: DeploymentStatus) -> str | None:
    """statusReason and the alarms that triggered, for a deployment that did not (yet) succeed."""
    if status is DeploymentStatus.SUCCEEDED:
        return None
    parts = [str(sd["statusReason"])] if sd.get("statusReason") else []
    triggered = (sd.get("alarms") or {}).get("triggeredAlarmNames") or []
    if triggered:
        parts.append(f"alarms in ALARM: {', '.join(str(name) for name in triggered)}")
    return "; ".join(parts) or None


def snapshot_from_service_deployment(
    sd: Mapping[str, Any], stage_before_rollback: str | None = None
) -> Snapshot:
    """A ``Snapshot`` of one DescribeServiceDeployments ``serviceDeployments[]`` entry
    (``stage_before_rollback``: see ``lifecycle``; the engine remembers it between polls)."""
    status = deployment_status(sd)
    rolled_back = service_deployment_status(sd).is_rollback
    original, replacement = weights(sd)
    return Snapshot(
        status=status,
        lifecycle=lifecycle(sd, status, stage_before_rollback),
        original_weight=original,
        replacement_weight=replacement,
        rollback_deployment_id=str(sd.get("serviceDeploymentArn")) if rolled_back else None,
        error=error_text(sd, status) if status.is_terminal or rolled_back else None,
    )

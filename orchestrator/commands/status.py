"""`bluegreen status DEPLOYMENT_ID|SERVICE`: one look at a deployment (the group's latest for a service)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from orchestrator.commands import lookup
from orchestrator.commands.failure import error_context
from orchestrator.commands.options import WatchFlags
from orchestrator.commands.session import Session
from orchestrator.engines.base import Deployment


def run(session: Session, target: str) -> int:
    key = "deploymentId" if lookup.is_deployment_id(target) else "service"
    with error_context({key: target}):
        return _run(session, target)


def _run(session: Session, target: str) -> int:
    from orchestrator.watching.snapshots import format_weights
    from orchestrator.watching.views import duration

    deployment_id, engine, clients = lookup.target(session, target)
    server = engine.server_clock(1.0)  # the service's clock, from its answers' Date
    info = engine.describe(deployment_id, with_lifecycle=True)
    snapshot = info.snapshot
    subject = lookup.subject_for(session, info, WatchFlags())
    took = _seconds_between(info.create_time, info.complete_time)
    failure = _hook_failure(session, clients, deployment_id, subject, snapshot, info)
    if session.json:
        extra = {"hookFailure": failure.to_json()} if failure is not None else {}
        session.print_json(
            {
                "deploymentId": deployment_id,
                "service": subject.service,
                "environment": subject.environment,
                "application": info.application,
                "deploymentGroup": info.deployment_group,
                "strategy": subject.strategy,
                "deploymentConfigName": subject.deployment_config_name,
                "status": snapshot.status.value,
                "rolledBack": snapshot.rolled_back,
                "rollbackDeploymentId": snapshot.rollback_deployment_id,
                "rollbackOf": info.rollback_of,
                "error": snapshot.error,
                "description": info.description,
                "createTime": info.create_time,
                "completeTime": info.complete_time,
                "durationSeconds": took,
                "trafficWeights": {
                    "original": snapshot.original_weight,
                    "replacement": snapshot.replacement_weight,
                },
                "lifecycleEvents": {name: status.value for name, status in snapshot.lifecycle},
                "apiCalls": clients.counter.total,
                **extra,
            }
        )
        return 0
    where = (
        f"{subject.service} ({subject.environment})"
        if subject.service
        else (f"{info.application}/{info.deployment_group}")
    )
    colour = "green" if snapshot.status.succeeded else ("red" if snapshot.status.is_terminal else "yellow")
    out = session.print
    out(f"{deployment_id}  {where}  {session.style(snapshot.status.value, colour)}")
    out(f"  {'strategy':<22}{subject.strategy or '?'} ({subject.deployment_config_name})")
    out(f"  {'created':<22}{_when(info.create_time)}")
    note = clock_note(server.server_now, time.time())
    if note:
        out(f"  {'clock':<22}{note}")
    if took is not None:
        out(f"  {'took':<22}{duration(took)}")
    if info.description:
        out(f"  {'description':<22}{info.description}")
    if snapshot.replacement_weight is not None:
        out(f"  {'traffic':<22}{format_weights(snapshot.original_weight, snapshot.replacement_weight)}")
    for name, status in snapshot.lifecycle:
        out(f"  {name:<22}{status.value}")
    if snapshot.error:
        out(f"  {'error':<22}{snapshot.error}")
    for text in failure.lines() if failure is not None else ():
        out(f"  {'hook':<22}{text}")
    if snapshot.rollback_deployment_id:
        out(f"  {'rolled back by':<22}{snapshot.rollback_deployment_id}")
    if info.rollback_of:
        out(f"  {'rollback of':<22}{info.rollback_of}")
    if snapshot.status.is_active:
        out(f"  {'next':<22}`bluegreen watch {deployment_id}`")
    return 0


def _hook_failure(
    session: Session, clients: Any, deployment_id: str, subject: Any, snapshot: Any, info: Deployment
) -> Any:
    """The failed hook's own reason when the deployment failed or stopped (None otherwise)."""
    if not snapshot.status.is_terminal or snapshot.status.succeeded:
        return None
    from orchestrator.commands.hook_reason import hook_failure

    created = info.create_time
    since = float(created.timestamp()) if isinstance(created, datetime) else time.time()
    lifecycle = [(name, status.value) for name, status in snapshot.lifecycle]
    return hook_failure(
        session, clients, deployment_id, subject.service, subject.environment, lifecycle, since
    )


def clock_note(server_now: float | None, local_now: float) -> str | None:
    """Which clock the times shown are on, when the service's (its answers' ``Date``) is more than a
    minute off this machine's; None otherwise. Against the sandbox that is its virtual clock, which
    starts at the real time and runs ``time_scale`` times faster, so its dates drift ahead of the
    calendar (they stay virtual, as the durations between them are deployment time); against AWS,
    this machine's clock is the one that is off."""
    if server_now is None:
        return None
    ahead = server_now - local_now
    if abs(ahead) <= 60:
        return None
    where = "ahead of" if ahead > 0 else "behind"
    return f"the service's clock is {_span(ahead)} {where} this machine's: times shown are the service's"


def _span(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _when(value: Any) -> str:
    """'2026-11-21 23:36:46 UTC' for a datetime; the value as is otherwise."""
    if hasattr(value, "astimezone"):
        from datetime import UTC

        return str(value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
    return str(value)


def _seconds_between(start: Any, end: Any) -> float | None:
    if start is None or end is None or not hasattr(start, "timestamp"):
        return None
    return round(end.timestamp() - start.timestamp(), 1)

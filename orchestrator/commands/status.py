"""`bluegreen status DEPLOYMENT_ID|SERVICE`: one look at a deployment (the group's latest for a service)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from orchestrator import documents
from orchestrator.commands import lookup
from orchestrator.commands.failure import error_context
from orchestrator.commands.options import WatchFlags
from orchestrator.commands.result import Result, lines
from orchestrator.commands.session import Session
from orchestrator.engines.base import Deployment
from orchestrator.errors import ErrorContext


def run(session: Session, target: str) -> Result:
    if lookup.is_deployment_id(target):
        known = ErrorContext(deployment_id=target)
    else:
        known = ErrorContext(service=target)
    with error_context(known):
        return _run(session, target)


def _run(session: Session, target: str) -> Result:
    deployment_id, engine, clients = lookup.target(session, target)
    server = engine.server_clock(1.0)  # the service's clock, from its answers' Date
    info = engine.describe(deployment_id, with_lifecycle=True)
    snapshot = info.snapshot
    subject = lookup.subject_for(session, info, WatchFlags())
    took = _seconds_between(info.create_time, info.complete_time)
    failure = _hook_failure(session, clients, deployment_id, subject, snapshot, info)
    document = documents.StatusDocument(
        deployment_id=deployment_id,
        service=subject.service,
        environment=subject.environment,
        application=info.application,
        deployment_group=info.deployment_group,
        strategy=subject.strategy,
        deployment_config_name=subject.deployment_config_name,
        status=snapshot.status.value,
        rolled_back=snapshot.rolled_back,
        rollback_deployment_id=snapshot.rollback_deployment_id,
        rollback_of=info.rollback_of,
        error=snapshot.error,
        description=info.description,
        create_time=_text(info.create_time),
        complete_time=_text(info.complete_time),
        duration_seconds=took,
        traffic_weights=documents.TrafficWeights(
            original=snapshot.original_weight, replacement=snapshot.replacement_weight
        ),
        lifecycle_events={name: status.value for name, status in snapshot.lifecycle},
        api_calls=clients.counter.total,
        engine=engine.name,  # type: ignore[arg-type]  # an Engine.name
        hook_failure=documents.hook_failure(failure) if failure is not None else None,
    )
    note = clock_note(server.server_now, time.time())
    return Result(document, _text_of(session, deployment_id, info, subject, snapshot, took, note, failure))


def _text_of(
    session: Session,
    deployment_id: str,
    info: Deployment,
    subject: Any,
    snapshot: Any,
    took: float | None,
    note: str | None,
    failure: Any,
) -> str:
    """The status for a person: one line per fact, the lifecycle events, what to run next."""
    from orchestrator.watching.snapshots import format_weights
    from orchestrator.watching.views import duration

    where = (
        f"{subject.service} ({subject.environment})"
        if subject.service
        else (f"{info.application}/{info.deployment_group}")
    )
    # The label column fits the longest lifecycle step (ECS's stage names are up to 29 characters).
    w = max([22, *(len(name) + 1 for name, _ in snapshot.lifecycle)])
    colour = "green" if snapshot.status.succeeded else ("red" if snapshot.status.is_terminal else "yellow")
    out = [f"{deployment_id}  {where}  {session.style(snapshot.status.value, colour)}"]
    out.append(f"  {'strategy':<{w}}{subject.strategy or '?'} ({subject.deployment_config_name})")
    out.append(f"  {'created':<{w}}{_when(info.create_time)}")
    if note:
        out.append(f"  {'clock':<{w}}{note}")
    if took is not None:
        out.append(f"  {'took':<{w}}{duration(took)}")
    if info.description:
        out.append(f"  {'description':<{w}}{info.description}")
    if snapshot.replacement_weight is not None:
        weights = format_weights(snapshot.original_weight, snapshot.replacement_weight)
        out.append(f"  {'traffic':<{w}}{weights}")
    out += [f"  {name:<{w}}{status.value}" for name, status in snapshot.lifecycle]
    if snapshot.error:
        out.append(f"  {'error':<{w}}{snapshot.error}")
    out += [f"  {'hook':<{w}}{text}" for text in (failure.lines() if failure is not None else ())]
    if snapshot.rollback_deployment_id == deployment_id:  # Amazon ECS rolls back inside the deployment
        out.append(f"  {'rolled back':<{w}}within the deployment")
    elif snapshot.rollback_deployment_id:
        out.append(f"  {'rolled back by':<{w}}{snapshot.rollback_deployment_id}")
    triggered_by = info.rollback_of
    if triggered_by:
        out.append(f"  {'rollback of':<{w}}{triggered_by}")
    if snapshot.status.is_active:
        out.append(f"  {'next':<{w}}`bluegreen watch {deployment_id}`")
    return lines(*out)


def _text(value: Any) -> str | None:
    """A value as the JSON document prints it (a datetime as Python writes it), None kept."""
    return None if value is None else str(value)


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

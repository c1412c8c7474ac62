"""`bluegreen stop DEPLOYMENT_ID [--no-rollback]`: the engine's stop, with rollback by default."""

from __future__ import annotations

from orchestrator import documents
from orchestrator.commands import lookup
from orchestrator.commands.failure import error_context
from orchestrator.commands.result import Result, lines
from orchestrator.commands.session import Session
from orchestrator.errors import ErrorContext


def run(session: Session, deployment_id: str, rollback: bool) -> Result:
    with error_context(ErrorContext(deployment_id=deployment_id)):
        return _run(session, deployment_id, rollback)


def _run(session: Session, deployment_id: str, rollback: bool) -> Result:
    from orchestrator.engines.base import RollbackWait

    lookup.check_deployment_id(deployment_id)
    engine, clients = lookup.deployment_engine(session, deployment_id)
    stopped = engine.stop(deployment_id, rollback=rollback, wait=RollbackWait(timeout_seconds=30.0))
    rollback_id = stopped.rollback_deployment_id
    document = documents.StopDocument(
        deployment_id=deployment_id,
        stop_status=stopped.status,
        status_message=stopped.message,
        rollback=rollback,
        rollback_deployment_id=rollback_id,
        api_calls=clients.counter.total,
    )
    message = stopped.message or ""
    text = lines(f"stop requested for {deployment_id}: {stopped.status} {message}".rstrip())
    if rollback_id == deployment_id:  # Amazon ECS rolls back inside the same service deployment
        text += lines(f"rolling back within the deployment; follow it with `bluegreen watch {deployment_id}`")
    elif rollback_id:
        follow = f"follow it with `bluegreen watch {rollback_id}`"
        text += lines(f"rollback deployment {rollback_id} started; {follow}")
    elif rollback:
        text += lines(f"rollback requested; check it with `bluegreen status {deployment_id}`")
    return Result(document, text)

"""`bluegreen stop DEPLOYMENT_ID [--no-rollback]`: StopDeployment, with rollback by default."""

from __future__ import annotations

from orchestrator.commands import lookup
from orchestrator.commands.failure import error_context
from orchestrator.commands.session import Session


def run(session: Session, deployment_id: str, rollback: bool) -> int:
    with error_context({"deploymentId": deployment_id}):
        return _run(session, deployment_id, rollback)


def _run(session: Session, deployment_id: str, rollback: bool) -> int:
    from orchestrator.engines.base import RollbackWait

    lookup.check_deployment_id(deployment_id)
    engine, clients = lookup.deployment_engine(session)
    stopped = engine.stop(deployment_id, rollback=rollback, wait=RollbackWait(timeout_seconds=30.0))
    rollback_id = stopped.rollback_deployment_id
    if session.json:
        session.print_json(
            {
                "deploymentId": deployment_id,
                "stopStatus": stopped.status,
                "statusMessage": stopped.message,
                "rollback": rollback,
                "rollbackDeploymentId": rollback_id,
                "apiCalls": clients.counter.total,
            }
        )
        return 0
    message = stopped.message or ""
    session.print(f"stop requested for {deployment_id}: {stopped.status} {message}".rstrip())
    if rollback_id:
        session.print(
            f"rollback deployment {rollback_id} started; follow it with `bluegreen watch {rollback_id}`"
        )
    elif rollback:
        session.print(f"rollback requested; check it with `bluegreen status {deployment_id}`")
    return 0

"""`bluegreen stop DEPLOYMENT_ID [--no-rollback]`: StopDeployment, with rollback by default."""

from __future__ import annotations

from orchestrator import documents
from orchestrator.aws import codedeploy as codedeploy_api
from orchestrator.commands import lookup
from orchestrator.commands.failure import error_context
from orchestrator.commands.result import Result, lines
from orchestrator.commands.session import Session
from orchestrator.errors import ErrorContext


def run(session: Session, deployment_id: str, rollback: bool) -> Result:
    with error_context(ErrorContext(deployment_id=deployment_id)):
        return _run(session, deployment_id, rollback)


def _run(session: Session, deployment_id: str, rollback: bool) -> Result:
    from orchestrator.watching.loop import wait_for_rollback_start

    lookup.check_deployment_id(deployment_id)
    clients = session.clients(session.default_region())
    codedeploy = clients.client("codedeploy")
    response = codedeploy_api.stop_deployment(codedeploy, deployment_id, rollback=rollback)
    rollback_id = None
    if rollback:
        rollback_id = wait_for_rollback_start(
            codedeploy, deployment_id, timeout_seconds=30.0
        ).rollback_deployment_id
    document = documents.StopDocument(
        deployment_id=deployment_id,
        stop_status=response.get("status"),
        status_message=response.get("statusMessage"),
        rollback=rollback,
        rollback_deployment_id=rollback_id,
        api_calls=clients.counter.total,
    )
    message = response.get("statusMessage") or ""
    text = lines(f"stop requested for {deployment_id}: {response.get('status')} {message}".rstrip())
    if rollback_id:
        follow = f"follow it with `bluegreen watch {rollback_id}`"
        text += lines(f"rollback deployment {rollback_id} started; {follow}")
    elif rollback:
        text += lines(f"rollback requested; check it with `bluegreen status {deployment_id}`")
    return Result(document, text)

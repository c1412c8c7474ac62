"""`bluegreen stop DEPLOYMENT_ID [--no-rollback]`: StopDeployment, with rollback by default."""

from __future__ import annotations

from orchestrator.aws import codedeploy as codedeploy_api
from orchestrator.commands import lookup
from orchestrator.commands.failure import error_context
from orchestrator.commands.session import Session


def run(session: Session, deployment_id: str, rollback: bool) -> int:
    with error_context({"deploymentId": deployment_id}):
        return _run(session, deployment_id, rollback)


def _run(session: Session, deployment_id: str, rollback: bool) -> int:
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
    if session.json:
        session.print_json(
            {
                "deploymentId": deployment_id,
                "stopStatus": response.get("status"),
                "statusMessage": response.get("statusMessage"),
                "rollback": rollback,
                "rollbackDeploymentId": rollback_id,
                "apiCalls": clients.counter.total,
            }
        )
        return 0
    message = response.get("statusMessage") or ""
    session.print(f"stop requested for {deployment_id}: {response.get('status')} {message}".rstrip())
    if rollback_id:
        session.print(
            f"rollback deployment {rollback_id} started; follow it with `bluegreen watch {rollback_id}`"
        )
    elif rollback:
        session.print(f"rollback requested; check it with `bluegreen status {deployment_id}`")
    return 0

"""`bluegreen promote DEPLOYMENT_ID`: ContinueDeployment after the replacement waited at Ready."""

from __future__ import annotations

from orchestrator.commands import lookup
from orchestrator.commands.failure import error_context
from orchestrator.commands.session import Session


def run(session: Session, deployment_id: str) -> int:
    lookup.check_deployment_id(deployment_id)
    engine, clients = lookup.deployment_engine(session)
    with error_context({"deploymentId": deployment_id}):
        engine.promote(deployment_id)
    if session.json:
        session.print_json(
            {"deploymentId": deployment_id, "promoted": True, "apiCalls": clients.counter.total}
        )
    else:
        session.print(
            f"promoted {deployment_id}: CodeDeploy now shifts production traffic; "
            f"follow it with `bluegreen watch {deployment_id}`"
        )
    return 0

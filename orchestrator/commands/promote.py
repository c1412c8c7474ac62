"""`bluegreen promote DEPLOYMENT_ID`: release a deployment waiting at Ready (CodeDeploy:
ContinueDeployment; Amazon ECS: ContinueServiceDeployment on the waiting PAUSE hook)."""

from __future__ import annotations

from orchestrator import documents
from orchestrator.commands import lookup
from orchestrator.commands.failure import error_context
from orchestrator.commands.result import Result, lines
from orchestrator.commands.session import Session
from orchestrator.errors import ErrorContext
from orchestrator.watching.lifecycles import lifecycle_for


def run(session: Session, deployment_id: str) -> Result:
    lookup.check_deployment_id(deployment_id)
    engine, clients = lookup.deployment_engine(session, deployment_id)
    with error_context(ErrorContext(deployment_id=deployment_id)):
        engine.promote(deployment_id)
    document = documents.PromoteDocument(
        deployment_id=deployment_id, promoted=True, api_calls=clients.counter.total
    )
    text = lines(
        f"promoted {deployment_id}: {lifecycle_for(engine.name).runner} now shifts production traffic; "
        f"follow it with `bluegreen watch {deployment_id}`"
    )
    return Result(document, text)

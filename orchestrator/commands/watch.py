"""`bluegreen watch DEPLOYMENT_ID`: attach to a running deployment until it ends (or --until)."""

from __future__ import annotations

from orchestrator.commands import lookup
from orchestrator.commands.deploy import validate_watch_flags
from orchestrator.commands.failure import error_context
from orchestrator.commands.follow import follow, lifecycle_by_id, reattach_hint
from orchestrator.commands.options import WatchFlags
from orchestrator.commands.result import Result
from orchestrator.commands.session import Session
from orchestrator.errors import ErrorContext, InterruptedByUser


def run(session: Session, deployment_id: str, flags: WatchFlags) -> Result:
    with error_context(ErrorContext(deployment_id=deployment_id)):
        try:
            return _run(session, deployment_id, flags)
        except KeyboardInterrupt:  # before the watch loop took over (which says the same itself)
            raise InterruptedByUser(
                f"interrupted; deployment {deployment_id} keeps running in "
                f"{lifecycle_by_id(deployment_id).runner}: "
                f"{reattach_hint(deployment_id)}"
            ) from None


def _run(session: Session, deployment_id: str, flags: WatchFlags) -> Result:
    validate_watch_flags(flags)
    lookup.check_deployment_id(deployment_id)
    engine, clients = lookup.deployment_engine(session, deployment_id)
    deployment = engine.describe(deployment_id)
    subject = lookup.subject_for(session, deployment, flags)
    announce = (
        f"watching {deployment_id} ({subject.service or deployment.deployment_group}, "
        f"{subject.strategy or subject.deployment_config_name})"
    )
    return follow(session, engine, clients, subject, flags, announce=announce)

"""What `deploy` and `rollback` record about a deployment they started: who ran it from which
commit (``insight/provenance.py``), its strategy and kind, in the environment's ledger.

The CodeDeploy engine also carries the provenance in the deployment's description (the plan's
``description_note``); Amazon ECS's native deployments have no description, so on that engine the
ledger is the only place it lives. A ledger that cannot be written is a warning, never a failed
deploy: the deployment runs anyway, and the ledger Lambda still writes its row from the engine's
state-change events (without the provenance).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from orchestrator.commands.session import Session
from orchestrator.insight.outcome import Outcome
from orchestrator.insight.provenance import GitRunner, from_environment, run_git
from orchestrator.insight.records import DeploymentKind, DeploymentRecord, Provenance


def provenance_now(environ: Mapping[str, str] | None = None, git: GitRunner = run_git) -> Provenance:
    """Who is deploying which commit, read once per run."""
    return from_environment(os.environ if environ is None else environ, git)


def started_record(plan: Any, created: Any, inputs: Any, now: datetime) -> DeploymentRecord:
    """The ledger's view of a deployment just started (the Lambda fills in the rest)."""
    step = getattr(plan, "task_definition", None)  # both engines' plans carry their TaskDefinitionStep
    return DeploymentRecord(
        deployment_id=created.deployment_id,
        engine=plan.engine,
        service=plan.service,
        environment=plan.environment,
        status="Created",
        outcome=Outcome.IN_PROGRESS,
        kind=DeploymentKind.ROLLBACK if inputs.reason == "rollback" else DeploymentKind.DEPLOY,
        strategy=plan.strategy.name,
        created=now,
        rollback_of=inputs.rollback_of,
        image=getattr(step, "image", None) or inputs.image,
        task_definition=created.task_definition_arn,
        provenance=inputs.provenance or Provenance(),
    )


LedgerFactory = Callable[[Any, str], Any]


def _dynamo_ledger(clients: Any, table: str) -> Any:
    from orchestrator.aws.ledger import DynamoLedger

    return DynamoLedger(clients.client("dynamodb"), table)


def record_start(
    session: Session,
    clients: Any,
    service: Any,
    record: DeploymentRecord,
    ledger_for: LedgerFactory | None = None,
) -> bool:
    """Write the CLI's part of the ledger row when the service names a ledger table; a failure is
    one warning line on stderr (the deployment runs on). True when written."""
    return _written(
        session,
        (clients, service.settings.ledger_table, ledger_for),
        lambda ledger: ledger.record_start(record),
        f"{record.deployment_id} runs, but who started it was not recorded",
    )


def record_stop(
    session: Session,
    clients: Any,
    table: str | None,
    deployment_id: str,
    stopped_by: str,
    ledger_for: LedgerFactory | None = None,
) -> bool:
    """Write which of the watch's signs stopped the deployment (``records.stopped_by_watch``) to
    the ledger row when there is a ledger table: neither engine's stop carries a reason, and `why`
    would otherwise call it a user's stop. A failure is one warning line (the stop stands). True
    when written."""
    return _written(
        session,
        (clients, table, ledger_for),
        lambda ledger: ledger.record_stop(deployment_id, stopped_by),
        f"{deployment_id} was stopped ({stopped_by}), but that was not recorded",
    )


def _written(
    session: Session,
    where: tuple[Any, str | None, LedgerFactory | None],
    write: Callable[[Any], None],
    unrecorded: str,
) -> bool:
    """``write`` to the ledger at ``where`` (clients, table, factory) when there is a table; whatever
    goes wrong (AWS, a missing table, a bug) is one line, ``warning: <unrecorded> in ledger table T:
    <why>``. True when written."""
    clients, table, ledger_for = where
    if not table:
        return False
    try:
        write((ledger_for or _dynamo_ledger)(clients, table))
    except Exception as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        session.warn(f"warning: {unrecorded} in ledger table {table}: {reason}")
        return False
    return True


def now_utc() -> datetime:
    return datetime.now(UTC)

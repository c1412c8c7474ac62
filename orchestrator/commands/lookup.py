"""Finding deployments: by id or as a service's latest, and what bluegreen knows about them."""

from __future__ import annotations

import dataclasses
from typing import Any

from orchestrator.commands.follow import Subject, watched_alarms
from orchestrator.commands.options import WatchFlags
from orchestrator.commands.session import Session
from orchestrator.engines import engine_for, engine_name_of
from orchestrator.engines.base import Deployment, Engine
from orchestrator.errors import BadInputError, BluegreenError


def is_deployment_id(text: str) -> bool:
    """A deployment id of either engine: CodeDeploy's d-XXXXXXXXX or an ECS service deployment ARN."""
    return engine_name_of(text) is not None


def check_deployment_id(text: str) -> str:
    """The id, or BadInputError saying what a deployment id looks like."""
    if not is_deployment_id(text):
        raise BadInputError(
            f"{text!r} is not a CodeDeploy deployment id (d- and 9 letters or digits) nor an ECS service "
            "deployment ARN (arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID)"
        )
    return text


def deployment_engine(session: Session, deployment_id: str) -> tuple[Engine, Any]:
    """(engine, AwsClients) for a command given a deployment id (no service named): the engine
    whose deployment it is."""
    clients = session.clients(session.default_region())
    return engine_for(deployment_id, clients), clients


def target(session: Session, text: str) -> tuple[str, Engine, Any]:
    """(deployment id, engine, AwsClients) for DEPLOYMENT_ID or SERVICE (its latest deployment)."""
    if is_deployment_id(text):
        return (text, *deployment_engine(session, text))
    service = session.resolve(text)
    clients = session.clients(service.region)
    engine = engine_for(service, clients)
    return engine.latest(service), engine, clients


def subject_for(session: Session, deployment: Deployment, flags: WatchFlags) -> Subject:
    """What bluegreen knows of a deployment made by anyone: service, strategy, phases, timeout."""
    from orchestrator.watching.timing import default_timeout, expected_phases, hook_budgets

    service = _service_of(session, deployment)
    strategy = deployment.strategy
    budgets = hook_budgets(service) if service is not None else {}
    timing = dataclasses.replace(deployment.timing, hook_budget_seconds=budgets)
    phases = expected_phases(strategy, timing) if strategy is not None else []
    default = default_timeout(strategy, timing) if strategy is not None else 3600.0
    timeout = flags.timeout_minutes * 60.0 if flags.timeout_minutes is not None else default
    return Subject(
        deployment_id=deployment.deployment_id,
        service=service.name if service is not None else None,
        environment=service.environment if service is not None else None,
        strategy=strategy.name if strategy is not None else None,
        deployment_config_name=deployment.config_name,
        phases=phases,
        timeout_seconds=timeout,
        engine=deployment.engine,
        # A rollback deployment runs while the alarm that caused it still fires: never stop it.
        alarm_names=watched_alarms(service) if deployment.rollback_of is None else (),
        probe_service=service if deployment.rollback_of is None else None,
        ledger_table=service.settings.ledger_table if service is not None else None,
    )


def _service_of(session: Session, deployment: Deployment) -> Any:
    try:
        catalog = session.catalog
    except BluegreenError:
        return None  # watching needs no catalog; the report just lacks the service name
    return deployment.service_in(catalog)

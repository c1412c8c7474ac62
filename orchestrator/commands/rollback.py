"""`bluegreen rollback SERVICE`: redeploy the service's last successful revision before the live one.

The live revision is the newest Succeeded deployment's (a CodeDeploy auto rollback counts: it
succeeds with the original revision). Rolling back deploys the newest Succeeded revision whose
AppSpec differs from it, through the same plan/apply/watch path as deploy.

Ping-pong: when the live deployment is itself a bluegreen rollback, "the revision before the live
one" is the very revision that rollback moved away from, so a second `rollback` would undo the
first. That is refused (exit 2) with the choices spelled out; `--to DEPLOYMENT_ID` picks the
Succeeded deployment whose revision to redeploy, explicitly (including that one).
"""

from __future__ import annotations

from typing import Any

from orchestrator import documents
from orchestrator.commands import lookup, recording
from orchestrator.commands.deploy import validate_watch_flags
from orchestrator.commands.failure import error_context
from orchestrator.commands.follow import Subject, follow_created
from orchestrator.commands.options import RollbackOptions
from orchestrator.commands.result import Result
from orchestrator.commands.session import Session
from orchestrator.errors import BadInputError, ErrorContext
from orchestrator.vocabulary import DeploymentStatus

# What bluegreen writes into a rollback's description (deploy.py's summary "bluegreen <reason> ...").
ROLLBACK_MARK = "bluegreen rollback "


def previous_revision(
    infos: list[dict[str, Any]], to: str | None = None, service: str = "SERVICE"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(live deployment, deployment to go back to) among Succeeded deployments (pure).

    Revisions are compared by the task definition they run, not by the AppSpec's bytes: the
    deployment CodeDeploy creates for an automatic rollback carries the original task definition
    in an AppSpec of its own making, so its sha256 differs from the revision it restored.
    ``to``: the deployment whose revision to go back to (explicit: no ping-pong check).
    """
    ordered = sorted(infos, key=lambda info: info.get("createTime") or 0, reverse=True)
    if not ordered:
        raise BadInputError("the deployment group has no successful deployment to roll back to")
    live = ordered[0]
    if to is not None:
        return live, _chosen(ordered, to)
    older = _distinct_older(ordered)
    if not older:
        raise BadInputError(
            f"no successful revision older than the live one ({live.get('deploymentId')}); "
            "nothing to roll back to"
        )
    target = older[0]
    if _is_ping_pong(ordered, target):
        raise BadInputError(_ping_pong_message(live, target, older[1:], service))
    return live, target


def _distinct_older(ordered: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest Succeeded deployment of each earlier revision, newest first, the live one's excluded."""
    seen = {_revision_key(ordered[0])}
    distinct = []
    for info in ordered[1:]:
        key = _revision_key(info)
        if key not in seen:
            seen.add(key)
            distinct.append(info)
    return distinct


def _is_ping_pong(ordered: list[dict[str, Any]], target: dict[str, Any]) -> bool:
    """The live deployment is a bluegreen rollback and ``target`` runs what it rolled back from
    (the revision live just before it: the newest Succeeded deployment older than it)."""
    live = ordered[0]
    if ROLLBACK_MARK not in str(live.get("description") or "") or len(ordered) < 2:
        return False
    return _revision_key(target) == _revision_key(ordered[1])


def _ping_pong_message(
    live: dict[str, Any], target: dict[str, Any], further: list[dict[str, Any]], service: str
) -> str:
    choices = [f"redeploy it anyway with `bluegreen rollback {service} --to {target.get('deploymentId')}`"]
    if further:
        choices.insert(
            0, f"go further back with `bluegreen rollback {service} --to {further[0].get('deploymentId')}`"
        )
    return (
        f"the live deployment {live.get('deploymentId')} is a bluegreen rollback away from the revision of "
        f"{target.get('deploymentId')} ({_revision_key(target)}); rolling back again would redeploy it "
        f"(ping-pong): {'; or '.join(choices)}"
    )


def _chosen(ordered: list[dict[str, Any]], to: str) -> dict[str, Any]:
    """The Succeeded deployment ``--to`` names, unless it runs what is live already."""
    for info in ordered:
        if info.get("deploymentId") == to:
            if _revision_key(info) == _revision_key(ordered[0]):
                raise BadInputError(
                    f"--to {to}: its revision ({_revision_key(info)}) is the live one "
                    f"({ordered[0].get('deploymentId')}); nothing to roll back"
                )
            return info
    known = ", ".join(str(info.get("deploymentId")) for info in ordered[:5])
    raise BadInputError(
        f"--to {to}: not a successful deployment of this deployment group; the newest are: {known}"
    )


def _revision_key(info: dict[str, Any]) -> str:
    """What a revision deploys: its ECS task definition, else its AppSpec's sha256 or content."""
    if info.get("taskDefinitionArn"):  # an engine that names it (ECS: the target revision's)
        return str(info["taskDefinitionArn"])
    revision = info.get("revision") or {}
    content = revision.get("appSpecContent") or {}
    try:
        return task_definition_of(str(content.get("content") or ""))
    except BadInputError:
        return str(content.get("sha256") or content.get("content") or "")


def task_definition_of(appspec_content: str) -> str:
    """The TaskDefinition ARN in an ECS AppSpec (YAML or JSON)."""
    import yaml

    try:
        document = yaml.safe_load(appspec_content)
        return str(document["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"])
    except (yaml.YAMLError, KeyError, IndexError, TypeError):
        raise BadInputError(
            "the earlier revision's AppSpec has no ECS TaskDefinition; cannot roll back"
        ) from None


def run(session: Session, options: RollbackOptions) -> Result:
    """Find the revision to go back to, deploy it as deploy does, and follow it."""
    from orchestrator.strategies import parse_strategy

    known = ErrorContext(service=options.service, environment=session.options.env)
    with error_context(known):
        validate_watch_flags(options.watch)
        if options.to is not None:
            lookup.check_deployment_id(options.to)
        service = session.resolve(options.service)
    known = known.learned(environment=service.environment)
    with error_context(known):
        strategy = parse_strategy(service.settings.strategy if options.strategy is None else options.strategy)
    known = known.learned(strategy=strategy.name)
    with error_context(known):
        return _rollback(session, options, service, strategy, known)


def _rollback(
    session: Session, options: RollbackOptions, service: Any, strategy: Any, known: ErrorContext
) -> Result:
    from orchestrator.engines import engine_for
    from orchestrator.engines.base import DeployInputs

    clients = session.clients(service.region)
    engine = engine_for(service, clients)
    infos = engine.succeeded_deployments(service)
    live, previous = previous_revision(infos, options.to, service.name)
    content = (previous.get("revision") or {}).get("appSpecContent", {}).get("content") or None
    task_definition = previous.get("taskDefinitionArn") or None
    if not content and not task_definition:
        raise BadInputError(
            f"the revision of {previous['deploymentId']} cannot be read back "
            "(GetApplicationRevision does not have its AppSpec); pick another with --to DEPLOYMENT_ID"
        )
    inputs = DeployInputs(
        service=service,
        strategy=strategy,
        task_definition=task_definition or task_definition_of(str(content)),
        force=options.force,
        reason="rollback",
        appspec_content=content,
        provenance=recording.provenance_now(),
        rollback_of=str(live["deploymentId"]),
    )
    plan = engine.plan(inputs)
    session.print(
        f"rolling back {service.name} ({service.environment}) from {live['deploymentId']} to the revision of "
        f"{previous['deploymentId']} with {strategy.name}"
    )
    session.print(f"  {'live task definition':<22}{_revision_key(live)}")
    session.print(f"  {'task definition':<22}{inputs.task_definition} (from {previous['deploymentId']})")
    created = engine.start(plan, on_step=lambda label, detail: session.print(f"  {label:<22}{detail}"))
    session.print(f"  {'deployment':<22}{created.deployment_id} created")
    recording.record_start(
        session, clients, service, recording.started_record(plan, created, inputs, recording.now_utc())
    )
    timeout = options.watch.timeout_minutes * 60.0 if options.watch.timeout_minutes else plan.timeout_seconds
    subject = Subject(
        deployment_id=created.deployment_id,
        service=service.name,
        environment=service.environment,
        strategy=strategy.name,
        deployment_config_name=plan.config_name,
        phases=plan.phases,
        timeout_seconds=timeout,
        continues_at_ready=True,
        engine=engine.name,
        facts=documents.RollbackFacts(
            task_definition_arn=created.task_definition_arn,
            rollback_to=previous["deploymentId"],
            rollback_from=live["deploymentId"],
        ),
    )
    with error_context(
        known.learned(deployment_id=created.deployment_id, status=DeploymentStatus.CREATED.value)
    ):
        return follow_created(session, engine, clients, subject, options.watch)

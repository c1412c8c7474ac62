"""`bluegreen rollback SERVICE`: redeploy the group's last successful revision before the live one.

The live revision is the newest Succeeded deployment's (a CodeDeploy auto rollback counts: it
succeeds with the original revision). Rolling back deploys the newest Succeeded revision whose
AppSpec differs from it, through the same plan/apply/watch path as deploy.
"""

from __future__ import annotations

from typing import Any

from orchestrator import codedeploy_api
from orchestrator.commands.deploy import validate_watch_flags
from orchestrator.commands.failure import error_context
from orchestrator.commands.follow import Subject, follow_created
from orchestrator.commands.options import RollbackOptions
from orchestrator.commands.session import Session
from orchestrator.errors import BadInputError


def previous_revision(infos: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(live deployment, deployment to go back to) among Succeeded deployments (pure).

    Revisions are compared by the task definition they run, not by the AppSpec's bytes: the
    deployment CodeDeploy creates for an automatic rollback carries the original task definition
    in an AppSpec of its own making, so its sha256 differs from the revision it restored.
    """
    ordered = sorted(infos, key=lambda info: info.get("createTime") or 0, reverse=True)
    if not ordered:
        raise BadInputError("the deployment group has no successful deployment to roll back to")
    live = ordered[0]
    live_revision = _revision_key(live)
    for info in ordered[1:]:
        if _revision_key(info) != live_revision:
            return live, info
    raise BadInputError(
        f"no successful revision older than the live one ({live.get('deploymentId')}); "
        "nothing to roll back to"
    )


def _revision_key(info: dict[str, Any]) -> str:
    """What a revision deploys: its ECS task definition, else its AppSpec's sha256 or content."""
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


def run(session: Session, options: RollbackOptions) -> int:
    known: dict[str, Any] = {"service": options.service, "environment": session.options.env}
    with error_context(known):
        return _run(session, options, known)


def _run(session: Session, options: RollbackOptions, known: dict[str, Any]) -> int:
    from orchestrator.deploy import AwsReads, DeployInputs, apply_plan, build_plan
    from orchestrator.strategies import parse_strategy

    validate_watch_flags(options.watch)
    service = session.resolve(options.service)
    known["environment"] = service.environment
    strategy = parse_strategy(service.settings.strategy if options.strategy is None else options.strategy)
    known["strategy"] = strategy.name
    clients = session.clients(service.region)
    codedeploy = clients.client("codedeploy")
    settings = service.settings
    ids = codedeploy_api.list_deployments(
        codedeploy, settings.application, settings.deployment_group, statuses=["Succeeded"]
    )
    live, previous = previous_revision(codedeploy_api.batch_get_deployments(codedeploy, ids))
    content = str(previous["revision"]["appSpecContent"]["content"])
    inputs = DeployInputs(
        service=service,
        strategy=strategy,
        task_definition=task_definition_of(content),
        force=options.force,
        reason="rollback",
        appspec_content=content,
    )
    plan = build_plan(inputs, AwsReads(codedeploy, clients.client("ecs")))
    session.print(
        f"rolling back {service.name} ({service.environment}) from {live['deploymentId']} to the revision of "
        f"{previous['deploymentId']} with {strategy.name}"
    )
    session.print(f"  {'task definition':<22}{plan.task_definition.arn}")
    created = apply_plan(plan, clients, on_step=lambda label, detail: session.print(f"  {label:<22}{detail}"))
    known.update(deploymentId=created.deployment_id, status="Created")
    session.print(f"  {'deployment':<22}{created.deployment_id} created")
    timeout = options.watch.timeout_minutes * 60.0 if options.watch.timeout_minutes else plan.timeout_seconds
    subject = Subject(
        deployment_id=created.deployment_id,
        service=service.name,
        environment=service.environment,
        strategy=strategy.name,
        deployment_config_name=strategy.deployment_config_name,
        phases=plan.phases,
        timeout_seconds=timeout,
        extra={
            "taskDefinitionArn": created.task_definition_arn,
            "rollbackTo": previous["deploymentId"],
            "rollbackFrom": live["deploymentId"],
        },
    )
    return follow_created(session, clients, subject, options.watch)

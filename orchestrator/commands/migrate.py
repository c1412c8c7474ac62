"""`bluegreen migrate SERVICE [--apply]`: move a service from CodeDeploy to Amazon ECS's own blue/green.

Reads the deployment group, its deployment config, the ECS service, the target groups and the
listeners' rules; ``engines.migration.plan_migration`` translates (pure). A dry run (the default)
prints the UpdateService request and every setting's fate and writes nothing. ``--apply`` writes
only when the service is not already native with this configuration (then it says so: exit 0) and
nothing is in flight (a CodeDeploy deployment of the group, an ECS service deployment: exit 2
naming it); it creates the missing listener rules, then sends one UpdateService.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from orchestrator import documents
from orchestrator.commands.failure import error_context
from orchestrator.commands.options import MigrateOptions
from orchestrator.commands.result import Result, lines
from orchestrator.commands.session import Session
from orchestrator.errors import AwsError, BadInputError, ErrorContext
from orchestrator.vocabulary import DeploymentControllerType


@dataclass(frozen=True)
class _Read:
    """What migrate read: the translation's inputs and what is in flight (None: nothing)."""

    inputs: Any  # engines.migration.MigrationInputs
    in_flight: str | None
    active_deployment_id: str | None


def run(session: Session, options: MigrateOptions) -> Result:
    with error_context(ErrorContext(service=options.service)):
        return _run(session, options)


def _run(session: Session, options: MigrateOptions) -> Result:
    from orchestrator.engines.migration import already_native, plan_migration

    service = session.resolve(options.service)
    clients = session.clients(service.region)
    read = _read(service, clients)
    plan = plan_migration(read.inputs)
    native = already_native(read.inputs.ecs_service, plan.request)
    if not options.apply or native:
        return _result(read, plan, clients, native=native)
    if plan.blocked:
        raise BadInputError(f"{service.name} ({service.environment}): not switched: {plan.blocked}")
    if read.in_flight:
        known = ErrorContext(environment=service.environment, active_deployment_id=read.active_deployment_id)
        raise BadInputError(
            f"{service.name} ({service.environment}): not switched: {read.in_flight}; "
            "run migrate again when it has finished (nothing was written)",
            known=known,
        )
    return _apply(read, plan, clients)


# --- reads --------------------------------------------------------------------------------------------


def _read(service: Any, clients: Any) -> _Read:
    from orchestrator.aws import codedeploy, ecs
    from orchestrator.engines.migration import MigrationInputs

    settings = service.settings
    if not service.account_id:
        raise BadInputError(
            f"environments.{service.environment}.account_id is not set; migrate needs it for the hook "
            "functions' ARNs"
        )
    api = clients.client("codedeploy")
    ecs_service = ecs.describe_service(clients.client("ecs"), settings.cluster, settings.ecs_service)
    controller = _controller(service, ecs_service)
    try:
        group = codedeploy.get_deployment_group(api, settings.application, settings.deployment_group)
    except BadInputError:
        if controller != DeploymentControllerType.ECS:
            raise
        raise BadInputError(
            f"{service.name} ({service.environment}) already runs Amazon ECS's own deployments and has no "
            f"CodeDeploy deployment group {settings.application}/{settings.deployment_group} to translate; "
            "nothing to migrate"
        ) from None
    target_groups, rules = _load_balancer(clients.client("elbv2"), group)
    inputs = MigrationInputs(
        service=service,
        group=group,
        config=_config(api, group),
        ecs_service=ecs_service,
        target_groups=target_groups,
        rules=rules,
        region=service.region,
        account_id=service.account_id,
    )
    in_flight, active = _in_flight(clients, service, ecs_service)
    return _Read(inputs, in_flight, active)


def _controller(service: Any, ecs_service: dict[str, Any]) -> str:
    """The service's deployment controller; EXTERNAL is refused (its task sets are someone else's)."""
    controller = str((ecs_service.get("deploymentController") or {}).get("type") or "ECS")
    if controller == DeploymentControllerType.EXTERNAL:
        raise BadInputError(
            f"ECS service {service.settings.ecs_service} uses the EXTERNAL deployment controller; migrate "
            "moves services from CodeDeploy (CODE_DEPLOY) to Amazon ECS's own deployments"
        )
    return controller


def _config(api: Any, group: dict[str, Any]) -> dict[str, Any] | None:
    """GetDeploymentConfig for a config whose name alone does not say what it does (else None)."""
    from orchestrator.aws import codedeploy
    from orchestrator.errors import StrategyError
    from orchestrator.strategies import strategy_for_config

    name = str(group.get("deploymentConfigName") or "")
    try:
        strategy_for_config(name)
        return None  # CodeDeploy's ECS configs and ours: the name is the whole config
    except StrategyError:
        return codedeploy.get_deployment_config(api, name) if name else None


def _load_balancer(elbv2_client: Any, group: dict[str, Any]) -> tuple[dict[str, str], dict[str, str | None]]:
    from orchestrator.aws import elbv2
    from orchestrator.engines.migration import listener_arns, target_group_names

    target_groups = elbv2.target_group_arns(elbv2_client, target_group_names(group))
    rules: dict[str, str | None] = {}
    for role, listener in listener_arns(group).items():
        rule = elbv2.find_service_rule(elbv2_client, listener, list(target_groups.values()))
        rules[role] = str(rule["RuleArn"]) if rule else None
    return target_groups, rules


def _in_flight(clients: Any, service: Any, ecs_service: dict[str, Any]) -> tuple[str | None, str | None]:
    """What makes --apply refuse: the group's CodeDeploy deployment, or an ECS service deployment."""
    from orchestrator.aws import codedeploy, ecs
    from orchestrator.vocabulary import ServiceDeploymentStatus

    settings = service.settings
    active = codedeploy.active_deployments(
        clients.client("codedeploy"), settings.application, settings.deployment_group
    )
    if active:
        where = f"{settings.application}/{settings.deployment_group}"
        return f"CodeDeploy deployment {active[0]} of {where} is in flight", active[0]
    # DescribeServices may name no controller for ECS's own, the default (botocore: DeploymentController).
    controller = (ecs_service.get("deploymentController") or {}).get("type") or DeploymentControllerType.ECS
    if controller != DeploymentControllerType.ECS:
        return None, None  # ECS lists service deployments for its own controller
    statuses = [status.value for status in ServiceDeploymentStatus.active()]
    briefs = ecs.list_service_deployments(
        clients.client("ecs"), settings.cluster, settings.ecs_service, statuses=statuses
    )
    if briefs:
        arn = str(briefs[0]["serviceDeploymentArn"])
        return f"ECS service deployment {arn} is {briefs[0].get('status')}", arn
    return None, None


# --- the write ----------------------------------------------------------------------------------------


def _apply(read: _Read, plan: Any, clients: Any) -> Result:
    from orchestrator.aws import ecs, elbv2
    from orchestrator.engines.migration import with_rules

    rules = {role: arn for role, arn in read.inputs.rules.items() if arn}
    created = []
    for role, request in plan.create_rules.items():
        rules[role] = elbv2.create_rule(clients.client("elbv2"), request)
        created.append(rules[role])
    request = with_rules(plan, rules)
    try:
        answer = ecs.update_service_once(clients.client("ecs"), request)
    except ecs.AmbiguousUpdateError as err:
        name = read.inputs.service.name
        raise AwsError(
            f"{err}; it may have been applied: `bluegreen migrate {name}` shows where it is"
        ) from err
    applied = _as_sent(plan, request)
    deployment = answer.get("currentServiceDeployment")
    return _result(read, applied, clients, native=False, created=created, deployment=deployment)


def _as_sent(plan: Any, request: dict[str, Any]) -> Any:
    """The plan with the request as sent (the created rules' ARNs in place of the placeholders)."""
    return dataclasses.replace(plan, request=request, create_rules={})


# --- the result ---------------------------------------------------------------------------------------


def _result(
    read: _Read,
    plan: Any,
    clients: Any,
    *,
    native: bool,
    created: list[str] | None = None,
    deployment: str | None = None,
) -> Result:
    service = read.inputs.service
    applied = created is not None
    document = documents.MigrateDocument(
        service=service.name,
        environment=service.environment,
        application=service.settings.application,
        deployment_group=service.settings.deployment_group,
        deployment_controller=str(
            (read.inputs.ecs_service.get("deploymentController") or {}).get("type") or "ECS"
        ),
        applied=applied,
        already_native=native,
        strategy=plan.strategy.name,
        settings=[
            documents.MigrationSetting(
                setting=s.setting, value=s.value, native=s.native, reason=s.reason or None
            )
            for s in plan.settings
        ],
        untranslated=len(plan.untranslated),
        create_rules=list(plan.create_rules.values()),
        created_rule_arns=created or [],
        update_service=plan.request,
        service_deployment_arn=deployment,
        in_flight=read.in_flight,
        blocked=plan.blocked,
        next_step=_next_step(service, applied=applied, native=native),
        api_calls=sum(clients.counter.calls.values()),
    )
    return Result(document, _text(read, plan, document))


def _next_step(service: Any, *, applied: bool, native: bool) -> str:
    if applied or native:
        settings = service.settings
        return (
            f"set `engine: ecs` for {service.name} in the catalog (services.{service.name}.overrides."
            f"{service.environment}.engine), or deploy with `--engine ecs`; the deployment group "
            f"{settings.application}/{settings.deployment_group} is left as it is: delete it once you no "
            "longer want to go back to CodeDeploy"
        )
    return f"bluegreen migrate {service.name} --env {service.environment} --apply"


def _text(read: _Read, plan: Any, document: documents.MigrateDocument) -> str:
    service = read.inputs.service
    where = f"{service.name} ({service.environment})"
    if document.already_native:
        head = f"{where} already runs Amazon ECS's own deployments with this configuration; nothing to do"
        return lines(head, f"next: {document.next_step}")
    mode = "switched" if document.applied else "dry run, nothing written"
    group = f"{document.application}/{document.deployment_group}"
    out = [f"migrate {where}: CodeDeploy {group} -> Amazon ECS ({mode})"]
    out += _settings_lines(plan)
    if document.create_rules:
        out.append("listener rules to create (priority 1, path /*, forward blue 100 / green 0):")
        out += [
            f"  {role.ljust(10)}  {request['ListenerArn']}" for role, request in plan.create_rules.items()
        ]
    if document.created_rule_arns:
        out.append("listener rules created:")
        out += [f"  {arn}" for arn in document.created_rule_arns]
    out.append("UpdateService request:" if document.applied else "UpdateService request (--apply sends it):")
    out += ["  " + line for line in json.dumps(document.update_service, indent=2).splitlines()]
    if document.service_deployment_arn:
        out.append(
            f"ECS started service deployment {document.service_deployment_arn} (the running task definition)"
        )
    if not document.applied and (document.in_flight or document.blocked):
        out.append(f"--apply would refuse now: {document.in_flight or document.blocked}")
    out.append(f"next: {document.next_step}")
    return lines(*out)


def _settings_lines(plan: Any) -> list[str]:
    translated = [s for s in plan.settings if s.native is not None]
    width = max((len(s.setting) for s in plan.settings), default=0)
    out = ["translated:"]
    out += [f"  {s.setting.ljust(width)}  {s.value} -> {s.native}" for s in translated]
    if plan.untranslated:
        out.append("does not translate:")
        out += [f"  {s.setting.ljust(width)}  {s.value}: {s.reason}" for s in plan.untranslated]
    return out

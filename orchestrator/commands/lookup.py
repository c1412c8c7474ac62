"""Finding deployments: by id or as a service's latest, and what bluegreen knows about them."""

from __future__ import annotations

import re
from typing import Any

from orchestrator.aws import codedeploy as codedeploy_api
from orchestrator.commands.follow import Subject
from orchestrator.commands.options import WatchFlags
from orchestrator.commands.session import Session
from orchestrator.errors import BadInputError, BluegreenError

DEPLOYMENT_ID = re.compile(r"d-[A-Z0-9]{9}")


def is_deployment_id(text: str) -> bool:
    return DEPLOYMENT_ID.fullmatch(text) is not None


def check_deployment_id(text: str) -> str:
    """The id, or BadInputError saying what a deployment id looks like."""
    if not is_deployment_id(text):
        raise BadInputError(f"{text!r} is not a CodeDeploy deployment id (d- and 9 letters or digits)")
    return text


def newest(infos: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The deployment created last (ListDeployments promises no order)."""
    return max(infos, key=lambda info: info.get("createTime") or 0, default=None)


def latest_deployment_id(codedeploy: Any, application: str, deployment_group: str) -> str:
    """The group's most recent deployment; BadInputError when it has none.

    Looks at the last week first so a group with a long history costs a few calls, not dozens.
    """
    from datetime import UTC, datetime, timedelta

    since = datetime.now(UTC) - timedelta(days=7)
    ids = codedeploy_api.list_deployments(codedeploy, application, deployment_group, created_after=since)
    if not ids:
        ids = codedeploy_api.list_deployments(codedeploy, application, deployment_group)
    found = newest(codedeploy_api.batch_get_deployments(codedeploy, ids))
    if found is None:
        raise BadInputError(f"deployment group {application}/{deployment_group} has no deployments yet")
    return str(found["deploymentId"])


def target(session: Session, text: str) -> tuple[str, Any]:
    """(deployment id, AwsClients) for DEPLOYMENT_ID or SERVICE (its group's latest deployment)."""
    if is_deployment_id(text):
        return text, session.clients(session.default_region())
    service = session.resolve(text)
    clients = session.clients(service.region)
    settings = service.settings
    return latest_deployment_id(
        clients.client("codedeploy"), settings.application, settings.deployment_group
    ), clients


def subject_for(session: Session, clients: Any, info: dict[str, Any], flags: WatchFlags) -> Subject:
    """What bluegreen knows of a deployment made by anyone: service, strategy, phases, timeout."""
    from orchestrator.strategies import strategy_for_config
    from orchestrator.watching.timing import GroupTiming, default_timeout, expected_phases, hook_budgets

    service = _service_of(session, info)
    config_name = str(info.get("deploymentConfigName") or "")
    strategy = None
    try:
        strategy = strategy_for_config(config_name)
    except BluegreenError:
        config = codedeploy_api.get_deployment_config(clients.client("codedeploy"), config_name) or {}
        try:
            strategy = strategy_for_config(config_name, config.get("trafficRoutingConfig"))
        except BluegreenError:
            strategy = None
    budgets = hook_budgets(service) if service is not None else {}
    timing = GroupTiming.from_blue_green_config(info.get("blueGreenDeploymentConfiguration"), budgets)
    phases = expected_phases(strategy, timing) if strategy is not None else []
    default = default_timeout(strategy, timing) if strategy is not None else 3600.0
    timeout = flags.timeout_minutes * 60.0 if flags.timeout_minutes is not None else default
    return Subject(
        deployment_id=str(info["deploymentId"]),
        service=service.name if service is not None else None,
        environment=service.environment if service is not None else None,
        strategy=strategy.name if strategy is not None else None,
        deployment_config_name=config_name or None,
        phases=phases,
        timeout_seconds=timeout,
    )


def _service_of(session: Session, info: dict[str, Any]) -> Any:
    try:
        catalog = session.catalog
    except BluegreenError:
        return None  # watching needs no catalog; the report just lacks the service name
    return catalog.find_by_deployment_group(
        str(info.get("applicationName")), str(info.get("deploymentGroupName"))
    )

"""The scheduled alarm audit (EventBridge schedule -> Lambda): the same fetch and rules as
`bluegreen alarms audit`, reported as a structured log line and EMF metrics, one per rule.

Event (optional fields): ``{"environment": "prod"}``; else ``$BLUEGREEN_ENVIRONMENT``, else the
catalog's default environment. The catalog and alarms/ ship in the Lambda package
(``$BLUEGREEN_CATALOG`` / ``$BLUEGREEN_ALARMS`` may point elsewhere). Imports no typer or rich.
A failed audit (bad definitions, AWS errors) raises, so the invocation shows as an error and the
schedule's retry and the Lambda Errors metric see it; violations are data, not errors.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

if TYPE_CHECKING:
    from orchestrator.alarms.audit import ClientFactory

SERVICE = "bluegreen-alarm-audit"
NAMESPACE = "bluegreen"
ENVIRONMENT_ENV_VAR = "BLUEGREEN_ENVIRONMENT"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def run(event: Mapping[str, Any], now: datetime, clients: ClientFactory | None = None) -> dict[str, Any]:
    """Audit one environment and publish the report; ``clients`` defaults to AwsClients(region)
    (``tests.support.fakes.FakeClients`` fits too)."""
    from orchestrator.alarms.audit import run_audit
    from orchestrator.alarms.definitions import load_definitions
    from orchestrator.aws.clients import AwsClients
    from orchestrator.catalog import load_catalog

    catalog = load_catalog()
    chosen = event.get("environment") or os.environ.get(ENVIRONMENT_ENV_VAR)
    environment = str(chosen or catalog.default_environment)
    services = catalog.resolve_all(environment)
    definitions = load_definitions(catalog)
    if clients is None:
        clients = AwsClients(region=services[0].region if services else None)
    report = run_audit(clients, catalog, definitions, environment, now)
    document = report.to_dict()
    if report.clean:
        logger.info("alarm audit clean", extra={"audit": document})
    else:
        logger.warning("alarm audit found violations", extra={"audit": document})
    for rule, count in report.counts_by_rule().items():
        # One EMF document per rule, so each rule is its own CloudWatch metric dimension value.
        with single_metric(
            name="AlarmAuditViolations",
            unit=MetricUnit.Count,
            value=count,
            namespace=NAMESPACE,
            default_dimensions={"service": SERVICE, "environment": environment, "rule": rule},
        ):
            pass
    metrics.add_dimension("environment", environment)
    metrics.add_metric(name="AlarmAuditViolationsTotal", unit=MetricUnit.Count, value=len(report.findings))
    metrics.add_metric(name="DeploymentGroupsAudited", unit=MetricUnit.Count, value=report.groups_checked)
    return {
        "environment": environment,
        "violations": len(report.findings),
        "byRule": report.counts_by_rule(),
        "deploymentGroupsChecked": report.groups_checked,
    }


@logger.inject_lambda_context(log_event=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point of the alarm-audit schedule."""
    return run(event or {}, datetime.now(UTC))

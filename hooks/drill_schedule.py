"""The scheduled rollback drill (EventBridge schedule -> Lambda, opt-in: template.yaml's ``Drills``
parameter): the same `bluegreen drill` as the CLI's (``orchestrator.commands.drill``), reported as
a structured log line and one EMF metric, ``DrillPassed`` (1 or 0) per service and fault.

Event: ``{"environment": "dev", "service": "product-service", "fault": "alarm"}`` (fault optional;
environment else ``$BLUEGREEN_ENVIRONMENT``). Never ``--force``: a production environment is refused
here as on the command line, and the template schedules no drill in prod at all. A drill that failed
(not rolled back, or too slowly) or could not run raises, so the invocation shows as an error and the
Lambda Errors metric (and whoever alarms on it) sees it. The drill waits in the Lambda: a strategy
whose deployment with its rollback lasts longer than the function's 15 minutes ends as an error.
Imports no typer or rich; loaded only by this function.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric

SERVICE = "bluegreen-drill"
NAMESPACE = "bluegreen"
ENVIRONMENT_ENV_VAR = "BLUEGREEN_ENVIRONMENT"

logger = Logger(service=SERVICE)


def run(event: Mapping[str, Any]) -> dict[str, Any]:
    """One drill of ``event``'s service; its JSON document. Raises when it did not pass."""
    from orchestrator import documents
    from orchestrator.commands.drill import DrillOptions
    from orchestrator.commands.drill import run as drill
    from orchestrator.commands.options import GlobalOptions, WatchFlags
    from orchestrator.commands.session import Session
    from orchestrator.errors import BadInputError

    service = event.get("service")
    if not isinstance(service, str) or not service:
        raise BadInputError('the drill schedule\'s event names no service ({"service": NAME})')
    environment = event.get("environment") or os.environ.get(ENVIRONMENT_ENV_VAR)
    fault = str(event.get("fault") or "alarm")
    session = Session(GlobalOptions(env=environment, output="json"))
    options = DrillOptions(service, fault, watch=WatchFlags(stop_on_alarm=False))
    result = drill(session, options)
    document = documents.to_json(result.document) if result.document is not None else {}
    passed = bool(document.get("passed"))
    with single_metric(
        name="DrillPassed",
        unit=MetricUnit.Count,
        value=1 if passed else 0,
        namespace=NAMESPACE,
        default_dimensions={"service": service, "environment": str(environment), "fault": fault},
    ):
        pass
    (logger.info if passed else logger.error)("rollback drill", extra={"drill": document})
    if result.error is not None:
        raise result.error
    return dict(document)


@logger.inject_lambda_context(log_event=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point of the drill schedule."""
    return run(event or {})

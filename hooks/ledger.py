"""The ledger Lambda: CodeDeploy's and Amazon ECS's deployment state-change events (an EventBridge
rule, template.yaml ``LedgerRule``) -> one row per deployment in the environment's ledger table
(``orchestrator.aws.ledger``), the outcome once to the environment's SNS topic, DORA metrics as EMF.

An invocation:
1. reads the event (``hooks.ledger_event.parse``); anything else is logged and skipped;
2. finds the catalog service (CodeDeploy: application + deployment group; ECS: cluster + service,
   ``hooks.settings``) and its ``ledger_table``; an unknown service, or one without a ledger, is
   logged and skipped: a retry would not change that (EventBridge invokes asynchronously and Lambda
   retries a failed invocation);
3. reads the deployment from the engine's API, the truth when it runs (CodeDeploy:
   BatchGetDeployments; ECS: ListServiceDeployments + DescribeServiceDeployments of the service's
   recent ones, since the event names no service deployment) and makes it a ``DeploymentRecord``
   (``insight.codedeploy_records`` / ``insight.native_records``);
4. upserts each record; for the write that made a row terminal (once per deployment, whatever the
   replays and the order of delivery) emits the DORA metrics (EMF: Deployments, ChangeFailures,
   LeadTimeSeconds, TimeToRestoreSeconds; dimensions service + environment) and publishes one line
   to the service's ``notification_topic_arn`` when it names one.
An AWS failure (a read, the write, the table missing) raises: Lambda retries the event (the write is
idempotent) and then sends it to the rule's dead-letter queue. A failed notification is logged, not
raised: the row is terminal already, so a retry would not publish it either.

Powertools Logger (JSON, the deployment id as correlation id) and EMF metrics through
``EphemeralMetrics`` (its own metric set: the sandbox runs the hooks in the same process, whose
``Metrics`` share one). Settings are read on the first event, never at import; no secrets are logged.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from hooks import clients, settings
from hooks.ledger_event import (
    CREATED_WITHIN,
    StateChange,
    dora_metrics,
    outcome_line,
    parse,
    recent_deployments,
)
from hooks.service_view import ServiceView
from orchestrator.aws.clients import retry_throttled
from orchestrator.aws.ledger import DynamoLedger, LedgerTableMissingError
from orchestrator.errors import AwsError, CatalogError, UnknownServiceError
from orchestrator.insight.outcome import Outcome
from orchestrator.insight.records import DeploymentKind, DeploymentRecord
from orchestrator.vocabulary import EngineName

SERVICE = "bluegreen-ledger"
NAMESPACE = "bluegreen/DORA"
# How far back the earlier deployments of a service are read for the time to restore (a failure to
# the next success): ECS keeps its service deployments 90 days, the ledger as long as the table.
RESTORE_LOOKBACK = timedelta(days=90)
END_MARGIN_S = 1.0

logger = Logger(service=SERVICE)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point of the ledger rule (template.yaml ``LedgerFunction``)."""
    try:
        return _handle(event, context)
    finally:
        # powertools' thread-local keys are shared by every Logger of the process (the sandbox runs
        # the hooks in it): they belong to this invocation only.
        logger.thread_safe_clear_keys()


def _handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(
        function_name=getattr(context, "function_name", None),
        function_request_id=getattr(context, "aws_request_id", None),
    )
    change = parse(event)
    if change is None:
        return _skipped("not a CodeDeploy or ECS deployment state change", _event_keys(event))
    logger.thread_safe_append_keys(correlation_id=change.deployment_id, engine=change.engine)
    try:
        view = _service(change)
    except UnknownServiceError as err:  # a deployment group or ECS service the catalog does not have
        return _skipped(str(err), {"state": change.state})
    except CatalogError as err:  # the package's catalog does not load: a retry would not either
        return _skipped(str(err), {"state": change.state}, error=True)
    logger.thread_safe_append_keys(service_name=view.name, environment=view.environment)  # as the hooks
    if not view.ledger_table:
        return _skipped(f"{view.name} ({view.environment}) names no ledger_table", {"state": change.state})
    try:
        with clients.calls_end_by(_calls_end(context)):
            records = _records(change, view)
            ledger = DynamoLedger(clients.client("dynamodb"), view.ledger_table, call=clients.aws_call)
            terminal = [record.deployment_id for record in records if _write(ledger, view, record)]
    except (AwsError, LedgerTableMissingError) as err:  # Lambda retries the event, then dead-letters it
        logger.error(f"ledger not written: {err}", extra={"state": change.state})
        raise
    return {"written": [r.deployment_id for r in records], "terminal": terminal}


def _calls_end(context: Any) -> float | None:
    """When every AWS call must be over: the invocation's deadline less a margin for the last log line."""
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(getter):
        return None
    return time.monotonic() + float(getter()) / 1000.0 - END_MARGIN_S


def _skipped(reason: str, extra: Mapping[str, Any], error: bool = False) -> dict[str, Any]:
    (logger.error if error else logger.warning)(f"skipped: {reason}", extra=dict(extra))
    return {"written": [], "terminal": [], "skipped": reason}


def _event_keys(event: Any) -> dict[str, Any]:
    if not isinstance(event, Mapping):
        return {"eventType": type(event).__name__}
    return {"source": event.get("source"), "detailType": event.get("detail-type")}


def _service(change: StateChange) -> ServiceView:
    if change.engine == EngineName.CODEDEPLOY:
        return settings.service_for(change.application, change.deployment_group)
    return settings.service_for_ecs(change.cluster, change.ecs_service, change.account)


def _records(change: StateChange, view: ServiceView) -> list[DeploymentRecord]:
    if change.engine == EngineName.CODEDEPLOY:
        return _codedeploy_records(change.deployment_id, view)
    return _ecs_records(view, change.time or datetime.now(UTC))


def _codedeploy_records(deployment_id: str, view: ServiceView) -> list[DeploymentRecord]:
    from orchestrator.insight.codedeploy_records import record_from_deployment

    codedeploy = clients.client("codedeploy")
    answer = clients.aws_call(
        f"BatchGetDeployments {deployment_id}",
        lambda: codedeploy.batch_get_deployments(deploymentIds=[deployment_id]),
    )
    infos = answer.get("deploymentsInfo") or []
    if not infos:
        logger.warning(f"CodeDeploy does not know deployment {deployment_id}; nothing written")
    return [record_from_deployment(info, view.name, view.environment) for info in infos]


def _ecs_records(view: ServiceView, at: datetime) -> list[DeploymentRecord]:
    from orchestrator.insight.native_records import record_from_service_deployment

    ecs = clients.client("ecs")
    request: dict[str, Any] = {
        "cluster": view.cluster,
        "service": view.ecs_service,
        "createdAt": {"after": at - CREATED_WITHIN},
        "maxResults": 100,  # ListServiceDeployments: 1-100 a page
    }
    briefs: list[dict[str, Any]] = []
    while True:
        page = clients.aws_call(
            f"ListServiceDeployments {view.cluster}/{view.ecs_service}",
            lambda: ecs.list_service_deployments(**request),
        )
        briefs.extend(page.get("serviceDeployments") or [])
        if not page.get("nextToken"):
            break
        request["nextToken"] = page["nextToken"]
    arns = recent_deployments(briefs, at)
    if not arns:
        return []
    described = clients.aws_call(
        "DescribeServiceDeployments", lambda: ecs.describe_service_deployments(serviceDeploymentArns=arns)
    )
    deployments = list(described.get("serviceDeployments") or [])
    revisions = _target_revisions(ecs, deployments)
    return [
        record_from_service_deployment(sd, view.name, view.environment, revisions.get(_target_arn(sd)))
        for sd in deployments
    ]


def _target_arn(sd: Mapping[str, Any]) -> str:
    return str((sd.get("targetServiceRevision") or {}).get("arn") or "")


def _target_revisions(ecs: Any, deployments: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The deployments' target service revisions by ARN (their task definition and image), in one
    DescribeServiceRevisions (20 ARNs a call, as many as the deployments); {} when it fails: the
    rows are written without them (a later event, or the CLI's record_start, fills them in)."""
    arns = sorted(
        {str(sd["targetServiceRevision"]["arn"]) for sd in deployments if sd.get("targetServiceRevision")}
    )
    if not arns:
        return {}
    try:
        answer = clients.aws_call(
            "DescribeServiceRevisions", lambda: ecs.describe_service_revisions(serviceRevisionArns=arns)
        )
    except AwsError as err:
        logger.warning(f"service revisions not read; rows written without image: {err}")
        return {}
    return {str(r["serviceRevisionArn"]): dict(r) for r in answer.get("serviceRevisions") or []}


def _write(ledger: DynamoLedger, view: ServiceView, record: DeploymentRecord) -> bool:
    """Upsert one record; on the write that made its row terminal, metrics and the notification,
    both from the row as it stands (the CLI's kind and provenance in it)."""
    # The row's key as correlation id (an ECS event's own id, ecs-svc/..., names no service deployment).
    logger.thread_safe_append_keys(correlation_id=record.deployment_id)
    written = ledger.write(record)
    if record.kind is DeploymentKind.AUTO_ROLLBACK and record.rollback_of:
        _link_rollback(ledger, record.rollback_of, record.deployment_id)
    facts = {
        "deployment_id": record.deployment_id,
        "status": record.status,
        "outcome": record.outcome.value,
        "first_terminal_write": written.first_terminal,
    }
    logger.info(f"ledger row {record.deployment_id}: {record.status}", extra=facts)
    if written.first_terminal:
        row = written.row or record
        _emit_metrics(row, ledger)
        _notify(view, row)
    return written.first_terminal


def _link_rollback(ledger: DynamoLedger, deployment_id: str, rollback_id: str) -> None:
    """CodeDeploy's rollback names the deployment it rolled back; that row may have been written as
    failed before CodeDeploy named its rollback (``DynamoLedger.link_rollback``)."""
    if ledger.link_rollback(deployment_id, rollback_id):
        logger.info(
            f"ledger row {deployment_id}: rolled back by {rollback_id}",
            extra={"deployment_id": deployment_id},
        )


def _emit_metrics(record: DeploymentRecord, ledger: DynamoLedger) -> None:
    """One EMF document per terminal deployment (dimensions service + environment) with what it
    adds to the DORA figures (``hooks.ledger_event.dora_metrics``)."""
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

    figures = dora_metrics(record, _earlier(record, ledger))
    if not figures:  # CodeDeploy's own rollback that restored nothing: nothing to count
        return
    metrics = EphemeralMetrics(namespace=NAMESPACE)
    metrics.add_dimension(name="service", value=record.service)
    metrics.add_dimension(name="environment", value=record.environment)
    for name, value in figures.items():
        unit = MetricUnit.Seconds if name.endswith("Seconds") else MetricUnit.Count
        metrics.add_metric(name=name, unit=unit, value=value)
    metrics.add_metadata(key="deploymentId", value=record.deployment_id)
    metrics.flush_metrics()


def _earlier(record: DeploymentRecord, ledger: DynamoLedger) -> list[DeploymentRecord]:
    """The service's other rows, when the record may restore a failure (a success) or make an
    earlier success a change failure (a ``bluegreen rollback``); none read for anything else."""
    if record.created is None:
        return []
    if record.outcome is not Outcome.SUCCEEDED and record.kind is not DeploymentKind.ROLLBACK:
        return []
    found = ledger.query(record.environment, record.created - RESTORE_LOOKBACK, service=record.service)
    return [other for other in found if other.deployment_id != record.deployment_id]


def _notify(view: ServiceView, record: DeploymentRecord) -> None:
    """The outcome, one line, to the service's topic (if it names one); a failure is only logged."""
    from orchestrator.insight.provenance import description_note

    topic = view.notification_topic_arn
    if not topic:
        return
    provenance = record.provenance
    known = provenance.deployer or provenance.commit
    line = outcome_line(record, description_note(provenance, with_time=False) if known else None)
    sns = clients.client("sns")
    try:
        # Only a throttled Publish is sent again (it was refused): a standard topic would deliver an
        # ambiguous one (a timeout, a 5xx) twice if it was applied.
        retry_throttled(lambda: sns.publish(TopicArn=topic, Message=line))
    except Exception as err:  # the row is written; a notification lost is said, not retried
        logger.error(f"could not publish the outcome to {topic}: {err}", extra={"outcome_line": line})
        return
    logger.info("outcome published", extra={"topic": topic, "outcome_line": line})

"""The fleet step Lambda: what the Task states of `bluegreen fleet export`'s state machine invoke
(``orchestrator.fleet.export``), one service's deployment at a time.

An event is ``{"action": "record" | "start" | "poll" | "stop", "service", "environment", "image", "strategy",
"fleet_run", "deployment_id", "since", "wave_started", "queue_wait_seconds"}`` (the state machine
fills it; ``image`` and ``strategy`` may be null: the catalog's). Each action goes through the same
engine code the CLI uses (``orchestrator.engines``: plan -> start, so every guardrail of `deploy`
applies; snapshot; stop), on the service's own engine (CodeDeploy or Amazon ECS); JSON out:

- record: the run's record in SSM Parameter Store (``aws/fleet_runs.py``: the plan the state machine
  carries, with this run's id), before any start, as `fleet deploy` writes it, so
  `fleet watch RUN_ID` and `fleet deploy --resume RUN_ID` work on a Step Functions run too.
- start: plan and start the deployment, carrying the fleet run id (``DeployInputs.fleet_run``).
  A group busy with another deployment answers ``{"status": "Queued"}`` (the state machine waits
  and starts again) for ``queue_wait_seconds`` after ``wave_started`` (the environment's
  ``fleet.queue_wait_minutes``), then the busy refusal fails the service.
- poll: one look (``Engine.snapshot``); ``status`` is CodeDeploy's DeploymentStatus (both engines'
  snapshots speak it), ``cause`` the one line a failed fleet execution reports. At Ready the
  deployment is promoted, as `deploy` (until done) does (``watching.loop``).
- stop: stop, with rollback, the service's deployments of this fleet run that are still in flight
  (``Engine.fleet_deployments`` since ``since``, the execution's start, that ``find_active`` lists).
A refusal (guardrail, bad image, busy past the queue bound) or an AWS error raises ``FleetStepError``
naming the service, the action and the original error's class: the Task fails with that error
name, and the failed execution's cause names the service.

Powertools Logger (JSON, the fleet run as correlation id); no secrets: the event carries none and
nothing else is logged. Settings (the bundled catalog) are read on the first event, not at import.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from hooks import settings
from orchestrator.errors import ActiveDeploymentError, BadInputError
from orchestrator.vocabulary import DeploymentStatus

SERVICE = "bluegreen-fleet-step"
ACTIONS = ("record", "start", "poll", "stop")
QUEUED = "Queued"  # not a CodeDeploy status: the state machine's Choice reads it (export.py)

logger = Logger(service=SERVICE)


class FleetStepError(Exception):
    """A step failed; the message says which service, which action, and why (one line)."""


_clients: dict[tuple[str | None, tuple[tuple[str, str], ...]], Any] = {}
_lock = threading.Lock()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (the fleet template's ``FleetStepFunction``)."""
    try:
        logger.thread_safe_clear_keys()
        logger.thread_safe_append_keys(
            function_request_id=getattr(context, "aws_request_id", None),
            correlation_id=event.get("fleet_run"),
            service_name=event.get("service"),
            environment=event.get("environment"),
            action=event.get("action"),
        )
        answer = step(event)
        logger.info(f"{event.get('action')} {event.get('service')}: {answer.get('status')}", extra=answer)
        return answer
    except Exception as err:
        message = f"{event.get('service')}: {event.get('action')} failed ({type(err).__name__}): {err}"
        logger.error(message)
        raise FleetStepError(message) from err
    finally:
        logger.thread_safe_clear_keys()  # thread-local keys are shared by every Logger of the process


def step(event: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """One action on one service's deployment; the answer the state machine reads."""
    action = event.get("action")
    if action not in ACTIONS:
        raise BadInputError(f"fleet step: action {action!r} is not one of {', '.join(ACTIONS)}")
    service = settings.catalog().resolve(str(event["service"]), event.get("environment"))
    engine = _engine(service)
    moment = now or datetime.now(UTC)
    if action == "record":
        answer = _record(service, event)
    elif action == "start":
        answer = _start(engine, service, event, moment)
    elif action == "poll":
        answer = _poll(engine, service, str(event["deployment_id"]))
    else:
        answer = _stop(engine, service, event)
    return {"action": action, **answer}


def _engine(service: Any) -> Any:
    from orchestrator.engines import engine_for

    return engine_for(service, _clients_for(service.region))


def _clients_for(region: str | None) -> Any:
    """AwsClients per region, kept per Lambda container (and per endpoint: the sandbox's worlds)."""
    from orchestrator.aws.clients import AwsClients

    endpoints = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_ENDPOINT_URL")))
    with _lock:
        key = (region, endpoints)
        if key not in _clients:
            _clients[key] = AwsClients(region=region)
        return _clients[key]


def _record(service: Any, event: dict[str, Any]) -> dict[str, Any]:
    """The run's record in SSM (``aws/fleet_runs.FleetRunStore``), as `fleet deploy` writes it."""
    from orchestrator.aws.fleet_runs import FleetRunStore

    run_id, environment = str(event["fleet_run"]), service.environment
    document = {**event["record"], "runId": run_id}
    store = FleetRunStore(_clients_for(service.region).client("ssm"), service.project)
    store.put(run_id, environment, document)
    return {"service": service.name, "status": "Recorded", "parameter": store.name(run_id, environment)}


def _start(engine: Any, service: Any, event: dict[str, Any], now: datetime) -> dict[str, Any]:
    from orchestrator.engines.base import DeployInputs
    from orchestrator.strategies import parse_strategy

    strategy = parse_strategy(event.get("strategy") or service.settings.strategy)
    inputs = DeployInputs(
        service=service, strategy=strategy, image=event.get("image") or None, fleet_run=event["fleet_run"]
    )
    plan = engine.plan(inputs)
    try:
        started = engine.start(plan)
    except ActiveDeploymentError as err:
        if still_queued(
            now, _parse_time(event.get("wave_started")), float(event.get("queue_wait_seconds") or 0)
        ):
            return {
                "service": service.name,
                "engine": engine.name,
                "deployment_id": None,
                "status": QUEUED,
                "reason": str(err),
            }
        raise
    return {
        "service": service.name,
        "engine": engine.name,
        "deployment_id": started.deployment_id,
        "status": DeploymentStatus.CREATED.value,
    }


def still_queued(now: datetime, wave_started: datetime, queue_wait_seconds: float) -> bool:
    """A busy group is waited for this long after its wave started (then its service fails)."""
    return (now - wave_started).total_seconds() < queue_wait_seconds


def _poll(engine: Any, service: Any, deployment_id: str) -> dict[str, Any]:
    snapshot = engine.snapshot(deployment_id).snapshot
    status = snapshot.status
    if status is DeploymentStatus.READY:
        _promote(engine, deployment_id)
    answer = {"service": service.name, "deployment_id": deployment_id, "status": status.value, "cause": ""}
    if status.is_terminal and not status.succeeded:
        why = f": {snapshot.error}" if snapshot.error else ""
        answer["cause"] = f"{service.name}: deployment {deployment_id} {status.value.lower()}{why}"
    return answer


def _promote(engine: Any, deployment_id: str) -> None:
    """At Ready a fleet goes on, as `deploy` (until done) does: the engine's promote (watching.loop)."""
    try:
        engine.promote(deployment_id)
    except BadInputError:  # not (or no longer) in the Ready wait: the next poll says what it is
        return


def _stop(engine: Any, service: Any, event: dict[str, Any]) -> dict[str, Any]:
    since = _parse_time(event.get("since"))
    mine = set(engine.fleet_deployments(service, str(event["fleet_run"]), since))
    stopped = []
    for deployment_id in engine.find_active(service):
        if deployment_id in mine:
            engine.stop(deployment_id, rollback=True)
            stopped.append(deployment_id)
    return {"service": service.name, "status": "Stopped" if stopped else "Idle", "stopped": stopped}


def _parse_time(text: Any) -> datetime:
    """An ISO-8601 time from the state machine's context object ($$.Execution.StartTime: ``...Z``)."""
    if not text:
        return datetime.min.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

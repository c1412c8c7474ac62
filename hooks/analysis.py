"""Canary analysis inside the traffic window: the scheduled function (EventBridge, every minute) and
the judgement it shares with the Amazon ECS hook.

Every minute, for each service of its environment whose catalog ``analysis`` is enabled, the
function finds the deployments shifting production traffic (``hooks.canaries``: CodeDeploy's
AllowTraffic, ECS's PRODUCTION_TRAFFIC_SHIFT), reads green's and blue's ALB target-group metrics over
the window since green got production traffic (``orchestrator.analysis.sources``) and judges them
(``orchestrator.analysis.judge``). Per judged deployment:

- it writes the verdict metric (namespace ``bluegreen/Analysis``, ``CanaryVerdict``, dimensions
  Service and Environment; 1 = FAIL, 0 otherwise), which the service's ``canary-verdict`` alarm
  (alarms/verdict.yaml, attached to the deployment group by `alarms sync`, and in ECS's deployment
  alarms) watches, so CodeDeploy's DEPLOYMENT_STOP_ON_ALARM, or ECS's alarm rollback, stops the
  deployment even when this function could not;
- on FAIL it stops the deployment with rollback at once (StopDeployment autoRollbackEnabled /
  StopServiceDeployment ROLLBACK): whoever sees it first stops it, not the engine's next alarm poll;
- it logs the judgement (powertools Logger, one structured line: verdict, score, reason, and the
  per-metric table), a FAIL as a warning.

The judged minute is the event's ``time`` (EventBridge's scheduled time; the sandbox's virtual one),
so the window and the metric's timestamp are in the clock the engines and CloudWatch answer in.
The schedule has no retry (template.yaml, MaximumRetryAttempts 0): a judgement retried minutes later
is stale; the next minute judges afresh. A service whose reads fail is logged and the others are
still judged; the invocation then raises, so Lambda's Errors metric counts it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from aws_lambda_powertools import Logger

from hooks.canaries import Canary, Client, canary_sides, codedeploy_canaries, ecs_canaries
from hooks.clients import aws_call
from orchestrator.errors import BluegreenError
from orchestrator.vocabulary import EngineName

if TYPE_CHECKING:
    from orchestrator.analysis.judge import Judgement
    from orchestrator.catalog import ResolvedService

SERVICE = "bluegreen-canary-analysis"
ENVIRONMENT_ENV_VAR = "BLUEGREEN_ENVIRONMENT"
VERDICT_NAMESPACE = "bluegreen/Analysis"
VERDICT_METRIC = "CanaryVerdict"

logger = Logger(service=SERVICE)


class AnalysisError(BluegreenError):
    """Some services could not be judged this minute (each is logged with its reason)."""


class Judged(NamedTuple):
    """One deployment judged: the judgement and whether this function stopped the deployment."""

    service: str
    canary: Canary
    judgement: Judgement
    stopped: bool
    stop_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        judgement = self.judgement
        out: dict[str, Any] = {
            "service": self.service,
            "deploymentId": self.canary.deployment_id,
            "engine": self.canary.engine,
            "verdict": judgement.verdict.value,
            "score": judgement.score,
            "reason": judgement.reason,
            "stopped": self.stopped,
        }
        if self.stop_error:
            out["stopError"] = self.stop_error
        return out


# --- one canary -----------------------------------------------------------------------------------


def judge_canary(client: Client, service: ResolvedService, canary: Canary, now: datetime) -> Judgement:
    """Green against blue over [since green got production traffic, now]."""
    from orchestrator.analysis.judge import judge
    from orchestrator.analysis.sources import read_samples

    settings = service.settings.analysis
    sides = canary_sides(client, canary)
    window = (canary.shifting_since, now)
    samples = read_samples(client("cloudwatch"), service, window, settings, sides=sides, call=aws_call)
    return judge(samples, settings)


def verdict_datum(service: ResolvedService, failed: bool, at: datetime) -> dict[str, Any]:
    """The verdict metric's datum (pure): 1 when the judgement failed, else 0."""
    return {
        "MetricName": VERDICT_METRIC,
        "Dimensions": [
            {"Name": "Service", "Value": service.name},
            {"Name": "Environment", "Value": service.environment},
        ],
        "Timestamp": at,
        "Value": 1.0 if failed else 0.0,
        "Unit": "Count",
    }


def publish_verdict(client: Client, service: ResolvedService, failed: bool, at: datetime) -> None:
    """PutMetricData of one verdict (bluegreen/Analysis CanaryVerdict)."""
    cloudwatch = client("cloudwatch")
    datum = verdict_datum(service, failed, at)
    aws_call(
        "cloudwatch PutMetricData",
        lambda: cloudwatch.put_metric_data(Namespace=VERDICT_NAMESPACE, MetricData=[datum]),
    )


def stop_with_rollback(client: Client, canary: Canary) -> None:
    """Stop the deployment and roll it back, on its engine. Already finished is not an error: the
    engine (an alarm, a hook, someone else) got there first."""
    from botocore.exceptions import ClientError

    try:
        if canary.engine == EngineName.ECS.value:
            ecs = client("ecs")
            ecs.stop_service_deployment(serviceDeploymentArn=canary.deployment_id, stopType="ROLLBACK")
        else:
            codedeploy = client("codedeploy")
            codedeploy.stop_deployment(deploymentId=canary.deployment_id, autoRollbackEnabled=True)
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        if code not in ("DeploymentAlreadyCompletedException",):
            raise


def analyse(
    client: Client, service: ResolvedService, canary: Canary, now: datetime, stop: bool = True
) -> Judged:
    """Judge one canary, publish the verdict, stop the deployment on FAIL (``stop``; a hook that
    answers FAILED lets its engine roll back instead), log it."""
    judgement = judge_canary(client, service, canary, now)
    failed = judgement.verdict.stops_deployment
    publish_verdict(client, service, failed, now)
    stopped, stop_error = False, None
    if failed and stop:
        try:
            stop_with_rollback(client, canary)
            stopped = True
        except Exception as err:  # the verdict alarm still stops it through the engine
            stop_error = f"{type(err).__name__}: {err}"
    judged = Judged(service.name, canary, judgement, stopped, stop_error)
    log_judgement(judged)
    return judged


def judgement_rows(judgement: Judgement) -> list[dict[str, Any]]:
    """The per-metric table as log fields (pure)."""
    return [
        {
            "metric": row.name,
            "verdict": row.verdict.value,
            "blue": row.blue.mean,
            "green": row.green.mean,
            "u": row.u,
            "p": row.p,
            "effect": row.effect,
            "why": row.why,
        }
        for row in judgement.metrics
    ]


def log_judgement(judged: Judged) -> None:
    extra = {**judged.as_dict(), "metrics": judgement_rows(judged.judgement)}
    verdict = judged.judgement.verdict
    message = f"{judged.service} {judged.canary.deployment_id}: {verdict.value}: {judged.judgement.reason}"
    if judged.stopped:
        message += "; stopped the deployment with rollback"
    elif judged.stop_error:
        message += f"; could not stop it ({judged.stop_error}); its canary-verdict alarm will"
    if verdict.stops_deployment:
        logger.warning(message, extra=extra)
    else:
        logger.info(message, extra=extra)


# --- the schedule ----------------------------------------------------------------------------------


def canaries_of(client: Client, service: ResolvedService) -> list[Canary]:
    """The service's deployments shifting production traffic, on its engine."""
    settings = service.settings
    if settings.engine == EngineName.ECS.value:
        return ecs_canaries(client, settings.cluster, settings.ecs_service)
    return codedeploy_canaries(client, settings.application, settings.deployment_group)


def event_time(event: Mapping[str, Any], now: Callable[[], datetime]) -> datetime:
    """The judged minute: a scheduled event's ``time`` (ISO-8601 UTC), else ``now()``."""
    text = event.get("time")
    if isinstance(text, str) and text:
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
    return now()


def resolved_service(name: str, environment: str) -> ResolvedService:
    """A catalog service in an environment, from the container's cached catalog."""
    from hooks.settings import catalog as cached_catalog

    return cached_catalog().resolve(name, environment)


def analysed_services(environment: str | None) -> tuple[str, list[ResolvedService]]:
    """The environment (the event's, else $BLUEGREEN_ENVIRONMENT, else the catalog's default) and
    its services with analysis enabled."""
    from hooks.settings import catalog as cached_catalog

    catalog = cached_catalog()
    chosen = environment or os.environ.get(ENVIRONMENT_ENV_VAR) or catalog.default_environment
    services = [s for s in catalog.resolve_all(chosen) if s.settings.analysis.enabled]
    return chosen, services


def run(
    event: Mapping[str, Any],
    client: Client | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict[str, Any]:
    """Judge every canary of the environment's analysed services (see the module docstring)."""
    from hooks import clients

    client = client or clients.client
    at = event_time(event, now)
    environment, services = analysed_services(event.get("environment"))
    judged: list[Judged] = []
    failures: dict[str, str] = {}
    for service in services:
        try:
            judged.extend(analyse(client, service, canary, at) for canary in canaries_of(client, service))
        except Exception as err:  # one service's failed reads must not keep the others unjudged
            failures[service.name] = f"{type(err).__name__}: {err}"
            logger.error(
                f"{service.name}: not judged: {failures[service.name]}", extra={"service": service.name}
            )
    result = {
        "environment": environment,
        "time": at.isoformat(),
        "services": len(services),
        "judged": [item.as_dict() for item in judged],
        "failures": failures,
    }
    if failures:
        raise AnalysisError(
            f"{len(failures)} service(s) not judged: " + "; ".join(f"{k}: {v}" for k, v in failures.items())
        )
    return result


# Every AWS call of a run ends this long before the function's timeout, so a slow endpoint costs a
# judgement, not a timed-out invocation.
DEADLINE_MARGIN_S = 2.0


@logger.inject_lambda_context(log_event=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point of the canary-analysis schedule."""
    import time

    from hooks.clients import calls_end_by

    remaining = getattr(context, "get_remaining_time_in_millis", lambda: 60_000)() / 1000.0
    with calls_end_by(time.monotonic() + max(remaining - DEADLINE_MARGIN_S, 0.5)):
        return run(event or {})

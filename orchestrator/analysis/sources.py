"""What the judge reads: one sample per period of each metric, for the green and the blue target
group over the same window (CloudWatch GetMetricData, AWS/ApplicationELB, dimensions TargetGroup +
LoadBalancer as AWS writes them: ``targetgroup/NAME/ID`` and ``app/NAME/ID``).

The analysis Lambda, the ECS judge hook and ``bluegreen analyze`` call ``read_samples``. Which target
group is green is the deployment's to say (CodeDeploy and ECS put the replacement behind whichever
of the pair does not serve production, so the roles swap from one deployment to the next):
``sides_for`` finds it from the replacement's target group ARN (``Inspection.green_target_groups``);
without it the catalog's ``target_group_green`` is taken as green.

The query building and the turning of CloudWatch's series into samples are pure (tested as tables);
the two functions that call AWS are thin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchestrator.alarms.audit import load_balancer_dimension, target_group_dimension
from orchestrator.analysis.judge import REQUESTS, MetricSamples
from orchestrator.analysis.settings import (
    ALB_NAMESPACE,
    BUILTIN_METRICS,
    LOAD_BALANCER_PLACEHOLDER,
    REQUEST_COUNT,
    TARGET_GROUP_PLACEHOLDER,
    AnalysisSettings,
    MetricSettings,
)
from orchestrator.aws.clients import CallPolicy, cli_call
from orchestrator.aws.cloudwatch import MetricsApi, get_metric_data, list_dimension_values
from orchestrator.catalog import ResolvedService
from orchestrator.errors import AwsError

SIDES = ("green", "blue")
Series = Mapping[str, Sequence[tuple[datetime, float]]]


@dataclass(frozen=True)
class Sides:
    """CloudWatch dimension values of the two target groups being compared and their load balancer."""

    green_target_group: str  # targetgroup/NAME/ID
    blue_target_group: str
    load_balancer: str  # app/NAME/ID

    def target_group(self, side: str) -> str:
        return self.green_target_group if side == "green" else self.blue_target_group


def _name_of(dimension: str) -> str:
    """The resource name inside a dimension value (``targetgroup/NAME/ID`` -> NAME)."""
    parts = dimension.split("/")
    return parts[-2] if len(parts) >= 3 else dimension


# --- The window ---------------------------------------------------------------------------------


def aligned_window(window: tuple[datetime, datetime], period: int) -> tuple[datetime, datetime] | None:
    """The complete sample periods inside ``window`` (aligned to the epoch, as CloudWatch aligns them):
    a period still running would be judged on part of its traffic. None when not one is complete."""
    start, end = (moment.timestamp() for moment in window)
    first = -(-start // period) * period  # the first period that starts inside the window
    last = end // period * period
    if last <= first:
        return None
    return datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(last, UTC)


# --- Queries and samples (pure) -----------------------------------------------------------------


def _query_id(index: int, side: str) -> str:
    # MetricDataQuery.Id: letters, digits and underscores, starting with a lower-case letter.
    return f"m{index}_{side}"


def _stat(
    metric_name: str, statistic: str, dimensions: Mapping[str, str], period: int, namespace: str
) -> dict[str, Any]:
    return {
        "Metric": {
            "Namespace": namespace,
            "MetricName": metric_name,
            "Dimensions": [{"Name": name, "Value": value} for name, value in sorted(dimensions.items())],
        },
        "Period": period,
        "Stat": statistic,
    }


def _dimensions(metric: MetricSettings, sides: Sides, side: str) -> dict[str, str]:
    fill = {
        TARGET_GROUP_PLACEHOLDER: sides.target_group(side),
        LOAD_BALANCER_PLACEHOLDER: sides.load_balancer,
    }
    return {name: fill.get(value, value) for name, value in metric.dimensions.items()}


def metric_queries(settings: AnalysisSettings, sides: Sides) -> list[dict[str, Any]]:
    """GetMetricData queries: each side's RequestCount (id ``requests_SIDE``), then each metric's."""
    period = settings.sample_period_seconds
    queries = []
    for side in SIDES:
        alb = {"TargetGroup": sides.target_group(side), "LoadBalancer": sides.load_balancer}
        queries.append(
            {
                "Id": f"requests_{side}",
                "MetricStat": _stat(REQUEST_COUNT, "Sum", alb, period, ALB_NAMESPACE),
                "ReturnData": True,
            }
        )
        for index, (name, metric) in enumerate(settings.metrics.items()):
            builtin = BUILTIN_METRICS.get(name)
            if builtin is not None:
                stat = _stat(builtin.metric_name, builtin.statistic, alb, period, ALB_NAMESPACE)
            else:
                assert metric.namespace and metric.metric and metric.statistic  # settings checked it
                stat = _stat(
                    metric.metric,
                    metric.statistic,
                    _dimensions(metric, sides, side),
                    period,
                    metric.namespace,
                )
            queries.append({"Id": _query_id(index, side), "MetricStat": stat, "ReturnData": True})
    return queries


def _rates(counts: Sequence[tuple[datetime, float]], requests: Mapping[datetime, float]) -> tuple[float, ...]:
    # ALB publishes HTTPCode_Target_5XX_Count only for periods that had one: a period with requests
    # and no count had none (rate 0). A period without requests has no rate at all.
    by_time = dict(counts)
    return tuple(by_time.get(at, 0.0) / served for at, served in sorted(requests.items()) if served > 0)


def samples_from(series: Series, settings: AnalysisSettings) -> dict[str, MetricSamples]:
    """The judge's samples from GetMetricData's series (ids as ``metric_queries`` names them)."""
    requests = {side: dict(series.get(f"requests_{side}", ())) for side in SIDES}
    out = {REQUESTS: MetricSamples(*(tuple(v for _, v in sorted(requests[side].items())) for side in SIDES))}
    for index, name in enumerate(settings.metrics):
        builtin = BUILTIN_METRICS.get(name)
        per_side = []
        for side in SIDES:
            points = series.get(_query_id(index, side), ())
            if builtin is not None and builtin.rate:
                per_side.append(_rates(points, requests[side]))
            else:
                per_side.append(tuple(value for _, value in sorted(points)))
        out[name] = MetricSamples(per_side[0], per_side[1])
    return out


# --- AWS ----------------------------------------------------------------------------------------


def sides_for(
    elbv2: Any,
    service: ResolvedService,
    green_target_group_arns: Sequence[str] = (),
    call: CallPolicy = cli_call,
) -> Sides:
    """The dimension values of the service's two target groups, the replacement's as green (the
    catalog's ``target_group_green`` when no ARN is given), and of its load balancer (ELBv2)."""
    from orchestrator.aws.elbv2 import load_balancer_arns, target_group_arns

    settings = service.settings
    names = (settings.target_group_blue, settings.target_group_green)
    arns = target_group_arns(elbv2, names, call)
    balancers = load_balancer_arns(elbv2, [settings.load_balancer], call)
    missing = [name for name in names if name not in arns]
    missing += [] if settings.load_balancer in balancers else [settings.load_balancer]
    if missing:
        raise AwsError(f"{service.name}: {', '.join(missing)} not found in ELBv2 ({service.region})")
    green = next(
        (name for name in names if arns[name] in green_target_group_arns), settings.target_group_green
    )
    blue = next(name for name in names if name != green)
    return Sides(
        target_group_dimension(arns[green]),
        target_group_dimension(arns[blue]),
        load_balancer_dimension(balancers[settings.load_balancer]),
    )


def _sides_from_metrics(cloudwatch: MetricsApi, service: ResolvedService, call: CallPolicy) -> Sides:
    """Sides found in CloudWatch itself (ListMetrics), the catalog's green as green."""
    settings = service.settings
    groups = list_dimension_values(cloudwatch, ALB_NAMESPACE, REQUEST_COUNT, "TargetGroup", call)
    balancers = list_dimension_values(cloudwatch, ALB_NAMESPACE, REQUEST_COUNT, "LoadBalancer", call)
    found = {_name_of(value): value for value in groups + balancers}
    names = (settings.target_group_green, settings.target_group_blue, settings.load_balancer)
    missing = [name for name in names if name not in found]
    if missing:
        raise AwsError(f"{service.name}: no {ALB_NAMESPACE} {REQUEST_COUNT} for {', '.join(missing)} yet")
    return Sides(*(found[name] for name in names))


def read_samples(
    cloudwatch_client: MetricsApi,
    service: ResolvedService,
    window: tuple[datetime, datetime],
    settings: AnalysisSettings,
    *,
    sides: Sides | None = None,
    call: CallPolicy = cli_call,
) -> dict[str, MetricSamples]:
    """Samples of every metric of ``settings`` (and the request counts) for green and blue over the
    complete periods of ``window``; empty samples when not one period is complete."""
    period = settings.sample_period_seconds
    aligned = aligned_window(window, period)
    if aligned is None:
        return samples_from({}, settings)
    sides = sides or _sides_from_metrics(cloudwatch_client, service, call)
    start, end = aligned
    series = get_metric_data(cloudwatch_client, metric_queries(settings, sides), start, end, call=call)
    # CloudWatch stamps a point with its period's start; a period starting at `end` is still running
    # (moto returns it as well).
    inside = {name: [(at, v) for at, v in points if start <= at < end] for name, points in series.items()}
    return samples_from(inside, settings)

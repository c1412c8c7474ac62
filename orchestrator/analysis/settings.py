"""A service's canary analysis settings in the catalog (`analysis:` at any layer). Pure.

What the judge (judge.py) compares, green against blue: the metrics (built-in ALB target-group
metrics by name, or any CloudWatch metric the catalog names), their weights (adding up to 100),
which are critical, how much worse each may get, the score thresholds and the no-data rule.
Every bad value is a one-line catalog error at load (exit 2), naming the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

# ALB metrics per target group (AWS/ApplicationELB, dimensions TargetGroup + LoadBalancer: "CloudWatch
# metrics for your Application Load Balancer", Elastic Load Balancing user guide).
ALB_NAMESPACE = "AWS/ApplicationELB"
REQUEST_COUNT = "RequestCount"
TARGET_5XX = "HTTPCode_Target_5XX_Count"
TARGET_4XX = "HTTPCode_Target_4XX_Count"
TARGET_RESPONSE_TIME = "TargetResponseTime"


@dataclass(frozen=True)
class BuiltinMetric:
    """A metric the judge knows by name: a CloudWatch statistic of the target group, or a rate
    (``count`` / RequestCount per period, both summed)."""

    metric_name: str
    statistic: str
    rate: bool = False


BUILTIN_METRICS: dict[str, BuiltinMetric] = {
    "5xx_rate": BuiltinMetric(TARGET_5XX, "Sum", rate=True),
    "4xx_rate": BuiltinMetric(TARGET_4XX, "Sum", rate=True),
    "mean_latency": BuiltinMetric(TARGET_RESPONSE_TIME, "Average"),
    "p50_latency": BuiltinMetric(TARGET_RESPONSE_TIME, "p50"),
    "p90_latency": BuiltinMetric(TARGET_RESPONSE_TIME, "p90"),
    "p95_latency": BuiltinMetric(TARGET_RESPONSE_TIME, "p95"),
    "p99_latency": BuiltinMetric(TARGET_RESPONSE_TIME, "p99"),
}

# In a catalog-defined metric's dimensions, these stand for the side being read (AWS's dimension
# values: `targetgroup/NAME/ID` and `app/NAME/ID`), so one definition reads blue and green.
TARGET_GROUP_PLACEHOLDER = "{target_group}"
LOAD_BALANCER_PLACEHOLDER = "{load_balancer}"

# CloudWatch statistics: the five simple ones and percentiles pNN / pNN.NN ("Statistics" and
# "Percentiles" in the CloudWatch user guide's concepts page).
_STATISTIC = re.compile(r"SampleCount|Average|Sum|Minimum|Maximum|p(100|[0-9]{1,2}(\.[0-9]{1,2})?)")
# GetMetricData MetricStat.Period: "a multiple of 60" for regular resolution; high-resolution
# metrics may also use 1, 5, 10, 20 or 30 (botocore cloudwatch MetricStat.Period).
_HIGH_RESOLUTION_PERIODS = (1, 5, 10, 20, 30)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricSettings(_Model):
    """One metric the judge compares: its weight, whether it is critical, and what is worse."""

    weight: float = Field(ge=0, le=100)
    critical: bool = False
    # How much worse green's mean may be than blue's, relative (0.2 = 20 %), once the difference is
    # significant; and an absolute change below which it never counts (a 5xx rate of 0 vs 0.001).
    # Finite: YAML's .inf would make the metric unable to fail while it still counts in the score.
    tolerance: float = Field(default=0.2, ge=0, allow_inf_nan=False)
    min_delta: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    # The direction that is bad: "increase" (5xx, latency), "decrease" (throughput), "either".
    direction: Literal["increase", "decrease", "either"] = "increase"
    # A catalog-defined metric (any name that is not built in) says what to read.
    namespace: str | None = None
    metric: str | None = None
    statistic: str | None = None
    dimensions: dict[str, str] = Field(default_factory=dict)

    @field_validator("statistic")
    @classmethod
    def _known_statistic(cls, value: str | None) -> str | None:
        if value is not None and not _STATISTIC.fullmatch(value):
            raise ValueError(
                f"unknown statistic {value!r}; use SampleCount, Average, Sum, Minimum, Maximum or pNN"
            )
        return value

    @property
    def custom(self) -> bool:
        return any((self.namespace, self.metric, self.statistic, self.dimensions))


def _check_metric(name: str, metric: MetricSettings) -> None:
    if name in BUILTIN_METRICS:
        if metric.custom:
            raise ValueError(
                f"{name} is built in (it reads {ALB_NAMESPACE}); remove namespace, metric, statistic and "
                "dimensions, or give the metric another name"
            )
        return
    if not (metric.namespace and metric.metric and metric.statistic):
        from orchestrator.catalog import did_you_mean

        hint = did_you_mean(name, list(BUILTIN_METRICS))
        raise ValueError(
            f"unknown metric {name!r}{hint}; built in: {', '.join(BUILTIN_METRICS)}; "
            "or give namespace, metric and statistic"
        )
    if TARGET_GROUP_PLACEHOLDER not in metric.dimensions.values():
        # Without it both sides read the same series: green would be judged against itself.
        raise ValueError(
            f"{name}: one of its dimensions must be {TARGET_GROUP_PLACEHOLDER!r} (the side being read), "
            "e.g. TargetGroup: '{target_group}'"
        )


def _known_metrics(metrics: dict[str, MetricSettings]) -> dict[str, MetricSettings]:
    for name, metric in metrics.items():
        _check_metric(name, metric)
    if "requests" in metrics:
        raise ValueError("'requests' is the judge's own request count; name the metric otherwise")
    return metrics


Metrics = Annotated[dict[str, MetricSettings], AfterValidator(_known_metrics)]


def _default_metrics() -> dict[str, MetricSettings]:
    # A 5xx rate that climbs is a failure on its own (critical), but not a rise from 0.1 % to 0.3 %
    # (min_delta: half a percentage point); p99 latency may be a fifth slower before it counts.
    return {
        "5xx_rate": MetricSettings(weight=50, critical=True, tolerance=0.5, min_delta=0.005),
        "p99_latency": MetricSettings(weight=50, tolerance=0.2),
    }


class AnalysisSettings(_Model):
    """How the judge compares green with blue for one service in one environment."""

    enabled: bool = False
    metrics: Metrics = Field(default_factory=_default_metrics)
    # Spinnaker's canary configs default to a pass score of 95 and a marginal score of 75
    # (Kayenta's CanaryClassifierThresholdsConfig: pass, marginal; spinnaker.io canary config guide).
    pass_score: float = Field(default=95, gt=0, le=100)
    marginal_score: float = Field(default=75, ge=0, le=100)
    # Significance: a difference counts when p < 1 - confidence (Kayenta's confLevel 0.95).
    confidence: float = Field(default=0.95, gt=0, lt=1)
    # The no-data rule: fewer green requests over the window, or fewer samples (periods) on a side
    # of a metric, and the judgement is INCONCLUSIVE, never PASS. Five samples a side is the least
    # at which the exact test can reach p < 0.05 with room (2/252 = 0.008; four give 0.029).
    min_requests: int = Field(default=50, ge=0)
    min_samples: int = Field(default=5, ge=2)
    sample_period_seconds: int = Field(default=60, ge=1)
    # Amazon ECS runs the judge before every production step (PRE_PRODUCTION_TRAFFIC_SHIFT, in the
    # BeforeAllowTraffic hook). When it is INCONCLUSIVE there after green got production traffic:
    # "continue" (default) lets the step go on, unjudged, as CodeDeploy's traffic goes on while the
    # scheduled judge has too little data; "wait" asks ECS to invoke it again a sample period later
    # (the traffic stays where it is) for up to inconclusive_wait_minutes, then lets the step go on;
    # "fail" rolls back. Before the first step green has no production traffic: nothing to judge.
    on_inconclusive: Literal["wait", "continue", "fail"] = "continue"
    inconclusive_wait_minutes: int = Field(default=10, ge=0, le=1440)

    @field_validator("sample_period_seconds")
    @classmethod
    def _cloudwatch_period(cls, value: int) -> int:
        if value % 60 and value not in _HIGH_RESOLUTION_PERIODS:
            raise ValueError(f"must be 1, 5, 10, 20, 30 or a multiple of 60 (got {value})")
        return value

    @model_validator(mode="after")
    def _whole(self) -> AnalysisSettings:
        total = sum(metric.weight for metric in self.metrics.values())
        if not self.metrics:
            raise ValueError("metrics: name at least one metric")
        if abs(total - 100) > 1e-6:
            weights = ", ".join(f"{name} {metric.weight:g}" for name, metric in self.metrics.items())
            raise ValueError(f"metric weights add up to {total:g} ({weights}); they must add up to 100")
        if self.marginal_score > self.pass_score:
            raise ValueError(
                f"marginal_score {self.marginal_score:g} is above pass_score {self.pass_score:g}"
            )
        return self

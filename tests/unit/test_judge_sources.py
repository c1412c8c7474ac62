"""What the judge reads (orchestrator/analysis/sources.py): the window's complete periods, the
GetMetricData queries, CloudWatch's series turned into samples (tables), and the whole read against
moto's CloudWatch (with the sandbox's percentile fix) and FakeElbv2 for the sides."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orchestrator.analysis.judge import REQUESTS, MetricSamples, Verdict, judge
from orchestrator.analysis.settings import AnalysisSettings
from orchestrator.analysis.sources import (
    Sides,
    aligned_window,
    metric_queries,
    read_samples,
    samples_from,
    sides_for,
)
from orchestrator.catalog import Catalog
from orchestrator.errors import AwsError
from tests.support.fakes import FakeElbv2

T0 = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
SIDES = Sides("targetgroup/shop-green/2", "targetgroup/shop-blue/1", "app/shop-alb/9")
SETTINGS = AnalysisSettings.model_validate(
    {
        "enabled": True,
        "metrics": {
            "5xx_rate": {"weight": 50, "critical": True, "tolerance": 0.5, "min_delta": 0.005},
            "p99_latency": {"weight": 30},
            "queue_depth": {
                "weight": 20,
                "namespace": "shop/Queue",
                "metric": "Depth",
                "statistic": "Maximum",
                "dimensions": {"TargetGroup": "{target_group}", "Balancer": "{load_balancer}", "Env": "dev"},
            },
        },
    }
)

ALB_ONLY = AnalysisSettings.model_validate(
    {
        "enabled": True,
        "metrics": {
            "5xx_rate": {"weight": 60, "critical": True, "tolerance": 0.5, "min_delta": 0.005},
            "p99_latency": {"weight": 40},
        },
    }
)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("start", "end", "period", "expected"),
    [
        pytest.param(_at(0), _at(5), 60, (_at(0), _at(5)), id="aligned"),
        pytest.param(_at(0.5), _at(5.5), 60, (_at(1), _at(5)), id="partial-periods-left-out"),
        pytest.param(_at(0.2), _at(0.9), 60, None, id="inside-one-period"),
        pytest.param(_at(0.5), _at(1.5), 60, None, id="no-complete-period"),
        pytest.param(_at(0), _at(0.5), 10, (_at(0), _at(0.5)), id="high-resolution"),
    ],
)
def test_aligned_window_keeps_complete_periods_only(
    start: datetime, end: datetime, period: int, expected: tuple[datetime, datetime] | None
) -> None:
    assert aligned_window((start, end), period) == expected


def test_queries_read_each_side_with_alb_dimensions_and_fill_placeholders() -> None:
    queries = {query["Id"]: query["MetricStat"] for query in metric_queries(SETTINGS, SIDES)}
    assert list(queries) == [
        "requests_green", "m0_green", "m1_green", "m2_green",
        "requests_blue", "m0_blue", "m1_blue", "m2_blue",
    ]  # fmt: skip
    assert queries["requests_blue"]["Metric"] == {
        "Namespace": "AWS/ApplicationELB",
        "MetricName": "RequestCount",
        "Dimensions": [
            {"Name": "LoadBalancer", "Value": "app/shop-alb/9"},
            {"Name": "TargetGroup", "Value": "targetgroup/shop-blue/1"},
        ],
    }
    assert (queries["m0_green"]["Metric"]["MetricName"], queries["m0_green"]["Stat"]) == (
        "HTTPCode_Target_5XX_Count",
        "Sum",
    )
    assert (queries["m1_green"]["Metric"]["MetricName"], queries["m1_green"]["Stat"]) == (
        "TargetResponseTime",
        "p99",
    )
    assert queries["m2_green"]["Metric"]["Dimensions"] == [
        {"Name": "Balancer", "Value": "app/shop-alb/9"},
        {"Name": "Env", "Value": "dev"},
        {"Name": "TargetGroup", "Value": "targetgroup/shop-green/2"},
    ]
    assert {stat["Period"] for stat in queries.values()} == {60}


def test_samples_from_series_make_rates_per_period() -> None:
    series = {
        "requests_green": [(_at(0), 100.0), (_at(1), 0.0), (_at(2), 50.0)],
        "requests_blue": [(_at(0), 900.0), (_at(1), 900.0), (_at(2), 900.0)],
        # ALB leaves out the 5xx count of a period without one: green's minute 2 had none.
        "m0_green": [(_at(0), 3.0)],
        "m0_blue": [(_at(0), 9.0), (_at(1), 0.0), (_at(2), 18.0)],
        "m1_green": [(_at(0), 0.3), (_at(2), 0.4)],
        "m1_blue": [(_at(0), 0.2), (_at(1), 0.2), (_at(2), 0.2)],
    }
    samples = samples_from(series, SETTINGS)
    assert samples[REQUESTS] == MetricSamples((100.0, 0.0, 50.0), (900.0, 900.0, 900.0))
    # the period without requests has no rate (not a 0 % that would flatter green)
    assert samples["5xx_rate"] == MetricSamples((0.03, 0.0), (0.01, 0.0, 0.02))
    assert samples["p99_latency"] == MetricSamples((0.3, 0.4), (0.2, 0.2, 0.2))
    assert samples["queue_depth"] == MetricSamples((), ())


def test_sides_green_is_the_replacements_target_group(real_catalog: Catalog) -> None:
    service = real_catalog.resolve("product-service", "dev")
    elbv2 = FakeElbv2()
    blue_arn = elbv2.add_target_group("product-service-blue")
    elbv2.add_target_group("product-service-green")
    elbv2.add_load_balancer("doa-market-dev-alb")
    # this deployment's replacement is behind the catalog's "blue" target group (the roles swap)
    sides = sides_for(elbv2, service, [blue_arn])
    assert sides.green_target_group.startswith("targetgroup/product-service-blue/")
    assert sides.blue_target_group.startswith("targetgroup/product-service-green/")
    assert sides.load_balancer.startswith("app/doa-market-dev-alb/")
    assert sides_for(elbv2, service).green_target_group.startswith("targetgroup/product-service-green/")


def test_sides_name_what_is_missing(real_catalog: Catalog) -> None:
    elbv2 = FakeElbv2()
    elbv2.add_target_group("product-service-blue")
    with pytest.raises(AwsError, match="product-service-green, doa-market-dev-alb not found in ELBv2"):
        sides_for(elbv2, real_catalog.resolve("product-service", "dev"))


# --- Against moto's CloudWatch ---------------------------------------------------------------


@pytest.fixture
def cloudwatch() -> Iterator[Any]:
    moto = pytest.importorskip("moto")
    import boto3
    from moto.cloudwatch.models import Statistics

    from sandbox import moto_percentiles

    original = Statistics.get_statistics_for_type
    moto_percentiles.install()
    try:
        with moto.mock_aws():
            yield boto3.client("cloudwatch", region_name="ap-northeast-2")
    finally:
        Statistics.get_statistics_for_type = original  # type: ignore[method-assign]


def _publish(
    cloudwatch: Any,
    target_group: str,
    minute: int,
    requests: int,
    errors: int,
    slow: float,
    balancer: str = SIDES.load_balancer,
) -> None:
    # Dimensions by name, as the sandbox publishes them: moto's Dimension ordering is broken
    # (its __lt__ compares a value with a name), so it matches a query only in the same order.
    dims = [{"Name": "LoadBalancer", "Value": balancer}, {"Name": "TargetGroup", "Value": target_group}]
    ok = requests - errors
    latencies = {0.1: ok * 0.6, 0.2: ok * 0.39, slow: ok * 0.01 + errors}
    cloudwatch.put_metric_data(
        Namespace="AWS/ApplicationELB",
        MetricData=[
            {"MetricName": "RequestCount", "Dimensions": dims, "Timestamp": _at(minute), "Value": requests},
            {
                "MetricName": "HTTPCode_Target_5XX_Count",
                "Dimensions": dims,
                "Timestamp": _at(minute),
                "Value": errors,
            },
            {
                "MetricName": "TargetResponseTime",
                "Dimensions": dims,
                "Timestamp": _at(minute),
                "Values": list(latencies),
                "Counts": [round(count) for count in latencies.values()],
            },
        ],
    )


def _canary(cloudwatch: Any, green_errors: int, green_slow: float) -> None:
    for minute in range(8):
        _publish(cloudwatch, SIDES.green_target_group, minute, 200, green_errors + minute % 2, green_slow)
        _publish(cloudwatch, SIDES.blue_target_group, minute, 1800, 9 + minute % 3, 0.5)
    # minute 8 is still running: half its traffic so far, and a spike that must not be judged yet
    _publish(cloudwatch, SIDES.green_target_group, 8, 100, 50, 5.0)


def test_read_samples_against_cloudwatch_and_judge_a_regression(
    cloudwatch: Any, real_catalog: Catalog
) -> None:
    settings = ALB_ONLY
    _canary(cloudwatch, green_errors=6, green_slow=0.7)  # 5xx 0.5 % -> 3 %, p99 0.5 s -> 0.7 s
    service = real_catalog.resolve("product-service", "dev")

    samples = read_samples(cloudwatch, service, (_at(0), _at(8.5)), settings, sides=SIDES)

    assert samples[REQUESTS].green == (200.0,) * 8  # the running minute 8 is not read
    assert samples["p99_latency"].green == (0.7,) * 8
    assert samples["p99_latency"].blue == (0.5,) * 8
    assert samples["5xx_rate"].blue == tuple((9 + m % 3) / 1800 for m in range(8))
    result = judge(samples, settings)
    assert result.verdict is Verdict.FAIL
    assert result.reason.startswith("critical metric 5xx_rate failed")


def test_read_samples_finds_the_sides_in_cloudwatch_when_not_given(
    cloudwatch: Any, real_catalog: Catalog
) -> None:
    balancer = "app/doa-market-dev-alb/7"  # the catalog's load balancer for product-service in dev
    for minute in range(6):
        _publish(cloudwatch, "targetgroup/product-service-green/2", minute, 300, 1, 0.5, balancer)
        _publish(cloudwatch, "targetgroup/product-service-blue/1", minute, 900, 1, 0.5, balancer)
    service = real_catalog.resolve("product-service", "dev")
    samples = read_samples(cloudwatch, service, (_at(0), _at(6)), ALB_ONLY)
    assert samples[REQUESTS] == MetricSamples((300.0,) * 6, (900.0,) * 6)


def test_without_sides_and_without_metrics_the_read_says_what_is_missing(
    cloudwatch: Any, real_catalog: Catalog
) -> None:
    service = real_catalog.resolve("product-service", "dev")
    with pytest.raises(AwsError, match="no AWS/ApplicationELB RequestCount for product-service-green"):
        read_samples(cloudwatch, service, (_at(0), _at(6)), ALB_ONLY)


def test_no_complete_period_reads_nothing(real_catalog: Catalog) -> None:
    service = real_catalog.resolve("product-service", "dev")
    samples = read_samples(object(), service, (_at(0.2), _at(0.9)), SETTINGS)  # type: ignore[arg-type]
    assert samples[REQUESTS] == MetricSamples((), ())
    assert judge(samples, SETTINGS).reason == "no green traffic yet"


class PagedMetrics:
    """GetMetricData answering in pages (NextToken), recording each request."""

    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages
        self.requests: list[dict[str, Any]] = []

    def get_metric_data(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        return self.pages[len(self.requests) - 1]

    def list_metrics(self, **request: Any) -> dict[str, Any]:
        raise AssertionError("not asked")


def test_get_metric_data_reads_every_page_and_500_queries_a_call() -> None:
    from orchestrator.aws.cloudwatch import get_metric_data

    queries = [{"Id": f"m{i}"} for i in range(501)]
    page = {"MetricDataResults": [{"Id": "m0", "Timestamps": [_at(1)], "Values": [2.0]}], "NextToken": "t"}
    last = {"MetricDataResults": [{"Id": "m0", "Timestamps": [_at(0)], "Values": [1.0]}]}
    fake = PagedMetrics([page, last, {"MetricDataResults": [{"Id": "m500", "Timestamps": [], "Values": []}]}])
    series = get_metric_data(fake, queries, _at(0), _at(2))
    assert series["m0"] == [(_at(0), 1.0), (_at(1), 2.0)]
    assert series["m500"] == []
    assert [len(r["MetricDataQueries"]) for r in fake.requests] == [500, 500, 1]
    assert fake.requests[1]["NextToken"] == "t"
    assert fake.requests[0]["ScanBy"] == "TimestampAscending"

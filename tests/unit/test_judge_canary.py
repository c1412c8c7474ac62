"""One deployment's canary analysis (orchestrator/analysis/canary.py): the traffic window from what
the engine says (a table over both engines' shapes), and `analyze` on fakes: the replacement's target
group is green, the window's samples are judged, no window reads nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from orchestrator.analysis.canary import (
    NEVER_TOGETHER,
    NO_GREEN_TRAFFIC,
    TrafficWindow,
    analyze,
    traffic_window,
)
from orchestrator.analysis.judge import Verdict
from orchestrator.catalog import Catalog
from orchestrator.insight.evidence import Inspection, Outcome, Step, TrafficPoint
from tests.support.fakes import FakeElbv2
from tests.support.insight import T0, facts


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


NOW = _at(30)
CANARY = (TrafficPoint(_at(2), 10.0), TrafficPoint(_at(7), 100.0))


def _inspection(
    traffic: tuple[TrafficPoint, ...] = (), steps: tuple[Step, ...] = (), **more: Any
) -> Inspection:
    return Inspection(facts=facts(**more), steps=steps, traffic=traffic)


@pytest.mark.parametrize(
    ("inspection", "expected"),
    [
        pytest.param(_inspection(CANARY, outcome=Outcome.SUCCEEDED), (_at(2), _at(7)), id="canary-to-100"),
        pytest.param(
            _inspection((TrafficPoint(_at(2), 10.0), TrafficPoint(_at(4), 0.0))),
            (_at(2), _at(4)),
            id="rolled-back",
        ),
        pytest.param(
            _inspection(
                (TrafficPoint(_at(2), 10.0), TrafficPoint(_at(3), 20.0), TrafficPoint(_at(12), 100.0)),
                outcome=Outcome.SUCCEEDED,
            ),
            (_at(2), _at(10)),  # the deployment's facts end at T0 + 10 min: nothing after the end
            id="linear-cut-at-completion",
        ),
        pytest.param(
            _inspection((TrafficPoint(_at(2), 10.0),), outcome=Outcome.IN_PROGRESS, completed=None),
            (_at(2), NOW),
            id="running-canary-until-now",
        ),
        pytest.param(_inspection(()), NO_GREEN_TRAFFIC, id="never-shifted"),
        pytest.param(_inspection((TrafficPoint(_at(1), 0.0),)), NO_GREEN_TRAFFIC, id="ecs-before-the-shift"),
        pytest.param(_inspection((TrafficPoint(_at(2), 100.0),)), NEVER_TOGETHER, id="all-at-once"),
        pytest.param(
            _inspection((), (Step("AllowTraffic", "Pending"),)),
            NO_GREEN_TRAFFIC,
            id="codedeploy-shift-pending",
        ),
        pytest.param(
            _inspection((), (Step("PRODUCTION_TRAFFIC_SHIFT", "IN_PROGRESS"),), engine="ecs", completed=None),
            (T0, NOW),
            id="ecs-shifting-no-times",
        ),
    ],
)
def test_traffic_window(inspection: Inspection, expected: tuple[datetime, datetime] | str) -> None:
    window = traffic_window(inspection, NOW)
    found = (window.start, window.end) if isinstance(window, TrafficWindow) else window
    assert found == expected


class Metrics:
    """GetMetricData answering every query with one point a minute: green's 5xx count is ``errors``."""

    def __init__(self, errors: float) -> None:
        self.errors = errors
        self.requests: list[dict[str, Any]] = []

    def get_metric_data(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        minutes = int((request["EndTime"] - request["StartTime"]).total_seconds() // 60)
        stamps = [request["StartTime"] + timedelta(minutes=m) for m in range(minutes)]
        results = []
        for query in request["MetricDataQueries"]:
            name = query["MetricStat"]["Metric"]["MetricName"]
            green = query["Id"].endswith("green")
            value = {
                "RequestCount": 200.0 if green else 1800.0,
                "HTTPCode_Target_5XX_Count": self.errors if green else 9.0,
                "TargetResponseTime": 0.25,
            }[name]
            results.append({"Id": query["Id"], "Timestamps": stamps, "Values": [value] * len(stamps)})
        return {"MetricDataResults": results}

    def list_metrics(self, **request: Any) -> dict[str, Any]:
        raise AssertionError("the sides come from ELBv2")


class Clients:
    def __init__(self, errors: float) -> None:
        self.elbv2 = FakeElbv2()
        self.green_arn = self.elbv2.add_target_group("product-service-blue")  # the roles swapped
        self.elbv2.add_target_group("product-service-green")
        self.elbv2.add_load_balancer("doa-market-dev-alb")
        self.cloudwatch = Metrics(errors)

    def client(self, name: str) -> Any:
        return {"elbv2": self.elbv2, "cloudwatch": self.cloudwatch}[name]


@pytest.mark.parametrize(("errors", "verdict"), [(1.0, Verdict.PASS), (6.0, Verdict.FAIL)])
def test_analyze_judges_the_window_with_the_replacement_as_green(
    real_catalog: Catalog, errors: float, verdict: Verdict
) -> None:
    service = real_catalog.resolve("product-service", "dev")
    clients = Clients(errors)
    inspection = Inspection(
        facts=facts(outcome=Outcome.SUCCEEDED), traffic=CANARY, green_target_groups=(clients.green_arn,)
    )
    analysis = analyze(inspection, service, clients, NOW)
    assert analysis.sides is not None
    assert analysis.sides.green_target_group.startswith("targetgroup/product-service-blue/")
    assert (analysis.window.start, analysis.window.end) == (_at(2), _at(7))  # type: ignore[union-attr]
    assert analysis.judgement.verdict is verdict, analysis.judgement.reason
    assert analysis.judgement.green_requests == 5 * 200
    request = clients.cloudwatch.requests[0]
    assert (request["StartTime"], request["EndTime"]) == (_at(2), _at(7))


def test_analyze_without_green_traffic_reads_nothing(real_catalog: Catalog) -> None:
    service = real_catalog.resolve("product-service", "dev")
    clients = Clients(0.0)
    analysis = analyze(_inspection(()), service, clients, NOW)
    assert analysis.judgement.verdict is Verdict.INCONCLUSIVE
    assert analysis.judgement.reason == NO_GREEN_TRAFFIC
    assert analysis.window is None and analysis.sides is None
    assert clients.cloudwatch.requests == [] and not clients.elbv2.counter.calls

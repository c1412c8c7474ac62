"""The canary analysis function (hooks/analysis.py) and what it reads (hooks/canaries.py), and the ECS
judge's decisions (hooks/native_analysis.py): pure parts as tables; one scheduled run against
botocore Stubbers that pin every request, from ListDeployments to StopDeployment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from hooks import analysis
from hooks.canaries import Canary, codedeploy_canary, ecs_canary
from hooks.native_analysis import InconclusiveWait, answer_time, green_weight, inconclusive_step
from hooks.native_event import NativeEventError
from orchestrator.analysis.judge import Judgement, Verdict
from orchestrator.analysis.settings import AnalysisSettings
from orchestrator.analysis.sources import Sides, metric_queries

SHIFT = datetime(2026, 11, 30, 8, 0, 25, tzinfo=UTC)
BLUE_ARN = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/product-service-blue/1111"
GREEN_ARN = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/product-service-green/2222"
LB_ARN = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:loadbalancer/app/doa-market-dev-alb/3333"


def ecs_target(
    allow_traffic: str = "InProgress", labels: tuple[str, str] = ("Blue", "Green")
) -> dict[str, Any]:
    return {
        "deploymentTargetType": "ECSTarget",
        "ecsTarget": {
            "deploymentId": "d-ABCDEFGHI",
            "targetId": "doa-market-cluster:product-service",
            "lifecycleEvents": [
                {"lifecycleEventName": "BeforeAllowTraffic", "status": "Succeeded", "startTime": SHIFT},
                {"lifecycleEventName": "AllowTraffic", "status": allow_traffic, "startTime": SHIFT},
            ],
            "taskSetsInfo": [
                {
                    "identifer": "ecs-svc/1",
                    "taskSetLabel": labels[0],
                    "targetGroup": {"name": "product-service-blue"},
                },
                {
                    "identifer": "ecs-svc/2",
                    "taskSetLabel": labels[1],
                    "targetGroup": {"name": "product-service-green"},
                },
            ],
        },
    }


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            ecs_target(),
            Canary("d-ABCDEFGHI", "codedeploy", SHIFT, "product-service-green", "product-service-blue"),
        ),
        # green is whichever task set CodeDeploy labels Green (blue and green swap every deployment)
        (
            ecs_target(labels=("Green", "Blue")),
            Canary("d-ABCDEFGHI", "codedeploy", SHIFT, "product-service-blue", "product-service-green"),
        ),
        (ecs_target("Pending"), None),  # before the shift
        (ecs_target("Succeeded"), None),  # after it: blue has no traffic to compare with
        ({"ecsTarget": {"lifecycleEvents": []}}, None),
    ],
)
def test_a_codedeploy_canary_is_under_way_while_allow_traffic_is(
    target: dict[str, Any], expected: Canary | None
) -> None:
    assert codedeploy_canary("d-ABCDEFGHI", target) == expected


PAIR = (BLUE_ARN, GREEN_ARN)
SD = "arn:aws:ecs:ap-northeast-2:123456789012:service-deployment/doa-market-cluster/inventory-service/x1"


@pytest.mark.parametrize(
    ("stage", "status", "revision_groups", "expected"),
    [
        ("PRODUCTION_TRAFFIC_SHIFT", "IN_PROGRESS", [GREEN_ARN], (GREEN_ARN, BLUE_ARN)),
        ("PRODUCTION_TRAFFIC_SHIFT", "IN_PROGRESS", [BLUE_ARN], (BLUE_ARN, GREEN_ARN)),
        ("PRODUCTION_TRAFFIC_SHIFT", "IN_PROGRESS", [], (GREEN_ARN, BLUE_ARN)),  # the alternate
        ("POST_TEST_TRAFFIC_SHIFT", "IN_PROGRESS", [GREEN_ARN], None),
        ("BAKE_TIME", "IN_PROGRESS", [GREEN_ARN], None),
        ("PRODUCTION_TRAFFIC_SHIFT", "ROLLBACK_IN_PROGRESS", [GREEN_ARN], None),
    ],
)
def test_an_ecs_canary_is_under_way_while_production_traffic_shifts(
    stage: str, status: str, revision_groups: list[str], expected: tuple[str, str] | None
) -> None:
    deployment = {"serviceDeploymentArn": SD, "status": status, "lifecycleStage": stage, "startedAt": SHIFT}
    found = ecs_canary(deployment, PAIR, revision_groups)
    if expected is None:
        assert found is None
    else:
        assert found == Canary(SD, "ecs", SHIFT, *expected)


WAIT = AnalysisSettings(on_inconclusive="wait", inconclusive_wait_minutes=3)


@pytest.mark.parametrize(
    ("settings", "waited", "passed", "delay", "carried"),
    [
        (WAIT, 0.0, True, 60, 60.0),  # ask again a sample period later
        (WAIT, 150.0, True, 30, 180.0),  # at most what is left of the wait
        (WAIT, 180.0, True, None, 180.0),  # the wait is over: the step goes on, unjudged
        (AnalysisSettings(on_inconclusive="continue"), 0.0, True, None, 0.0),
        (AnalysisSettings(on_inconclusive="fail"), 0.0, False, None, 0.0),
    ],
)
def test_inconclusive_on_ecs_follows_the_catalog(
    settings: AnalysisSettings, waited: float, passed: bool, delay: int | None, carried: float
) -> None:
    result, got_delay, wait = inconclusive_step(
        settings, InconclusiveWait("e1", waited), "green served 12 requests"
    )

    assert (result.passed, got_delay, wait.waited_s) == (passed, delay, carried)
    assert "INCONCLUSIVE" in result.detail and "green served 12 requests" in result.detail


def test_the_wait_travels_in_hook_details_for_its_own_execution_only() -> None:
    details = InconclusiveWait("e1", 120.0).to_details({"description": "kept"})

    assert details["description"] == "kept"
    assert InconclusiveWait.from_details(details, "e1") == InconclusiveWait("e1", 120.0)
    assert InconclusiveWait.from_details(details, "e2") == InconclusiveWait("e2", 0.0)
    with pytest.raises(NativeEventError):
        InconclusiveWait.from_details(
            {"bluegreen": {"executionId": "e1", "inconclusiveWaitedSeconds": -1}}, "e1"
        )


def test_green_weight_and_the_services_clock() -> None:
    rule = {"Actions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": BLUE_ARN, "Weight": 90}, {"TargetGroupArn": GREEN_ARN, "Weight": 10}
    ]}}]}  # fmt: skip
    assert (green_weight(rule, GREEN_ARN), green_weight({}, GREEN_ARN)) == (10, 0)
    answer = {"ResponseMetadata": {"HTTPHeaders": {"date": "Mon, 30 Nov 2026 09:21:50 GMT"}}}
    assert answer_time(answer) == datetime(2026, 11, 30, 9, 21, 50, tzinfo=UTC)
    assert answer_time({}) is None


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"time": "2026-11-30T09:21:00Z"}, datetime(2026, 11, 30, 9, 21, tzinfo=UTC)),
        ({}, datetime(2000, 1, 1, tzinfo=UTC)),
        ({"time": "yesterday"}, datetime(2000, 1, 1, tzinfo=UTC)),
    ],
)
def test_the_judged_minute_is_the_scheduled_events_time(event: dict[str, Any], expected: datetime) -> None:
    assert analysis.event_time(event, lambda: datetime(2000, 1, 1, tzinfo=UTC)) == expected


# --- one scheduled run on Stubbers ------------------------------------------------------------------


def _client(name: str) -> Any:
    return boto3.client(
        name, region_name="ap-northeast-2", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def _series(now: datetime, failed: bool) -> dict[str, Any]:
    """GetMetricData's answer: six complete minutes; green's 5xx rate 10 % when ``failed``."""
    settings = analysis.resolved_service("product-service", "dev").settings.analysis
    queries = metric_queries(settings, Sides("g", "b", "lb"))
    minutes = [SHIFT.replace(second=0) + timedelta(minutes=n) for n in range(1, 7)]
    values = {"requests_green": 120.0, "requests_blue": 1080.0, "m0_green": 12.0 if failed else 0.0}
    results = []
    for query in queries:
        qid = query["Id"]
        if qid.startswith("m0_") and not values.get(qid):
            results.append({"Id": qid, "Timestamps": [], "Values": [], "StatusCode": "Complete"})
            continue
        value = values.get(qid, 0.05)
        results.append({"Id": qid, "Timestamps": minutes, "Values": [value] * 6, "StatusCode": "Complete"})
    return {"MetricDataResults": results, "Messages": []}


@pytest.mark.parametrize("failed", [True, False], ids=["5xx-regression", "healthy"])
def test_a_scheduled_run_judges_publishes_and_stops_a_failing_canary(
    monkeypatch: pytest.MonkeyPatch, repo_root: Any, failed: bool
) -> None:
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(repo_root / "services.yaml"))
    now = SHIFT + timedelta(minutes=7)
    clients = {name: _client(name) for name in ("codedeploy", "elbv2", "cloudwatch")}
    stubs = {name: Stubber(client) for name, client in clients.items()}
    codedeploy, elbv2, cloudwatch = stubs["codedeploy"], stubs["elbv2"], stubs["cloudwatch"]
    codedeploy.add_response(
        "list_deployments",
        {"deployments": ["d-ABCDEFGHI"]},
        {
            "applicationName": "doa-market-dev",
            "deploymentGroupName": "product-service",
            "includeOnlyStatuses": ["InProgress"],
        },
    )
    target_id = "doa-market-cluster:product-service"
    codedeploy.add_response(
        "list_deployment_targets", {"targetIds": [target_id]}, {"deploymentId": "d-ABCDEFGHI"}
    )
    codedeploy.add_response(
        "batch_get_deployment_targets",
        {"deploymentTargets": [ecs_target()]},
        {"deploymentId": "d-ABCDEFGHI", "targetIds": [target_id]},
    )
    elbv2.add_response(
        "describe_target_groups",
        {
            "TargetGroups": [
                {
                    "TargetGroupName": "product-service-green",
                    "TargetGroupArn": GREEN_ARN,
                    "LoadBalancerArns": [LB_ARN],
                },
                {
                    "TargetGroupName": "product-service-blue",
                    "TargetGroupArn": BLUE_ARN,
                    "LoadBalancerArns": [LB_ARN],
                },
            ]
        },
        {"Names": ["product-service-green", "product-service-blue"]},
    )
    cloudwatch.add_response("get_metric_data", _series(now, failed), {
        "MetricDataQueries": ANY, "StartTime": SHIFT.replace(second=0) + timedelta(minutes=1),
        "EndTime": now.replace(second=0), "ScanBy": ANY,
    })  # fmt: skip
    cloudwatch.add_response(
        "put_metric_data",
        {},
        {
            "Namespace": "bluegreen/Analysis",
            "MetricData": [
                {
                    "MetricName": "CanaryVerdict",
                    "Dimensions": [
                        {"Name": "Service", "Value": "product-service"},
                        {"Name": "Environment", "Value": "dev"},
                    ],
                    "Timestamp": now,
                    "Value": 1.0 if failed else 0.0,
                    "Unit": "Count",
                }
            ],
        },
    )
    if failed:
        codedeploy.add_response(
            "stop_deployment",
            {"status": "Pending", "statusMessage": "Stopping"},
            {"deploymentId": "d-ABCDEFGHI", "autoRollbackEnabled": True},
        )
    for stub in stubs.values():
        stub.activate()

    result = analysis.run(
        {"time": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "environment": "dev"}, clients.__getitem__
    )

    for stub in stubs.values():
        stub.assert_no_pending_responses()
    [judged] = result["judged"]
    assert (judged["service"], judged["deploymentId"], judged["stopped"]) == (
        "product-service",
        "d-ABCDEFGHI",
        failed,
    )
    assert judged["verdict"] == ("FAIL" if failed else "PASS"), judged
    assert result["failures"] == {}


# --- each verdict's consequence (breaker14: hand mutations no test caught) --------------------------

_ANALYSED = [
    pytest.param(Verdict.PASS, True, 0.0, False, id="pass"),
    pytest.param(Verdict.MARGINAL, True, 0.0, False, id="marginal"),
    pytest.param(Verdict.INCONCLUSIVE, True, 0.0, False, id="inconclusive"),
    pytest.param(Verdict.FAIL, True, 1.0, True, id="fail"),
    # the ECS judge hook answers FAILED instead: ECS rolls back, a stop of its own would race it
    pytest.param(Verdict.FAIL, False, 1.0, False, id="fail-in-the-ecs-hook"),
]


@pytest.mark.parametrize(("verdict", "stop", "value", "stopped"), _ANALYSED)
def test_only_a_fail_writes_1_and_only_the_scheduled_function_stops(
    monkeypatch: pytest.MonkeyPatch, repo_root: Any, verdict: Verdict, stop: bool, value: float, stopped: bool
) -> None:
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(repo_root / "services.yaml"))
    judgement = Judgement(verdict, None, (), "why", 120.0, 1080.0)
    written: list[float] = []
    stops: list[str] = []
    monkeypatch.setattr(analysis, "judge_canary", lambda *args: judgement)
    monkeypatch.setattr(
        analysis,
        "publish_verdict",
        lambda client, service, failed, at: written.append(
            analysis.verdict_datum(service, failed, at)["Value"]
        ),
    )
    monkeypatch.setattr(
        analysis, "stop_with_rollback", lambda client, canary: stops.append(canary.deployment_id)
    )
    service = analysis.resolved_service("product-service", "dev")
    canary = Canary("d-ABCDEFGHI", "codedeploy", SHIFT, GREEN_ARN, BLUE_ARN)

    judged = analysis.analyse(lambda name: None, service, canary, SHIFT, stop=stop)

    assert written == [value]
    assert (stops == ["d-ABCDEFGHI"], judged.stopped) == (stopped, stopped)


def _native_context(green: str) -> Any:
    balancer = SimpleNamespace(
        target_group_arn=BLUE_ARN, alternate_target_group_arn=GREEN_ARN, production_listener_rule="rule"
    )
    event = SimpleNamespace(resource_arn="arn:aws:ecs:ap-northeast-2:123456789012:service-deployment/c/s/1",
                            hook_details={}, execution_id="e-1")  # fmt: skip
    return SimpleNamespace(
        service=SimpleNamespace(name="product-service", environment="dev"),
        ecs_service=SimpleNamespace(load_balancer=balancer),
        green_target_group_arn=green,
        elbv2=None,
        event=event,
        client=lambda name: None,
    )


@pytest.mark.parametrize(
    ("verdict", "weight", "status", "detail"),
    [
        pytest.param(Verdict.PASS, 10, "Succeeded", "PASS: why", id="pass"),
        pytest.param(Verdict.MARGINAL, 10, "Succeeded", "MARGINAL: why", id="marginal-goes-on"),
        pytest.param(Verdict.FAIL, 10, "Failed", "FAIL: why", id="fail-rolls-back"),
        pytest.param(
            Verdict.INCONCLUSIVE, 10, "Succeeded", "INCONCLUSIVE: why; the step goes on", id="inconclusive"
        ),
        pytest.param(
            Verdict.FAIL, 0, "Succeeded", "green has no production traffic yet", id="before-the-first-step"
        ),
    ],
)
def test_the_ecs_judge_hook_answers_per_verdict(
    monkeypatch: pytest.MonkeyPatch, verdict: Verdict, weight: int, status: str, detail: str
) -> None:
    from hooks import native_analysis

    judged: list[Canary] = []
    settings = AnalysisSettings(enabled=True)
    judgement = Judgement(verdict, None, (), "why", 120.0, 1080.0)

    def analyse(client: Any, service: Any, canary: Canary, now: datetime, stop: bool = True) -> Any:
        assert stop is False  # the hook's FAILED is the rollback
        judged.append(canary)
        return SimpleNamespace(judgement=judgement)

    monkeypatch.setattr(native_analysis, "resolved_service", lambda name, env: SimpleNamespace(
        settings=SimpleNamespace(analysis=settings)))  # fmt: skip
    monkeypatch.setattr(native_analysis, "aws_call", lambda name, call: {"Rules": [{}]})
    monkeypatch.setattr(native_analysis, "green_weight", lambda rule, green: weight)
    monkeypatch.setattr(native_analysis, "_deployment", lambda ctx: ({"startedAt": SHIFT}, SHIFT))
    monkeypatch.setattr(native_analysis, "analyse", analyse)

    answer = native_analysis.canary_gate(_native_context(GREEN_ARN), [])

    assert answer.outcome.status.value == status
    assert answer.outcome.checks[-1].detail.startswith(detail), answer.outcome.checks[-1].detail
    assert answer.delay_s is None
    assert [(c.green_target_group, c.blue_target_group) for c in judged] == (
        [(GREEN_ARN, BLUE_ARN)] if weight else []
    )

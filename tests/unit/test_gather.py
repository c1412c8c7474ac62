"""Gathering a deployment's evidence (orchestrator.insight.gather) on in-memory fakes: every source
read, each source that fails becomes an Unreadable (never an exception), an unknown deployment is
bad input, and the windows follow the engine's clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator.commands.options import GlobalOptions
from orchestrator.commands.session import Session
from orchestrator.errors import BadInputError
from orchestrator.insight.evidence import AlarmChange, HookVerdict, Inspection, Step, TargetHealth, Unreadable
from orchestrator.insight.gather import (
    alarm_change,
    deployment_window,
    function_name,
    gather,
    hook_functions,
    target_group_name,
    tripping_datapoint,
)
from orchestrator.watching.hook_verdict import evidence_lines, parse_verdict
from tests.support.fakes import FakeClients, client_error
from tests.support.insight import CD_ID, T0, FakeInspectEngine, failed_at_test_traffic

REPO = Path(__file__).resolve().parents[2]
SMOKE = "bluegreen-dev-after-allow-test-traffic"
GATE = "bluegreen-dev-before-allow-traffic"
GREEN = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/product-service-green/0a1b"
REASON = "health: GET /health via the test listener: status 500, expected 200 (3 attempts)"


def verdict_line(verdict: str = "Failed", event: str = "AfterAllowTestTraffic", **more: Any) -> str:
    document = {
        "level": "WARNING",
        "message": f"{event} {verdict}: {REASON}",
        "verdict": verdict,
        "deployment_id": CD_ID,
        "lifecycle_event": event,
        "reason": REASON if verdict == "Failed" else "all checks passed",
        "evidence": [{"name": "health", "passed": False, "detail": REASON.split(": ", 1)[1]}]
        if verdict == "Failed"
        else [],
    }
    document.update(more)
    return json.dumps(document)


def history_item(
    name: str, at: datetime, old: str, new: str, points: list[float] | None = None
) -> dict[str, Any]:
    state: dict[str, Any] = {"stateValue": new, "stateReason": f"Threshold Crossed: {points}"}
    if points is not None:
        state["stateReasonData"] = {"version": "1.0", "recentDatapoints": points, "threshold": 5.0}
    data = {"version": "1.0", "oldState": {"stateValue": old, "stateReason": "before"}, "newState": state}
    return {
        "AlarmName": name,
        "AlarmType": "MetricAlarm",
        "Timestamp": at,
        "HistoryItemType": "StateUpdate",
        "HistorySummary": f"Alarm updated from {old} to {new}",
        "HistoryData": json.dumps(data),
    }


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


@pytest.fixture
def session() -> Session:
    return Session(GlobalOptions(catalog=str(REPO / "services.yaml"), env="dev"))


@pytest.fixture
def clients() -> FakeClients:
    fakes = FakeClients()
    fakes.logs.events[f"/aws/lambda/{SMOKE}"] = [
        {"timestamp": ms(T0.replace(minute=2, second=40)), "message": verdict_line()},
        # another deployment's line in the same group
        {"timestamp": ms(T0.replace(minute=2)), "message": verdict_line().replace(CD_ID, "d-OTHER0001")},
    ]
    fakes.logs.events[f"/aws/lambda/{GATE}"] = []
    for function in ("before-install", "after-install", "after-allow-traffic"):
        fakes.logs.events[f"/aws/lambda/bluegreen-dev-{function}"] = []
    fakes.cloudwatch.history = [  # type: ignore[attr-defined]
        history_item("product-service-5xx-errors", T0.replace(minute=4), "OK", "ALARM", [1.5, 12.5]),
        history_item(
            "product-service-5xx-errors", T0 - timedelta(hours=3), "ALARM", "OK", [0.0]
        ),  # long before
    ]
    fakes.elbv2.health[GREEN] = [
        {
            "Target": {"Id": "10.0.1.7", "Port": 3003},
            "TargetHealth": {
                "State": "unhealthy",
                "Reason": "Target.ResponseCodeMismatch",
                "Description": "503",
            },
        }
    ]
    return fakes


def engine(**inspection: Any) -> FakeInspectEngine:
    """The failed canary's engine, asked a minute after the deployment ended (T0 + 10 min): the
    tests must not depend on this machine's clock (with none, "now" was the real time, and the
    settle test failed once the real clock passed T0 + 10 minutes)."""
    found = failed_at_test_traffic(green_target_groups=(GREEN,), **inspection)
    made = FakeInspectEngine({CD_ID: found}, service=("product-service", "dev"))
    made.server_now = (T0 + timedelta(minutes=11)).timestamp()
    return made


def test_every_source_is_read(session: Session, clients: FakeClients) -> None:
    evidence = gather(engine(), clients, session, CD_ID, sleep=lambda _: None)
    assert evidence.facts.service == "product-service" and evidence.facts.environment == "dev"
    assert evidence.hooks == (
        HookVerdict(
            "AfterAllowTestTraffic",
            SMOKE,
            "Failed",
            REASON,
            T0.replace(minute=2, second=40),
            ("health: GET /health via the test listener: status 500, expected 200 (3 attempts)",),
        ),
    )
    assert evidence.alarms == (
        AlarmChange(
            "product-service-5xx-errors",
            T0.replace(minute=4),
            "OK",
            "ALARM",
            "Threshold Crossed: [1.5, 12.5]",
            12.5,
        ),
    )
    assert evidence.targets == (
        TargetHealth(
            "product-service-green", "10.0.1.7:3003", "unhealthy", "Target.ResponseCodeMismatch", "503"
        ),
    )
    assert evidence.unreadable == ()
    # one history read per alarm the catalog names (the inspection named none), one log read a function
    assert clients.counter.calls["cloudwatch:DescribeAlarmHistory"] == 4
    assert clients.counter.calls["cloudwatch-logs:FilterLogEvents"] == 5


def test_the_deployments_own_alarm_names_come_first(session: Session, clients: FakeClients) -> None:
    gather(engine(alarm_names=("product-service-5xx-errors",)), clients, session, CD_ID)
    assert clients.counter.calls["cloudwatch:DescribeAlarmHistory"] == 1


def _fail(fake: Any, method: str, error: Exception) -> None:
    def raises(**_: Any) -> Any:
        raise error

    setattr(fake, method, raises)


@pytest.mark.parametrize(
    ("break_it", "source", "problem"),
    [
        (
            lambda c: c.logs.events.pop(f"/aws/lambda/{SMOKE}"),
            f"CloudWatch Logs /aws/lambda/{SMOKE}",
            f"log group /aws/lambda/{SMOKE} does not exist",
        ),
        (
            lambda c: _fail(
                c.logs, "filter_log_events", client_error("FilterLogEvents", "AccessDeniedException")
            ),
            f"CloudWatch Logs /aws/lambda/{SMOKE}",
            f"no permission for logs:FilterLogEvents on /aws/lambda/{SMOKE}",
        ),
        (
            lambda c: _fail(
                c.cloudwatch,
                "describe_alarm_history",
                client_error("DescribeAlarmHistory", "AccessDenied", "not authorized"),
            ),
            "alarm history product-service-5xx-errors",
            "DescribeAlarmHistory product-service-5xx-errors: access denied (not authorized); "
            "see the README's IAM permissions",
        ),
        (
            lambda c: _fail(
                c.elbv2,
                "describe_target_health",
                client_error("DescribeTargetHealth", "TargetGroupNotFound", "gone"),
            ),
            "target health product-service-green",
            "elbv2 DescribeTargetHealth: TargetGroupNotFound: gone",
        ),
    ],
)
def test_each_source_that_fails_is_unreadable(
    session: Session, clients: FakeClients, break_it: Any, source: str, problem: str
) -> None:
    break_it(clients)
    evidence = gather(engine(), clients, session, CD_ID, sleep=lambda _: None)
    assert Unreadable(source, problem) in evidence.unreadable, evidence.unreadable
    assert evidence.inspection.steps  # the rest is still there


def test_a_client_that_cannot_be_made_is_unreadable_too(session: Session, clients: FakeClients) -> None:
    def no_client(name: str, **_: Any) -> Any:
        raise RuntimeError(f"no region for {name}")

    clients.client = no_client  # type: ignore[method-assign]
    evidence = gather(engine(), clients, session, CD_ID, sleep=lambda _: None)
    assert {u.problem for u in evidence.unreadable} == {
        "RuntimeError: no region for logs",
        "RuntimeError: no region for cloudwatch",
        "RuntimeError: no region for elbv2",
    }
    assert evidence.hooks == () and evidence.alarms == () and evidence.targets == ()


def test_without_a_catalog_service_the_hooks_and_alarms_say_why(clients: FakeClients, tmp_path: Path) -> None:
    no_catalog = Session(GlobalOptions(catalog=str(tmp_path / "missing.yaml")))
    evidence = gather(engine(), clients, no_catalog, CD_ID)
    sources = [u.source for u in evidence.unreadable]
    assert sources == ["catalog", "hook logs", "alarm history"], evidence.unreadable
    assert evidence.targets  # the engine named the green target group itself


def test_a_deployment_of_no_catalog_service_is_said_plainly(session: Session, clients: FakeClients) -> None:
    found = engine()
    found.service = None
    evidence = gather(found, clients, session, CD_ID)
    assert Unreadable("catalog", "the deployment belongs to no service of the catalog") in evidence.unreadable


def test_an_unknown_deployment_is_bad_input(session: Session, clients: FakeClients) -> None:
    with pytest.raises(BadInputError, match="does not exist"):
        gather(engine(), clients, session, "d-UNKNOWN99")
    assert clients.counter.total == 0


def test_a_failed_hooks_line_not_there_yet_is_read_again(session: Session, clients: FakeClients) -> None:
    clients.logs.events[f"/aws/lambda/{SMOKE}"] = []
    slept: list[float] = []
    evidence = gather(engine(), clients, session, CD_ID, sleep=slept.append)
    assert slept == [1.0, 1.0] and evidence.hooks == ()
    # the failed step's own hook three times, the others once
    assert clients.counter.calls["cloudwatch-logs:FilterLogEvents"] == 3 + 4


def test_an_old_deployment_is_not_waited_for(session: Session, clients: FakeClients) -> None:
    clients.logs.events[f"/aws/lambda/{SMOKE}"] = []
    found = engine()
    found.server_now = (T0 + timedelta(days=1)).timestamp()
    slept: list[float] = []
    gather(found, clients, session, CD_ID, sleep=slept.append)
    assert slept == []


def test_the_windows_are_the_deployments_own_times(session: Session, clients: FakeClients) -> None:
    evidence = gather(engine(), clients, session, CD_ID)
    assert evidence.hooks  # its line at T0 + 2:40, in [created - 5 min, completed + 5 min]
    # a line and an alarm change outside the windows are not the deployment's
    clients.logs.events[f"/aws/lambda/{SMOKE}"] = [
        {"timestamp": ms(T0 + timedelta(minutes=16)), "message": verdict_line()}
    ]
    clients.cloudwatch.history = [  # type: ignore[attr-defined]
        history_item("product-service-5xx-errors", T0 - timedelta(minutes=16), "OK", "ALARM", [9.0])
    ]
    evidence = gather(engine(), clients, session, CD_ID, sleep=lambda _: None)
    assert evidence.hooks == () and evidence.alarms == ()


def test_an_open_window_ends_now_on_the_engines_clock() -> None:
    now = T0.replace(minute=30)
    window = deployment_window(T0, None, now.timestamp())
    assert (window.start, window.end, window.now) == (T0, now, now)
    assert deployment_window(T0, T0.replace(minute=10), now.timestamp()).end == T0.replace(minute=10)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            history_item("a", T0, "OK", "ALARM", [1.0, 12.5]),
            AlarmChange("a", T0, "OK", "ALARM", "Threshold Crossed: [1.0, 12.5]", 12.5),
        ),
        (  # no stateReasonData (SetAlarmState by hand): no datapoint
            history_item("a", T0, "ALARM", "OK"),
            AlarmChange("a", T0, "ALARM", "OK", "Threshold Crossed: None", None),
        ),
        (  # HistoryData unreadable: the summary still says the states
            {**history_item("a", T0, "OK", "ALARM"), "HistoryData": "{not json"},
            AlarmChange("a", T0, "OK", "ALARM", "Alarm updated from OK to ALARM", None),
        ),
        ({**history_item("a", T0, "OK", "ALARM"), "HistoryItemType": "ConfigurationUpdate"}, None),
    ],
)
def test_alarm_change(item: dict[str, Any], expected: AlarmChange | None) -> None:
    assert alarm_change(item) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"recentDatapoints": [1.0, 2.0, 12.5]}, 12.5),
        ({"recentDatapoints": [3]}, 3.0),
        ({"recentDatapoints": []}, None),
        ({"recentDatapoints": [True]}, None),
        ({}, None),
    ],
)
def test_tripping_datapoint(data: dict[str, Any], expected: float | None) -> None:
    assert tripping_datapoint(data) == expected


@pytest.mark.parametrize(
    ("arn", "name"),
    [(GREEN, "product-service-green"), ("not-an-arn", "not-an-arn")],
)
def test_target_group_name(arn: str, name: str) -> None:
    assert target_group_name(arn) == name


@pytest.mark.parametrize(
    ("evidence", "lines"),
    [
        ([{"name": "health", "passed": False, "detail": "status 500"}], ("health: status 500",)),
        ([{"passed": False, "detail": "status 500"}], ("status 500",)),
        ([{"name": "health", "passed": False}], ()),
        (["as text"], ("as text",)),
        ("not a list", ()),
    ],
)
def test_evidence_lines(evidence: Any, lines: tuple[str, ...]) -> None:
    assert evidence_lines(evidence) == lines


def test_a_native_verdict_names_its_stage() -> None:
    line = verdict_line(lifecycle_stage="POST_TEST_TRAFFIC_SHIFT")
    parsed = parse_verdict(line, 7)
    assert parsed is not None and parsed.stage == "POST_TEST_TRAFFIC_SHIFT"
    assert parsed.evidence == (
        "health: GET /health via the test listener: status 500, expected 200 (3 attempts)",
    )


ARN = "arn:aws:lambda:ap-northeast-2:123456789012:function:"


@pytest.mark.parametrize(
    ("function", "name"),
    [(f"{ARN}{SMOKE}", SMOKE), (f"{ARN}{SMOKE}:live", SMOKE), (SMOKE, SMOKE)],
)
def test_function_name(function: str, name: str) -> None:
    assert function_name(function) == name


def test_hook_functions_are_the_catalogs_then_the_steps_by_name() -> None:
    # Amazon ECS names a hook's target by ARN: the same function as the catalog's, read once
    inspection = Inspection(
        failed_at_test_traffic().facts,
        (
            Step("POST_TEST_TRAFFIC_SHIFT", "Failed", hook_function=f"{ARN}{SMOKE}"),
            Step("X", "Failed", hook_function=f"{ARN}other"),
        ),
    )
    assert hook_functions(inspection, {"AfterAllowTestTraffic": SMOKE}) == [SMOKE, "other"]


def test_alarm_state_history_pins_its_request_and_reads_every_page() -> None:
    import boto3
    from botocore.stub import Stubber

    from orchestrator.aws.cloudwatch import alarm_state_history

    client = boto3.client("cloudwatch", region_name="ap-northeast-2")
    start, end = T0 - timedelta(minutes=15), T0 + timedelta(minutes=15)
    request = {
        "AlarmName": "product-service-5xx-errors",
        "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],
        "HistoryItemType": "StateUpdate",
        "StartDate": start,
        "EndDate": end,
        "MaxRecords": 100,
        "ScanBy": "TimestampAscending",
    }
    first = history_item("product-service-5xx-errors", T0, "OK", "ALARM", [9.0])
    second = history_item("product-service-5xx-errors", T0.replace(minute=5), "ALARM", "OK", [0.0])
    with Stubber(client) as stub:
        stub.add_response("describe_alarm_history", {"AlarmHistoryItems": [first], "NextToken": "t"}, request)
        stub.add_response(
            "describe_alarm_history", {"AlarmHistoryItems": [second]}, {**request, "NextToken": "t"}
        )
        items = alarm_state_history(client, "product-service-5xx-errors", start, end)
        stub.assert_no_pending_responses()
    assert [item["HistorySummary"] for item in items] == [first["HistorySummary"], second["HistorySummary"]]


def test_target_health_descriptions_pins_its_request() -> None:
    import boto3
    from botocore.stub import Stubber

    from orchestrator.aws.elbv2 import target_health_descriptions

    client = boto3.client("elbv2", region_name="ap-northeast-2")
    answer = {
        "TargetHealthDescriptions": [
            {
                "Target": {"Id": "10.0.1.7", "Port": 3003},
                "TargetHealth": {"State": "unhealthy", "Reason": "Target.ResponseCodeMismatch"},
            }
        ]
    }
    with Stubber(client) as stub:
        stub.add_response("describe_target_health", answer, {"TargetGroupArn": GREEN})
        found = target_health_descriptions(client, GREEN)
    assert found == answer["TargetHealthDescriptions"]

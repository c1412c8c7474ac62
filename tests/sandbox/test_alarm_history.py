"""DescribeAlarmHistory in the sandbox's moto (sandbox/alarm_history.py, installed by
sandbox/moto_patched.py): boto3 reads the state changes SetAlarmState made, filtered and paged as
CloudWatch documents, each item fitting botocore's output shape; and the alarm evaluator's
StateReasonData carries CloudWatch's recentDatapoints, which `why` reads the tripping value from."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from orchestrator.insight.gather import alarm_change
from sandbox.alarm_eval import evaluation
from sandbox.codedeploy import shapes
from sandbox.metrics import MetricStore
from sandbox.moto_server import SANDBOX_CREDENTIALS, MotoServer

pytestmark = pytest.mark.integration

REGION = "ap-northeast-2"


@pytest.fixture(scope="module")
def cloudwatch() -> Iterator[Any]:
    with MotoServer(isolated=True, module="sandbox.moto_patched") as url:
        client = boto3.client(
            "cloudwatch",
            endpoint_url=url,
            region_name=REGION,
            aws_access_key_id=SANDBOX_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=SANDBOX_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        yield client
        client.close()


def _alarm(client: Any, name: str) -> None:
    client.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_Target_5XX_Count",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5.0,
        ComparisonOperator="GreaterThanThreshold",
    )


def _check_shape(page: dict[str, Any]) -> list[str]:
    """Problems of a parsed page against botocore's DescribeAlarmHistoryOutput (strict)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("cloudwatch")
    shape = model.operation_model("DescribeAlarmHistory").output_shape
    body = {k: v for k, v in page.items() if k != "ResponseMetadata"}
    body["AlarmHistoryItems"] = [
        {**item, "Timestamp": item["Timestamp"].timestamp()} for item in body["AlarmHistoryItems"]
    ]
    return shapes.check(body, shape, strict=True)


def test_state_changes_are_history_in_cloudwatchs_shape(cloudwatch: Any) -> None:
    _alarm(cloudwatch, "svc-5xx")
    _alarm(cloudwatch, "other")
    before = datetime.now(UTC) - timedelta(seconds=5)
    data = {"version": "1.0", "recentDatapoints": [1.0, 12.5], "threshold": 5.0}
    cloudwatch.set_alarm_state(
        AlarmName="svc-5xx",
        StateValue="ALARM",
        StateReason="Threshold Crossed",
        StateReasonData=json.dumps(data),
    )
    cloudwatch.set_alarm_state(AlarmName="svc-5xx", StateValue="ALARM", StateReason="no change: no history")
    cloudwatch.set_alarm_state(AlarmName="other", StateValue="ALARM", StateReason="another alarm")
    cloudwatch.set_alarm_state(AlarmName="svc-5xx", StateValue="OK", StateReason="recovered")
    after = datetime.now(UTC) + timedelta(seconds=5)

    page = cloudwatch.describe_alarm_history(
        AlarmName="svc-5xx", HistoryItemType="StateUpdate", StartDate=before, EndDate=after
    )
    assert _check_shape(page) == []
    items = page["AlarmHistoryItems"]
    # newest first by default (ScanBy TimestampDescending)
    assert [i["HistorySummary"] for i in items] == [
        "Alarm updated from ALARM to OK",
        "Alarm updated from OK to ALARM",
    ]
    assert {i["AlarmType"] for i in items} == {"MetricAlarm"}
    tripped = json.loads(items[1]["HistoryData"])
    assert tripped["oldState"]["stateValue"] == "OK"
    assert tripped["newState"] == {
        "stateValue": "ALARM",
        "stateReason": "Threshold Crossed",
        "stateReasonData": data,
    }
    change = alarm_change(items[1])
    assert change is not None and (change.old_state, change.new_state, change.datapoint) == (
        "OK",
        "ALARM",
        12.5,
    )

    # a window before the changes holds none; composite alarms only: none either
    assert cloudwatch.describe_alarm_history(AlarmName="svc-5xx", EndDate=before)["AlarmHistoryItems"] == []
    only_composite = cloudwatch.describe_alarm_history(AlarmName="svc-5xx", AlarmTypes=["CompositeAlarm"])
    assert only_composite["AlarmHistoryItems"] == []


def test_history_pages_and_outlives_the_alarm(cloudwatch: Any) -> None:
    _alarm(cloudwatch, "paged")
    for n in range(5):
        cloudwatch.set_alarm_state(
            AlarmName="paged", StateValue="ALARM" if n % 2 == 0 else "OK", StateReason=str(n)
        )
    cloudwatch.delete_alarms(AlarmNames=["paged"])  # "CloudWatch retains the history ... even if you delete"
    pages = list(
        cloudwatch.get_paginator("describe_alarm_history").paginate(
            AlarmName="paged", ScanBy="TimestampAscending", PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(p["AlarmHistoryItems"]) for p in pages] == [2, 2, 1]
    reasons = [
        json.loads(i["HistoryData"])["newState"]["stateReason"] for p in pages for i in p["AlarmHistoryItems"]
    ]
    assert reasons == ["0", "1", "2", "3", "4"]
    with pytest.raises(cloudwatch.exceptions.ClientError) as raised:
        cloudwatch.describe_alarm_history(AlarmName="paged", NextToken="not-a-token")
    assert raised.value.response["Error"]["Code"] == "InvalidNextToken"


def test_the_evaluators_reason_data_names_the_datapoints() -> None:
    store = MetricStore()
    minute = 1_800_000_000.0 - (1_800_000_000.0 % 60)
    for n in range(10):
        store.add("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", {"TargetGroup": "g"}, minute + n, 1)
    alarm = {
        "AlarmName": "a",
        "Namespace": "AWS/ApplicationELB",
        "MetricName": "HTTPCode_Target_5XX_Count",
        "Dimensions": [{"Name": "TargetGroup", "Value": "g"}],
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 5.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "StateValue": "OK",
    }
    evaluated = evaluation(alarm, store, minute + 61)
    assert evaluated.state.value == "ALARM"
    data = evaluated.reason_data
    assert data["recentDatapoints"] == [10.0] and data["threshold"] == 5.0 and data["period"] == 60
    assert data["statistic"] == "Sum" and data["evaluatedDatapoints"][0]["value"] == 10.0
    assert len(json.dumps(data)) <= 4000  # SetAlarmState's StateReasonData limit (botocore's model)

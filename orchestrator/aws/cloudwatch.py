"""Thin CloudWatch adapters: the alarms the audit, the sync and the hooks read and write.

``CloudWatchApi`` is the client surface they use (a boto3 CloudWatch client, or
``tests.support.fakes.FakeCloudWatch``). Each function takes a ``CallPolicy``: the CLI's turns a
botocore error into one-line AwsError, a hook's retries reads within its deadline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from orchestrator.aws.clients import CallPolicy, chunked, cli_call

# DescribeAlarms: "AlarmNames ... Maximum number of 100 items"; MaxRecords 1-100 (CloudWatch API).
DESCRIBE_ALARMS_MAX_NAMES = 100
# Both kinds: a deployment group may name a composite alarm (DescribeAlarms returns only metric
# alarms unless AlarmTypes says otherwise).
ALARM_TYPES = ("MetricAlarm", "CompositeAlarm")


class CloudWatchApi(Protocol):
    """The CloudWatch operations bluegreen calls (keyword arguments and answers as in boto3)."""

    def describe_alarms(self, **request: Any) -> Mapping[str, Any]: ...

    def put_metric_alarm(self, **request: Any) -> object: ...

    def describe_alarm_history(self, **request: Any) -> Mapping[str, Any]: ...


class MetricsApi(Protocol):
    """The CloudWatch operations the canary judge reads metrics with (a boto3 CloudWatch client)."""

    def get_metric_data(self, **request: Any) -> Mapping[str, Any]: ...

    def list_metrics(self, **request: Any) -> Mapping[str, Any]: ...


def describe_alarms(
    cloudwatch: CloudWatchApi, names: Sequence[str], call: CallPolicy = cli_call
) -> dict[str, dict[str, Any]]:
    """MetricAlarms and CompositeAlarms by name, 100 names a call, every page; missing alarms are absent."""
    found: dict[str, dict[str, Any]] = {}
    unique = sorted(set(names))
    for batch in chunked(unique, DESCRIBE_ALARMS_MAX_NAMES):
        request: dict[str, Any] = {
            "AlarmNames": batch,
            "AlarmTypes": list(ALARM_TYPES),
            "MaxRecords": DESCRIBE_ALARMS_MAX_NAMES,
        }
        while True:
            page = call("reading CloudWatch alarms", partial(cloudwatch.describe_alarms, **request))
            for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                found[alarm["AlarmName"]] = dict(alarm)
            if not page.get("NextToken"):
                break
            request["NextToken"] = page["NextToken"]
    return found


def alarm_states(
    cloudwatch: CloudWatchApi, names: Sequence[str], call: CallPolicy = cli_call
) -> dict[str, str]:
    """StateValue (OK, ALARM, INSUFFICIENT_DATA) of each named alarm that exists."""
    return {
        name: str(alarm["StateValue"]) for name, alarm in describe_alarms(cloudwatch, names, call).items()
    }


def put_metric_alarm(
    cloudwatch: CloudWatchApi, request: Mapping[str, Any], call: CallPolicy = cli_call
) -> None:
    """PutMetricAlarm (creates the alarm or replaces its whole configuration)."""
    call(f"PutMetricAlarm {request.get('AlarmName')}", lambda: cloudwatch.put_metric_alarm(**request))


# DescribeAlarmHistory: "MaxRecords ... Valid Range: Minimum value of 1. Maximum value of 100."
# (CloudWatch API reference); one alarm per request (AlarmName is a single name).
ALARM_HISTORY_MAX_RECORDS = 100
# What `why` reads of an alarm's past: its state changes ("StateUpdate"; the others are
# ConfigurationUpdate and Action, botocore's HistoryItemType enum).
STATE_UPDATE = "StateUpdate"


def alarm_state_history(
    cloudwatch: CloudWatchApi,
    name: str,
    start: datetime,
    end: datetime,
    call: CallPolicy = cli_call,
) -> list[dict[str, Any]]:
    """The alarm's StateUpdate history items between ``start`` and ``end``, oldest first, every
    page (AlarmHistoryItem: AlarmName, AlarmType, Timestamp, HistorySummary, HistoryData JSON).
    Both alarm types are asked for: without AlarmTypes CloudWatch returns metric alarms only."""
    request: dict[str, Any] = {
        "AlarmName": name,
        "AlarmTypes": list(ALARM_TYPES),
        "HistoryItemType": STATE_UPDATE,
        "StartDate": start,
        "EndDate": end,
        "MaxRecords": ALARM_HISTORY_MAX_RECORDS,
        "ScanBy": "TimestampAscending",
    }
    items: list[dict[str, Any]] = []
    while True:
        page = call(f"DescribeAlarmHistory {name}", partial(cloudwatch.describe_alarm_history, **request))
        items += [dict(item) for item in page.get("AlarmHistoryItems", [])]
        if not page.get("NextToken"):
            return items
        request["NextToken"] = page["NextToken"]


# GetMetricData: "as many as 500 different metrics in a single request" (CloudWatch API reference).
GET_METRIC_DATA_MAX_QUERIES = 500


def get_metric_data(
    cloudwatch: MetricsApi,
    queries: Sequence[Mapping[str, Any]],
    start: datetime,
    end: datetime,
    call: CallPolicy = cli_call,
) -> dict[str, list[tuple[datetime, float]]]:
    """GetMetricData: each query's (timestamp, value) points, oldest first, every page, 500 queries a
    call. A query without data has an empty list (CloudWatch returns no point for an empty period)."""
    series: dict[str, list[tuple[datetime, float]]] = {str(query["Id"]): [] for query in queries}
    for batch in chunked(list(queries), GET_METRIC_DATA_MAX_QUERIES):
        request: dict[str, Any] = {
            "MetricDataQueries": batch,
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
        }
        while True:
            page = call("CloudWatch GetMetricData", partial(cloudwatch.get_metric_data, **request))
            for result in page.get("MetricDataResults", []):
                points = zip(result.get("Timestamps", []), result.get("Values", []), strict=False)
                series.setdefault(str(result["Id"]), []).extend((at, float(value)) for at, value in points)
            if not page.get("NextToken"):
                break
            request["NextToken"] = page["NextToken"]
    return {name: sorted(points) for name, points in series.items()}


def list_dimension_values(
    cloudwatch: MetricsApi,
    namespace: str,
    metric_name: str,
    dimension: str,
    call: CallPolicy = cli_call,
) -> list[str]:
    """The values of one dimension that a metric has been published with (ListMetrics, every page;
    CloudWatch lists a metric for two weeks after its last data point)."""
    request: dict[str, Any] = {
        "Namespace": namespace,
        "MetricName": metric_name,
        "Dimensions": [{"Name": dimension}],
    }
    values: list[str] = []
    while True:
        page = call(f"CloudWatch ListMetrics {metric_name}", partial(cloudwatch.list_metrics, **request))
        for metric in page.get("Metrics", []):
            values += [str(d["Value"]) for d in metric.get("Dimensions", []) if d.get("Name") == dimension]
        if not page.get("NextToken"):
            return list(dict.fromkeys(values))
        request["NextToken"] = page["NextToken"]

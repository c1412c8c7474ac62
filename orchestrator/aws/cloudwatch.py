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

"""DescribeAlarmHistory for the sandbox's moto: moto 5.2.5 stores alarms but keeps no history and
does not implement the operation, which `bluegreen why` reads (the alarms that fired during a
deployment and the datapoint that tripped each).

``install()`` (run by ``sandbox.moto_patched`` in moto's process) records every state change moto's
CloudWatch backend makes, in AWS's AlarmHistoryItem shape (botocore's cloudwatch model):
- SetAlarmState (what the sandbox's alarm evaluator calls, ``sandbox.alarm_eval``) when the state
  changes, and PutMetricAlarm when it replaces an alarm whose state was not moto's starting OK (moto
  starts a replaced alarm over at OK; AWS keeps the state: the change is moto's and it is recorded);
- ``HistoryItemType`` StateUpdate, ``HistorySummary`` "Alarm updated from OK to ALARM",
  ``HistoryData`` the JSON string CloudWatch writes: ``{"version": "1.0", "oldState":
  {"stateValue", "stateReason", "stateReasonData"?}, "newState": {...}}`` (the AWS CLI's
  describe-alarm-history example), ``Timestamp`` the evaluation's ``stateReasonData.queryDate``
  (the sandbox's evaluator writes its virtual time there: the clock the emulators answer in, so
  `why` lays alarms and lifecycle events on one time line as in AWS), else moto's clock (real
  time, as moto's StateUpdatedTimestamp), ``AlarmType`` MetricAlarm or CompositeAlarm.
History is kept per account and region, and outlives the alarm ("CloudWatch retains the history of
an alarm even if you delete the alarm", DescribeAlarmHistory's documentation).

The operation filters by AlarmName, AlarmTypes (omitted: metric alarms only, as documented),
HistoryItemType, StartDate/EndDate (inclusive), orders by ScanBy (default TimestampDescending) and
pages by MaxRecords (1-100; AWS documents no default: 50 here, DescribeAlarms' documented default)
with an opaque NextToken valid only for the same filters (anything else: InvalidNextToken).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from datetime import UTC, datetime
from typing import Any

DEFAULT_MAX_RECORDS = 50
MAX_RECORDS = 100
_LOCK = threading.Lock()
_ATTRIBUTE = "_bluegreen_alarm_history"


def history_of(backend: Any) -> list[dict[str, Any]]:
    """The backend's recorded items, oldest first (made on first use)."""
    found: list[dict[str, Any]] | None = getattr(backend, _ATTRIBUTE, None)
    if found is None:
        found = []
        setattr(backend, _ATTRIBUTE, found)
    return found


def _state(value: str, reason: str | None, reason_data: str | None) -> dict[str, Any]:
    state: dict[str, Any] = {"stateValue": value, "stateReason": reason or ""}
    try:
        data = json.loads(reason_data) if reason_data else None
    except ValueError:
        data = None
    if isinstance(data, dict) and data:
        state["stateReasonData"] = data
    return state


def state_update(alarm: Any, old: dict[str, Any], new: dict[str, Any], at: datetime) -> dict[str, Any]:
    """One StateUpdate AlarmHistoryItem, as CloudWatch writes it."""
    return {
        "AlarmName": alarm.name,
        "AlarmType": "CompositeAlarm" if getattr(alarm, "rule", None) else "MetricAlarm",
        "Timestamp": at,
        "HistoryItemType": "StateUpdate",
        "HistorySummary": f"Alarm updated from {old['stateValue']} to {new['stateValue']}",
        "HistoryData": json.dumps({"version": "1.0", "oldState": old, "newState": new}),
    }


def _record(backend: Any, alarm: Any, old: dict[str, Any]) -> None:
    new = _state(alarm.state_value, alarm.state_reason, alarm.state_reason_data)
    if new["stateValue"] == old["stateValue"]:
        return
    at = _query_date(new) or alarm.state_updated_timestamp
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    with _LOCK:
        history_of(backend).append(state_update(alarm, old, new, at))


def _query_date(state: dict[str, Any]) -> datetime | None:
    """When the evaluation that made the change ran (``stateReasonData.queryDate``,
    ``2014-04-09T18:59:06.419+0000``): the sandbox's evaluator writes its virtual time there, the
    clock the emulators answer in; CloudWatch's own item is stamped the same moment."""
    text = state.get("stateReasonData", {}).get("queryDate")
    try:
        return datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%S.%f%z") if text else None
    except ValueError:
        return None


def _snapshot(alarm: Any) -> dict[str, Any]:
    return _state(alarm.state_value, alarm.state_reason, alarm.state_reason_data)


def install() -> None:
    """Patch moto's CloudWatch backend to record state changes and its responses to answer
    DescribeAlarmHistory."""
    from moto.cloudwatch.models import CloudWatchBackend
    from moto.cloudwatch.responses import CloudWatchResponse

    set_alarm_state = CloudWatchBackend.set_alarm_state
    put_metric_alarm = CloudWatchBackend.put_metric_alarm

    def recording_set_alarm_state(self: Any, alarm_name: str, *args: Any, **kwargs: Any) -> None:
        alarm = self.alarms.get(alarm_name)
        old = _snapshot(alarm) if alarm is not None else None
        set_alarm_state(self, alarm_name, *args, **kwargs)
        if old is not None:
            _record(self, self.alarms[alarm_name], old)

    def recording_put_metric_alarm(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        replaced = self.alarms.get(name)
        old = _snapshot(replaced) if replaced is not None else None
        alarm = put_metric_alarm(self, name, *args, **kwargs)
        if old is not None:
            _record(self, alarm, old)
        return alarm

    CloudWatchBackend.set_alarm_state = recording_set_alarm_state  # type: ignore[method-assign]
    CloudWatchBackend.put_metric_alarm = recording_put_metric_alarm  # type: ignore[method-assign]
    CloudWatchResponse.describe_alarm_history = _describe_alarm_history  # type: ignore[attr-defined]


def _describe_alarm_history(self: Any) -> Any:
    """CloudWatchResponse.describe_alarm_history: the request's items, one page."""
    from moto.cloudwatch.exceptions import InvalidParameterValue
    from moto.core.responses import ActionResult

    request = {
        "AlarmName": self._get_param("AlarmName"),
        "AlarmTypes": self._get_param("AlarmTypes") or ["MetricAlarm"],
        "HistoryItemType": self._get_param("HistoryItemType"),
        "StartDate": _when(self._get_param("StartDate")),
        "EndDate": _when(self._get_param("EndDate")),
        "ScanBy": self._get_param("ScanBy") or "TimestampDescending",
    }
    size = int(self._get_param("MaxRecords") or DEFAULT_MAX_RECORDS)
    if not 1 <= size <= MAX_RECORDS:
        raise InvalidParameterValue(f"The value {size} for parameter MaxRecords is not in the range 1-100.")
    with _LOCK:
        items = matching(history_of(self.cloudwatch_backend), request)
    start = _resume(self._get_param("NextToken"), request)
    page: dict[str, Any] = {"AlarmHistoryItems": items[start : start + size]}
    if start + size < len(items):
        page["NextToken"] = _token(start + size, request)
    return ActionResult(page)


def matching(items: list[dict[str, Any]], request: dict[str, Any]) -> list[dict[str, Any]]:
    """The items a request asks for, in its ScanBy order."""
    found = [
        dict(item)
        for item in items
        if (not request["AlarmName"] or item["AlarmName"] == request["AlarmName"])
        and item["AlarmType"] in request["AlarmTypes"]
        and (not request["HistoryItemType"] or item["HistoryItemType"] == request["HistoryItemType"])
        and (request["StartDate"] is None or item["Timestamp"] >= request["StartDate"])
        and (request["EndDate"] is None or item["Timestamp"] <= request["EndDate"])
    ]
    found.sort(key=lambda item: item["Timestamp"], reverse=request["ScanBy"] == "TimestampDescending")
    return found


def _when(value: Any) -> datetime | None:
    """A request's timestamp (moto parses it to a datetime, or leaves ISO-8601 / epoch text)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) or str(value).replace(".", "", 1).isdigit():
        return datetime.fromtimestamp(float(value), UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _filters_key(request: dict[str, Any]) -> str:
    text = json.dumps(request, default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _token(offset: int, request: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(f"{offset}:{_filters_key(request)}".encode()).decode()


def _resume(token: Any, request: dict[str, Any]) -> int:
    """Where a NextToken resumes; 0 without one; InvalidNextToken for any other token."""
    from moto.cloudwatch.exceptions import CloudWatchException

    if not token:
        return 0
    try:
        offset, key = base64.urlsafe_b64decode(str(token).encode()).decode().split(":")
        if key == _filters_key(request) and int(offset) >= 0:
            return int(offset)
    except (ValueError, UnicodeDecodeError):
        pass

    class InvalidNextToken(CloudWatchException):
        code = "InvalidNextToken"

    raise InvalidNextToken("The service returned an invalid next token.")

"""The alarm evaluator: moto stores alarms but never evaluates them; this does, every ``tick``
virtual seconds, from the fleet's own samples (the same numbers it publishes to CloudWatch).

For each alarm (read back from moto, so whatever `bluegreen alarms sync` wrote is what counts):
the last EvaluationPeriods complete periods (aligned to the epoch, as CloudWatch does), the
statistic of each metric over each period, metric math per period with the definitions' own
evaluator (``orchestrator.alarms.metric_math``), then M out of N and TreatMissingData
(``sandbox.alarm_state``). A changed state is written with SetAlarmState, with a reason like
CloudWatch's and its StateReasonData (recentDatapoints...: what `bluegreen why` reads back from
the alarm history, ``sandbox.alarm_history``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchestrator.alarms.metric_math import evaluate_expression
from sandbox.alarm_state import AlarmState, Comparison, TreatMissing, decide, statistic
from sandbox.clock import VirtualClock
from sandbox.metrics import MetricStore, metric_key, period_start
from sandbox.moto_writes import Writes, WriteWatch


@dataclass(frozen=True)
class Transition:
    """An alarm state change the evaluator made, at virtual time ``at``."""

    at: float
    alarm: str
    old: AlarmState
    new: AlarmState
    reason: str


def _dimensions(raw: Sequence[Mapping[str, str]]) -> dict[str, str]:
    return {d["Name"]: d["Value"] for d in raw}


def _stat_value(
    store: MetricStore,
    namespace: str,
    name: str,
    dimensions: Mapping[str, str],
    stat: str,
    start: float,
    period: float,
) -> float | None:
    return statistic(stat, store.values(metric_key(namespace, name, dimensions), start, start + period))


def alarm_period(alarm: Mapping[str, Any]) -> float:
    """The alarm's period: its own, or (metric math) the period of its metric queries."""
    if alarm.get("Period"):
        return float(alarm["Period"])
    periods = [q["MetricStat"]["Period"] for q in alarm.get("Metrics") or [] if q.get("MetricStat")]
    return float(max(periods)) if periods else 60.0


def datapoints(alarm: Mapping[str, Any], store: MetricStore, starts: Sequence[float]) -> list[float | None]:
    """The alarm's value for each period start (None where there is no datapoint)."""
    period = alarm_period(alarm)
    queries = alarm.get("Metrics") or []
    if not queries:
        stat = alarm.get("ExtendedStatistic") or alarm["Statistic"]
        return [
            _stat_value(
                store,
                alarm["Namespace"],
                alarm["MetricName"],
                _dimensions(alarm.get("Dimensions") or []),
                stat,
                start,
                period,
            )
            for start in starts
        ]
    returned = [q for q in queries if q.get("ReturnData", True) and "Expression" in q] or [
        q for q in queries if "Expression" in q
    ]
    out: list[float | None] = []
    for start in starts:
        values: dict[str, float | None] = {}
        for query in queries:
            metric_stat = query.get("MetricStat")
            if metric_stat:
                metric = metric_stat["Metric"]
                values[query["Id"]] = _stat_value(
                    store,
                    metric["Namespace"],
                    metric["MetricName"],
                    _dimensions(metric.get("Dimensions") or []),
                    metric_stat["Stat"],
                    start,
                    float(metric_stat.get("Period") or period),
                )
        for query in queries:  # expressions in order, so one may use an earlier one
            if "Expression" in query:
                values[query["Id"]] = evaluate_expression(query["Expression"], values)
        out.append(values[returned[-1]["Id"]] if returned else None)
    return out


def evaluate_alarm(alarm: Mapping[str, Any], store: MetricStore, now: float) -> tuple[AlarmState, str]:
    """The state an alarm should be in at virtual time ``now``, and CloudWatch-style reason."""
    evaluated = evaluation(alarm, store, now)
    return evaluated.state, evaluated.reason


@dataclass(frozen=True)
class Evaluation:
    """One evaluation: the state, CloudWatch-style reason, and the StateReasonData CloudWatch writes."""

    state: AlarmState
    reason: str
    reason_data: dict[str, Any]


def evaluation(alarm: Mapping[str, Any], store: MetricStore, now: float) -> Evaluation:
    """Evaluate an alarm at virtual time ``now`` over its last EvaluationPeriods complete periods."""
    period = alarm_period(alarm)
    periods = int(alarm.get("EvaluationPeriods") or 1)
    to_alarm = int(alarm.get("DatapointsToAlarm") or periods)
    last_end = period_start(now, period)  # only complete periods count
    starts = [last_end - period * (periods - i) for i in range(periods)]
    points = datapoints(alarm, store, starts)
    comparison = Comparison(alarm["ComparisonOperator"])
    threshold = float(alarm["Threshold"])
    current = AlarmState(alarm.get("StateValue") or AlarmState.INSUFFICIENT_DATA)
    state = decide(
        points, threshold, comparison, to_alarm, TreatMissing.parse(alarm.get("TreatMissingData")), current
    )
    shown = (
        ", ".join(
            f"{value:.4g} ({datetime.fromtimestamp(start, tz=UTC):%H:%M:%S})"
            for value, start in zip(points, starts, strict=True)
            if value is not None
        )
        or "no datapoints"
    )
    breaching = sum(1 for v in points if v is not None and comparison.breaches(v, threshold))
    reason = (
        f"Threshold Crossed: {breaching} out of the last {periods} datapoints [{shown}] "
        f"{'crossed' if state.is_alarm else 'did not cross'} the threshold ({comparison.value} {threshold:g})"
    )
    return Evaluation(state, reason, reason_data(alarm, points, starts, now))


def _iso(epoch: float) -> str:
    """CloudWatch's stateReasonData time format: ``2014-04-09T18:59:06.419+0000``."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def reason_data(
    alarm: Mapping[str, Any], points: Sequence[float | None], starts: Sequence[float], now: float
) -> dict[str, Any]:
    """The StateReasonData of a threshold evaluation, in CloudWatch's shape (the AWS CLI's
    describe-alarm-history example): version, queryDate, startDate, statistic and period (metric
    alarms), recentDatapoints (oldest first) and threshold; evaluatedDatapoints newest first."""
    data: dict[str, Any] = {"version": "1.0", "queryDate": _iso(now)}
    if starts:
        data["startDate"] = _iso(starts[0])
    if not alarm.get("Metrics"):
        data["statistic"] = alarm.get("ExtendedStatistic") or alarm.get("Statistic")
    data["period"] = int(alarm_period(alarm))
    data["recentDatapoints"] = [round(v, 6) for v in points if v is not None]
    data["threshold"] = float(alarm["Threshold"])
    data["evaluatedDatapoints"] = [
        {"timestamp": _iso(start), "value": round(value, 6)}
        for value, start in reversed(list(zip(points, starts, strict=True)))
        if value is not None
    ]
    return data


class AlarmEvaluator:
    """Evaluates the named alarms every ``tick`` virtual seconds and moves their states in moto."""

    def __init__(
        self,
        cloudwatch: Any,
        store: MetricStore,
        clock: VirtualClock,
        alarm_names: list[str],
        tick: float = 10.0,
        writes: Writes | None = None,
    ) -> None:
        self.cloudwatch = cloudwatch
        self._cloudwatch_writes = WriteWatch(writes, "monitoring")  # None: DescribeAlarms every tick
        self._last_alarms: list[dict[str, Any]] = []
        self.store = store
        self.clock = clock
        self.alarm_names = list(alarm_names)
        self.tick = tick
        self.transitions: list[Transition] = []
        self.errors = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alarm-evaluator", daemon=True)

    def start(self) -> AlarmEvaluator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def history(self) -> list[Transition]:
        with self._lock:
            return list(self.transitions)

    def evaluate_once(self) -> None:
        now = self.clock.now()
        for alarm in self._alarms():
            evaluated = evaluation(alarm, self.store, now)
            state, reason = evaluated.state, evaluated.reason
            old = AlarmState(alarm.get("StateValue") or AlarmState.INSUFFICIENT_DATA)
            if state is old:
                continue
            self.cloudwatch.set_alarm_state(
                AlarmName=alarm["AlarmName"],
                StateValue=state.value,
                StateReason=reason[:1023],
                StateReasonData=json.dumps(evaluated.reason_data),
            )
            with self._lock:
                self.transitions.append(Transition(now, alarm["AlarmName"], old, state, reason))

    def _alarms(self) -> list[dict[str, Any]]:
        """The alarms as moto holds them (DescribeAlarms, 100 names a call); the last read's again
        when nothing was written to CloudWatch since but metric data (``sandbox.moto_writes``)."""
        ticket = self._cloudwatch_writes.look(tuple(self.alarm_names))
        if ticket is None:
            return self._last_alarms
        alarms: list[dict[str, Any]] = []
        for offset in range(0, len(self.alarm_names), 100):
            names = self.alarm_names[offset : offset + 100]
            alarms += self.cloudwatch.describe_alarms(AlarmNames=names, AlarmTypes=["MetricAlarm"])[
                "MetricAlarms"
            ]
        self._last_alarms = alarms
        self._cloudwatch_writes.read_done(ticket)
        return alarms

    def _run(self) -> None:
        # Evaluations are due on the virtual clock: it waits for this thread (see clock.py).
        watermark = self.clock.watermark("alarm-evaluator")
        try:
            while not self._stop.is_set():
                try:
                    self.evaluate_once()
                except Exception:  # moto busy: the next tick evaluates again
                    self.errors += 1
                watermark.done_up_to(self.clock.now() + self.tick)  # nothing due before then
                self.clock.wait(self._stop, self.tick)
        finally:
            watermark.close()

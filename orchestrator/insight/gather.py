"""Gather the evidence of one deployment: what its engine says (``Engine.inspect``) plus the sources
both engines share, read through the adapters in ``orchestrator/aws/``:

- every verdict line the deployment's hook functions logged (CloudWatch Logs ``/aws/lambda/<fn>``,
  FilterLogEvents on the deployment id), with the failed checks each lists;
- the state changes of the alarms the deployment watched, in its window (DescribeAlarmHistory,
  StateUpdate), with the datapoint that tripped each;
- the health of the replacement's target group(s) now (DescribeTargetHealth).

An unknown deployment is bad input (``inspect`` raises BadInputError, exit 2); after that nothing
raises: a source that cannot be read becomes an ``Unreadable`` saying why, so the diagnosis says
plainly what it could not see.

Clocks. Everything is on the deployment engine's clock, as in AWS, where CodeDeploy, ECS, Lambda,
CloudWatch Logs and CloudWatch share one: the windows are the deployment's own times, and "now"
(an open end) is the engine's, read from its answers' Date (the sandbox answers in its virtual
time, and stamps the hooks' log lines and the alarm history with it too).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from orchestrator.errors import BluegreenError
from orchestrator.insight.evidence import (
    AlarmChange,
    Evidence,
    HookVerdict,
    Inspection,
    TargetHealth,
    Unreadable,
)

T = TypeVar("T")

# Hook lines come after the deployment starts and before it ends; a few minutes either side cover a
# Lambda's own clock and CloudWatch Logs' ingestion delay.
LOGS_BEFORE = timedelta(minutes=5)
LOGS_AFTER = timedelta(minutes=5)
# An alarm that went into ALARM shortly before the deployment started still explains its stop.
ALARMS_BEFORE = timedelta(minutes=15)
ALARMS_AFTER = timedelta(minutes=5)
# The failed step's own hook logs its verdict as it reports; a just-ended deployment's line may be a
# second or two behind in CloudWatch Logs: a few short tries (commands/hook_reason.py waits alike).
SETTLE_ATTEMPTS = 3
SETTLE_INTERVAL_SECONDS = 1.0
RECENT = timedelta(minutes=10)  # "just ended", on the engine's clock
FAILED = "failed"


@dataclass(frozen=True)
class Window:
    """The deployment's span, and the engine's clock when it answered (all on the engine's clock)."""

    start: datetime
    end: datetime
    now: datetime | None = None


def deployment_window(
    created: datetime | None, completed: datetime | None, engine_now: float | None
) -> Window:
    """[created, completed] of a deployment; an open end is now on the engine's clock (this
    machine's when the engine's was not read)."""
    at = datetime.fromtimestamp(engine_now if engine_now is not None else time.time(), UTC)
    end = completed or at
    start = created or end
    return Window(start, max(start, end), at)


def gather(
    engine: Any,
    clients: Any,
    session: Any,
    deployment_id: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    stopped_by: str | None = None,
) -> Evidence:
    """The deployment's evidence: the engine's inspection plus hook verdicts, alarm history and the
    replacement's target health, and for a stopped one which sign of bluegreen's watch stopped it
    (``stopped_by`` when the caller is that watch, else the ledger's row); BadInputError only for
    an unknown deployment."""
    clock = engine.server_clock(1.0)  # registered before the calls: it reads their answers' Date
    inspection = engine.inspect(deployment_id)
    facts = inspection.facts
    window = deployment_window(facts.created, facts.completed, clock.server_now)
    service, problem = catalog_service(engine, session, inspection)
    unreadable = [problem] if problem is not None else []
    if service is not None and facts.service is None:
        facts = dataclasses.replace(facts, service=service.name, environment=service.environment)
        inspection = dataclasses.replace(inspection, facts=facts)
    if facts.stopped_by_user:
        stopped_by = stopped_by or _recorded_stop(clients, service, facts.deployment_id, unreadable)
        facts = dataclasses.replace(facts, stopped_by=stopped_by)
        inspection = dataclasses.replace(inspection, facts=facts)
    hooks = _hook_verdicts(clients, inspection, service, window, unreadable, sleep)
    alarms = _alarm_changes(clients, inspection, service, window, unreadable)
    targets = _target_health(clients, inspection, unreadable)
    return Evidence(inspection, tuple(hooks), tuple(alarms), tuple(targets), tuple(unreadable))


def _read(source: str, read: Callable[[], T], unreadable: list[Unreadable]) -> T | None:
    """``read()``, or None with an Unreadable naming the source and why (never an exception)."""
    try:
        return read()
    except BluegreenError as err:  # the adapters' one-line AwsError
        unreadable.append(Unreadable(source, str(err)))
    except Exception as err:  # a client that cannot be made (no region, credentials...): still data
        unreadable.append(Unreadable(source, f"{type(err).__name__}: {err}"))
    return None


# --- who stopped it --------------------------------------------------------------------------------------
def _recorded_stop(
    clients: Any, service: Any, deployment_id: str, unreadable: list[Unreadable]
) -> str | None:
    """The ledger row's ``stoppedBy`` (None: no ledger, no row, or a stop bluegreen's watch did not
    make); an unreadable ledger is recorded as such."""
    table = service.settings.ledger_table if service is not None else None
    if not table:
        return None
    from orchestrator.aws.ledger import DynamoLedger

    def read() -> str | None:  # the client is made inside: one that cannot be made is unreadable too
        return DynamoLedger(clients.client("dynamodb"), table).stopped_by(deployment_id)

    return _read(f"ledger table {table}", read, unreadable)


# --- the catalog's service ----------------------------------------------------------------------------
def catalog_service(engine: Any, session: Any, inspection: Inspection) -> tuple[Any, Unreadable | None]:
    """The catalog's service the deployment belongs to (its hook functions and alarms), or why not."""
    facts = inspection.facts
    try:
        catalog = session.catalog
    except BluegreenError as err:
        return None, Unreadable("catalog", str(err))
    if facts.service is not None:
        try:
            return catalog.resolve(facts.service, facts.environment), None
        except BluegreenError:
            pass  # the engine's name for it is not the catalog's: look it up as `watch` does
    try:
        found = engine.describe(facts.deployment_id).service_in(catalog)
    except BluegreenError as err:
        return None, Unreadable("catalog", f"cannot tell the deployment's service: {err}")
    if found is None:
        return None, Unreadable("catalog", "the deployment belongs to no service of the catalog")
    return found, None


# --- hook verdicts --------------------------------------------------------------------------------------
def hook_functions(inspection: Inspection, hooks: Mapping[str, str]) -> list[str]:
    """The functions whose logs may hold the deployment's verdicts: the catalog's hooks, then any
    other the engine names at a step (a deployment made by an older catalog)."""
    named = [step.hook_function for step in (*inspection.steps, *inspection.rollback_steps)]
    return list(dict.fromkeys(function_name(name) for name in [*hooks.values(), *named] if name))


def function_name(function: str) -> str:
    """A Lambda function's name, also from its ARN (how Amazon ECS names a hook's target:
    ``arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]``); its log group: /aws/lambda/NAME."""
    _, found, rest = function.partition(":function:")
    return rest.split(":")[0] if found and rest else function


@dataclass(frozen=True)
class _LogRead:
    """What reading the deployment's verdict lines needs, whichever function's log group."""

    clients: Any
    deployment_id: str
    window: Window
    sleep: Callable[[float], None]
    unreadable: list[Unreadable]
    expected: frozenset[str] = frozenset()  # the failed steps' own hooks: their lines must be there

    def span_ms(self) -> tuple[int, int]:
        """The window with margins (ms since the epoch)."""
        start = self.window.start - LOGS_BEFORE
        end = self.window.end + LOGS_AFTER
        return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def _hook_verdicts(
    clients: Any,
    inspection: Inspection,
    service: Any,
    window: Window,
    unreadable: list[Unreadable],
    sleep: Callable[[float], None],
) -> list[HookVerdict]:
    hooks = dict(service.settings.hooks) if service is not None else {}
    functions = hook_functions(inspection, hooks)
    if not functions:
        if service is None:
            unreadable.append(Unreadable("hook logs", "the hook functions are unknown (no catalog service)"))
        return []
    waits = _settle_for(inspection, hooks, window)
    expected = frozenset(_failed_hooks(inspection, hooks))
    read = _LogRead(clients, inspection.facts.deployment_id, window, sleep, unreadable, expected)
    found: list[HookVerdict] = []
    for function in functions:
        found += _function_verdicts(read, function, SETTLE_ATTEMPTS if function in waits else 1)
    return sorted(found, key=lambda v: (v.at or window.start, v.function))


def _settle_for(inspection: Inspection, hooks: Mapping[str, str], window: Window) -> set[str]:
    """The functions worth a few tries: the hooks of the steps that failed, when the deployment just
    ended (an older one's lines are all there, or gone)."""
    completed = inspection.facts.completed
    if completed is not None and window.now is not None and window.now - completed > RECENT:
        return set()
    return _failed_hooks(inspection, hooks)


def _failed_hooks(inspection: Inspection, hooks: Mapping[str, str]) -> set[str]:
    """The hook functions of the steps that failed (``watching.hook_verdict.suspect_hooks``' sure ones)."""
    from orchestrator.watching.hook_verdict import suspect_hooks

    lifecycle = [
        (step.name, "Failed" if step.status.lower() == FAILED else step.status) for step in inspection.steps
    ]
    try:
        suspects = suspect_hooks(lifecycle, hooks)
    except Exception:  # step names neither engine's lifecycle knows: no hook to expect
        return set()
    return {hooks[s.event] for s in suspects if s.sure and s.event in hooks}


def _function_verdicts(read: _LogRead, function: str, attempts: int) -> list[HookVerdict]:
    """One function's verdict lines for the deployment (retried while a failed hook's is missing)."""
    from orchestrator.aws.logs import log_group_of, read_verdicts

    source = f"CloudWatch Logs {log_group_of(function)}"
    start_ms, end_ms = read.span_ms()
    for attempt in range(attempts):
        got = _read(
            source,
            lambda: read_verdicts(
                read.clients.client("logs"), function, read.deployment_id, start_ms, end_ms
            ),
            read.unreadable,
        )
        if got is None:
            return []
        if got.no_group and function not in read.expected:
            return []  # never invoked (Lambda makes the group then): no lines, nothing unread
        if got.unavailable:
            read.unreadable.append(Unreadable(source, got.unavailable))
            return []
        mine = [v for v in got.verdicts if v.deployment_id == read.deployment_id]
        verdicts = [hook_verdict(v, function) for v in mine]
        if any(v.verdict.lower() == FAILED for v in verdicts) or attempt + 1 == attempts:
            return verdicts
        read.sleep(SETTLE_INTERVAL_SECONDS)
    return []


def hook_verdict(verdict: Any, function: str) -> HookVerdict:
    """A verdict line (``watching.hook_verdict.Verdict``) as evidence; ``at``: its log event's time."""
    at = datetime.fromtimestamp(verdict.timestamp / 1000, UTC) if verdict.timestamp else None
    return HookVerdict(
        step=verdict.stage or verdict.lifecycle_event,
        function=function,
        verdict=verdict.verdict,
        reason=verdict.reason,
        at=at,
        evidence=tuple(verdict.evidence),
    )


# --- alarm history --------------------------------------------------------------------------------------
def _alarm_changes(
    clients: Any, inspection: Inspection, service: Any, window: Window, unreadable: list[Unreadable]
) -> list[AlarmChange]:
    names = list(inspection.alarm_names) or (list(service.settings.alarms) if service is not None else [])
    if not names and service is None:
        unreadable.append(
            Unreadable("alarm history", "no alarm names: the deployment names none, the catalog is no help")
        )
    start = window.start - ALARMS_BEFORE
    end = window.end + ALARMS_AFTER
    changes: list[AlarmChange] = []
    for name in dict.fromkeys(names):
        items = _read(
            f"alarm history {name}",
            partial(_history_of, clients, name, start, end),
            unreadable,
        )
        changes += [change for item in items or [] if (change := alarm_change(item)) is not None]
    return sorted(changes, key=lambda c: (c.at, c.alarm))


def _history_of(clients: Any, name: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    from orchestrator.aws.cloudwatch import alarm_state_history

    return alarm_state_history(clients.client("cloudwatch"), name, start, end)


def alarm_change(item: Mapping[str, Any]) -> AlarmChange | None:
    """A StateUpdate AlarmHistoryItem as an AlarmChange (None for another kind of item). HistoryData
    is the JSON CloudWatch writes: ``{version, oldState: {stateValue, stateReason}, newState:
    {stateValue, stateReason, stateReasonData: {recentDatapoints, threshold, ...}}}`` (the AWS CLI's
    describe-alarm-history example); the summary "Alarm updated from OK to ALARM" when it is not."""
    at = item.get("Timestamp")
    if item.get("HistoryItemType") != "StateUpdate" or not isinstance(at, datetime):
        return None
    data = _json_object(item.get("HistoryData"))
    old, new = _object(data.get("oldState")), _object(data.get("newState"))
    old_state, new_state = old.get("stateValue"), new.get("stateValue")
    if not (isinstance(old_state, str) and isinstance(new_state, str)):
        old_state, new_state = _from_summary(str(item.get("HistorySummary") or ""))
    reason = new.get("stateReason")
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return AlarmChange(
        alarm=str(item.get("AlarmName") or ""),
        at=at,
        old_state=old_state,
        new_state=new_state,
        reason=reason if isinstance(reason, str) else str(item.get("HistorySummary") or ""),
        datapoint=tripping_datapoint(_object(new.get("stateReasonData"))),
    )


def tripping_datapoint(reason_data: Mapping[str, Any]) -> float | None:
    """The latest of ``recentDatapoints`` (oldest first, as CloudWatch lists them): the value of the
    evaluation that changed the state; None when the state reason carries none."""
    values = reason_data.get("recentDatapoints")
    if isinstance(values, list):
        numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if numbers:
            return numbers[-1]
    return None


def _from_summary(summary: str) -> tuple[str, str]:
    """("OK", "ALARM") from "Alarm updated from OK to ALARM"; ("", "") when it says otherwise."""
    words = summary.split()
    if len(words) >= 6 and words[-4] == "from" and words[-2] == "to":
        return words[-3], words[-1]
    return "", ""


def _json_object(text: Any) -> dict[str, Any]:
    try:
        return _object(json.loads(text)) if isinstance(text, str) else {}
    except ValueError:
        return {}


def _object(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


# --- target health --------------------------------------------------------------------------------------
def _target_health(clients: Any, inspection: Inspection, unreadable: list[Unreadable]) -> list[TargetHealth]:
    found: list[TargetHealth] = []
    for arn in dict.fromkeys(inspection.green_target_groups):
        name = target_group_name(arn)
        described = _read(
            f"target health {name}",
            partial(_health_of, clients, arn),
            unreadable,
        )
        found += target_health(name, described or [])
    return found


def _health_of(clients: Any, arn: str) -> list[dict[str, Any]]:
    from orchestrator.aws.elbv2 import target_health_descriptions

    return target_health_descriptions(clients.client("elbv2"), arn)


def target_health(group: str, descriptions: Iterable[Mapping[str, Any]]) -> list[TargetHealth]:
    """DescribeTargetHealth's TargetHealthDescriptions as evidence (``id:port`` per target)."""
    out = []
    for item in descriptions:
        target, health = _object(item.get("Target")), _object(item.get("TargetHealth"))
        port = target.get("Port")
        where = f"{target.get('Id', '?')}:{port}" if port is not None else str(target.get("Id", "?"))
        out.append(
            TargetHealth(
                target_group=group,
                target=where,
                state=str(health.get("State", "")),
                reason=health.get("Reason"),
                description=health.get("Description"),
            )
        )
    return out


def target_group_name(arn: str) -> str:
    """The name in a target group's ARN (``...:targetgroup/product-service-green/0123`` ->
    ``product-service-green``); the ARN itself when it has none."""
    _, _, rest = arn.partition(":targetgroup/")
    return rest.split("/")[0] if rest else arn

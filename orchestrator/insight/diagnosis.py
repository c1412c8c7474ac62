"""Why a deployment did not succeed: one root-cause sentence from the ``Evidence`` (pure: stdlib only).

``diagnose`` first asks what the engine itself reported as the failure, because that is the event
that ended the deployment: CodeDeploy's ``errorInformation.code`` (botocore's ``ErrorCode``:
HOOK_EXECUTION_FAILURE, ALARM_ACTIVE, MANUAL_STOP, TIMEOUT, ...) and Amazon ECS's ``statusReason``
/ ``rollback.reason`` (free text: the words below) with ``stopped_by_user``. Only when the engine's
answer names no cause (unreadable, or words we do not know) does the evidence decide, in the order
of ``PRECEDENCE``. Then the sentence is written from the evidence that cause needs (the failed
hook's verdict line, the alarm's state change and the traffic share at that moment, green's target
health or stopped tasks), and when that evidence is in ``unreadable`` the sentence says what it
could not read instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from orchestrator.insight.evidence import (
    AlarmChange,
    Evidence,
    HookVerdict,
    Outcome,
    Step,
    Unreadable,
)
from orchestrator.insight.records import stopped_by_alarms, stopped_by_probe
from orchestrator.vocabulary import (
    AFTER_ALLOW_TEST_TRAFFIC,
    AFTER_INSTALL,
    ALLOW_TRAFFIC,
    EVENT_FOR_NATIVE_STAGE,
    NATIVE_STAGE_FOR_EVENT,
    POST_SCALE_UP,
    POST_TEST_TRAFFIC_SHIFT,
    PRODUCTION_TRAFFIC_SHIFT,
    AlarmState,
    EngineName,
)


@dataclass(frozen=True)
class Finding:
    """One line of evidence behind the diagnosis, and the source it came from."""

    source: str  # engine | lifecycle | hook | alarm | targets | tasks | unreadable
    line: str


@dataclass(frozen=True)
class Diagnosis:
    """The root cause in one sentence, the findings behind it, and whether there is nothing to diagnose."""

    root_cause: str
    findings: tuple[Finding, ...] = ()
    ok: bool = False  # True when the deployment did not fail (succeeded, or still in progress)


class Cause(StrEnum):
    """What ended a deployment that did not succeed."""

    STOPPED_BY_USER = "stopped by a user"
    PROBE = "bluegreen's green probe"  # a stop the watching CLI's probe asked for (refines a stop)
    HOOK_FAILED = "a lifecycle hook failed"
    UNHEALTHY = "green never became healthy"  # a hook failure (or ECS's own) whose evidence is health
    ALARM = "an alarm"
    TIMEOUT = "a wait timed out"
    ENGINE_ERROR = "the engine failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Precedence:
    """One row of the precedence table: a cause, how each engine reports it, why it wins over the next."""

    cause: Cause
    codedeploy: str
    ecs: str
    beats_later: str


# When several things happened, the one the engine reports as the failure is the cause: the engine
# acted on it and ended the deployment there; whatever came after (the rollback, an alarm fired by the
# smoke checks' own 5xx, a hook run again while ECS walks back) is a consequence. Read top down: the
# engine's own report first; this order decides only when its report names no cause.
PRECEDENCE: tuple[Precedence, ...] = (
    Precedence(
        Cause.STOPPED_BY_USER,
        "Stopped, errorInformation.code MANUAL_STOP (StopDeployment)",
        "StopServiceDeployment (stopType ROLLBACK): ROLLBACK_REQUESTED, then ROLLBACK_*",
        "a stop ends the deployment; the rollback and any alarm during it follow from the stop",
    ),
    Precedence(
        Cause.HOOK_FAILED,
        "Failed, HOOK_EXECUTION_FAILURE; the event Failed (diagnostics ScriptFailed, ScriptTimedOut)",
        "ROLLBACK_*, 'the lifecycle hook F at STAGE returned FAILED' (or a function error)",
        "the deployment ends at the failed event; an alarm that fires later comes too late to be the cause",
    ),
    Precedence(
        Cause.ALARM,
        "Stopped, ALARM_ACTIVE ('Activated alarms: X'), polled through every wait",
        "ROLLBACK_*, alarms.triggeredAlarmNames ('alarm(s) X went into ALARM')",
        "the alarm stopped the shift; the hooks after it never ran",
    ),
    Precedence(
        Cause.TIMEOUT,
        "Stopped, TIMEOUT: nobody continued the Ready wait (deploymentReadyOption)",
        "ROLLBACK_*, the PAUSE hook TIMED_OUT ('timed out at STAGE')",
        "nothing failed; the wait ran out",
    ),
    Precedence(
        Cause.ENGINE_ERROR,
        "Failed with any other ErrorCode (ECS_UPDATE_ERROR, IAM_ROLE_PERMISSIONS, INTERNAL_ERROR, ...)",
        "a statusReason naming no stop, hook, alarm or timeout (ROLLBACK_FAILED, circuit breaker, ...)",
        "the engine's own error, as it said it",
    ),
)

# CodeDeploy's ErrorCode (botocore codedeploy model, ErrorInformation.code) -> the cause.
CODEDEPLOY_ERROR_CAUSES: dict[str, Cause] = {
    "MANUAL_STOP": Cause.STOPPED_BY_USER,
    "HOOK_EXECUTION_FAILURE": Cause.HOOK_FAILED,
    "ALARM_ACTIVE": Cause.ALARM,
    "TIMEOUT": Cause.TIMEOUT,
}

# Amazon ECS says why in free text (botocore ecs model: ServiceDeployment.statusReason, "Information
# about why the service deployment is in the current status"; ServiceDeploymentRollbackMonitorsInfo
# .reason). Checked in this order: a hook that "timed out" is a timeout, not a hook failure.
ECS_REASON_CAUSES: tuple[tuple[re.Pattern[str], Cause], ...] = (
    (re.compile(r"StopServiceDeployment|stop request", re.I), Cause.STOPPED_BY_USER),
    (re.compile(r"timed out", re.I), Cause.TIMEOUT),
    (re.compile(r"lifecycle hook", re.I), Cause.HOOK_FAILED),
    (re.compile(r"alarm", re.I), Cause.ALARM),
    (re.compile(r"circuit breaker|health check", re.I), Cause.UNHEALTHY),
)

STOP_CALL = {EngineName.CODEDEPLOY.value: "StopDeployment", EngineName.ECS.value: "StopServiceDeployment"}
# Where bluegreen waits for `promote` on each engine: after test traffic.
READY_STEPS = frozenset({AFTER_ALLOW_TEST_TRAFFIC, POST_TEST_TRAFFIC_SHIFT})
HEALTH_STEPS = frozenset({AFTER_INSTALL, POST_SCALE_UP})
PRODUCTION_SHIFT_STEPS = frozenset({ALLOW_TRAFFIC, PRODUCTION_TRAFFIC_SHIFT})
HEALTH_CHECK_NAME = "green-target-health"  # hooks/gates.py target_health_gate's check
FAILED_WORDS = frozenset({"failed", "timed_out", "timedout"})
MAX_REASON = 300  # characters of a hook's reason kept in the sentence
CLOCK_SKEW = timedelta(minutes=1)  # between CloudWatch's clock and the engine's

# The unreadable sources each cause's sentence needs, by words their names carry (gather names them:
# "CloudWatch Logs /aws/lambda/<fn>", "alarm history", "target health", "ECS tasks").
NEEDS: dict[str, tuple[str, ...]] = {
    "hook logs": ("logs",),
    "alarm history": ("alarm",),
    "target health": ("target",),
    "ECS tasks": ("task",),
}


def diagnose(evidence: Evidence) -> Diagnosis:
    """The root cause of a failed, stopped or rolled-back deployment (or that there is none)."""
    facts = evidence.facts
    findings = tuple(_findings(evidence))
    if facts.outcome is Outcome.SUCCEEDED:
        return Diagnosis(f"{facts.deployment_id} succeeded; nothing to diagnose", findings, ok=True)
    if not facts.outcome.is_failure:
        where = _last_started(evidence.inspection.steps)
        at = f" at {where.name}" if where else ""
        text = f"{facts.deployment_id} is still in progress{at}; nothing to diagnose yet"
        return Diagnosis(text, findings, ok=True)
    cause = reported_cause(evidence) or inferred_cause(evidence)
    sentence, needs = WRITERS[cause](evidence)
    return Diagnosis(sentence + _unreadable_note(evidence, needs), findings)


# --- which cause ---------------------------------------------------------------------------------


def reported_cause(evidence: Evidence) -> Cause | None:
    """The cause the engine itself reports, or None when its answer names none we know."""
    facts = evidence.facts
    if facts.stopped_by_user:
        return _stopper(evidence)
    cause: Cause | None
    if facts.error_code:
        cause = CODEDEPLOY_ERROR_CAUSES.get(facts.error_code, Cause.ENGINE_ERROR)
    else:
        cause = _cause_in_words(_engine_words(evidence))
    if cause is Cause.HOOK_FAILED and _health_failure(evidence):
        return Cause.UNHEALTHY
    if cause is Cause.STOPPED_BY_USER:
        return _stopper(evidence)
    return cause


def _stopper(evidence: Evidence) -> Cause:
    """Who asked for a stop: the watching CLI stops a deployment at the first sign (one of its alarms
    in ALARM; WatchFlags.stop_on_alarm), so a stop after one of the deployment's alarms went into
    ALARM is that alarm's doing (the engine records only that someone called stop). When the
    watch recorded which sign it stopped on (``stopped_by``: the ledger's, or its own), that says."""
    facts = evidence.facts
    if stopped_by_probe(facts.stopped_by) is not None:
        return Cause.PROBE
    if stopped_by_alarms(facts.stopped_by):
        return Cause.ALARM
    failed = _failed_step(evidence.inspection.steps)
    # When the stop came: the step it cut short ended then (else the rollback's start, else the end).
    stopped = (failed.ended if failed is not None else None) or facts.rollback_started or facts.completed
    before = [
        change
        for change in _alarm_changes(evidence)
        if (facts.created is None or change.at >= facts.created)
        and (stopped is None or change.at <= stopped + CLOCK_SKEW)
    ]
    return Cause.ALARM if before else Cause.STOPPED_BY_USER


def _engine_words(evidence: Evidence) -> str:
    """What the engine said about the failure (ECS repeats statusReason in rollback.reason: once)."""
    facts = evidence.facts
    said = [facts.rollback_reason, facts.error_message]
    return " ".join(dict.fromkeys(text for text in said if text))


def _cause_in_words(text: str) -> Cause | None:
    for pattern, cause in ECS_REASON_CAUSES:
        if pattern.search(text):
            return cause
    return Cause.ENGINE_ERROR if text.strip() else None


def inferred_cause(evidence: Evidence) -> Cause:
    """The engine named no cause: the first row of PRECEDENCE the evidence shows."""
    shown: dict[Cause, Callable[[Evidence], bool]] = {
        Cause.STOPPED_BY_USER: lambda e: e.facts.stopped_by_user and _stopper(e) is Cause.STOPPED_BY_USER,
        Cause.HOOK_FAILED: lambda e: bool(
            _failed_verdicts(e) or any(s.status.lower() == "failed" for s in e.inspection.steps)
        ),
        Cause.ALARM: lambda e: _alarm_fired(e) is not None,
        Cause.TIMEOUT: lambda e: any(s.status.upper() == "TIMED_OUT" for s in e.inspection.steps),
        Cause.ENGINE_ERROR: lambda e: bool(e.facts.error_code or e.facts.error_message),
    }
    for row in PRECEDENCE:
        if shown[row.cause](evidence):
            if row.cause is Cause.HOOK_FAILED and _health_failure(evidence):
                return Cause.UNHEALTHY
            return row.cause
    return Cause.UNKNOWN


def _health_failure(evidence: Evidence) -> bool:
    """The failed hook judged green's health (AfterInstall's check), or ECS stopped green's tasks on it."""
    verdict = _deciding_verdict(evidence)
    if verdict is not None:
        return HEALTH_CHECK_NAME in verdict.reason
    where = _failed_at(evidence)
    return where is not None and _event_of(where) in HEALTH_STEPS


def _failed_at(evidence: Evidence) -> str | None:
    """Where it failed, without a verdict: the Failed step, else the stage the engine's words name."""
    step = _failed_step(evidence.inspection.steps)
    return step.name if step else _stage_in(_engine_words(evidence))


# --- the sentences -------------------------------------------------------------------------------

Written = tuple[str, tuple[str, ...]]  # the sentence, and the sources it needed but did not have


def _hook_sentence(evidence: Evidence) -> Written:
    verdict = _deciding_verdict(evidence)
    step = _failed_step(evidence.inspection.steps)
    where = _where(evidence, verdict.step if verdict else _failed_at(evidence))
    if verdict is not None:
        return f"{where}: {_cut(verdict.reason)}{_alarm_detail(evidence, verdict.reason)}", ()
    return f"{where}: {_hook_without_verdict(evidence, step)}", ("hook logs",)


def _hook_without_verdict(evidence: Evidence, step: Step | None) -> str:
    """What the engine itself says of the hook when its verdict line could not be found."""
    function = (step.hook_function if step else None) or _function_in(_engine_words(evidence))
    who = f"the hook {_function_name(function)}" if function else "its hook"
    timed_out = step is not None and step.error_code == "ScriptTimedOut"
    what = "did not report its status in time" if timed_out else "reported Failed"
    said = (step.message if step else None) or evidence.facts.error_message
    return f"{who} {what}" + (f" ({said})" if said and not _only_restates(said) else "")


def _unhealthy_sentence(evidence: Evidence) -> Written:
    """The evidence that stays first: the hook's verdict (in its log for good), then the tasks ECS
    stopped for their health (its record of them), then the targets' health now (gone once the
    rollback deregisters green): `deploy` at the end and `why` later must say the same."""
    verdict = _deciding_verdict(evidence)
    name = verdict.step if verdict else _failed_at(evidence)
    at = f" at {_step_name(evidence, name)}" if name else ""
    head = f"green tasks never became healthy{at}"
    if verdict is not None:
        return f"{head}: {_cut(_without_check_name(verdict.reason))}", ()
    # Only the tasks ECS stopped for their health (not those the rollback scaled in).
    stopped = [t for t in evidence.inspection.stopped_tasks if "health" in (t.stopped_reason or "").lower()]
    if stopped:
        count = f"{len(stopped)} task{'s' if len(stopped) > 1 else ''} stopped: "
        return f"{head}: {count}{stopped[0].stopped_reason}", ()
    unhealthy = [t for t in evidence.targets if t.state != "healthy" and t.reason]
    if unhealthy:
        first = unhealthy[0]
        said = f" ({first.description})" if first.description else ""
        return f"{head}: {first.reason}{said} on {_short_arn(first.target_group)}", ()
    step = _failed_step(evidence.inspection.steps)
    return f"{head}: {_hook_without_verdict(evidence, step)}", ("target health", "ECS tasks", "hook logs")


def _alarm_sentence(evidence: Evidence) -> Written:
    facts = evidence.facts
    verb = "rolled back" if facts.rolled_back else "stopped"
    names = _alarms_named(_engine_words(evidence)) or stopped_by_alarms(facts.stopped_by)
    change = _alarm_fired(evidence, names)
    if change is None:
        alarm = f"alarm {', '.join(names)}" if names else "an alarm"
        # Its history, when read, still has the values; only not when (none fell in the window).
        seen = _alarm_changes(evidence, names)
        trip = _tripped(seen[-1]) if seen else ""
        tail = f" ({trip})" if trip else ""
        return f"{verb}: {alarm} went into ALARM{tail}", () if seen else ("alarm history",)
    share = _green_share(evidence, change.at)
    return f"{verb}: {_fired(change)}{_while(share, _had_green(evidence, change.at))}", ()


def _stop_sentence(evidence: Evidence) -> Written:
    facts = evidence.facts
    call = STOP_CALL.get(facts.engine, "a stop request")
    step = _reached(evidence.inspection.steps)
    during = f" during {step.name}" if step else ""
    then = ", then rolled back" if facts.rolled_back else ""
    return f"stopped by a user ({call}){during}{then}", ()


def _probe_sentence(evidence: Evidence) -> Written:
    facts = evidence.facts
    step = _reached(evidence.inspection.steps)
    during = f" during {step.name}" if step else ""
    then = ", then rolled back" if facts.rolled_back else ""
    return f"stopped by bluegreen's green probe{during}: {stopped_by_probe(facts.stopped_by)}{then}", ()


def _timeout_sentence(evidence: Evidence) -> Written:
    said = _engine_words(evidence)
    stage = _stage_in(said)
    last = _last_succeeded(evidence.inspection.steps)
    at_ready = (stage in READY_STEPS) or (stage is None and last is not None and last.name in READY_STEPS)
    if not at_ready:
        where = stage or (last.name if last else None)
        return f"timed out{f' at {where}' if where else ''}: {said or 'the engine gave no reason'}", ()
    minutes = _waited_minutes(evidence)
    within = f"within {minutes} min" if minutes is not None else "in time"
    return f"timed out waiting at Ready: nobody promoted {within}", ()


def _engine_sentence(evidence: Evidence) -> Written:
    facts = evidence.facts
    step = _failed_step(evidence.inspection.steps)
    where = f"{step.name} failed" if step else _outcome_word(evidence)
    code = f"{facts.error_code}: " if facts.error_code else ""
    said = facts.error_message or facts.rollback_reason or (step.message if step else None) or ""
    return f"{where}: {code}{said}".rstrip(": "), ()


def _unknown_sentence(evidence: Evidence) -> Written:
    facts = evidence.facts
    return f"{_outcome_word(evidence)} (status {facts.status}); the engine gave no reason", ("any",)


WRITERS: dict[Cause, Callable[[Evidence], Written]] = {
    Cause.STOPPED_BY_USER: _stop_sentence,
    Cause.PROBE: _probe_sentence,
    Cause.HOOK_FAILED: _hook_sentence,
    Cause.UNHEALTHY: _unhealthy_sentence,
    Cause.ALARM: _alarm_sentence,
    Cause.TIMEOUT: _timeout_sentence,
    Cause.ENGINE_ERROR: _engine_sentence,
    Cause.UNKNOWN: _unknown_sentence,
}


# --- evidence helpers ----------------------------------------------------------------------------


def _is_failed(step: Step) -> bool:
    return step.status.lower().replace(" ", "_") in FAILED_WORDS


def _failed_step(steps: Sequence[Step]) -> Step | None:
    return next((s for s in steps if _is_failed(s)), None)


def _last_started(steps: Sequence[Step]) -> Step | None:
    started = [s for s in steps if s.started is not None or s.status.lower() in ("inprogress", "in_progress")]
    return started[-1] if started else None


def _reached(steps: Sequence[Step]) -> Step | None:
    """Where the deployment was when it ended: the Failed step (CodeDeploy fails the event in
    progress), else the one in progress, else the last with a time (ECS: the stage it reached)."""
    in_progress = [s for s in steps if s.status.lower() in ("inprogress", "in_progress")]
    timed = [s for s in steps if s.started is not None or s.ended is not None]
    latest = in_progress or timed
    return _failed_step(steps) or (latest[-1] if latest else None)


def _last_succeeded(steps: Sequence[Step]) -> Step | None:
    done = [s for s in steps if s.status.lower() in ("succeeded", "successful")]
    return done[-1] if done else None


def _event_of(step: str) -> str:
    """The catalog's event for a native stage (AfterInstall for POST_SCALE_UP), else the name itself."""
    return EVENT_FOR_NATIVE_STAGE.get(step, step)


def _same_step(a: str, b: str) -> bool:
    return _event_of(a) == _event_of(b)


def _failed_verdicts(evidence: Evidence) -> list[HookVerdict]:
    return [v for v in evidence.hooks if v.verdict.lower() == "failed"]


def _deciding_verdict(evidence: Evidence) -> HookVerdict | None:
    """The Failed verdict that ended it: at the failed step (or the stage ECS names), else the last."""
    failed = _failed_verdicts(evidence)
    if not failed:
        return None
    step = _failed_step(evidence.inspection.steps)
    stage = _stage_in(_engine_words(evidence))
    for where in (stage, step.name if step else None):
        matching = [v for v in failed if where and _same_step(v.step, where)]
        if matching:
            return matching[-1]
    return failed[-1]


def _where(evidence: Evidence, step: str | None) -> str:
    """'AfterAllowTestTraffic failed' (CodeDeploy), 'AfterAllowTestTraffic hook failed at STAGE' (ECS)."""
    if step is None:
        return _outcome_word(evidence)
    event = _event_of(step)
    if evidence.facts.engine == EngineName.ECS.value and event in NATIVE_STAGE_FOR_EVENT:
        return f"{event} hook failed at {NATIVE_STAGE_FOR_EVENT[event]}"
    return f"{step} failed"


def _step_name(evidence: Evidence, step: str) -> str:
    event = _event_of(step)
    if evidence.facts.engine == EngineName.ECS.value and event in NATIVE_STAGE_FOR_EVENT:
        return NATIVE_STAGE_FOR_EVENT[event]
    return event


def _outcome_word(evidence: Evidence) -> str:
    return str(evidence.facts.outcome.value)


ACTIVATED = re.compile(r"Activated alarms:\s*(.+?)\s*$")
WENT_INTO_ALARM = re.compile(r"alarm\(s\)\s+(.+?)\s+went into")


def _alarms_named(text: str) -> list[str]:
    """Alarm names in the engine's words: CodeDeploy 'Activated alarms: a, b'; ECS 'alarm(s) a, b went'."""
    found = ACTIVATED.search(text) or WENT_INTO_ALARM.search(text)
    if not found:
        return []
    return [name.strip() for name in found.group(1).split(",") if name.strip()]


def _alarm_changes(evidence: Evidence, names: Sequence[str] = ()) -> list[AlarmChange]:
    """Every change into ALARM of the named alarms (else of any), oldest first."""
    fired = [c for c in evidence.alarms if c.new_state == AlarmState.ALARM.value]
    return [c for c in fired if not names or c.alarm in names]


def _alarm_fired(evidence: Evidence, names: Sequence[str] = ()) -> AlarmChange | None:
    """The ALARM transition that stopped it: of the named alarms (else any), the last one from the
    deployment's creation to its end. CloudWatch records the change, the engine polls, then stops:
    a change later than the end (plus skew between the two services' clocks) did not stop it."""
    facts = evidence.facts
    end = facts.rollback_started or facts.completed
    inside = [
        c
        for c in _alarm_changes(evidence, names)
        if (facts.created is None or c.at >= facts.created) and (end is None or c.at <= end + CLOCK_SKEW)
    ]
    return inside[-1] if inside else None


def _fired(change: AlarmChange) -> str:
    trip = _tripped(change)
    return f"alarm {change.alarm} fired at {_clock(change.at)}{f' ({trip})' if trip else ''}"


COMPARISONS = (
    (re.compile(r"GreaterThanOrEqual|greater than or equal", re.I), ">="),
    (re.compile(r"LessThanOrEqual|less than or equal", re.I), "<="),
    (re.compile(r"GreaterThan|greater than", re.I), ">"),
    (re.compile(r"LessThan|less than", re.I), "<"),
)
# CloudWatch's "... [12.5 (30/11/26 10:02:00)] was greater than the threshold (5.0) ..." and the
# sandbox's "... crossed the threshold (GreaterThanThreshold 5)".
THRESHOLD = re.compile(r"threshold \((?:[A-Za-z]+ )?(-?[\d.]+(?:[eE][-+]?\d+)?)\)")
FIRST_DATAPOINT = re.compile(r"\[(-?[\d.]+(?:[eE][-+]?\d+)?) \(")


def _tripped(change: AlarmChange) -> str:
    """'12.5 > 5': the datapoint that tripped the alarm against its threshold, as far as known."""
    threshold = THRESHOLD.search(change.reason)
    value = change.datapoint if change.datapoint is not None else _worst_datapoint(change.reason)
    if value is None or threshold is None:
        return ""
    sign = next((s for p, s in COMPARISONS if p.search(change.reason)), "vs")
    return f"{_number(value)} {sign} {_number(float(threshold.group(1)))}"


def _worst_datapoint(reason: str) -> float | None:
    listed = re.search(r"datapoints? \[([^\]]*)\]", reason)
    if not listed:
        return None
    values = [float(v) for v in re.findall(r"(-?[\d.]+(?:[eE][-+]?\d+)?) \(", listed.group(1))]
    return max(values) if values else None


def _number(value: float) -> str:
    return f"{value:.4g}"


def _green_share(evidence: Evidence, at: datetime) -> float | None:
    """Green's production share at ``at``: from the traffic points, else 0 when the step that moves
    production traffic says it never ran (CodeDeploy: Skipped), had not begun at ``at``, or was
    undone by the rollback at the moment it began (no point: see insight/traffic.py); None when
    unknown (ECS keeps no stage times: a missing start is no evidence)."""
    traffic = evidence.inspection.traffic
    before = [p for p in traffic if p.at <= at]
    if before or traffic:
        return before[-1].green_percent if before else 0.0
    shift = [s for s in evidence.inspection.steps if s.name in PRODUCTION_SHIFT_STEPS]
    never = shift and all(s.status.lower() in ("skipped", "pending") for s in shift)
    began = min((s.started for s in shift if s.started is not None), default=None)
    rerouted = [
        s.ended or s.started for s in evidence.inspection.rollback_steps if s.name in PRODUCTION_SHIFT_STEPS
    ]
    undone = began is not None and any(r is not None and r <= began for r in rerouted)
    return 0.0 if never or (began is not None and at < began) or undone else None


def _had_green(evidence: Evidence, at: datetime) -> bool:
    """Whether green had carried production traffic before ``at`` (then 0 % means it went back)."""
    return any(p.green_percent > 0 for p in evidence.inspection.traffic if p.at < at)


def _while(share: float | None, had_green: bool = False) -> str:
    if share is None:
        return ""
    if share <= 0 and had_green:
        return " after production traffic went back to blue"
    if share <= 0:
        return " before any production traffic was on green"
    return f" while {_number(share)} % of production traffic was on green"


def _alarm_detail(evidence: Evidence, reason: str) -> str:
    """A hook that failed on an alarm (the gate, the bake): when and at what value that alarm fired."""
    named = [c.alarm for c in evidence.alarms if c.alarm in reason]
    change = _alarm_fired(evidence, named) if named else None
    return f" ({_fired(change)})" if change else ""


def _waited_minutes(evidence: Evidence) -> int | None:
    """The Ready wait that ran out: from the end of test traffic's hook step (CodeDeploy) or the start
    of the timed-out PAUSE stage (ECS) to the end of the deployment (ECS: its rollback's start)."""
    facts = evidence.facts
    ready = [s for s in evidence.inspection.steps if s.name in READY_STEPS]
    waited = next((s.started for s in ready if s.status.upper() == "TIMED_OUT"), None)
    start = waited or next((s.ended for s in reversed(ready) if s.status.lower() == "succeeded"), None)
    # ECS keeps no stage times: the wait began when test traffic's hook answered Succeeded.
    passed = [
        v.at for v in evidence.hooks if v.verdict.lower() == "succeeded" and _event_of(v.step) in READY_STEPS
    ]
    start = start or (passed[-1] if passed and passed[-1] is not None else None)
    end = facts.rollback_started or facts.completed
    if start is None or end is None or end <= start:
        return None
    return round((end - start).total_seconds() / 60)


def _stage_in(text: str) -> str | None:
    """The step an engine's message names ('... at POST_TEST_TRAFFIC_SHIFT', '(AfterAllowTestTraffic)')."""
    found = re.search(r"\bat ([A-Z][A-Z_]+[A-Z])\b", text) or re.search(r"\(([A-Z][A-Za-z]+)\)", text)
    if not found:
        return None
    name = found.group(1)
    return name if name in EVENT_FOR_NATIVE_STAGE or name in NATIVE_STAGE_FOR_EVENT or "_" in name else None


def _function_in(text: str | None) -> str | None:
    found = re.search(r"lifecycle hook (\S+)", text or "")
    return found.group(1) if found else None


def _function_name(function: str) -> str:
    """A Lambda function's name from its ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER])."""
    found = re.search(r":function:([^:]+)", function)
    return found.group(1) if found else function


def _only_restates(message: str) -> bool:
    """The engine's message says only that the hook failed (CodeDeploy's diagnostics, ECS's reason)."""
    return bool(re.search(r"(reported Failed|returned FAILED)\.?$", message.strip()))


def _without_check_name(reason: str) -> str:
    return reason.removeprefix(f"{HEALTH_CHECK_NAME}: ")


def _cut(text: str) -> str:
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1].rstrip() + "…"


def _short_arn(arn: str) -> str:
    """A target group's name from its ARN (targetgroup/NAME/ID), else the text as given."""
    found = re.search(r"targetgroup/([^/]+)/", arn)
    return found.group(1) if found else arn


def _clock(at: datetime) -> str:
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%H:%M:%S")


def _unreadable_note(evidence: Evidence, needs: Sequence[str]) -> str:
    """' (CloudWatch Logs /aws/lambda/f unreadable: AccessDenied)' for each source the sentence lacked."""
    if not needs:
        return ""
    wanted = [word for need in needs for word in NEEDS.get(need, ())]
    missing = [u for u in evidence.all_unreadable() if "any" in needs or _matches(u, wanted)]
    return "".join(f" ({u.source} unreadable: {_short(u.problem)})" for u in missing)


def _matches(unreadable: Unreadable, words: Sequence[str]) -> bool:
    return any(word in unreadable.source.lower() for word in words)


def _short(problem: str) -> str:
    first = problem.strip().splitlines()[0] if problem.strip() else "unknown error"
    return first if len(first) <= 120 else first[:119] + "…"


# --- findings ------------------------------------------------------------------------------------


def _findings(evidence: Evidence) -> list[Finding]:
    """The lines behind the diagnosis, source by source (what `why` can print under the root cause)."""
    sources = (_engine_findings, _step_findings, _hook_findings, _alarm_findings, _target_findings)
    out = [finding for source in sources for finding in source(evidence)]
    out.extend(Finding("unreadable", f"{u.source}: {u.problem}") for u in evidence.all_unreadable())
    return out


def _engine_findings(evidence: Evidence) -> list[Finding]:
    facts = evidence.facts
    out = []
    said = ": ".join(filter(None, (facts.error_code, facts.error_message)))
    if said:
        out.append(Finding("engine", f"{facts.status}: {said}"))
    if facts.rollback_reason and facts.rollback_reason != facts.error_message:
        out.append(Finding("engine", f"rollback: {facts.rollback_reason}"))
    return out


def _step_findings(evidence: Evidence) -> list[Finding]:
    out = []
    for step in evidence.inspection.steps:
        if _is_failed(step):
            detail = ": ".join(filter(None, (step.error_code, step.message)))
            out.append(Finding("lifecycle", f"{step.name} {step.status}" + (f": {detail}" if detail else "")))
    return out


def _hook_findings(evidence: Evidence) -> list[Finding]:
    return [
        Finding("hook", f"{v.step} ({v.function}) {v.verdict}: {v.reason}")
        for v in _failed_verdicts(evidence)
    ]


def _alarm_findings(evidence: Evidence) -> list[Finding]:
    return [
        Finding("alarm", f"{c.alarm} {c.old_state} -> {c.new_state} at {_clock(c.at)}: {c.reason}")
        for c in evidence.alarms
        if c.new_state == AlarmState.ALARM.value
    ]


def _target_findings(evidence: Evidence) -> list[Finding]:
    out = []
    for t in evidence.targets:
        if t.state != "healthy":
            why = ": ".join(filter(None, (t.reason, t.description)))
            out.append(
                Finding("targets", f"{_short_arn(t.target_group)} {t.target} {t.state}: {why}".rstrip(": "))
            )
    for task in evidence.inspection.stopped_tasks:
        name = task.task_arn.rsplit("/", 1)[-1]
        out.append(Finding("tasks", f"{name} stopped: {task.stopped_reason or 'no reason given'}"))
    return out

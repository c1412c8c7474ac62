"""Every ``--output json`` document bluegreen prints: its keys, written once, as typed models.

A document is a frozen stdlib dataclass (``eq=False``: documents are printed, never compared, and
each generated method costs start-up time) whose field names are the keys in snake_case
(``deployment_id`` is printed as ``deploymentId``; ``from_`` as ``from``), in the order printed.
A field is always printed (``null`` when unknown) unless its metadata is ``ABSENT``: such a
key appears only when it has a value (``hookFailure``, ``reasonUnavailable``...). ``to_json``
turns a document into the dict printed; ``json_schema`` builds the JSON Schema of all of them from
these same definitions (pydantic's TypeAdapter, imported only there: this module is stdlib only,
so ``bluegreen --help`` and the Lambda hooks do not load pydantic through it).

``bluegreen schema`` prints that schema; tests validate real documents against it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:  # the domain types the builders below read (no import at run time)
    from orchestrator.alarms.rules import AuditReport as AuditFindings
    from orchestrator.alarms.sync import SyncResult
    from orchestrator.analysis.canary import Analysis
    from orchestrator.analysis.judge import Summary
    from orchestrator.insight.evidence import Evidence, Step
    from orchestrator.insight.timeline import Span as TimelineSpanModel
    from orchestrator.insight.timeline import Timeline
    from orchestrator.watching.hook_verdict import HookFailure as FailedHook
    from orchestrator.watching.loop import AlarmStop
    from orchestrator.watching.snapshots import Event

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
OMIT_WHEN_NONE = "bluegreen.omit_when_none"
# The metadata of a field whose key is left out of the document while it is None.
ABSENT = {OMIT_WHEN_NONE: True}


def camel(name: str) -> str:
    """A field's key: ``deployment_id`` -> ``deploymentId``; a trailing ``_`` (``from_``) is dropped."""
    first, *rest = [part for part in name.split("_") if part]
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


class Document:
    """Base of every document: its keys come from ``camel``; the schema forbids unknown keys."""

    # pydantic reads this from stdlib dataclasses when it builds the schema (a plain dict: no import).
    __pydantic_config__: ClassVar[dict[str, Any]] = {"alias_generator": camel, "extra": "forbid"}


def to_json(value: Any) -> Any:
    """A document (or a value inside one) as plain JSON data, keys in declaration order."""
    if isinstance(value, Document) and dataclasses.is_dataclass(value):
        return {
            camel(f.name): to_json(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not (f.metadata.get(OMIT_WHEN_NONE) and getattr(value, f.name) is None)
        }
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    return value


def fields_of(value: Any) -> dict[str, Any]:
    """A document's fields by name, one level deep (to build a wider document from a narrower one)."""
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}


# --- parts shared by several documents ---------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)
class TrafficWeights(Document):
    """Production listener weights (percent) of the original and the replacement task set."""

    original: float | None
    replacement: float | None


@dataclass(frozen=True, kw_only=True, eq=False)
class WatchEvent(Document):
    """A change the watch saw between two polls; ``at`` is seconds since the watch started."""

    at: float
    kind: str  # status, lifecycle, traffic, rollback
    subject: str
    from_: str | None
    to: str


def watch_event(event: Event) -> WatchEvent:
    at = round(event.at, 1)
    return WatchEvent(at=at, kind=event.kind.value, subject=event.subject, from_=event.before, to=event.after)


@dataclass(frozen=True, kw_only=True, eq=False)
class HookFailure(Document):
    """The lifecycle event whose hook failed, and the hook's own reason when it could be read."""

    lifecycle_event: str
    function: str | None
    reason: str | None
    reason_unavailable: str | None = field(default=None, metadata=ABSENT)
    log_file: str | None = field(default=None, metadata=ABSENT)


def hook_failure(failure: FailedHook) -> HookFailure:
    return HookFailure(
        lifecycle_event=failure.lifecycle_event,
        function=failure.function,
        reason=failure.reason,
        reason_unavailable=failure.unavailable or None,
        log_file=failure.log_file or None,
    )


# --- deploy, rollback, watch: the report of a watched deployment --------------------------------------
# The report's keys are a head (every watch), the facts of the verb that created the deployment
# (deploy's, rollback's, none for `watch`), then a tail. Dataclasses order inherited fields from the
# last base to the first, so `class X(Tail, Facts, Head)` prints head, facts, tail.
@dataclass(frozen=True, kw_only=True, eq=False)
class ReportHead(Document):
    """What every watch report says about the deployment and the watch."""

    deployment_id: str
    service: str | None
    environment: str | None
    strategy: str | None
    deployment_config_name: str | None
    status: str
    outcome: str  # succeeded, rolled back, failed, stopped, still running, ready, traffic shifted
    until: str
    reached: bool
    rolled_back: bool
    rollback_deployment_id: str | None
    error: str | None
    duration_seconds: float
    expected_seconds: int
    timeout_seconds: int
    traffic_weights: TrafficWeights
    lifecycle_events: dict[str, str]
    api_calls: int
    watch_calls: int
    max_calls_per_minute: int
    calls_per_minute_limit: int
    polls: int
    events: list[WatchEvent]
    engine: Literal["codedeploy", "ecs"]  # who runs the deployment (the catalog's engine)
    # The watcher stopped the deployment itself at the first alarm (None: it did not).
    stopped_on_alarm: AlarmStopped | None = field(default=None, metadata=ABSENT)
    # --probe-green: what the watcher's green probe did (None: not asked).
    green_probe: GreenProbeReport | None = field(default=None, metadata=ABSENT)


@dataclass(frozen=True, kw_only=True, eq=False)
class AlarmStopped(Document):
    """The watcher saw these alarms in ALARM and stopped the deployment with rollback (issue 14 item 3)."""

    alarms: list[str]  # empty when the green probe stopped it
    at_seconds: float  # deployment seconds since the watch started
    error: str | None  # the stop request failed (the engine's own alarm monitoring still applies)
    probe: str | None = field(default=None, metadata=ABSENT)  # the green probe's sign, when it stopped it


def alarm_stop(stopped: AlarmStop | None) -> AlarmStopped | None:
    if stopped is None:
        return None
    return AlarmStopped(
        alarms=list(stopped.alarms), at_seconds=stopped.at_seconds, error=stopped.error, probe=stopped.probe
    )


@dataclass(frozen=True, kw_only=True, eq=False)
class GreenProbeReport(Document):
    """--probe-green: the watcher's own requests to the replacement through the test listener while
    production users reached it (orchestrator.analysis.probe)."""

    rounds: int  # rounds sent (one request per smoke check each)
    answers: int  # HTTP answers green gave
    wrong: int  # of them, refused by a smoke check (status, body text, JSON field)
    off: str | None  # why the probe was switched off (it could not reach the test listener)


@dataclass(frozen=True, kw_only=True, eq=False)
class DeployFacts(Document):
    """What `deploy` adds about the deployment it created."""

    task_definition_arn: str | None
    request_token: str
    forced: bool
    guardrail_violations: list[str]
    create_attempts: int


@dataclass(frozen=True, kw_only=True, eq=False)
class RollbackFacts(Document):
    """What `rollback` adds: the revision it redeployed and the live deployment it replaced."""

    task_definition_arn: str | None
    rollback_to: str
    rollback_from: str


@dataclass(frozen=True, kw_only=True, eq=False)
class _ReportTail(Document):
    exit_code: int
    hook_failure: HookFailure | None = field(default=None, metadata=ABSENT)
    # a deployment that failed, stopped or rolled back: `bluegreen why`'s first line
    root_cause: str | None = field(default=None, metadata=ABSENT)


@dataclass(frozen=True, kw_only=True, eq=False)
class WatchReport(_ReportTail, ReportHead):
    """`bluegreen watch`: how the deployment it attached to ended (or where it was at --until)."""


@dataclass(frozen=True, kw_only=True, eq=False)
class DeployReport(_ReportTail, DeployFacts, ReportHead):
    """`bluegreen deploy`: how the deployment it created ended (or where it was at --until)."""


@dataclass(frozen=True, kw_only=True, eq=False)
class RollbackReport(_ReportTail, RollbackFacts, ReportHead):
    """`bluegreen rollback`: how the rollback deployment it created ended."""


# --- deploy/rollback --no-wait: the deployment exists --------------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)
class CreatedHead(Document):
    """What a --no-wait document says as soon as the deployment exists."""

    deployment_id: str
    service: str | None
    environment: str | None
    strategy: str | None
    deployment_config_name: str | None
    status: Literal["Created"]
    outcome: Literal["created"]
    rolled_back: Literal[False]
    rollback_deployment_id: None
    duration_seconds: float
    expected_seconds: int
    timeout_seconds: int
    api_calls: int
    events: list[WatchEvent]
    waits_at_ready: bool
    engine: Literal["codedeploy", "ecs"]


@dataclass(frozen=True, kw_only=True, eq=False)
class _ExitCode(Document):
    exit_code: int


@dataclass(frozen=True, kw_only=True, eq=False)
class DeployCreated(_ExitCode, DeployFacts, CreatedHead):
    """`bluegreen deploy --no-wait`: the deployment it created."""


@dataclass(frozen=True, kw_only=True, eq=False)
class RollbackCreated(_ExitCode, RollbackFacts, CreatedHead):
    """`bluegreen rollback --no-wait`: the rollback deployment it created."""


# The document of each verb, by the type of its facts.
REPORTS: dict[type, Callable[..., ReportHead]] = {
    DeployFacts: DeployReport,
    RollbackFacts: RollbackReport,
    type(None): WatchReport,
}
CREATED: dict[type, Callable[..., CreatedHead]] = {DeployFacts: DeployCreated, RollbackFacts: RollbackCreated}


def report(
    head: ReportHead,
    facts: DeployFacts | RollbackFacts | None,
    hook_failure: HookFailure | None,
    exit_code: int,
    root_cause: str | None = None,
) -> ReportHead:
    """The watch report of the verb whose ``facts`` these are (``None``: `watch`)."""
    more = fields_of(facts) if facts is not None else {}
    return REPORTS[type(facts)](
        **fields_of(head), **more, exit_code=exit_code, hook_failure=hook_failure, root_cause=root_cause
    )


def created(head: CreatedHead, facts: DeployFacts | RollbackFacts) -> CreatedHead:
    """The --no-wait document of the verb whose ``facts`` these are."""
    return CREATED[type(facts)](**fields_of(head), **fields_of(facts), exit_code=0)


# --- drill --------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)
class DrillDocument(Document):
    """`bluegreen drill`: the forced failure, whether the engine rolled back, and how fast."""

    service: str
    environment: str
    engine: Literal["codedeploy", "ecs"]
    fault: Literal["alarm", "hook"]
    alarm: str | None  # the alarm forced to ALARM (fault alarm)
    deployment_id: str
    strategy: str
    revision: str  # the live task definition the drill redeployed
    status: str
    rolled_back: bool
    injected_at_seconds: float | None  # deployment seconds after the watch started
    back_on_blue_at_seconds: float | None
    seconds_to_rollback: float | None  # measured: the fault to traffic back on blue
    bound_seconds: float  # what the configuration implies
    bound: str  # how the bound adds up
    wiring_problem: str | None  # what the engine's configuration lacks to roll back, if seen
    passed: bool
    verdict: str
    api_calls: int


# --- deploy --dry-run ------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)
class PlannedTaskDefinition(Document):
    """Where the task definition comes from; ``register`` is the RegisterTaskDefinition request."""

    source: str
    arn: str | None
    image: str | None
    register: dict[str, Any] | None


@dataclass(frozen=True, kw_only=True, eq=False)
class GuardrailViolation(Document):
    """A guardrail the deployment breaks (only with --force does the plan go on)."""

    rule: str
    message: str


@dataclass(frozen=True, kw_only=True, eq=False)
class PlannedPhase(Document):
    """A phase of the timing model and its expected duration."""

    name: str
    expected_seconds: int


@dataclass(frozen=True, kw_only=True, eq=False)
class DeployPlan(Document):
    """`bluegreen deploy --dry-run`: what deploy would do; the requests it would send."""

    service: str
    environment: str
    application: str
    deployment_group: str
    strategy: str
    deployment_config_name: str
    create_deployment_config: dict[str, Any] | None
    task_definition: PlannedTaskDefinition
    guardrails: list[GuardrailViolation]
    forced: bool
    expected_seconds: int
    timeout_seconds: int
    phases: list[PlannedPhase]
    create_deployment: dict[str, Any]
    skipped_reads: list[str]
    dry_run: Literal[True]
    engine: Literal["codedeploy"]


@dataclass(frozen=True, kw_only=True, eq=False)
class NativeDeployPlan(Document):
    """`bluegreen deploy --dry-run` on the ECS engine: what deploy would do; the UpdateService request."""

    service: str
    environment: str
    engine: Literal["ecs"]
    cluster: str
    ecs_service: str
    strategy: str
    deployment_config_name: str  # ECS's native strategy and steps, e.g. ecs:CANARY:10:5
    task_definition: PlannedTaskDefinition
    guardrails: list[GuardrailViolation]
    forced: bool
    expected_seconds: int
    timeout_seconds: int
    phases: list[PlannedPhase]
    update_service: dict[str, Any]
    skipped_reads: list[str]
    dry_run: Literal[True]


# --- status, stop, promote -------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)
class StatusDocument(Document):
    """`bluegreen status`: one look at a deployment."""

    deployment_id: str
    service: str | None
    environment: str | None
    application: str | None
    deployment_group: str | None
    strategy: str | None
    deployment_config_name: str | None
    status: str
    rolled_back: bool
    rollback_deployment_id: str | None
    rollback_of: str | None
    error: str | None
    description: str | None
    create_time: str | None  # as Python prints a datetime: "2026-11-21 23:36:46.123000+00:00"
    complete_time: str | None
    duration_seconds: float | None
    traffic_weights: TrafficWeights
    lifecycle_events: dict[str, str]
    api_calls: int
    engine: Literal["codedeploy", "ecs"]
    hook_failure: HookFailure | None = field(default=None, metadata=ABSENT)


@dataclass(frozen=True, kw_only=True, eq=False)
class StopDocument(Document):
    """`bluegreen stop`: CodeDeploy's answer to StopDeployment, and the rollback it started."""

    deployment_id: str
    stop_status: str | None
    status_message: str | None
    rollback: bool
    rollback_deployment_id: str | None
    api_calls: int


@dataclass(frozen=True, kw_only=True, eq=False)
class PromoteDocument(Document):
    """`bluegreen promote`: ContinueDeployment was accepted."""

    deployment_id: str
    promoted: Literal[True]
    api_calls: int


# --- strategies, render ----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)
class CanaryConfiguration(Document):
    """ECS's CanaryConfiguration (keys as ECS spells them)."""

    canary_percent: float
    canary_bake_time_in_minutes: int


@dataclass(frozen=True, kw_only=True, eq=False)
class LinearConfiguration(Document):
    """ECS's LinearConfiguration (keys as ECS spells them)."""

    step_percent: float
    step_bake_time_in_minutes: int


@dataclass(frozen=True, kw_only=True, eq=False)
class NativeConfiguration(Document):
    """The strategy part of the ECS engine's deploymentConfiguration (UpdateService)."""

    strategy: str  # BLUE_GREEN, CANARY or LINEAR
    canary_configuration: CanaryConfiguration | None = field(default=None, metadata=ABSENT)
    linear_configuration: LinearConfiguration | None = field(default=None, metadata=ABSENT)


def native_configuration(config: dict[str, Any]) -> NativeConfiguration:
    """The document of ``engines.ecs_config.strategy_configuration``'s answer."""
    canary, linear = config.get("canaryConfiguration"), config.get("linearConfiguration")
    return NativeConfiguration(
        strategy=config["strategy"],
        canary_configuration=(
            CanaryConfiguration(
                canary_percent=canary["canaryPercent"],
                canary_bake_time_in_minutes=canary["canaryBakeTimeInMinutes"],
            )
            if canary
            else None
        ),
        linear_configuration=(
            LinearConfiguration(
                step_percent=linear["stepPercent"],
                step_bake_time_in_minutes=linear["stepBakeTimeInMinutes"],
            )
            if linear
            else None
        ),
    )


@dataclass(frozen=True, kw_only=True, eq=False)
class StrategyRow(Document):
    """One predefined strategy on both engines; ``traffic_steps`` are (minute, replacement percent) pairs.

    ``deployment_config_name`` is the CodeDeploy engine's; ``native_configuration`` the ECS engine's.
    """

    name: str
    kind: str
    deployment_config_name: str
    percentage: int | None
    interval_minutes: int | None
    traffic_steps: list[tuple[float, int]]
    description: str
    native_configuration: NativeConfiguration
    native_description: str


@dataclass(frozen=True, kw_only=True, eq=False)
class StrategiesDocument(Document):
    """`bluegreen strategies`: the predefined strategies and the custom forms."""

    strategies: list[StrategyRow]
    custom: list[str]


@dataclass(frozen=True, kw_only=True, eq=False)
class RenderDocument(Document):
    """`bluegreen render`: where the AppSpec was written and the sha256 of its bytes."""

    service: str
    environment: str
    path: str
    sha256: str


# --- migrate ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)
class MigrationSetting(Document):
    """One deployment group setting and what it became on ECS; ``native`` null: it does not translate
    (``reason`` says why)."""

    setting: str
    value: str
    native: str | None
    reason: str | None


@dataclass(frozen=True, kw_only=True, eq=False)
class MigrateDocument(Document):
    """`bluegreen migrate`: the native equivalent of a CodeDeploy deployment group, and what --apply did.

    ``update_service`` is the UpdateService request (sent, or that --apply would send; a rule --apply
    would create shows as ``<... listener rule: created by --apply>``); ``create_rules`` the CreateRule
    requests of the listener rules missing; ``in_flight`` the deployment that makes --apply refuse.
    """

    service: str
    environment: str
    application: str
    deployment_group: str
    deployment_controller: str  # the service's, as read (before --apply)
    applied: bool
    already_native: bool
    strategy: str
    settings: list[MigrationSetting]
    untranslated: int
    create_rules: list[dict[str, Any]]
    created_rule_arns: list[str]
    update_service: dict[str, Any]
    service_deployment_arn: str | None
    in_flight: str | None
    blocked: str | None
    next_step: str
    api_calls: int


# --- alarms sync, alarms audit ---------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)
class AlarmChange(Document):
    """An alarm sync creates or updates, and what differs."""

    alarm: str
    service: str | None
    created: bool
    changes: list[str]


@dataclass(frozen=True, kw_only=True, eq=False)
class DeploymentGroupChange(Document):
    """A deployment group whose alarm configuration sync changes, and what differs."""

    application: str
    deployment_group: str
    service: str | None
    changes: list[str]


@dataclass(frozen=True, kw_only=True, eq=False)
class SyncReport(Document):
    """What a sync found different, what it wrote, and what it could not do."""

    dry_run: bool
    alarms_checked: int
    deployment_groups_checked: int
    alarm_changes: list[AlarmChange]
    deployment_group_changes: list[DeploymentGroupChange]
    problems: list[str]
    writes: int


def sync_report(result: SyncResult) -> SyncReport:
    """A sync's document (also the ``fix.sync`` of an audit --fix)."""
    return SyncReport(
        dry_run=result.dry_run,
        alarms_checked=result.alarms_checked,
        deployment_groups_checked=result.groups_checked,
        alarm_changes=[
            AlarmChange(
                alarm=c.name, service=c.service, created=c.created, changes=[str(x) for x in c.changes]
            )
            for c in result.alarm_changes
        ],
        deployment_group_changes=[
            DeploymentGroupChange(
                application=c.application,
                deployment_group=c.deployment_group,
                service=c.service,
                changes=[str(x) for x in c.changes],
            )
            for c in result.group_changes
        ],
        problems=list(result.problems),
        writes=result.writes,
    )


@dataclass(frozen=True, kw_only=True, eq=False)
class _Environment(Document):
    environment: str


@dataclass(frozen=True, kw_only=True, eq=False)
class SyncDocument(SyncReport, _Environment):
    """`bluegreen alarms sync`: the environment, then the sync report."""


@dataclass(frozen=True, kw_only=True, eq=False)
class Finding(Document):
    """One audit violation, and whether `bluegreen alarms sync` repairs it."""

    rule: str
    application: str
    deployment_group: str
    alarm: str | None
    service: str | None
    message: str
    fixable: bool
    unfixable_reason: str | None


@dataclass(frozen=True, kw_only=True, eq=False)
class AuditReport(Document):
    """Every finding of one audit, and what was looked at (also what the audit Lambda logs)."""

    environment: str
    applications: list[str]
    deployment_groups_checked: int
    alarms_checked: int
    violations: int
    fixable: int
    by_rule: dict[str, int]
    findings: list[Finding]
    notes: list[str]


def audit_report(report: AuditFindings) -> AuditReport:
    """An audit's findings as a document (the CLI's, and what the audit Lambda logs)."""
    return AuditReport(
        environment=report.environment,
        applications=list(report.applications),
        deployment_groups_checked=report.groups_checked,
        alarms_checked=report.alarms_checked,
        violations=len(report.findings),
        fixable=sum(1 for f in report.findings if f.fixable),
        by_rule=report.counts_by_rule(),
        findings=[
            Finding(
                rule=f.rule.value,
                application=f.application,
                deployment_group=f.deployment_group,
                alarm=f.alarm,
                service=f.service,
                message=f.message,
                fixable=f.fixable,
                unfixable_reason=f.unfixable_reason,
            )
            for f in report.findings
        ],
        notes=list(report.notes),
    )


@dataclass(frozen=True, kw_only=True, eq=False)
class AuditFix(Document):
    """What --fix did: how many violations there were before, and the sync it ran."""

    before: int
    sync: SyncReport | None


@dataclass(frozen=True, kw_only=True, eq=False)
class AuditDocument(AuditReport):
    """`bluegreen alarms audit`: the report after any --fix; ``fix`` is null without one."""

    fix: AuditFix | None
    api_calls: int


# --- timeline ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)
class TimelineTraffic(Document):
    """From ``at_seconds`` on, green (the replacement) had ``green_percent`` of production traffic."""

    at_seconds: float
    green_percent: float
    blue_percent: float


@dataclass(frozen=True, kw_only=True, eq=False)
class TimelineSpan(Document):
    """A lifecycle event or stage, a hook (first to last verdict line) or a rollback step; seconds
    since ``origin``, null when not known; ``source``: engine | hooks (timed by the hooks' lines) | none."""

    label: str
    verdict: str  # succeeded, failed, stopped, skipped, in progress, pending, unknown
    start_seconds: float | None
    end_seconds: float | None
    detail: str | None
    source: str
    function: str | None = field(default=None, metadata=ABSENT)


@dataclass(frozen=True, kw_only=True, eq=False)
class TimelineBand(Document):
    """An alarm's state from ``start_seconds`` to ``end_seconds`` (``state`` null: no change seen)."""

    alarm: str
    state: str | None
    start_seconds: float
    end_seconds: float
    reason: str | None


@dataclass(frozen=True, kw_only=True, eq=False)
class TimelineMark(Document):
    """A moment across every lane: failed, stopped, rollback started, rollback completed, ended."""

    kind: str
    at_seconds: float
    label: str


@dataclass(frozen=True, kw_only=True, eq=False)
class TimelineDocument(Document):
    """`bluegreen timeline`: the picture of one deployment as data; ``path`` is the --out file written."""

    deployment_id: str
    engine: Literal["codedeploy", "ecs"]
    service: str | None
    environment: str | None
    strategy: str | None
    status: str
    outcome: str
    origin: str  # ISO 8601, the deployment's creation: every *Seconds counts from it
    end_seconds: float
    traffic: list[TimelineTraffic]
    lifecycle: list[TimelineSpan]
    hooks: list[TimelineSpan]
    alarms: list[TimelineBand]
    rollback: list[TimelineSpan]
    marks: list[TimelineMark]
    unreadable: list[str]
    api_calls: int
    path: str | None = field(default=None, metadata=ABSENT)


def timeline_document(timeline: Timeline, api_calls: int, path: str | None) -> TimelineDocument:
    """The document of a ``Timeline`` (and the file ``--out`` wrote)."""
    return TimelineDocument(
        deployment_id=timeline.deployment_id,
        engine=timeline.engine,  # type: ignore[arg-type]  # an EngineName value
        service=timeline.service,
        environment=timeline.environment,
        strategy=timeline.strategy,
        status=timeline.status,
        outcome=timeline.outcome.value,
        origin=timeline.origin.isoformat(),
        end_seconds=timeline.end,
        traffic=[
            TimelineTraffic(at_seconds=s.at, green_percent=s.green_percent, blue_percent=s.blue_percent)
            for s in timeline.traffic
        ],
        lifecycle=[_timeline_span(span) for span in timeline.lifecycle],
        hooks=[_timeline_span(span) for span in timeline.hooks],
        alarms=[
            TimelineBand(
                alarm=b.alarm, state=b.state, start_seconds=b.start, end_seconds=b.end, reason=b.reason
            )
            for b in timeline.alarms
        ],
        rollback=[_timeline_span(span) for span in timeline.rollback],
        marks=[TimelineMark(kind=m.kind.value, at_seconds=m.at, label=m.label) for m in timeline.marks],
        unreadable=list(timeline.unreadable),
        api_calls=api_calls,
        path=path,
    )


def _timeline_span(span: TimelineSpanModel) -> TimelineSpan:
    return TimelineSpan(
        label=span.label,
        verdict=span.verdict.value,
        start_seconds=span.start,
        end_seconds=span.end,
        detail=span.detail,
        source=span.source,
        function=span.function,
    )


# --- why: the diagnosis of one deployment --------------------------------------------------------------
# Times are ISO-8601 in UTC ("2026-11-30T10:03:12+00:00"), on the deployment engine's clock.
@dataclass(frozen=True, kw_only=True, eq=False)
class WhyFacts(Document):
    """The deployment as its engine describes it (insight.evidence.DeploymentFacts)."""

    deployment_id: str
    engine: Literal["codedeploy", "ecs"]
    status: str  # the engine's own word (CodeDeploy: Failed, Stopped...; ECS: ROLLBACK_SUCCESSFUL...)
    outcome: Literal["succeeded", "failed", "stopped", "rolled back", "in progress"]
    service: str | None
    environment: str | None
    strategy: str | None
    created: str | None
    completed: str | None
    error_code: str | None
    error_message: str | None
    stopped_by_user: bool
    stopped_by: str | None  # which sign of bluegreen's watch asked for that stop (the ledger's stoppedBy)
    rolled_back: bool
    rollback_deployment_id: str | None
    rollback_reason: str | None
    rollback_started: str | None
    rollback_of: str | None
    description: str | None
    task_definition: str | None
    image: str | None


@dataclass(frozen=True, kw_only=True, eq=False)
class WhyFinding(Document):
    """One thing the diagnosis found, and the source it read it in."""

    source: str
    line: str


@dataclass(frozen=True, kw_only=True, eq=False)
class WhyStep(Document):
    """A lifecycle event (CodeDeploy) or stage (ECS), its times and diagnostics."""

    name: str
    status: str
    started: str | None
    ended: str | None
    error_code: str | None
    message: str | None
    hook_function: str | None


@dataclass(frozen=True, kw_only=True, eq=False)
class WhyHook(Document):
    """One hook invocation's verdict line (CloudWatch Logs) and the failed checks it lists."""

    step: str
    function: str
    verdict: str
    reason: str
    at: str | None
    evidence: list[str]


@dataclass(frozen=True, kw_only=True, eq=False)
class WhyAlarm(Document):
    """One alarm state change in the deployment's window (DescribeAlarmHistory)."""

    alarm: str
    at: str
    old_state: str
    new_state: str
    reason: str
    datapoint: float | None


@dataclass(frozen=True, kw_only=True, eq=False)
class WhyTarget(Document):
    """One target of the replacement's target group (DescribeTargetHealth)."""

    target_group: str
    target: str
    state: str
    reason: str | None
    description: str | None


@dataclass(frozen=True, kw_only=True, eq=False)
class WhyStoppedTask(Document):
    """A replacement task that stopped during the deployment (ECS DescribeTasks)."""

    task_arn: str
    stopped_reason: str | None
    stop_code: str | None
    stopped_at: str | None
    container_reasons: list[str]


@dataclass(frozen=True, kw_only=True, eq=False)
class WhyServiceEvent(Document):
    """One of the ECS service's events."""

    at: str
    message: str


@dataclass(frozen=True, kw_only=True, eq=False)
class WhyUnreadable(Document):
    """A source that could not be read, and why."""

    source: str
    problem: str


@dataclass(frozen=True, kw_only=True, eq=False)
class WhyDocument(Document):
    """`bluegreen why`: the root cause of a deployment's end, and every piece of evidence read."""

    deployment_id: str
    engine: Literal["codedeploy", "ecs"]
    outcome: Literal["succeeded", "failed", "stopped", "rolled back", "in progress"]
    ok: bool  # the deployment succeeded: nothing to diagnose
    root_cause: str
    findings: list[WhyFinding]
    facts: WhyFacts
    steps: list[WhyStep]
    rollback_steps: list[WhyStep]
    hooks: list[WhyHook]
    alarms: list[WhyAlarm]
    targets: list[WhyTarget]
    stopped_tasks: list[WhyStoppedTask]
    service_events: list[WhyServiceEvent]
    unreadable: list[WhyUnreadable]
    api_calls: int
    # the canary judge's verdict (`analyze`'s document), when the service's catalog enables analysis
    analysis: AnalysisDocument | None = field(default=None, metadata=ABSENT)


def iso(when: Any) -> str | None:
    """A datetime as the documents print it (ISO-8601, UTC); None kept."""
    if when is None:
        return None
    from datetime import UTC

    return str(when.astimezone(UTC).isoformat())


def why_document(
    evidence: Evidence, diagnosis: Any, api_calls: int, analysis: Analysis | None = None
) -> WhyDocument:
    """The `why` document of gathered evidence and its diagnosis (insight.diagnosis.Diagnosis), with
    the canary judge's verdict when there is one."""
    facts = evidence.facts
    inspection = evidence.inspection
    plain: dict[str, Any] = {f.name: getattr(facts, f.name, None) for f in dataclasses.fields(WhyFacts)}
    times = ("created", "completed", "rollback_started")
    plain.update({name: iso(plain[name]) for name in times}, outcome=facts.outcome.value)
    return WhyDocument(
        deployment_id=facts.deployment_id,
        engine=facts.engine,  # type: ignore[arg-type]  # an Engine.name
        outcome=facts.outcome.value,
        ok=bool(diagnosis.ok),
        root_cause=str(diagnosis.root_cause),
        findings=[WhyFinding(source=f.source, line=f.line) for f in diagnosis.findings],
        facts=WhyFacts(**plain),
        steps=[_why_step(step) for step in inspection.steps],
        rollback_steps=[_why_step(step) for step in inspection.rollback_steps],
        hooks=[
            WhyHook(
                step=h.step,
                function=h.function,
                verdict=h.verdict,
                reason=h.reason,
                at=iso(h.at),
                evidence=list(h.evidence),
            )
            for h in evidence.hooks
        ],
        alarms=[
            WhyAlarm(
                alarm=a.alarm,
                at=str(iso(a.at)),
                old_state=a.old_state,
                new_state=a.new_state,
                reason=a.reason,
                datapoint=a.datapoint,
            )
            for a in evidence.alarms
        ],
        targets=[
            WhyTarget(
                target_group=t.target_group,
                target=t.target,
                state=t.state,
                reason=t.reason,
                description=t.description,
            )
            for t in evidence.targets
        ],
        stopped_tasks=[
            WhyStoppedTask(
                task_arn=t.task_arn,
                stopped_reason=t.stopped_reason,
                stop_code=t.stop_code,
                stopped_at=iso(t.stopped_at),
                container_reasons=list(t.container_reasons),
            )
            for t in inspection.stopped_tasks
        ],
        service_events=[
            WhyServiceEvent(at=str(iso(e.at)), message=e.message) for e in inspection.service_events
        ],
        unreadable=[WhyUnreadable(source=u.source, problem=u.problem) for u in evidence.all_unreadable()],
        api_calls=api_calls,
        analysis=analysis_document(analysis, api_calls) if analysis is not None else None,
    )


def _why_step(step: Step) -> WhyStep:
    return WhyStep(
        name=step.name,
        status=step.status,
        started=iso(step.started),
        ended=iso(step.ended),
        error_code=step.error_code,
        message=step.message,
        hook_function=step.hook_function,
    )


# --- history, dora: past deployments and DORA's four keys ----------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)
class HistoryRow(Document):
    """One past deployment (a DeploymentRecord): what ran, how it ended, who ran it from which commit."""

    deployment_id: str
    engine: Literal["codedeploy", "ecs"]
    service: str
    environment: str
    kind: Literal["deploy", "rollback", "auto-rollback"]
    strategy: str | None
    status: str
    outcome: Literal["succeeded", "failed", "stopped", "rolled back", "in progress"]
    created: str | None  # ISO 8601, UTC
    completed: str | None
    duration_seconds: float | None
    rolled_back_by: str | None
    rollback_deployment_id: str | None
    rollback_of: str | None
    image: str | None
    task_definition: str | None
    deployer: str | None
    commit: str | None
    commit_time: str | None


@dataclass(frozen=True, kw_only=True, eq=False)
class HistoryDocument(Document):
    """`bluegreen history`: past deployments newest first, and where they were read."""

    environment: str
    service: str | None  # None: every service of the environment
    since: str
    source: Literal["ledger", "api"]
    ledger_tables: list[str]  # the DynamoDB tables read (source ledger)
    deployments: list[HistoryRow]
    api_calls: int


@dataclass(frozen=True, kw_only=True, eq=False)
class DoraFigures(Document):
    """DORA's four keys over a window and the counts they rest on (insight/dora.py's definitions)."""

    deploys: int
    succeeded: int
    failed: int
    rollbacks: int
    deployments_per_day: float
    lead_time_median_seconds: float | None
    lead_time_samples: int
    change_failure_rate: float | None
    time_to_restore_median_seconds: float | None
    time_to_restore_samples: int


@dataclass(frozen=True, kw_only=True, eq=False)
class DoraServiceFigures(DoraFigures):
    """One service's four keys."""

    service: str


@dataclass(frozen=True, kw_only=True, eq=False)
class DoraDocument(Document):
    """`bluegreen dora`: deployment frequency, lead time, change failure rate, time to restore."""

    environment: str
    service: str | None
    since: str
    until: str
    source: Literal["ledger", "api"]
    ledger_tables: list[str]
    overall: DoraFigures
    services: list[DoraServiceFigures]
    api_calls: int


# --- analyze: the canary judge's table --------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)
class AnalysisSide(Document):
    """One side's samples of a metric: how many periods, their mean and median (null without any)."""

    count: int
    mean: float | None
    median: float | None


@dataclass(frozen=True, kw_only=True, eq=False)
class AnalysisMetric(Document):
    """One metric's row: blue, green, the Mann-Whitney U test, the effect, the verdict and why."""

    name: str
    weight: float
    critical: bool
    blue: AnalysisSide
    green: AnalysisSide
    u: float | None
    p: float | None
    effect: float | None  # relative change of the mean (0.4 = +40 %); null when blue's mean is 0
    verdict: Literal["PASS", "FAIL", "INCONCLUSIVE"]
    why: str


@dataclass(frozen=True, kw_only=True, eq=False)
class AnalysisDocument(Document):
    """`bluegreen analyze`: the judge's verdict on green against blue over the traffic window."""

    deployment_id: str
    engine: Literal["codedeploy", "ecs"]
    service: str
    environment: str
    analysis_enabled: bool  # the catalog runs the judge inside the traffic window for this service
    verdict: Literal["PASS", "MARGINAL", "FAIL", "INCONCLUSIVE"]
    score: float | None
    reason: str
    pass_score: float
    marginal_score: float
    window_start: str | None  # ISO 8601, UTC; null when green and blue never served together
    window_end: str | None
    window_note: str | None
    sample_period_seconds: int
    green_target_group: str | None  # CloudWatch's TargetGroup dimension value
    blue_target_group: str | None
    green_requests: float
    blue_requests: float
    metrics: list[AnalysisMetric]
    api_calls: int


def _analysis_side(summary: Summary) -> AnalysisSide:
    return AnalysisSide(count=summary.count, mean=summary.mean, median=summary.median)


def _finite(value: float | None) -> float | None:
    import math

    return value if value is None or math.isfinite(value) else None  # JSON has no Infinity


def analysis_document(analysis: Analysis, api_calls: int) -> AnalysisDocument:
    """The `analyze` document of one deployment's canary analysis."""
    judgement, window, sides = analysis.judgement, analysis.window, analysis.sides
    return AnalysisDocument(
        deployment_id=analysis.deployment_id,
        engine=analysis.engine,  # type: ignore[arg-type]  # an Engine.name
        service=analysis.service,
        environment=analysis.environment,
        analysis_enabled=analysis.enabled,
        verdict=judgement.verdict.value,
        score=judgement.score,
        reason=judgement.reason,
        pass_score=analysis.settings.pass_score,
        marginal_score=analysis.settings.marginal_score,
        window_start=iso(window.start) if window else None,
        window_end=iso(window.end) if window else None,
        window_note=window.note if window else None,
        sample_period_seconds=analysis.settings.sample_period_seconds,
        green_target_group=sides.green_target_group if sides else None,
        blue_target_group=sides.blue_target_group if sides else None,
        green_requests=judgement.green_requests,
        blue_requests=judgement.blue_requests,
        metrics=[
            AnalysisMetric(
                name=row.name,
                weight=row.weight,
                critical=row.critical,
                blue=_analysis_side(row.blue),
                green=_analysis_side(row.green),
                u=row.u,
                p=row.p,
                effect=_finite(row.effect),
                verdict=row.verdict.value,  # type: ignore[arg-type]  # a metric's verdict
                why=row.why,
            )
            for row in judgement.metrics
        ],
        api_calls=api_calls,
    )


# --- fleet deploy / fleet watch --------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)
class FleetServiceRow(Document):
    """One service of a fleet run: its deployment and how it ended."""

    service: str
    wave: int
    engine: Literal["codedeploy", "ecs"]
    deployment_id: str | None  # None: never started (skipped, queued to the end, not started)
    status: str | None  # the engine's last status (Succeeded, Failed, Stopped, InProgress...)
    # succeeded, failed, stopped, rolled back, skipped, not started, running, queued
    outcome: str
    duration_seconds: float | None
    expected_seconds: float | None
    # why it failed, was stopped or skipped: `bluegreen why`'s root cause line when it was found,
    # else the engine's error or the fleet's reason (one line)
    why: str | None


@dataclass(frozen=True, kw_only=True, eq=False)
class FleetTotals(Document):
    services: int
    succeeded: int
    failed: int  # failed, stopped or rolled back (including those the fleet stopped)
    skipped: int  # never started: skipped or not started
    running: int  # still running (a timeout, or `fleet watch` interrupted)


@dataclass(frozen=True, kw_only=True, eq=False)
class FleetDocument(Document):
    """`bluegreen fleet deploy` and `fleet watch`: the fleet run, every service's deployment, totals."""

    fleet_run_id: str
    environment: str
    strategy: str | None  # --strategy for every service; None: each service's own
    outcome: Literal["succeeded", "failed", "timed out"]
    # the first service that failed (the fleet's failure) and why
    broken_by: str | None
    resumed: bool  # --resume: deployments this run found started were watched, not started again
    services: list[FleetServiceRow]
    totals: FleetTotals
    duration_seconds: float
    expected_seconds: float | None
    timeout_seconds: float
    api_calls: int  # every AWS call of the command (plans, starts, looks, diagnoses)
    watch_calls: int  # the looks, stops and promotes of the run (bounded per minute)
    calls_per_minute: float  # watch_calls per minute of the run, on average
    max_calls_per_minute: int  # watch_calls in the busiest sliding minute
    calls_per_minute_limit: int
    polls: int
    exit_code: int


# --- fleet deploy --dry-run ------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)
class FleetPlannedService(Document):
    """One service of a fleet plan: its engine, strategy, image and expected duration."""

    service: str
    engine: str
    strategy: str | None
    image: str | None  # None: the catalog's image
    expected_seconds: int
    depends_on: list[str]  # the services of this run it waits for


@dataclass(frozen=True, kw_only=True, eq=False)
class FleetPlannedWave(Document):
    """A wave: its services in the order they start (longest first) and when it should end."""

    number: int
    expected_seconds: int
    services: list[FleetPlannedService]


@dataclass(frozen=True, kw_only=True, eq=False)
class FleetPlanDocument(Document):
    """`bluegreen fleet deploy --dry-run`: the waves, their order and expected durations."""

    environment: str
    strategy: str | None  # --strategy for every service; null: each service's own
    max_parallel: int
    services: int
    expected_seconds: int  # the sum over the waves
    waves: list[FleetPlannedWave]
    dry_run: Literal[True]


# --- fleet export ------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)
class FleetExportDocument(Document):
    """`bluegreen fleet export`: the state machine and template written, and how to deploy and run them."""

    environment: str
    services: int
    waves: int
    max_parallel: int
    expected_seconds: int  # the plan's (the sum over the waves)
    timeout_seconds: int  # the state machine's TimeoutSeconds
    state_machine_name: str
    asl_path: str
    template_path: str
    deploy_command: str
    start_command: str


# --- any command that failed before it had a document of its own -------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)
class ErrorDocument(Document):
    """Any command that failed before it had its own document: what was known, and the error."""

    deployment_id: str | None
    service: str | None
    environment: str | None
    strategy: str | None
    status: str | None
    # the deployment that keeps the group busy; the rollback --rollback-on-interrupt started
    active_deployment_id: str | None = field(default=None, metadata=ABSENT)
    rollback_deployment_id: str | None = field(default=None, metadata=ABSENT)
    outcome: Literal["error"]
    error: str
    error_kind: str
    exit_code: int


# Every document a command prints, in the order `bluegreen schema` lists them.
DOCUMENTS: tuple[type[Document], ...] = (
    DeployReport,
    DeployCreated,
    DeployPlan,
    NativeDeployPlan,
    RollbackReport,
    RollbackCreated,
    WatchReport,
    StatusDocument,
    StopDocument,
    PromoteDocument,
    StrategiesDocument,
    MigrateDocument,
    RenderDocument,
    SyncDocument,
    AuditDocument,
    TimelineDocument,
    WhyDocument,
    AnalysisDocument,
    HistoryDocument,
    DoraDocument,
    FleetDocument,
    FleetPlanDocument,
    FleetExportDocument,
    DrillDocument,
    ErrorDocument,
)


def json_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) every document validates against: one of ``$defs``' documents."""
    from typing import Union

    from pydantic import TypeAdapter

    union = Union[DOCUMENTS]  # type: ignore[valid-type]  # noqa: UP007 (a runtime tuple of classes)
    generated = TypeAdapter(union).json_schema(mode="serialization")
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": "bluegreen --output json documents",
        "description": "Every command prints one of these documents on stdout with --output json, "
        "whatever its exit code; ErrorDocument when it failed before it had its own.",
        "anyOf": generated["anyOf"],
        "$defs": generated["$defs"],
    }

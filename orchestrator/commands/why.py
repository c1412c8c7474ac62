"""`bluegreen why DEPLOYMENT_ID`: why a deployment failed, stopped or rolled back, in one report.

The engine is the one whose deployment the id names (``engines.engine_for``); ``insight.gather``
reads the evidence (the engine's own account, hook verdict lines, alarm history, target health),
``insight.diagnosis`` names the root cause. The first line is that cause in one sentence; then the
evidence, section by section, and what could not be read. The report is the product: it exits 0
whatever the deployment's outcome, as `status` does (exit 1 belongs to the verbs whose own deployment
failed: deploy, rollback, watch); 2 for an id that is malformed or names no deployment of this
account and region, 4 when AWS refuses the engine's reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from orchestrator import documents
from orchestrator.commands import lookup
from orchestrator.commands.failure import error_context
from orchestrator.commands.result import Result, lines
from orchestrator.commands.session import Session
from orchestrator.errors import ErrorContext
from orchestrator.insight.evidence import Evidence, Step

# Service events are many (ECS keeps 100); the text shows the latest, the JSON every one.
EVENTS_SHOWN = 10


def run(session: Session, deployment_id: str) -> Result:
    with error_context(ErrorContext(deployment_id=deployment_id)):
        return _run(session, deployment_id)


def _run(session: Session, deployment_id: str) -> Result:
    from orchestrator.insight.diagnosis import diagnose
    from orchestrator.insight.gather import gather

    lookup.check_deployment_id(deployment_id)
    engine, clients = lookup.deployment_engine(session, deployment_id)
    clock = engine.server_clock(1.0)  # the canary analysis' "now" is the engine's
    evidence = gather(engine, clients, session, deployment_id)
    diagnosis = diagnose(evidence)
    analysis, evidence = _canary_analysis(session, clients, evidence, clock.server_now)
    document = documents.why_document(evidence, diagnosis, clients.counter.total, analysis)
    return Result(document, report_text(session, evidence, diagnosis, analysis))


def _canary_analysis(
    session: Session, clients: Any, evidence: Evidence, server_now: float | None
) -> tuple[Any, Evidence]:
    """The judge's verdict when the service's catalog enables canary analysis (else None); a read that
    fails is one more unreadable source, never the report's end."""
    import dataclasses

    from orchestrator.analysis.canary import analyze
    from orchestrator.errors import BluegreenError
    from orchestrator.insight.evidence import Unreadable
    from orchestrator.insight.gather import deployment_window

    facts = evidence.facts
    try:
        service = session.catalog.resolve(facts.service, facts.environment) if facts.service else None
    except BluegreenError:
        service = None
    if service is None or not service.settings.analysis.enabled:
        return None, evidence
    now = deployment_window(facts.created, facts.completed, server_now).now
    try:
        return analyze(evidence.inspection, service, clients, now or datetime.now(UTC)), evidence
    except BluegreenError as err:
        unreadable = (*evidence.unreadable, Unreadable("canary analysis", str(err)))
        return None, dataclasses.replace(evidence, unreadable=unreadable)


def report_text(session: Session, evidence: Evidence, diagnosis: Any, analysis: Any = None) -> str:
    """The report for a person: the root cause, then the evidence section by section."""
    facts = evidence.facts
    if diagnosis.ok:  # (the judge's verdict is still in the JSON; `analyze` prints it)
        return lines(session.style(f"{facts.deployment_id} succeeded; nothing to diagnose", "green"))
    out = [session.style(str(diagnosis.root_cause), "red"), *_head(evidence)]
    findings = [f"  {finding.source}: {finding.line}" for finding in diagnosis.findings]
    out += _section("findings", findings)
    out += _section("lifecycle", _steps(evidence.inspection.steps))
    out += _section("rollback", _steps(evidence.inspection.rollback_steps))
    out += _section("hooks", _hooks(evidence))
    out += _section("alarms", _alarms(evidence))
    out += _section("targets", _targets(evidence))
    out += _section("stopped tasks", _stopped_tasks(evidence))
    out += _section("service events", _service_events(evidence))
    out += _section("canary analysis", _analysis(analysis))
    out += _section("could not read", [f"  {u.source}: {u.problem}" for u in evidence.all_unreadable()])
    return lines(*out)


def _head(evidence: Evidence) -> list[str]:
    facts = evidence.facts
    where = f"{facts.service} ({facts.environment})" if facts.service else facts.engine
    strategy = f"  {facts.strategy}" if facts.strategy else ""
    out = [f"  {facts.deployment_id}  {where}{strategy}  {facts.outcome.value} ({facts.status})"]
    if facts.created is not None:
        took = ""
        if facts.completed is not None:
            from orchestrator.watching.views import duration

            took = f", took {duration((facts.completed - facts.created).total_seconds())}"
        out.append(f"  created {_day(facts.created)}{took}")
    if facts.error_code or facts.error_message:
        out.append(f"  error: {': '.join(x for x in (facts.error_code, facts.error_message) if x)}")
    if facts.rollback_deployment_id and facts.rollback_deployment_id != facts.deployment_id:
        out.append(f"  rolled back by {facts.rollback_deployment_id}")
    elif facts.rolled_back:
        out.append("  rolled back within the deployment")
    if facts.rollback_reason:
        out.append(f"  rollback reason: {facts.rollback_reason}")
    return out


def _analysis(analysis: Any) -> list[str]:
    """The judge's verdict and table (`bluegreen analyze`'s), when the catalog enables it."""
    if analysis is None:
        return []
    from orchestrator.commands.analyze import judge_table

    judgement = analysis.judgement
    score = f", score {judgement.score:.0f}" if judgement.score is not None else ""
    return [f"  {judgement.verdict.value}{score}: {judgement.reason}", *judge_table(analysis)]


def _section(title: str, body: Sequence[str]) -> list[str]:
    return [title, *body] if body else []


def _steps(steps: Iterable[Step]) -> list[str]:
    listed = list(steps)
    width = max([22, *(len(step.name) + 1 for step in listed)])
    out = []
    for step in listed:
        said = ": ".join(x for x in (step.error_code, step.message) if x)
        when = _time(step.started) if step.started else ""
        out.append(f"  {step.name:<{width}}{step.status:<12}{when:<10}{said}".rstrip())
    return out


def _hooks(evidence: Evidence) -> list[str]:
    out = []
    for hook in evidence.hooks:
        out.append(f"  {_time(hook.at):<9} {hook.step} {hook.verdict} ({hook.function}): {hook.reason}")
        out += [f"            - {line}" for line in hook.evidence]
    return out


def _alarms(evidence: Evidence) -> list[str]:
    out = []
    for change in evidence.alarms:
        value = f", datapoint {change.datapoint:g}" if change.datapoint is not None else ""
        out.append(f"  {_time(change.at):<9} {change.alarm} {change.old_state} -> {change.new_state}{value}")
        if change.reason:
            out.append(f"            {change.reason}")
    return out


def _targets(evidence: Evidence) -> list[str]:
    out = []
    for target in evidence.targets:
        said = ": ".join(x for x in (target.reason, target.description) if x)
        out.append(f"  {target.target_group} {target.target} {target.state}  {said}".rstrip())
    return out


def _stopped_tasks(evidence: Evidence) -> list[str]:
    out = []
    for task in evidence.inspection.stopped_tasks:
        code = f" ({task.stop_code})" if task.stop_code else ""
        out.append(
            f"  {_time(task.stopped_at):<9} {task.task_arn.rsplit('/', 1)[-1]}: {task.stopped_reason}{code}"
        )
        out += [f"            {reason}" for reason in task.container_reasons]
    return out


def _service_events(evidence: Evidence) -> list[str]:
    events = sorted(evidence.inspection.service_events, key=lambda e: e.at)
    shown = [f"  {_time(event.at):<9} {event.message}" for event in events[-EVENTS_SHOWN:]]
    if len(events) > EVENTS_SHOWN:
        shown.insert(0, f"  ({len(events) - EVENTS_SHOWN} earlier in --output json)")
    return shown


def _time(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%H:%M:%S") if when is not None else ""


def _day(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

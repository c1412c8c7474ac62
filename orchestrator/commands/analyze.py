"""`bluegreen analyze DEPLOYMENT_ID`: the canary judge's table for a running or finished deployment.

The engine is the one whose deployment the id names; its ``inspect`` gives the window in which green
and blue both served production and the replacement's target group; ``analysis.canary`` reads the
samples and judges. The report is the product, as with `why` and `status`: it exits 0 whatever the
verdict (FAIL included: `deploy` and the analysis Lambda are what stop a deployment on it), and a
deployment that never shifted traffic is a verdict too, INCONCLUSIVE "no green traffic yet", not an
error: a script polling a canary must not take "not yet" for bad input. Exit 2 for an id that is
malformed, names no deployment, or belongs to no service of the catalog (its target groups and
settings are unknown); 4 when AWS refuses a read.
"""

from __future__ import annotations

import math
from datetime import UTC
from typing import Any

from orchestrator import documents
from orchestrator.commands import lookup
from orchestrator.commands.failure import error_context
from orchestrator.commands.result import Result, lines
from orchestrator.commands.session import Session
from orchestrator.errors import BadInputError, ErrorContext

VERDICT_COLOURS = {"PASS": "green", "MARGINAL": "yellow", "FAIL": "red", "INCONCLUSIVE": "yellow"}


def run(session: Session, deployment_id: str) -> Result:
    with error_context(ErrorContext(deployment_id=deployment_id)):
        return _run(session, deployment_id)


def _run(session: Session, deployment_id: str) -> Result:
    from orchestrator.analysis.canary import analyze
    from orchestrator.insight.gather import catalog_service, deployment_window

    lookup.check_deployment_id(deployment_id)
    engine, clients = lookup.deployment_engine(session, deployment_id)
    clock = engine.server_clock(1.0)  # registered before the calls: "now" is the engine's
    inspection = engine.inspect(deployment_id)
    service, problem = catalog_service(engine, session, inspection)
    if service is None:
        said = f" ({problem.problem})" if problem is not None else ""
        raise BadInputError(
            f"{deployment_id}: cannot analyze it{said}; the catalog names a service's target groups and its "
            "analysis settings"
        )
    facts = inspection.facts
    now = deployment_window(facts.created, facts.completed, clock.server_now).now
    assert now is not None  # deployment_window always sets it
    analysis = analyze(inspection, service, clients, now)
    document = documents.analysis_document(analysis, clients.counter.total)
    return Result(document, report_text(session, analysis))


def report_text(session: Session, analysis: Any) -> str:
    """The verdict first, then what was judged and the table."""
    judgement = analysis.judgement
    verdict = judgement.verdict.value
    score = f", score {judgement.score:.0f}" if judgement.score is not None else ""
    head = session.style(f"{verdict}{score}: {judgement.reason}", VERDICT_COLOURS[verdict])
    where = f"  {analysis.deployment_id}  {analysis.service} ({analysis.environment})"
    out = [head, where, *judge_table(analysis)]
    if not analysis.enabled:
        out.append(f"  analysis is not enabled for {analysis.service}: judged with its settings all the same")
    return lines(*out)


def judge_table(analysis: Any) -> list[str]:
    """The window and the table, one metric a row (``why`` shows it too)."""
    window, judgement, settings = analysis.window, analysis.judgement, analysis.settings
    if window is None:
        return []
    periods = f"{settings.sample_period_seconds} s periods"
    out = [
        f"  window {_time(window.start)} - {_time(window.end)} UTC ({periods}; {window.note})",
        f"  requests: green {judgement.green_requests:g}, blue {judgement.blue_requests:g}"
        f"  (pass {settings.pass_score:g}, marginal {settings.marginal_score:g})",
    ]
    if analysis.sides is not None:
        out.append(f"  green {analysis.sides.green_target_group}  blue {analysis.sides.blue_target_group}")
    header = ("metric", "weight", "blue", "green", "U", "p", "effect", "verdict", "why")
    rows = [header, *(_row(row) for row in judgement.metrics)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        out.append("  " + "  ".join([*cells, row[-1]]).rstrip())
    return out


def _row(row: Any) -> tuple[str, ...]:
    weight = f"{row.weight:g}{'*' if row.critical else ''}"
    effect = "" if row.effect is None else _percent(row.effect)
    u = "" if row.u is None else f"{row.u:g}"
    p = "" if row.p is None else f"{row.p:.3g}"
    blue, green = (_value(row.name, side.mean) for side in (row.blue, row.green))
    return (row.name, weight, blue, green, u, p, effect, row.verdict.value, row.why)


def _value(name: str, value: float | None) -> str:
    """A mean as a person reads it: rates in %, latencies in ms, anything else as it is."""
    if value is None:
        return "-"
    if name.endswith("_rate"):
        return f"{value:.2%}"
    if name.endswith("_latency"):
        return f"{value * 1000:.0f} ms"
    return f"{value:.4g}"


def _percent(value: float) -> str:
    return f"{value:+.0%}" if math.isfinite(value) else ("+inf" if value > 0 else "-inf")


def _time(when: Any) -> str:
    return str(when.astimezone(UTC).strftime("%H:%M:%S"))

"""One deployment's canary analysis after the fact or while it runs (``bluegreen analyze``, ``why``):
the window in which green and blue both served production, from the engine's own account
(``Engine.inspect``), the two target groups, the samples, the judge's verdict.

``traffic_window`` is pure (a table in the tests); ``analyze`` reads through the adapters it is
handed (ELBv2 for the target groups, CloudWatch for the samples).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orchestrator.analysis.judge import Judgement, judge
from orchestrator.analysis.settings import AnalysisSettings
from orchestrator.analysis.sources import Sides, read_samples, sides_for
from orchestrator.insight.evidence import Inspection, Step, TrafficPoint
from orchestrator.vocabulary import ALLOW_TRAFFIC, NATIVE_LIFECYCLE_STAGES, PRODUCTION_TRAFFIC_SHIFT

NO_GREEN_TRAFFIC = "no green traffic yet"
NEVER_TOGETHER = "green took all production traffic at once: blue and green never served together"
FULL = 100.0


@dataclass(frozen=True)
class TrafficWindow:
    """When green and blue both served production traffic; ``note`` says how it was found."""

    start: datetime
    end: datetime
    note: str


@dataclass(frozen=True)
class Analysis:
    """The judge's verdict on one deployment, and what it was judged on."""

    deployment_id: str
    engine: str
    service: str
    environment: str
    enabled: bool  # the catalog runs the judge inside the traffic window for this service
    settings: AnalysisSettings
    window: TrafficWindow | None
    sides: Sides | None
    judgement: Judgement


def _shared(points: Sequence[TrafficPoint], end: datetime) -> TrafficWindow | str:
    """The window from the scheduled or observed traffic points (green's share over time)."""
    ordered = sorted(points, key=lambda point: point.at)
    first = next((i for i, point in enumerate(ordered) if point.green_percent > 0), None)
    if first is None:
        return NO_GREEN_TRAFFIC
    if ordered[first].green_percent >= FULL:
        return NEVER_TOGETHER
    start = ordered[first].at
    closing = next((p.at for p in ordered[first + 1 :] if p.green_percent in (0.0, FULL)), None)
    return TrafficWindow(
        start, min(closing or end, end), f"green {ordered[first].green_percent:g} % from then"
    )


def _traffic_step(steps: Sequence[Step]) -> Step | None:
    """The step in which production traffic moves (CodeDeploy's AllowTraffic; ECS's production shift
    or any stage after it), when the deployment reached it."""
    after_shift = NATIVE_LIFECYCLE_STAGES[NATIVE_LIFECYCLE_STAGES.index(PRODUCTION_TRAFFIC_SHIFT) :]
    return next((step for step in steps if step.name == ALLOW_TRAFFIC or step.name in after_shift), None)


def traffic_window(inspection: Inspection, now: datetime) -> TrafficWindow | str:
    """The window to judge, or why there is none (``NO_GREEN_TRAFFIC``, ``NEVER_TOGETHER``).

    From the traffic points when the engine pins them: from green's first share to 100 % or back to
    0 % (a rollback), else the deployment's end, else now. Amazon ECS pins no times while a shift
    runs or after a rollback: once the deployment reached its production shift, the window is the
    whole deployment (green had no production traffic before it, so those periods have no samples).
    """
    facts = inspection.facts
    end = min(facts.rollback_started or facts.completed or now, now)
    found = _shared(inspection.traffic, end)
    if isinstance(found, TrafficWindow) or found == NEVER_TOGETHER:
        return found
    step = _traffic_step(inspection.steps)
    if step is None or facts.created is None or step.status.lower() in ("pending", "skipped"):
        return NO_GREEN_TRAFFIC
    start = step.started or facts.created
    return TrafficWindow(
        start, max(start, end), f"{step.name} reached; no shift times, the deployment's span"
    )


def analyze(inspection: Inspection, service: Any, clients: Any, now: datetime) -> Analysis:
    """Judge the deployment's green against blue over its traffic window (reads ELBv2 and CloudWatch
    only when there is a window)."""
    facts = inspection.facts
    settings: AnalysisSettings = service.settings.analysis
    window = traffic_window(inspection, now)
    base = Analysis(
        facts.deployment_id, facts.engine, service.name, service.environment,
        settings.enabled, settings, None, None, judge({}, settings),
    )  # fmt: skip
    if not isinstance(window, TrafficWindow):
        return dataclasses.replace(base, judgement=dataclasses.replace(base.judgement, reason=window))
    sides = sides_for(clients.client("elbv2"), service, inspection.green_target_groups)
    samples = read_samples(
        clients.client("cloudwatch"), service, (window.start, window.end), settings, sides=sides
    )
    return dataclasses.replace(base, window=window, sides=sides, judgement=judge(samples, settings))

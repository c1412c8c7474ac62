"""The green (replacement) share of production traffic over time, from the strategy and the traffic
step's times (pure: no boto3; both engines' ``inspect`` use it).

Neither CodeDeploy nor ECS keeps a record of each weight change, so the picture is the schedule the
strategy promises (``Strategy.traffic_steps``: the first increment when the shift starts, a canary's
rest after one interval, linear one increment per interval), cut where the facts say it stopped:

- ``shift_ended`` (the shift step finished: 100 % green then, whatever the schedule still had);
- ``back_to_blue`` (a rollback rerouted production to the original: 0 % green from then on);
- ``until`` (the deployment ended or stopped without a rollback: green kept what it had).

Every point is ``source="scheduled"``: a schedule, not a reading of the listener.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from orchestrator.insight.evidence import TrafficPoint
from orchestrator.strategies import Strategy

FULL = 100.0


def scheduled_traffic(
    strategy: Strategy,
    shift_started: datetime | None,
    shift_ended: datetime | None,
    back_to_blue: datetime | None,
    *,
    until: datetime | None = None,
) -> tuple[TrafficPoint, ...]:
    """Green's share from ``shift_started`` on (nothing when traffic never shifted).

    A step scheduled after the shift ended, after ``back_to_blue`` or after ``until`` never
    happened; a finished shift ends at 100 %; a rollback after green had traffic ends at 0 %.
    """
    if shift_started is None:
        return ()
    cutoffs = [t for t in (shift_ended, back_to_blue, until) if t is not None]
    points: list[TrafficPoint] = []
    for minutes, percent in strategy.traffic_steps():
        at = shift_started + timedelta(minutes=minutes)
        if any(at > cutoff for cutoff in cutoffs) or (back_to_blue is not None and at >= back_to_blue):
            break
        points.append(TrafficPoint(at, float(percent)))
    if _finished(shift_ended, back_to_blue, until) and (not points or points[-1].green_percent < FULL):
        assert shift_ended is not None
        points.append(TrafficPoint(shift_ended, FULL))
    if back_to_blue is not None and points:
        points.append(TrafficPoint(back_to_blue, 0.0))
    return tuple(points)


def _finished(shift_ended: datetime | None, back_to_blue: datetime | None, until: datetime | None) -> bool:
    """The shift reached its end before a rollback or the deployment's end cut it short."""
    if shift_ended is None:
        return False
    return (back_to_blue is None or shift_ended < back_to_blue) and (until is None or shift_ended <= until)

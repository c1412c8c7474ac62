"""The traffic schedule of a deployment config as a function of virtual time (pure).

CodeDeploy's semantics: AllAtOnce moves everything at once; TimeBasedCanary moves the canary
percentage, waits the interval, then moves the rest; TimeBasedLinear moves the percentage at once and
again after every interval until everything has moved (10 % every minute: 100 % after 9 minutes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.codedeploy.vocabulary import TrafficRoutingType


@dataclass(frozen=True)
class TrafficStep:
    """At ``at_seconds`` (virtual, from the start of AllowTraffic) the replacement gets ``percent``."""

    at_seconds: float
    percent: int


def traffic_schedule(routing: dict[str, Any] | None) -> list[TrafficStep]:
    """The steps of a trafficRoutingConfig, ending at 100 %."""
    kind = (routing or {}).get("type", TrafficRoutingType.ALL_AT_ONCE)
    if kind == TrafficRoutingType.TIME_BASED_CANARY:
        body = routing["timeBasedCanary"]  # type: ignore[index]
        return [
            TrafficStep(0.0, int(body["canaryPercentage"])),
            TrafficStep(60.0 * body["canaryInterval"], 100),
        ]
    if kind == TrafficRoutingType.TIME_BASED_LINEAR:
        body = routing["timeBasedLinear"]  # type: ignore[index]
        pct, interval = int(body["linearPercentage"]), 60.0 * body["linearInterval"]
        steps, k = [], 1
        while k * pct < 100:
            steps.append(TrafficStep((k - 1) * interval, k * pct))
            k += 1
        steps.append(TrafficStep((k - 1) * interval, 100))
        return steps
    return [TrafficStep(0.0, 100)]


def percent_at(schedule: list[TrafficStep], elapsed: float) -> int:
    """The replacement's share ``elapsed`` virtual seconds into AllowTraffic."""
    current = 0
    for step in schedule:
        if step.at_seconds <= elapsed:
            current = step.percent
    return current


def total_duration(schedule: list[TrafficStep]) -> float:
    """Virtual seconds from the first step to the last."""
    return schedule[-1].at_seconds if schedule else 0.0


def split_weights(original: str, replacement: str, percent: int) -> dict[str, int]:
    """Listener weights for a share, original first (CodeDeploy keeps the other group at weight 0)."""
    return {original: 100 - percent, replacement: percent}

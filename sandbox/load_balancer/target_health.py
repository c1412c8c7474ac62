"""Target health as an Application Load Balancer keeps it, in virtual time.

A registered target starts ``initial`` (Elb.RegistrationInProgress) and is health-checked every
``interval`` seconds (GET of the target group's health path): ``healthy_threshold`` consecutive
successes make it ``healthy``, ``unhealthy_threshold`` consecutive failures make it ``unhealthy``,
and it moves back the same way. So a replacement task set is not healthy the moment its targets
are registered but a grace later, and a version that fails its health check never becomes healthy.

moto answers DescribeTargetHealth ``healthy`` for every registered target; the load balancer
(``balancer.py``) writes the states it tracks to a file (``write_states``) that
``sandbox.moto_patched`` reads instead.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

# Where the load balancer writes target states for moto (set in moto's environment by the world).
STATES_FILE_ENV = "BLUEGREEN_SANDBOX_TARGET_HEALTH"


@dataclass(frozen=True)
class HealthCheck:
    """A target group's health check settings (virtual seconds)."""

    interval: float = 15.0
    timeout: float = 5.0
    healthy_threshold: int = 2
    unhealthy_threshold: int = 2

    @property
    def grace(self) -> float:
        """Virtual seconds from registration to a verdict (healthy or unhealthy), at the latest."""
        return self.interval * max(self.healthy_threshold, self.unhealthy_threshold)


class TargetState(StrEnum):
    INITIAL = "initial"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"

    @property
    def receives_traffic(self) -> bool:
        return self is TargetState.HEALTHY

    @property
    def reason(self) -> tuple[str, str] | None:
        """(reason code, description) as DescribeTargetHealth gives them; None when healthy."""
        return _REASONS.get(self)


_REASONS = {
    TargetState.INITIAL: ("Elb.RegistrationInProgress", "Target registration is in progress"),
    TargetState.UNHEALTHY: ("Target.ResponseCodeMismatch", "Health checks failed"),
}


@dataclass
class TargetHealth:
    """One registered target's health-check record."""

    check: HealthCheck
    next_check_at: float  # virtual time of the next health check
    state: TargetState = TargetState.INITIAL
    successes: int = 0
    failures: int = 0

    def due(self, now: float) -> bool:
        return now >= self.next_check_at

    def record(self, passed: bool, now: float) -> bool:
        """Count the health check due at ``next_check_at``, done at ``now``; whether the state changed.

        The next one is due an interval after this one was due (the load balancer's cadence), or an
        interval from now when this one ran more than an interval late."""
        self.next_check_at += self.check.interval
        if self.next_check_at <= now:
            self.next_check_at = now + self.check.interval
        before = self.state
        if passed:
            self.successes, self.failures = self.successes + 1, 0
            if self.successes >= self.check.healthy_threshold:
                self.state = TargetState.HEALTHY
        else:
            self.successes, self.failures = 0, self.failures + 1
            if self.failures >= self.check.unhealthy_threshold:
                self.state = TargetState.UNHEALTHY
        return self.state is not before


def write_states(path: Path, states: dict[str, TargetState]) -> None:
    """Target id -> state, written atomically (moto may read it at any moment)."""
    document: dict[str, dict[str, str]] = {}
    for target, state in states.items():
        document[target] = {"State": state.value}
        if state.reason is not None:
            document[target].update(Reason=state.reason[0], Description=state.reason[1])
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".target-health-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(document, out)
    os.replace(temporary, path)

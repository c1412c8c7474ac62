"""Time for hooks: the real deadline CodeDeploy's Lambda gives us, and virtual waits.

Two kinds of time meet in a hook. The Lambda deadline is real: ``context.get_remaining_time_in_millis()``
counts wall-clock milliseconds, and the status must be reported before it. Bake and warm-up windows come
from the catalog in seconds of *deployment* time; in the sandbox that time is virtual and runs
``BLUEGREEN_TIME_SCALE`` times faster (60 means a catalog minute lasts a real second). ``VirtualTime``
turns catalog seconds into real sleeps; the variable is read when a hook runs, never at import.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from orchestrator.time_scale import time_scale_from_env

SAFETY_MARGIN_ENV_VAR = "BLUEGREEN_HOOK_SAFETY_MARGIN_MS"

# What the report needs after the checks stop: a few PutLifecycleEventHookExecutionStatus attempts
# with backoff. A quarter of the remaining time, at least 0.5 s and at most 10 s unless overridden.
_MIN_MARGIN_S = 0.5
_MAX_MARGIN_S = 10.0


def time_scale(environ: dict[str, str] | None = None) -> float:
    """``BLUEGREEN_TIME_SCALE`` (1 when unset); an invalid value fails the hook with a reason.

    The rule is the CLI's (orchestrator.time_scale): a rehearsal with a broken clock must not pass
    silently at real speed.
    """
    return time_scale_from_env(environ) or 1.0


class VirtualTime(NamedTuple):
    """Catalog (virtual) seconds -> real seconds, and a sleep that takes virtual seconds."""

    scale: float = 1.0
    real_sleep: Callable[[float], None] = time.sleep

    @classmethod
    def from_env(cls) -> VirtualTime:
        return cls(scale=time_scale())

    def real_seconds(self, virtual_seconds: float) -> float:
        return max(0.0, virtual_seconds) / self.scale

    def virtual_seconds(self, real_seconds: float) -> float:
        return max(0.0, real_seconds) * self.scale

    def sleep(self, virtual_seconds: float) -> None:
        if virtual_seconds > 0:
            self.real_sleep(self.real_seconds(virtual_seconds))


@dataclass
class Deadline:
    """A real-time deadline for the checks; the report gets the time after it (the safety margin)."""

    checks_end: float  # monotonic seconds at which the checks must stop
    invocation_end: float  # monotonic seconds at which Lambda stops the invocation
    clock: Callable[[], float] = field(default=time.monotonic)

    @classmethod
    def from_remaining(
        cls, remaining_ms: float, margin_ms: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> Deadline:
        """Split the remaining invocation time into check time and a safety margin for reporting."""
        remaining_s = max(0.0, remaining_ms / 1000.0)
        if margin_ms is None:
            margin_s = min(_MAX_MARGIN_S, max(_MIN_MARGIN_S, remaining_s * 0.25))
        else:
            margin_s = max(0.0, margin_ms / 1000.0)
        now = clock()
        return cls(
            checks_end=now + max(0.0, remaining_s - margin_s), invocation_end=now + remaining_s, clock=clock
        )

    def remaining(self) -> float:
        """Real seconds the checks may still use (0 when spent)."""
        return max(0.0, self.checks_end - self.clock())

    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def report_remaining(self) -> float:
        """Real seconds left before Lambda stops the invocation (the reporting budget)."""
        return max(0.0, self.invocation_end - self.clock())


def safety_margin_ms(environ: dict[str, str] | None = None) -> float | None:
    """An explicit safety margin from ``BLUEGREEN_HOOK_SAFETY_MARGIN_MS``, or None for the default rule."""
    raw = (os.environ if environ is None else environ).get(SAFETY_MARGIN_ENV_VAR, "")
    try:
        return float(raw) if raw else None
    except ValueError:
        return None

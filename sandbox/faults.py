"""Fault knobs for the replacement (green) version: ``error_rate=0.3``, ``latency_ms=1500``,
``latency_factor=1.4`` (every service time x 1.4: the mean and every percentile up 40 %, the subtle
regression a canary judge is for, where ``latency_ms`` adds one fixed delay), ``unhealthy=1`` (its
health check path answers 503, so its targets never become healthy), and optionally
``path=/browse`` to confine the error and latency faults to requests whose path starts with that
prefix (a bug in a code path the smoke checks do not call).

A spec is one or more ``knob=value`` pairs separated by commas. Errors are injected
deterministically, with no random seed: request n fails when frac(n * golden ratio + error_phase)
< rate (``error_phase=0.5``: not the first request; 0 by default). The
sequence is equidistributed on every arithmetic subsequence, so however the requests of users,
health checks and smoke checks interleave, each kind sees the rate (a plain "every other request"
pattern would let a periodic health check take all the good answers).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import BadInputError


class FaultSpecError(BadInputError):
    """An --inject-fault spec that is not ``error_rate=R`` and/or ``latency_ms=N``."""


@dataclass(frozen=True)
class Fault:
    """How a faulty version misbehaves: a share of 500 answers, extra latency (ms) and a factor on
    every service time."""

    error_rate: float = 0.0
    latency_ms: float = 0.0
    latency_factor: float = 1.0
    path: str = "/"
    unhealthy: float = 0.0  # 1: the health check path answers 503
    # Where the error sequence starts (0..1): at 0 a task's first faulty-path request fails, a burst
    # at the start of a subtle rate (every green task's first user answer a 500 under 0.5 %) that
    # no random source makes; bench/judge.py's world runs use 0.5.
    error_phase: float = 0.0

    @property
    def is_healthy(self) -> bool:
        return (
            self.error_rate == 0.0
            and self.latency_ms == 0.0
            and self.latency_factor == 1.0
            and not self.unhealthy
        )

    def service_ms(self, base_ms: float) -> float:
        """A faulty request's service time, from the healthy one's (``base_ms``)."""
        return base_ms * self.latency_factor + self.latency_ms

    def applies_to(self, path: str) -> bool:
        return path.startswith(self.path)

    def fails(self, request_number: int) -> bool:
        """Whether the n-th faulty-path request (0-based) this version answers gets a 500."""
        if self.error_rate <= 0.0:
            return False
        return (request_number * _GOLDEN + self.error_phase) % 1.0 < self.error_rate

    def describe(self) -> str:
        parts = []
        if self.error_rate:
            parts.append(f"error_rate={self.error_rate:g}")
        if self.latency_ms:
            parts.append(f"latency_ms={self.latency_ms:g}")
        if self.latency_factor != 1.0:
            parts.append(f"latency_factor={self.latency_factor:g}")
        if self.path != "/":
            parts.append(f"path={self.path}")
        if self.unhealthy:
            parts.append("unhealthy=1")
        if self.error_phase:
            parts.append(f"error_phase={self.error_phase:g}")
        return ",".join(parts) or "none"


HEALTHY = Fault()
_GOLDEN = 0.6180339887498949

_KNOBS = {
    "error_rate": (0.0, 1.0),
    "latency_ms": (0.0, 600_000.0),
    "latency_factor": (0.0, 1000.0),
    "unhealthy": (0.0, 1.0),
    "error_phase": (0.0, 1.0),
}


def parse_fault(spec: str | Mapping[str, Any] | Fault | None) -> Fault:
    """A Fault from ``error_rate=0.3,latency_ms=1500``, from ``{"error_rate": 0.3}``, or None (healthy)."""
    if spec is None:
        return HEALTHY
    if isinstance(spec, Fault):
        return spec
    if isinstance(spec, str):
        pairs: dict[str, Any] = {}
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            key, sep, value = part.partition("=")
            if not sep:
                raise FaultSpecError(
                    f"fault {part!r}: expected knob=value (error_rate=0.3 or latency_ms=1500)"
                )
            if key.strip() in pairs:
                raise FaultSpecError(f"fault {spec!r}: {key.strip()} given twice")
            pairs[key.strip()] = value.strip()
        if not pairs:
            raise FaultSpecError("fault spec is empty; expected error_rate=0.3 or latency_ms=1500")
        spec = pairs
    values: dict[str, Any] = {}
    for key, raw in spec.items():
        if key == "path":
            if not isinstance(raw, str) or not raw.startswith("/"):
                raise FaultSpecError(f"fault path={raw!r}: must start with '/'")
            values[key] = raw
            continue
        if key not in _KNOBS:
            raise FaultSpecError(f"fault knob {key!r} is unknown; valid: {', '.join([*_KNOBS, 'path'])}")
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise FaultSpecError(f"fault {key}={raw!r}: not a number") from None
        low, high = _KNOBS[key]
        if not low <= number <= high or math.isnan(number):
            raise FaultSpecError(f"fault {key}={raw}: must be between {low:g} and {high:g}")
        if key == "unhealthy" and number not in (0.0, 1.0):
            raise FaultSpecError(f"fault unhealthy={raw}: must be 0 or 1")
        values[key] = number
    return Fault(**values)

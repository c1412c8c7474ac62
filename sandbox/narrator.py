"""Tells a person what the sandbox sees while a deployment runs: which versions answer the users
(share of requests and errors per window), every alarm state change, with CloudWatch's reason, and
the replacement's targets passing (or failing) the load balancer's health checks.
Lines go to a stream (stderr in the demo), never to stdout, which belongs to the CLI.

It is handed what it tells (``Sightings``: each source a function returning everything so far), not
the world, so it knows nothing of how the world is wired."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from sandbox.alarm_eval import Transition
from sandbox.alarm_state import AlarmState
from sandbox.clock import VirtualClock
from sandbox.load_balancer.target_health import TargetState
from sandbox.traffic import RequestRecord

WINDOW = 30.0  # virtual seconds of user traffic summarised per line


@dataclass(frozen=True)
class Sightings:
    """What the narrator reads, in the order things happened; it keeps its own place in each."""

    services: Sequence[str]  # the order of the traffic lines
    # Alarm state changes (the alarm evaluator's history).
    alarm_transitions: Callable[[], Sequence[Transition]]
    # Target health changes: (virtual time, target id, new state) (the load balancer's health checks).
    health_changes: Callable[[], Sequence[tuple[float, str, TargetState]]]
    # Target id -> version, for the replacement's targets (the only ones whose health is news).
    replacement_targets: Callable[[], Mapping[str, str]]
    # Every user request answered so far (the traffic generator's records).
    user_requests: Callable[[], Sequence[RequestRecord]]


def traffic_line(service: str, versions: Counter[str], errors: Counter[str]) -> str:
    """``product-service users: 90% product-service:1, 10% product-service:2 (3 errors)``."""
    total = sum(versions.values())
    parts = []
    for version, count in sorted(versions.items()):
        share = f"{100.0 * count / total:.0f}% {version}"
        if errors[version]:
            share += f" ({errors[version]} error{'s' if errors[version] > 1 else ''})"
        parts.append(share)
    return f"{service} users: " + ", ".join(parts)


def health_line(version: str, target: str, state: str) -> str:
    """``product-service:2 target 10.0.100.3 healthy (load balancer health checks)``."""
    return f"{version} target {target} {state} (load balancer health checks)"


class Narrator:
    """A thread printing traffic shares each WINDOW when they change, and alarm transitions at once."""

    def __init__(self, sightings: Sightings, clock: VirtualClock, stream: IO[str]) -> None:
        self.sightings = sightings
        self.clock = clock
        self.stream = stream
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-narrator", daemon=True)
        self._started_at = clock.now()

    def start(self) -> Narrator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _say(self, at: float, text: str) -> None:
        elapsed = max(0, int(at - self._started_at))
        self.stream.write(f"  sandbox  +{elapsed // 60:d}m{elapsed % 60:02d}s  {text}\n")
        self.stream.flush()

    def _run(self) -> None:
        clock, seen = self.clock, self.sightings
        seen_transitions = 0
        seen_health = 0
        window_start = clock.now()
        last: dict[str, str] = {}
        while not self._stop.is_set():
            clock.wait(self._stop, 2.0)
            history = seen.alarm_transitions()
            for transition in history[seen_transitions:]:
                if AlarmState.ALARM not in (transition.old, transition.new):
                    continue  # OK <-> INSUFFICIENT_DATA is bookkeeping, not news
                self._say(
                    transition.at,
                    f"alarm {transition.alarm}: {transition.old.value} -> "
                    f"{transition.new.value}  ({transition.reason})",
                )
            seen_transitions = len(history)
            changes = seen.health_changes()[seen_health:]
            seen_health += len(changes)
            replacements = seen.replacement_targets()
            for at, target, state in changes:
                version = replacements.get(target)
                if version is not None:
                    self._say(at, health_line(version, target, state.value))
            now = clock.now()
            if now - window_start < WINDOW:
                continue
            records = [r for r in seen.user_requests() if window_start <= r.answered_at < now]
            window_start = now
            for service in seen.services:
                mine = [r for r in records if r.service == service]
                if not mine:
                    continue
                versions = Counter(r.version for r in mine)
                errors = Counter(r.version for r in mine if r.status >= 500)
                line = traffic_line(service, versions, errors)
                shares_only = ",".join(sorted(versions))
                if last.get(service) != shares_only or errors.total() or len(versions) > 1:
                    self._say(now, line)
                last[service] = shares_only

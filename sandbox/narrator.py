"""Tells a person what the sandbox sees while a deployment runs: which versions answer the users
(share of requests and errors per window), every alarm state change, with CloudWatch's reason, and
the replacement's targets passing (or failing) the load balancer's health checks.
Lines go to a stream (stderr in the demo), never to stdout, which belongs to the CLI."""

from __future__ import annotations

import threading
from collections import Counter
from typing import IO, TYPE_CHECKING

from sandbox.alarm_state import AlarmState

if TYPE_CHECKING:
    from sandbox.world import World

WINDOW = 30.0  # virtual seconds of user traffic summarised per line


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

    def __init__(self, world: World, stream: IO[str]) -> None:
        self.world = world
        self.stream = stream
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-narrator", daemon=True)
        self._started_at = world.clock.now()

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
        clock, world = self.world.clock, self.world
        seen_transitions = 0
        seen_health = 0
        window_start = clock.now()
        last: dict[str, str] = {}
        while not self._stop.is_set():
            clock.wait(self._stop, 2.0)
            evaluator = world.evaluator
            if evaluator is not None:
                history = evaluator.history()
                for transition in history[seen_transitions:]:
                    if AlarmState.ALARM not in (transition.old, transition.new):
                        continue  # OK <-> INSUFFICIENT_DATA is bookkeeping, not news
                    self._say(
                        transition.at,
                        f"alarm {transition.alarm}: {transition.old.value} -> "
                        f"{transition.new.value}  ({transition.reason})",
                    )
                seen_transitions = len(history)
            fleet = world.fleet
            if fleet is not None:
                changes = fleet.health_history[seen_health:]
                seen_health += len(changes)
                replacements = {t: run for run in fleet.replacement_runs() for t in run.target_ids}
                for at, target, state in changes:
                    run = replacements.get(target)
                    if run is not None:
                        self._say(at, health_line(run.version, target, state.value))
            now = clock.now()
            if now - window_start < WINDOW or world.traffic is None:
                continue
            records = [r for r in world.traffic.snapshot() if window_start <= r.answered_at < now]
            window_start = now
            for item in world.infra:
                mine = [r for r in records if r.service == item.name]
                if not mine:
                    continue
                versions = Counter(r.version for r in mine)
                errors = Counter(r.version for r in mine if r.status >= 500)
                line = traffic_line(item.name, versions, errors)
                shares_only = ",".join(sorted(versions))
                if last.get(item.name) != shares_only or errors.total() or len(versions) > 1:
                    self._say(now, line)
                last[item.name] = shares_only

"""The sandbox's EventBridge schedules: template.yaml's rate schedules run on the world's virtual clock.

Each schedule (``sandbox.events.template_schedules``) fires every ``every_seconds`` virtual seconds,
the first time one period after the scheduler starts, and hands its target the rule's constant
``Input`` or, without one, a "Scheduled Event" (AWS, "Amazon EventBridge events": source
``aws.events``, detail-type ``Scheduled Event``, the rule's ARN in resources, an empty detail),
invoked asynchronously as EventBridge invokes a Lambda target. A firing that is due while the clock
was held back fires once, late, as a late EventBridge invocation would; missed periods are not
replayed. Cron expressions are not run (the sandbox has no calendar worth honouring at 200x).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox.clock import VirtualClock
from sandbox.events import Event, TemplateSchedule, envelope

log = logging.getLogger(__name__)

Target = Callable[[Event], None]
SCHEDULED_EVENT = "Scheduled Event"


@dataclass
class _Running:
    schedule: TemplateSchedule
    target: Target
    due: float
    fired: list[float] = field(default_factory=list)  # virtual times it fired at


class Scheduler:
    """Runs schedules on a clock: ``add`` them, ``start``, ``stop``; ``fired(name)`` for tests."""

    def __init__(self, clock: VirtualClock, region: str, account: str) -> None:
        self.clock = clock
        self.region = region
        self.account = account
        self._running: list[_Running] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors = 0

    def add(self, schedule: TemplateSchedule, target: Target) -> bool:
        """Run ``schedule`` (False, and nothing runs, for one without a rate: a cron expression)."""
        if schedule.every_seconds is None:
            return False
        with self._lock:
            self._running.append(_Running(schedule, target, self.clock.now() + schedule.every_seconds))
        return True

    def fired(self, name: str) -> list[float]:
        with self._lock:
            return [at for run in self._running if run.schedule.name == name for at in run.fired]

    def start(self) -> Scheduler:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="event-schedules", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def event_for(self, schedule: TemplateSchedule, at: float) -> Event:
        """What the target gets: the rule's Input, else the Scheduled Event envelope."""
        if schedule.payload is not None:
            return dict(schedule.payload)
        arn = f"arn:aws:events:{self.region}:{self.account}:rule/{schedule.name}"
        return envelope(
            "aws.events", SCHEDULED_EVENT, {}, [arn], region=self.region, account=self.account, at=at
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            now = self.clock.now()
            with self._lock:
                due = [run for run in self._running if run.due <= now]
                for run in due:
                    run.fired.append(now)
                    while run.due <= now:  # periods missed while the clock was held are not replayed
                        run.due += float(run.schedule.every_seconds or 60.0)
                nearest = min((run.due for run in self._running), default=now + 60.0)
            for run in due:
                self._fire(run, now)
            self.clock.wait(self._stop, max(nearest - self.clock.now(), 0.0))

    def _fire(self, run: _Running, now: float) -> None:
        try:
            run.target(self.event_for(run.schedule, now))
        except Exception as err:  # a target that refuses (the world stopping) is the target's business
            self.errors += 1
            log.warning("schedule %s: %s: %s", run.schedule.name, type(err).__name__, err)

"""A virtual clock with back-pressure: one time source for every wait in the sandbox.

With ``time_scale=60`` a virtual minute passes in one real second, as long as the machine keeps up.
Components whose work must keep pace with virtual time (the fleet's health checker and reconciler,
the alarm evaluator, the metrics publisher) hold a ``Watermark`` and report the virtual time up to
which their work is done; the clock never runs more than ``slack`` virtual seconds ahead of the
slowest watermark. On a busy machine virtual time slows down instead of outrunning that work, so a
wait on the clock ("60 virtual seconds for the targets to turn healthy") stretches in real time and
a rehearsal never fails a release because a thread was starved of CPU. On an idle machine every
watermark stays ahead and the clock runs at ``time_scale``.

Virtual time starts at the real wall-clock time when the clock is made and runs ``time_scale``
times faster (``lag()`` says how far back-pressure has held it). Timestamps it gives are virtual:
after an hour of a 40x sandbox they are ~40 hours after its start. The CodeDeploy emulator's answers
carry it in their HTTP ``Date`` header, as AWS's carry AWS's clock.
"""

from __future__ import annotations

import threading
import time

# How far (virtual seconds) the clock may run ahead of the slowest watermark. Below the target
# health check interval (15 s): a check due at T is done before the clock passes T + slack, so a
# target's verdict (2 checks) is in before the fleet's settle wait (grace + 2 intervals) runs out.
DEFAULT_SLACK = 10.0
# The shortest real sleep of a waiter re-checking a held clock (a tight loop would eat the CPU the
# held-back work needs).
MIN_REAL_WAIT = 0.005


class Watermark:
    """One component's progress: ``done_up_to(t)`` says its work due up to virtual time ``t`` is done."""

    def __init__(self, clock: VirtualClock, name: str, at: float) -> None:
        self.clock = clock
        self.name = name
        self.at = at

    def done_up_to(self, virtual_time: float) -> None:
        self.clock._report(self, virtual_time)

    def close(self) -> None:
        """The component stopped: it no longer holds the clock back."""
        self.clock._release(self)


class VirtualClock:
    """Wall-clock time sped up by ``time_scale`` (and held back by watermarks); waits take virtual seconds."""

    def __init__(self, time_scale: float = 1.0, slack: float = DEFAULT_SLACK) -> None:
        if not time_scale > 0 or time_scale == float("inf"):
            raise ValueError(f"time_scale must be a positive number, got {time_scale}")
        self.time_scale = float(time_scale)
        self.slack = float(slack)
        self._lock = threading.Lock()
        self._real_start = self._real = time.monotonic()
        self._virtual_start = self._virtual = time.time()
        self._marks: list[Watermark] = []

    # --- time -------------------------------------------------------------------------------------

    def now(self) -> float:
        """Virtual epoch seconds (monotonic)."""
        with self._lock:
            return self._advance()

    def _advance(self) -> float:
        """Move virtual time on by the real time since the last reading, up to the cap (lock held)."""
        real = time.monotonic()
        free = self._virtual + (real - self._real) * self.time_scale
        if self._marks:
            cap = min(mark.at for mark in self._marks) + self.slack
            free = min(free, max(self._virtual, cap))
        self._virtual, self._real = free, real
        return free

    def lag(self) -> float:
        """Virtual seconds the clock is behind a free-running one (what back-pressure has held back)."""
        with self._lock:
            virtual = self._advance()
            return (self._real - self._real_start) * self.time_scale - (virtual - self._virtual_start)

    # --- waits ------------------------------------------------------------------------------------

    def sleep(self, virtual_seconds: float) -> None:
        """Sleep until the clock has moved on by a virtual duration."""
        self.wait(threading.Event(), virtual_seconds)

    def wait(self, event: threading.Event, virtual_seconds: float) -> bool:
        """Wait on ``event`` until the clock has moved on by a virtual duration; True if the event was set."""
        until = self.now() + max(0.0, virtual_seconds)
        while True:
            left = until - self.now()
            if left <= 0:
                return event.is_set()
            if event.wait(max(left / self.time_scale, MIN_REAL_WAIT)):
                return True

    def real_seconds(self, virtual_seconds: float) -> float:
        """How long a virtual duration lasts in real seconds when nothing holds the clock back."""
        return virtual_seconds / self.time_scale

    # --- back-pressure ----------------------------------------------------------------------------

    def watermark(self, name: str) -> Watermark:
        """A component that must keep up with the clock; its work counts as done up to now."""
        with self._lock:
            mark = Watermark(self, name, self._advance())
            self._marks.append(mark)
        return mark

    def _report(self, mark: Watermark, virtual_time: float) -> None:
        with self._lock:
            self._advance()  # time up to this moment ran under the old cap
            mark.at = max(mark.at, virtual_time)

    def _release(self, mark: Watermark) -> None:
        with self._lock:
            self._advance()
            if mark in self._marks:
                self._marks.remove(mark)

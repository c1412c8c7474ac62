"""A virtual clock: one time source for every wait in the sandbox.

With ``time_scale=60`` a virtual minute passes in one real second. Virtual time starts at the
real wall-clock time when the clock is made, so timestamps look plausible to clients.
"""

from __future__ import annotations

import threading
import time


class VirtualClock:
    """Wall-clock time sped up by ``time_scale``; ``sleep`` takes virtual seconds."""

    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be positive, got {time_scale}")
        self.time_scale = float(time_scale)
        self._real_start = time.monotonic()
        self._virtual_start = time.time()

    def now(self) -> float:
        """Virtual epoch seconds."""
        return self._virtual_start + (time.monotonic() - self._real_start) * self.time_scale

    def sleep(self, virtual_seconds: float) -> None:
        """Sleep for a virtual duration."""
        if virtual_seconds > 0:
            time.sleep(virtual_seconds / self.time_scale)

    def wait(self, event: threading.Event, virtual_seconds: float) -> bool:
        """Wait on ``event`` for at most a virtual duration; True when the event was set."""
        return event.wait(max(0.0, virtual_seconds) / self.time_scale)

    def real_seconds(self, virtual_seconds: float) -> float:
        """How long a virtual duration lasts in real seconds."""
        return virtual_seconds / self.time_scale

"""How a deployment ended (pure, stdlib only): its own module so that what only needs the word (the
ledger Lambda, its records and DORA figures) does not pay for the evidence's dataclasses at a cold
start (``bench/hook_cold_start.py``: ~18 ms of the ledger's first event)."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """How a deployment ended, in the words the watch report uses (``ReportHead.outcome``)."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"
    ROLLED_BACK = "rolled back"
    IN_PROGRESS = "in progress"

    @property
    def is_failure(self) -> bool:
        """Failed, stopped or rolled back (DORA's change failure, ``why``'s subject)."""
        return self in (Outcome.FAILED, Outcome.STOPPED, Outcome.ROLLED_BACK)

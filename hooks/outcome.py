"""What a hook decides: the status it reports to CodeDeploy and the checks behind it (plain data)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any, NamedTuple

from orchestrator.vocabulary import LifecycleStatus


class HookStatus(StrEnum):
    """The two statuses PutLifecycleEventHookExecutionStatus accepts from a Lambda hook."""

    SUCCEEDED = LifecycleStatus.SUCCEEDED.value
    FAILED = LifecycleStatus.FAILED.value

    @property
    def rolls_back(self) -> bool:
        """Failed fails the lifecycle event, and CodeDeploy rolls back when auto rollback is on."""
        return self is HookStatus.FAILED


class CheckResult(NamedTuple):
    """One check (a smoke request, an alarm gate, target health, ...): passed or not, and why."""

    name: str
    passed: bool
    detail: str
    latency_ms: float | None = None
    attempts: int = 1

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "passed": self.passed, "detail": self.detail}
        if self.latency_ms is not None:
            out["latencyMs"] = round(self.latency_ms, 1)
        if self.attempts != 1:
            out["attempts"] = self.attempts
        return out


class HookOutcome(NamedTuple):
    """The verdict of one hook execution: Succeeded only if every check passed (and there was one)."""

    checks: tuple[CheckResult, ...] = ()

    @classmethod
    def of(cls, checks: Iterable[CheckResult]) -> HookOutcome:
        return cls(tuple(checks))

    @property
    def status(self) -> HookStatus:
        if self.checks and all(check.passed for check in self.checks):
            return HookStatus.SUCCEEDED
        return HookStatus.FAILED

    @property
    def reason(self) -> str:
        failed = [check for check in self.checks if not check.passed]
        if failed:
            return "; ".join(f"{check.name}: {check.detail}" for check in failed)
        if not self.checks:
            return "no check ran"
        return "all checks passed"

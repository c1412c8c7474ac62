"""Gates a hook applies besides smoke checks: alarms, green target health, the post-shift bake.

The decisions (``alarm_gate``, ``target_health_gate``) are pure functions over plain data; the reads
(``alarm_states``, ``target_healths``) are the shared adapters (``orchestrator.aws.cloudwatch`` /
``elbv2``) called through the hooks' deadline-bounded ``aws_call``. ``bake`` watches the alarms for
the configured time through an injected reader, clock and sleep.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Literal, NamedTuple

from hooks.clients import aws_call
from hooks.outcome import CheckResult
from hooks.timing import Deadline, VirtualTime
from orchestrator.aws import cloudwatch as cloudwatch_api
from orchestrator.aws import elbv2 as elbv2_api
from orchestrator.aws.cloudwatch import CloudWatchApi
from orchestrator.aws.elbv2 import Elbv2Api
from orchestrator.errors import AwsError
from orchestrator.vocabulary import AlarmState

InsufficientDataPolicy = Literal["ok", "alarm"]

ALARM = AlarmState.ALARM.value
INSUFFICIENT_DATA = AlarmState.INSUFFICIENT_DATA.value
HEALTHY = "healthy"

# A failed alarm read during the bake is data, not a verdict; this many in a row fail the bake.
MAX_CONSECUTIVE_READ_ERRORS = 3


def alarm_gate(
    expected: Sequence[str], states: Mapping[str, str], insufficient_data: InsufficientDataPolicy
) -> CheckResult:
    """ALARM fails; INSUFFICIENT_DATA and a missing alarm fail only when the policy says 'alarm'."""
    if not expected:
        return CheckResult("alarms", True, "the catalog names no alarm for this service")
    firing = [name for name in expected if states.get(name) == ALARM]
    no_data = [name for name in expected if states.get(name) == INSUFFICIENT_DATA]
    missing = [name for name in expected if name not in states]
    if firing:
        return CheckResult("alarms", False, f"in ALARM: {', '.join(firing)}")
    doubtful = [
        *(f"{name} (INSUFFICIENT_DATA)" for name in no_data),
        *(f"{name} (missing)" for name in missing),
    ]
    if doubtful and insufficient_data == "alarm":
        return CheckResult("alarms", False, f"counted as ALARM by policy: {', '.join(doubtful)}")
    note = f"; ignored by policy: {', '.join(doubtful)}" if doubtful else ""
    return CheckResult("alarms", True, f"{len(expected) - len(doubtful)} of {len(expected)} alarms OK{note}")


def target_health_gate(target_group: str, healths: Sequence[tuple[str, str]], desired: int) -> CheckResult:
    """Every registered target healthy, and at least ``desired`` of them (at least one)."""
    name = "green-target-health"
    need = max(desired, 1)
    unhealthy = [f"{target} ({state})" for target, state in healths if state != HEALTHY]
    healthy = len(healths) - len(unhealthy)
    if unhealthy:
        return CheckResult(name, False, f"{target_group}: not healthy: {', '.join(unhealthy)}")
    if healthy < need:
        return CheckResult(name, False, f"{target_group}: {healthy} healthy target(s), need at least {need}")
    return CheckResult(name, True, f"{target_group}: {healthy} healthy target(s), need at least {need}")


def alarm_states(cloudwatch: CloudWatchApi, names: Sequence[str]) -> dict[str, str]:
    """StateValue of each named alarm that exists (metric and composite alarms)."""
    return cloudwatch_api.alarm_states(cloudwatch, names, aws_call)


def target_healths(elbv2: Elbv2Api, target_group_name: str) -> list[tuple[str, str]]:
    """(target id, health state) of every target registered in a target group, by its name."""
    return elbv2_api.target_health(elbv2, target_group_name, aws_call)


class BakeSettings(NamedTuple):
    """How long to watch the alarms after traffic moved, and how."""

    alarms: tuple[str, ...]
    insufficient_data: InsufficientDataPolicy
    bake_seconds: float  # catalog (virtual) seconds
    max_read_errors: int = MAX_CONSECUTIVE_READ_ERRORS

    @property
    def poll_seconds(self) -> float:
        """Poll about four times per bake, every 15 s at most and 1 s at least (virtual)."""
        return max(1.0, min(15.0, self.bake_seconds / 4.0))


def bake(
    settings: BakeSettings,
    read_states: Callable[[], Mapping[str, str]],
    virtual: VirtualTime,
    deadline: Deadline,
) -> CheckResult:
    """Watch the alarms for ``bake_seconds``: the first failing gate fails the bake."""
    name = "bake"
    need_real = virtual.real_seconds(settings.bake_seconds)
    if need_real > deadline.remaining():
        return CheckResult(
            name,
            False,
            f"bake of {settings.bake_seconds:g} s does not fit in the {deadline.remaining():.0f} s left "
            "before the hook's deadline; raise the function's timeout or lower deployment.bake_seconds",
        )
    started = deadline.clock()
    errors = 0
    polls = 0
    while True:
        polls += 1
        try:
            verdict = alarm_gate(settings.alarms, read_states(), settings.insufficient_data)
            errors = 0
            if not verdict.passed:
                elapsed = virtual.virtual_seconds(deadline.clock() - started)
                return CheckResult(
                    name, False, f"after {elapsed:.0f} s of {settings.bake_seconds:g} s: {verdict.detail}"
                )
        except AwsError as err:
            errors += 1
            if errors >= settings.max_read_errors:
                return CheckResult(name, False, f"{errors} alarm reads in a row failed, last: {err}")
        left = settings.bake_seconds - virtual.virtual_seconds(deadline.clock() - started)
        if left <= 0:
            return CheckResult(name, True, f"{settings.bake_seconds:g} s without an alarm ({polls} polls)")
        virtual.sleep(min(settings.poll_seconds, left))

"""A bake that spans invocations (Amazon ECS, POST_PRODUCTION_TRAFFIC_SHIFT): instead of holding its
Lambda for ``deployment.bake_seconds`` as on CodeDeploy (``gates.bake``), the hook reads the alarms
once per invocation and answers IN_PROGRESS with a poll interval as callBackDelay; what the bake has
seen so far travels in hookDetails (``BakeState`` under ``native_event.STATE_KEY``), so every
invocation decides from its event alone. ``bake_step`` is pure (reader and clock injected).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from hooks.gates import BakeSettings, alarm_gate
from hooks.native_event import STATE_KEY, NativeEventError, callback_delay
from hooks.outcome import CheckResult
from orchestrator.errors import AwsError


def _count(value: Any, integer: bool) -> bool:
    """A JSON number (an integer if asked) of at least 0; a bool is not one."""
    if isinstance(value, bool):
        return False
    if integer:
        return isinstance(value, int) and value >= 0
    return isinstance(value, (int, float)) and value >= 0


class BakeState(NamedTuple):
    """A bake that spans invocations (POST_PRODUCTION_TRAFFIC_SHIFT on ECS): when it started (epoch
    seconds), the deployment seconds ECS was asked to wait so far, the alarm checks passed, and the
    alarm reads that failed in a row. Tied to one execution id: another execution starts afresh."""

    execution_id: str
    started_at: float
    waited_s: float = 0.0
    checks_passed: int = 0
    read_errors: int = 0

    def to_details(self, configured: Mapping[str, Any]) -> dict[str, Any]:
        """hookDetails to return: the configured keys as they came, and this state under STATE_KEY."""
        state = {
            "executionId": self.execution_id,
            "bakeStartedAt": round(self.started_at, 3),
            "bakeWaitedSeconds": round(self.waited_s, 3),
            "checksPassed": self.checks_passed,
            "readErrors": self.read_errors,
        }
        return {**{k: v for k, v in configured.items() if k != STATE_KEY}, STATE_KEY: state}

    @classmethod
    def from_details(cls, hook_details: Mapping[str, Any], execution_id: str) -> BakeState | None:
        """The state this execution returned last time; None when there is none (a first invocation,
        or state of another execution). State that is not ours to read is bad input."""
        from hooks.native_smoke import SMOKE_MARK

        state = hook_details.get(STATE_KEY)
        if state is None or (isinstance(state, Mapping) and SMOKE_MARK in state):
            return None  # none yet, or the production smoke's (the bake starts once it passed)
        try:
            if state["executionId"] != execution_id:
                return None
            numbers = [state[key] for key in ("bakeStartedAt", "bakeWaitedSeconds")]
            counts = [state[key] for key in ("checksPassed", "readErrors")]
        except (KeyError, TypeError):
            raise NativeEventError(f"hookDetails.{STATE_KEY} is not a bake state this hook wrote") from None
        if not all(_count(n, False) for n in numbers) or not all(_count(c, True) for c in counts):
            raise NativeEventError(f"hookDetails.{STATE_KEY} holds values a bake state cannot have")
        return cls(execution_id, float(numbers[0]), float(numbers[1]), counts[0], counts[1])


class BakeStep(NamedTuple):
    """One invocation of a bake that spans invocations: its check (failed, passed and over, or passed
    so far), the state to carry to the next invocation and the deployment seconds to wait for it."""

    result: CheckResult
    done: bool
    state: BakeState
    delay_s: int = 0


def bake_step(
    settings: BakeSettings,
    state: BakeState,
    now: float,
    scale: float,
    read_states: Callable[[], Mapping[str, str]],
) -> BakeStep:
    """Read the alarms once: a failing gate fails the bake; once ``bake_seconds`` have passed without
    one it passes; until then, wait one poll interval (at most what is left) and be invoked again.

    Elapsed deployment time is the smaller of the wall clock since the start (epoch seconds, times
    ``scale``: the sandbox's virtual time) and the waits ECS was asked for (it waits at least
    callBackDelay between invocations): a bake is never cut short, even when the sandbox's clock
    runs slower than its scale under load."""
    name = "bake"
    elapsed = min(max(0.0, now - state.started_at) * scale, state.waited_s)
    try:
        verdict = alarm_gate(settings.alarms, read_states(), settings.insufficient_data)
    except AwsError as err:
        state = state._replace(read_errors=state.read_errors + 1)
        if state.read_errors >= settings.max_read_errors:
            return BakeStep(
                CheckResult(name, False, f"{state.read_errors} alarm reads in a row failed, last: {err}"),
                True,
                state,
            )
    else:
        if not verdict.passed:
            detail = f"after {elapsed:.0f} s of {settings.bake_seconds:g} s: {verdict.detail}"
            return BakeStep(CheckResult(name, False, detail), True, state)
        state = state._replace(checks_passed=state.checks_passed + 1, read_errors=0)
    left = settings.bake_seconds - elapsed
    if left <= 0:
        detail = f"{settings.bake_seconds:g} s without an alarm ({state.checks_passed} polls)"
        return BakeStep(CheckResult(name, True, detail), True, state)
    delay = callback_delay(min(settings.poll_seconds, left))
    detail = (
        f"{elapsed:.0f} s of {settings.bake_seconds:g} s without an alarm so far "
        f"({state.checks_passed} polls); next check in {delay} s"
    )
    carried = state._replace(waited_s=state.waited_s + delay)
    return BakeStep(CheckResult(name, True, detail), False, carried, delay)

"""Smoke checks that retry across invocations (Amazon ECS, POST_PRODUCTION_TRAFFIC_SHIFT).

On CodeDeploy a smoke check that fails is retried inside the hook's Lambda, sleeping its backoff
while the warm-up lasts (``smoke.run_check``). On Amazon ECS the hook is invoked synchronously and
the deployment moves on only when it returns: a Lambda that sleeps through the warm-up holds the
deployment that long, a stop (StopServiceDeployment, the watching CLI's stop at the first alarm)
included. Right after production traffic moved, every user is on the new revision: bench/exposure.py
measured the production smoke's retries holding the rollback 17-30 s after the stop (all-at-once,
``error_rate=0.5``). So, as the bake does (``native_bake``), each invocation makes one attempt of
every check not passed yet and, while attempts and warm-up remain, answers IN_PROGRESS with the
backoff as callBackDelay; what the smoke has seen travels in hookDetails (``SmokeState`` under
``native_event.STATE_KEY``, beside nothing else: the bake's state replaces it once the smoke passed).
``smoke_step`` is pure (the attempt and the clock are injected).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from hooks.native_event import STATE_KEY, NativeEventError, callback_delay
from hooks.outcome import CheckResult
from hooks.service_view import SmokeCheckView, SmokeView

SMOKE_MARK = "smokeStartedAt"  # the key that tells a smoke state from a bake state

Attempt = Callable[[SmokeCheckView, int], CheckResult]  # (check, its attempt number) -> result


class SmokeState(NamedTuple):
    """The production smoke so far: when its first attempt ran (epoch seconds), the deployment
    seconds ECS was asked to wait since, the attempts made, and the checks that passed."""

    execution_id: str
    started_at: float
    waited_s: float = 0.0
    attempts: int = 0
    passed: tuple[str, ...] = ()

    def to_details(self, configured: Mapping[str, Any]) -> dict[str, Any]:
        """hookDetails to return: the configured keys as they came, and this state under STATE_KEY."""
        state = {
            "executionId": self.execution_id,
            SMOKE_MARK: round(self.started_at, 3),
            "smokeWaitedSeconds": round(self.waited_s, 3),
            "smokeAttempts": self.attempts,
            "smokePassed": list(self.passed),
        }
        return {**{k: v for k, v in configured.items() if k != STATE_KEY}, STATE_KEY: state}

    @classmethod
    def from_details(cls, hook_details: Mapping[str, Any], execution_id: str) -> SmokeState | None:
        """This execution's smoke state; None when there is none (a first invocation, a bake's state,
        or another execution's). A smoke state this hook could not have written is bad input."""
        state = hook_details.get(STATE_KEY)
        if not isinstance(state, Mapping) or SMOKE_MARK not in state:
            return None
        if state.get("executionId") != execution_id:
            return None
        try:
            started, waited = float(state[SMOKE_MARK]), float(state["smokeWaitedSeconds"])
            attempts, passed = state["smokeAttempts"], state["smokePassed"]
        except (KeyError, TypeError, ValueError):
            raise NativeEventError(f"hookDetails.{STATE_KEY} is not a smoke state this hook wrote") from None
        valid = isinstance(attempts, int) and not isinstance(attempts, bool) and attempts >= 0
        if not valid or not isinstance(passed, list) or not all(isinstance(n, str) for n in passed):
            raise NativeEventError(f"hookDetails.{STATE_KEY} holds values a smoke state cannot have")
        return cls(execution_id, started, waited, attempts, tuple(passed))


class SmokeStep(NamedTuple):
    """One invocation's attempts: the results (final when ``done``), the state to carry and the
    deployment seconds to wait before the next attempt."""

    results: list[CheckResult]
    done: bool
    state: SmokeState
    delay_s: int = 0


def smoke_step(
    settings: SmokeView, state: SmokeState, now: float, scale: float, attempt: Attempt
) -> SmokeStep:
    """One attempt of every check not passed yet. All passed: done. A failure with attempts and
    warm-up left: wait the backoff (doubling from ``backoff_seconds``, at most what is left of the
    warm-up) and be invoked again; otherwise the failure is final, as ``smoke.run_check``'s.

    Elapsed deployment time is the smaller of the wall clock since the first attempt (times ``scale``,
    the sandbox's virtual time) and the waits ECS was asked for, as ``native_bake.bake_step`` counts."""
    if not settings.checks:
        missing = CheckResult("smoke", False, "the catalog defines no smoke check for this service")
        return SmokeStep([missing], True, state)
    number = state.attempts + 1
    results = [attempt(check, number) for check in settings.checks if check.name not in state.passed]
    passed = state.passed + tuple(r.name for r in results if r.passed)
    state = state._replace(attempts=number, passed=passed)
    failed = [r for r in results if not r.passed]
    if not failed:
        return SmokeStep(results, True, state)
    elapsed = min(max(0.0, now - state.started_at) * scale, state.waited_s)
    warm_up_left = settings.warmup_seconds - elapsed
    backoff = settings.backoff_seconds * 2 ** (number - 1)
    if number >= settings.max_attempts or warm_up_left <= 0:
        return SmokeStep(results, True, state)
    delay = callback_delay(min(backoff, warm_up_left))
    waiting = [
        r if r.passed else CheckResult(r.name, True, f"warming up: {r.detail}; next attempt in {delay} s")
        for r in results
    ]
    return SmokeStep(waiting, False, state._replace(waited_s=state.waited_s + delay), delay)

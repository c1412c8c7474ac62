"""The production smoke that retries across Amazon ECS invocations (hooks.native_smoke) as tables:
one step's verdict and wait, and the state it carries in hookDetails."""

from __future__ import annotations

from typing import Any

import pytest

from hooks.native_bake import BakeState
from hooks.native_event import NativeEventError
from hooks.native_smoke import SmokeState, smoke_step
from hooks.outcome import CheckResult
from hooks.service_view import SmokeCheckView, SmokeView


def check(name: str) -> SmokeCheckView:
    return SmokeCheckView(name, "GET", f"/{name}", {}, None, [200], None, None, 1000)


SETTINGS = SmokeView([check("health"), check("products")], 30.0, 1.0, 5, 65536)
START = 1_000.0


def answers(failing: set[str]) -> Any:
    calls: list[tuple[str, int]] = []

    def attempt(smoke: SmokeCheckView, number: int) -> CheckResult:
        calls.append((smoke.name, number))
        return CheckResult(smoke.name, smoke.name not in failing, f"{smoke.name} #{number}", attempts=number)

    attempt.calls = calls  # type: ignore[attr-defined]
    return attempt


# (state before, checks failing now, deployment seconds since the first attempt) ->
# (done, every result passed, callBackDelay, attempts made, checks passed so far)
STEPS = [
    pytest.param(
        SmokeState("e", START), set(), 0.0, (True, True, 0, 1, ("health", "products")), id="all-pass"
    ),
    pytest.param(SmokeState("e", START), {"health"}, 0.0, (False, True, 1, 1, ("products",)), id="retry-1s"),
    pytest.param(
        SmokeState("e", START, 3.0, 2, ("products",)),
        {"health"},
        3.0,
        (False, True, 4, 3, ("products",)),
        id="backoff-doubles",
    ),
    pytest.param(
        SmokeState("e", START, 27.0, 4, ("products",)),
        {"health"},
        27.0,
        (True, False, 0, 5, ("products",)),
        id="attempts-run-out",
    ),
    pytest.param(
        SmokeState("e", START, 28.0, 3, ()),
        {"health"},
        28.0,
        (False, True, 2, 4, ("products",)),
        id="wait-at-most-the-warm-up-left",
    ),
    pytest.param(
        SmokeState("e", START, 30.0, 3, ()),
        {"health"},
        30.0,
        (True, False, 0, 4, ("products",)),
        id="warm-up-over",
    ),
    pytest.param(
        SmokeState("e", START, 3.0, 2, ("products",)),
        set(),
        3.0,
        (True, True, 0, 3, ("products", "health")),
        id="passes-later",
    ),
]


@pytest.mark.parametrize(("state", "failing", "elapsed", "expected"), STEPS)
def test_one_smoke_step(
    state: SmokeState, failing: set[str], elapsed: float, expected: tuple[Any, ...]
) -> None:
    attempt = answers(failing)
    step = smoke_step(SETTINGS, state, START + elapsed, 1.0, attempt)
    done, all_passed, delay, attempts, passed = expected
    assert (step.done, all(r.passed for r in step.results), step.delay_s) == (done, all_passed, delay)
    assert (step.state.attempts, step.state.passed) == (attempts, passed)
    # a check that passed is not asked again
    assert [name for name, _ in attempt.calls] == [
        c.name for c in SETTINGS.checks if c.name not in state.passed
    ]
    if not done:
        assert step.state.waited_s == state.waited_s + delay
        assert any("warming up: health" in r.detail for r in step.results)


def test_elapsed_is_the_smaller_of_the_clock_and_the_waits_asked_for() -> None:
    # the sandbox's clock ran slower than its scale: 5 s waited, the wall clock says 40 s x scale
    state = SmokeState("e", START, 5.0, 2, ())
    step = smoke_step(SETTINGS, state, START + 40.0, 1.0, answers({"health"}))
    assert not step.done and step.delay_s == 4


def test_no_smoke_check_in_the_catalog_fails() -> None:
    step = smoke_step(SETTINGS._replace(checks=[]), SmokeState("e", START), START, 1.0, answers(set()))
    assert step.done and not step.results[0].passed


def test_smoke_state_round_trips_and_is_no_bake_state() -> None:
    state = SmokeState("exec-1", 1234.5, 3.0, 2, ("products",))
    details = state.to_details({"team": "catalog", "bluegreen": {"old": 1}})
    assert details["team"] == "catalog"
    assert SmokeState.from_details(details, "exec-1") == state
    assert SmokeState.from_details(details, "exec-2") is None  # another execution starts afresh
    assert BakeState.from_details(details, "exec-1") is None  # the bake starts once the smoke passed
    bake = BakeState("exec-1", 1234.5).to_details({})
    assert SmokeState.from_details(bake, "exec-1") is None


@pytest.mark.parametrize(
    "state",
    [
        {"executionId": "e", "smokeStartedAt": 1.0},
        {
            "executionId": "e",
            "smokeStartedAt": 1.0,
            "smokeWaitedSeconds": 0,
            "smokeAttempts": -1,
            "smokePassed": [],
        },
        {
            "executionId": "e",
            "smokeStartedAt": 1.0,
            "smokeWaitedSeconds": 0,
            "smokeAttempts": 1,
            "smokePassed": "x",
        },
        {
            "executionId": "e",
            "smokeStartedAt": "soon",
            "smokeWaitedSeconds": 0,
            "smokeAttempts": 1,
            "smokePassed": [],
        },
    ],
)
def test_smoke_state_the_hook_did_not_write_is_bad_input(state: dict[str, Any]) -> None:
    with pytest.raises(NativeEventError, match="smoke state"):
        SmokeState.from_details({"bluegreen": state}, "e")

"""hooks.clients' deadline helpers on their own: the cap on a request's read timeout, and
``call_before`` giving up on a call that hangs where no botocore timeout reaches (DNS, connect)."""

from __future__ import annotations

import threading
import time

import pytest

from hooks.clients import CallDeadlineError, call_before, call_timeout


@pytest.mark.parametrize(
    ("end", "configured", "expected"),
    [
        (None, 5.0, 5.0),  # no deadline: the client's own timeout
        (110.0, 5.0, 5.0),  # more time left than the timeout
        (101.5, 5.0, 1.5),  # less: the time left
        (99.0, 5.0, -1.0),  # past the deadline (the before-send handler refuses to send)
    ],
)
def test_call_timeout_is_capped_to_the_time_left(
    end: float | None, configured: float, expected: float
) -> None:
    assert call_timeout(end, configured, now=lambda: 100.0) == pytest.approx(expected)


def test_call_before_stops_waiting_at_the_end_for_a_call_that_hangs() -> None:
    release = threading.Event()
    started = time.monotonic()
    with pytest.raises(CallDeadlineError):
        call_before(started + 0.3, lambda: release.wait(30.0), "HangingCall")
    waited = time.monotonic() - started
    release.set()  # let the abandoned thread end
    assert 0.25 <= waited < 1.0


def test_call_before_returns_the_result_and_raises_the_error_of_a_quick_call() -> None:
    end = time.monotonic() + 5.0
    assert call_before(end, lambda: 42, "Quick") == 42
    with pytest.raises(ZeroDivisionError):
        call_before(end, lambda: 1 // 0, "Broken")


class _Request:
    """What botocore's before-send handlers get: the request's context (timeouts, client config)."""

    def __init__(self, read_timeout: float) -> None:
        from botocore.config import Config

        self.context: dict = {"client_config": Config(read_timeout=read_timeout)}


@pytest.mark.parametrize("left", [0.0, 0.01, 0.04])
def test_a_request_with_almost_no_time_left_is_not_sent(left: float) -> None:
    from hooks.clients import _cap_to_deadline, calls_end_by

    request = _Request(read_timeout=5)
    with calls_end_by(time.monotonic() + left), pytest.raises(CallDeadlineError):
        _cap_to_deadline(request, event_name="before-send.codedeploy.GetDeployment")


def test_a_request_with_time_left_gets_its_read_timeout_capped() -> None:
    from hooks.clients import _cap_to_deadline, calls_end_by

    request = _Request(read_timeout=5)
    with calls_end_by(time.monotonic() + 1.0):
        _cap_to_deadline(request, event_name="before-send.codedeploy.GetDeployment")
    assert 0.5 < request.context["read_timeout"] <= 1.0
    untouched = _Request(read_timeout=5)
    _cap_to_deadline(untouched)  # no deadline set on this thread: the client's own timeout
    assert "read_timeout" not in untouched.context

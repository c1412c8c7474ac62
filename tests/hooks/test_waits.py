"""Waiting logic with injected time: the bake's polls and the smoke warm-up retries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hooks.gates import BakeSettings, bake
from hooks.smoke import HttpResponse, SmokeRequestError, SmokeTarget, run_check
from hooks.timing import Deadline, VirtualTime
from orchestrator.catalog import SmokeCheck, SmokeSettings
from orchestrator.errors import AwsError


class ManualClock:
    """monotonic() and sleep() over a number a test controls."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def states_over(polls: list[object]) -> Iterator[object]:
    yield from polls
    while True:
        yield polls[-1]


@pytest.mark.parametrize(
    ("polls", "passed", "detail", "n_sleeps"),
    [
        ([{"a": "OK"}], True, "60 s without an alarm (5 polls)", 4),
        ([{"a": "OK"}, {"a": "OK"}, {"a": "ALARM"}], False, "after 30 s of 60 s: in ALARM: a", 2),
        (
            [{"a": "OK"}, AwsError("throttled"), {"a": "OK"}],
            True,
            "60 s without an alarm",
            4,
        ),  # one error is data
        (
            [AwsError("t1"), AwsError("t2"), AwsError("t3")],
            False,
            "3 alarm reads in a row failed, last: t3",
            2,
        ),
    ],
)
def test_bake_polls_the_alarms(polls: list[object], passed: bool, detail: str, n_sleeps: int) -> None:
    clock = ManualClock()
    virtual = VirtualTime(scale=10.0, real_sleep=clock.sleep)  # 60 catalog seconds = 6 real seconds
    deadline = Deadline.from_remaining(60_000, clock=clock)
    answers = states_over(polls)

    def read() -> dict[str, str]:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    result = bake(BakeSettings(("a",), "ok", bake_seconds=60.0), read, virtual, deadline)

    assert (result.passed, detail in result.detail) == (passed, True), result.detail
    assert len(clock.sleeps) == n_sleeps
    assert all(s == pytest.approx(1.5) for s in clock.sleeps)  # 15 catalog seconds between polls


def test_bake_counts_only_read_errors_in_a_row() -> None:
    clock = ManualClock()
    virtual = VirtualTime(scale=10.0, real_sleep=clock.sleep)
    deadline = Deadline.from_remaining(60_000, clock=clock)
    answers = states_over(
        [AwsError("t1"), AwsError("t2"), {"a": "OK"}, AwsError("t3"), AwsError("t4"), {"a": "OK"}]
    )

    def read() -> dict[str, str]:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    result = bake(BakeSettings(("a",), "ok", bake_seconds=60.0), read, virtual, deadline)
    assert result.passed, result.detail  # four errors, never three in a row


@pytest.mark.parametrize(
    ("bake_seconds", "poll_seconds"), [(2.0, 1.0), (20.0, 5.0), (60.0, 15.0), (600.0, 15.0)]
)
def test_bake_polls_about_four_times_every_1_to_15_seconds(bake_seconds: float, poll_seconds: float) -> None:
    assert BakeSettings(("a",), "ok", bake_seconds=bake_seconds).poll_seconds == poll_seconds


def test_bake_that_does_not_fit_fails_without_waiting() -> None:
    clock = ManualClock()
    result = bake(
        BakeSettings(("a",), "ok", bake_seconds=300.0),
        lambda: {"a": "OK"},
        VirtualTime(scale=1.0, real_sleep=clock.sleep),
        Deadline.from_remaining(60_000, clock=clock),
    )
    assert not result.passed and "does not fit" in result.detail
    assert clock.sleeps == []


class ScriptedHttp:
    """An HttpApi answering from a list (an exception entry means no response)."""

    def __init__(
        self, clock: ManualClock, answers: list[HttpResponse | Exception], request_s: float = 0.1
    ) -> None:
        self.clock = clock
        self.answers = answers
        self.request_s = request_s
        self.requests: list[tuple[str, str, float]] = []

    def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: str | None,
        timeout_s: float,
        max_body_bytes: int,
        connect_to: str | None = None,
    ) -> HttpResponse:
        self.requests.append((method, url, timeout_s))
        self.clock.now += self.request_s
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


OK = HttpResponse(200, b"{}", False, 5.0)
DOWN = HttpResponse(503, b"", False, 5.0)
TARGET = SmokeTarget("http", "alb.internal", 8443, "alb.internal")


@pytest.mark.parametrize(
    ("answers", "warmup", "max_attempts", "passed", "attempts", "sleeps"),
    [
        ([OK], 30.0, 5, True, 1, []),
        ([DOWN, DOWN, OK], 30.0, 5, True, 3, [1.0, 2.0]),  # backoff doubles (virtual = real at scale 1)
        ([DOWN], 30.0, 3, False, 3, [1.0, 2.0]),  # attempts run out
        # The warm-up window runs out: 2.5 s minus 1.2 s spent (two 0.1 s requests + 1 s) is the last wait.
        ([DOWN], 2.5, 10, False, 3, [1.0, 1.3]),
        ([DOWN], 0.0, 5, False, 1, []),  # no warm-up: one try
        ([SmokeRequestError("refused"), OK], 30.0, 5, True, 2, [1.0]),
    ],
)
def test_run_check_retries_during_warm_up(
    answers: list[HttpResponse | Exception],
    warmup: float,
    max_attempts: int,
    passed: bool,
    attempts: int,
    sleeps: list[float],
) -> None:
    clock = ManualClock()
    http = ScriptedHttp(clock, list(answers))
    settings = SmokeSettings(checks=[], warmup_seconds=warmup, backoff_seconds=1.0, max_attempts=max_attempts)
    result = run_check(
        SmokeCheck(name="health"),
        TARGET,
        settings,
        http,
        VirtualTime(scale=1.0, real_sleep=clock.sleep),
        Deadline.from_remaining(60_000, clock=clock),
    )
    assert (result.passed, result.attempts) == (passed, attempts), result.detail
    assert clock.sleeps == pytest.approx(sleeps)
    assert {url for _, url, _ in http.requests} == {"http://alb.internal:8443/health"}


def test_request_timeout_never_exceeds_the_deadline() -> None:
    clock = ManualClock()
    http = ScriptedHttp(clock, [OK])
    # 1 s left for the invocation: 0.5 s for checks (the margin keeps 0.5 s for the report).
    run_check(
        SmokeCheck(name="health", latency_budget_ms=5000),
        TARGET,
        SmokeSettings(),
        http,
        VirtualTime(),
        Deadline.from_remaining(1_000, clock=clock),
    )
    assert http.requests[0][2] == pytest.approx(0.5)


def test_no_response_names_the_listener_once_and_the_wait_plainly() -> None:
    """The verdict's reason becomes `why`'s root cause: the method and path once, then where it went."""
    clock = ManualClock()
    http = ScriptedHttp(clock, [SmokeRequestError("no answer within 1600 ms")])
    target = SmokeTarget("http", "alb.internal", 8443, "alb.internal", listener="test")
    settings = SmokeSettings(checks=[], warmup_seconds=0.0)
    result = run_check(
        SmokeCheck(name="health", latency_budget_ms=800),
        target,
        settings,
        http,
        VirtualTime(scale=1.0, real_sleep=clock.sleep),
        Deadline.from_remaining(60_000, clock=clock),
    )
    assert result.detail == (
        "GET /health via the test listener: no response from alb.internal:8443 (no answer within 1600 ms)"
    )


def test_a_read_timeout_is_said_plainly() -> None:
    """urllib3's 'HTTPConnectionPool(host=..., port=...): Read timed out. (read timeout=1.99...)' is not."""
    import socket
    import threading

    from hooks.smoke import Urllib3Http

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True)
    thread.start()
    try:
        with pytest.raises(SmokeRequestError) as caught:
            Urllib3Http().request("GET", f"http://127.0.0.1:{port}/health", {}, None, 0.2, 1024)
        assert str(caught.value) == "no answer within 200 ms"
    finally:
        thread.join(timeout=5)
        for connection in accepted:
            connection.close()
        server.close()

"""The green probe (orchestrator/analysis/probe.py) and the watch loop's use of it, on fakes: the
rule, what counts as a wrong answer, when the loop probes, what its sign does, and what happens when
the probe cannot reach the test listener."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from orchestrator.analysis.probe import (
    GreenProbe,
    HttpResponse,
    ProbeAnswer,
    ProbeHistory,
    ProbeRule,
    ProbeTarget,
    ProbeUnreachable,
    SmokeRequestError,
)
from orchestrator.aws.elbv2 import listener_of_rule
from orchestrator.catalog import SmokeCheck
from orchestrator.errors import BadInputError
from orchestrator.vocabulary import DeploymentStatus, LifecycleStatus
from orchestrator.watching.loop import StopOnAlarm, Watcher, WatchOptions
from orchestrator.watching.snapshots import PollPolicy, Snapshot
from tests.support.cli import FakeClock
from tests.support.fake_codedeploy import TimelineCodeDeploy, engine_on

RIGHT, WRONG = ProbeAnswer("GET /health", None), ProbeAnswer("GET /health", "status 500, expected 200")


@pytest.mark.parametrize(
    ("rounds", "rule", "stops_at_round"),
    [
        ([[WRONG], [WRONG], [WRONG]], ProbeRule(), 3),  # 3 of 3
        ([[WRONG, RIGHT], [WRONG, RIGHT], [RIGHT, WRONG]], ProbeRule(), 3),
        ([[WRONG], [WRONG]], ProbeRule(), None),  # two wrong answers are not a sign
        # a wrong answer leaves the window after 10 more: 2 wrong, 9 right, 1 wrong -> 2 in the window
        ([[WRONG, WRONG]] + [[RIGHT]] * 9 + [[WRONG]], ProbeRule(), None),
        ([[WRONG, WRONG]] + [[RIGHT]] * 7 + [[WRONG]], ProbeRule(), 9),  # still 3 in the last 10
        ([[WRONG]], ProbeRule(window=1, failures=1), 1),
        ([[RIGHT]] * 30, ProbeRule(), None),
    ],
)
def test_the_rule_is_failures_of_the_last_window_answers(
    rounds: list[list[ProbeAnswer]], rule: ProbeRule, stops_at_round: int | None
) -> None:
    history = ProbeHistory(rule)
    signs = [history.add(answers) for answers in rounds]
    first = next((n for n, sign in enumerate(signs, 1) if sign is not None), None)
    assert first == stops_at_round
    if first is not None:
        assert "answers through the test listener were wrong (GET /health: status 500, expected 200)" in str(
            signs[first - 1]
        )
    assert history.answers == sum(len(r) for r in rounds)
    assert history.wrong == sum(1 for r in rounds for a in r if a.problem)


@pytest.mark.parametrize(("window", "failures"), [(10, 0), (10, 11), (0, 0)])
def test_a_rule_that_could_never_or_always_stop_is_refused(window: int, failures: int) -> None:
    with pytest.raises(ValueError, match="probe rule"):
        ProbeRule(window=window, failures=failures)


class FakeHttp:
    """Answers from a script: an HttpResponse, or an exception to raise; records the URLs."""

    def __init__(self, *answers: HttpResponse | Exception) -> None:
        self.answers = list(answers)
        self.urls: list[str] = []

    def request(
        self, method: str, url: str, headers: dict[str, str], body: str | None, *args: Any
    ) -> HttpResponse:
        self.urls.append(f"{method} {url}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def ok(body: bytes = b'{"status": "ok"}', latency_ms: float = 5.0, status: int = 200) -> HttpResponse:
    return HttpResponse(status, body, False, latency_ms)


HEALTH = SmokeCheck(
    name="health", path="/health", json_field={"path": "status", "equals": "ok"}, latency_budget_ms=800
)
LIST = SmokeCheck(name="list", path="/products?limit=1", latency_budget_ms=1500)
TARGET = ProbeTarget("http", "127.0.0.1", 9080)


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (ok(), None),
        (ok(latency_ms=60_000.0), None),  # latency is not the probe's business
        (ok(status=500), "status 500, expected 200"),
        (ok(status=503), "status 503, expected 200"),
        (ok(body=b'{"status": "degraded"}'), "JSON field 'status' is 'degraded', expected 'ok'"),
        (ok(body=b"<html>"), "body is not JSON"),
    ],
)
def test_a_wrong_answer_is_one_a_smoke_check_refuses_but_for_latency(
    answer: HttpResponse, problem: str | None
) -> None:
    http = FakeHttp(answer)
    probe = GreenProbe([HEALTH], TARGET, http, ProbeRule(window=1, failures=1))
    sign = probe.round()
    assert http.urls == ["GET http://127.0.0.1:9080/health"]
    assert sign is None if problem is None else sign is not None and problem in sign
    assert probe.answers == (1, 0 if problem is None else 1)


def test_no_answer_at_all_in_the_first_round_says_the_listener_is_out_of_reach() -> None:
    http = FakeHttp(SmokeRequestError("ConnectTimeoutError"), SmokeRequestError("ConnectTimeoutError"))
    probe = GreenProbe([HEALTH, LIST], TARGET, http)
    with pytest.raises(ProbeUnreachable, match=r"no answer through the test listener .*ConnectTimeoutError"):
        probe.round()


def test_once_green_answered_a_request_without_answer_is_neither_right_nor_wrong() -> None:
    http = FakeHttp(ok(), ok(), SmokeRequestError("reset"), SmokeRequestError("reset"), ok(status=500), ok())
    probe = GreenProbe([HEALTH, LIST], TARGET, http)
    assert probe.round() is None and probe.answers == (2, 0)
    assert probe.round() is None and probe.answers == (2, 0)  # no raise, nothing counted
    assert probe.round() is None and probe.answers == (4, 1)
    assert http.urls[:2] == ["GET http://127.0.0.1:9080/health", "GET http://127.0.0.1:9080/products?limit=1"]


@pytest.mark.parametrize(
    ("rule", "listener"),
    [
        (
            "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener-rule/app/my-lb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee",
            "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener/app/my-lb/50dc6c495c0c9188/f2f7dc8efc522ab2",
        ),
        (
            "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener/app/my-lb/50dc6c495c0c9188/f2f7dc8efc522ab2",
            None,
        ),
        (
            "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener-rule/app/my-lb/50dc6c495c0c9188/f2f7",
            None,
        ),
        ("not an arn", None),
    ],
)
def test_a_rules_listener_is_its_arn_without_the_rule(rule: str, listener: str | None) -> None:
    if listener is None:
        with pytest.raises(BadInputError, match="is not a load balancer listener rule ARN"):
            listener_of_rule(rule)
    else:
        assert listener_of_rule(rule) == listener


RUN, OK_ = LifecycleStatus.IN_PROGRESS, LifecycleStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("lifecycle", "weight", "users", "next_"),
    [
        ((("AfterAllowTestTraffic", RUN),), 0.0, False, True),  # the test-traffic hook runs
        ((("AfterAllowTestTraffic", OK_), ("BeforeAllowTraffic", RUN)), 0.0, False, True),
        ((("AfterAllowTestTraffic", OK_), ("AllowTraffic", RUN)), 0.0, True, False),  # the shift began
        ((("AfterAllowTestTraffic", OK_), ("AllowTraffic", RUN)), 10.0, True, False),
        ((("AllowTraffic", OK_), ("AfterAllowTraffic", RUN)), 100.0, True, False),
        ((("AllowTestTraffic", RUN),), 0.0, False, False),  # test traffic not on green yet
        ((("POST_TEST_TRAFFIC_SHIFT", RUN),), 0.0, False, True),  # Amazon ECS's stages
        ((("POST_TEST_TRAFFIC_SHIFT", OK_), ("PRODUCTION_TRAFFIC_SHIFT", RUN)), 0.0, True, False),
        ((("TEST_TRAFFIC_SHIFT", RUN),), None, False, False),
    ],
)
def test_when_users_reach_green_and_when_the_shift_is_next(
    lifecycle: tuple[tuple[str, LifecycleStatus], ...], weight: float | None, users: bool, next_: bool
) -> None:
    snapshot = Snapshot(DeploymentStatus.IN_PROGRESS, lifecycle, replacement_weight=weight)
    assert snapshot.users_on_replacement is users
    assert snapshot.shift_is_next is next_


# --- the watch loop with a probe ---------------------------------------------------------------------
OK, IP = "Succeeded", "InProgress"
TESTED = {"BeforeInstall": OK, "Install": OK, "AfterInstall": OK, "AllowTestTraffic": OK}
# production all on green
SHIFTED = {**TESTED, "AfterAllowTestTraffic": OK, "BeforeAllowTraffic": OK, "AllowTraffic": OK}
CANARY = [
    (0.0, "Created", {}, None),
    (20.0, "InProgress", {"BeforeInstall": IP}, 0.0),
    (40.0, "InProgress", {**TESTED, "AfterAllowTestTraffic": IP}, 0.0),
    (
        63.0,
        "InProgress",
        {**TESTED, "AfterAllowTestTraffic": OK, "BeforeAllowTraffic": OK, "AllowTraffic": IP},
        10.0,
    ),
    (360.0, "InProgress", SHIFTED, 100.0),
    (420.0, "Succeeded", SHIFTED, 100.0),
]


class FakeProbe:
    """A probe whose rounds are stamped on the fake clock; wrong from ``wrong_from`` on (3 rounds in a
    row make the sign), or raising ``fails`` at its first round."""

    seconds = 1.0

    def __init__(
        self, clock: FakeClock, wrong_from: float | None = None, fails: Exception | None = None
    ) -> None:
        self.clock = clock
        self.wrong_from = wrong_from
        self.fails = fails
        self.rounds: list[float] = []
        self.wrong_in_a_row = 0

    @property
    def answers(self) -> tuple[int, int]:
        return (
            len(self.rounds),
            sum(1 for t in self.rounds if self.wrong_from is not None and t >= self.wrong_from),
        )

    def round(self) -> str | None:
        if self.fails is not None:
            raise self.fails
        self.rounds.append(self.clock.now)
        wrong = self.wrong_from is not None and self.clock.now >= self.wrong_from
        self.wrong_in_a_row = self.wrong_in_a_row + 1 if wrong else 0
        return "3 of green's last 3 answers were wrong" if self.wrong_in_a_row >= 3 else None


def watch_probing(
    probe_factory: Any, timeline: list[Any] | None = None
) -> tuple[FakeClock, TimelineCodeDeploy, Any, FakeProbe, Watcher, list[float]]:
    clock = FakeClock()
    api = TimelineCodeDeploy(clock, list(timeline or CANARY))
    probe = probe_factory(clock)
    stops: list[float] = []

    def stop(firing: tuple[str, ...]) -> None:
        assert firing == ()
        stops.append(clock.now)
        api.timeline = [(clock.now, "Stopped", {}, 0.0)]

    watcher = Watcher(
        engine_on(api),
        "d-FAKE00001",
        clock=clock,
        sleep=clock.sleep,
        stop_on_alarm=StopOnAlarm(None, stop, probe=probe),
    )
    result = watcher.run(WatchOptions(timeout_seconds=3600, policy=PollPolicy(max_calls_per_minute=36)))
    return clock, api, result, probe, watcher, stops


def test_the_probe_runs_every_second_while_users_reach_green_and_not_before() -> None:
    _clock, api, result, probe, _watcher, stops = watch_probing(lambda clock: FakeProbe(clock))
    assert result.snapshot.status.value == "Succeeded" and not stops and result.stopped_on_alarm is None
    # from the shift until the poll that sees the end (without alarms to read, polls keep their pace)
    assert probe.rounds and min(probe.rounds) >= 63.0 and max(probe.rounds) < 420.0 + 30.0
    # rounds one (deployment) second apart between polls; the first within a quick poll of the shift
    assert min(probe.rounds) <= 63.0 + 5.0 + 1e-9
    gaps = [b - a for a, b in itertools.pairwise(probe.rounds)]
    assert max(gaps) <= 1.0 + 1e-9 and min(gaps) > 0.0  # never two rounds at a poll's moment
    assert result.probe_rounds == len(probe.rounds) and result.probe_answers == (len(probe.rounds), 0)
    # the polls before the shift come quickly while the test-traffic hook runs (the shift is next)
    polls = [t for t, name in api.calls if name == "GetDeployment" and 40.0 <= t < 63.0]
    assert max(b - a for a, b in itertools.pairwise(polls)) <= 5.0 + 1e-9


def test_each_wait_while_users_reach_green_probes_at_once() -> None:
    # The poll that sees users on green is followed by a round at that moment, not a probe's
    # interval later: a round is what sees a broken green soonest.
    _clock, api, _result, probe, _watcher, _stops = watch_probing(lambda clock: FakeProbe(clock))
    polls = [t for t, name in api.calls if name == "GetDeployment" and 63.0 <= t < 420.0]
    assert polls and all(t in probe.rounds for t in polls)


def test_the_shift_under_way_is_probed_before_its_weight_shows() -> None:
    # The shift's step runs from 63 s, the weight still 0 until 80 s (its first polls may show none):
    # production users reach green already, so the waits probe it.
    shifting = {**TESTED, "AfterAllowTestTraffic": OK, "BeforeAllowTraffic": OK, "AllowTraffic": IP}
    timeline = [
        *CANARY[:3],
        (63.0, "InProgress", shifting, 0.0),
        (80.0, "InProgress", shifting, 10.0),
        *CANARY[4:],
    ]
    _clock, _api, _result, probe, _watcher, _stops = watch_probing(lambda clock: FakeProbe(clock), timeline)
    early = [t for t in probe.rounds if t < 80.0]
    assert early and min(early) >= 63.0 and max(b - a for a, b in itertools.pairwise(early)) <= 1.0 + 1e-9


def test_the_probes_sign_stops_the_deployment_once_with_rollback() -> None:
    _clock, _api, result, probe, _watcher, stops = watch_probing(
        lambda clock: FakeProbe(clock, wrong_from=100.0)
    )
    assert len(stops) == 1 and 100.0 <= stops[0] <= 103.0 + 1e-9  # the third wrong round, at once
    stopped = result.stopped_on_alarm
    assert stopped is not None and stopped.alarms == () and stopped.error is None
    assert stopped.probe == "3 of green's last 3 answers were wrong"
    assert result.snapshot.status.value == "Stopped"
    assert max(probe.rounds) <= stops[0]  # nothing probed after the stop


# CANARY with a bake (all users on green, polls 30 s apart: no alarms read) from 360 to 1000
CANARY_BAKING = [
    *CANARY[:-2],
    (360.0, "Baking", SHIFTED, 100.0),
    (1000.0, "Succeeded", SHIFTED, 100.0),
]


@pytest.mark.parametrize(
    ("wrong_from", "pace"),
    [(100.0, 5.0), (500.0, 30.0)],  # the canary's step (polls 5 s apart), the bake (30 s apart)
    ids=["canary-step", "bake"],
)
def test_after_the_probes_stop_the_next_poll_comes_within_the_quick_interval_never_later(
    wrong_from: float, pace: float
) -> None:
    # Traffic moves back at once: the wait ends moving_seconds after the stop, or at the poll that
    # was due anyway when that comes sooner.
    _clock, api, result, _probe, _watcher, stops = watch_probing(
        lambda clock: FakeProbe(clock, wrong_from=wrong_from), CANARY_BAKING
    )
    assert len(stops) == 1 and result.snapshot.status.value == "Stopped"
    polls = [t for t, name in api.calls if name == "GetDeployment"]
    before = max(t for t in polls if t <= stops[0])
    after = min(t for t in polls if t > stops[0])
    assert after - stops[0] <= PollPolicy().moving_seconds + 1e-9
    assert after - before <= pace + 1e-9


def test_a_probe_that_cannot_work_here_is_switched_off_and_the_watch_goes_on() -> None:
    failing = ProbeUnreachable(
        "no answer through the test listener (GET http://alb.internal:9080/health: timeout)"
    )
    _clock, _api, result, _probe, watcher, stops = watch_probing(
        lambda clock: FakeProbe(clock, fails=failing)
    )
    assert result.snapshot.status.value == "Succeeded" and not stops
    assert result.probe_off == watcher.unprobed == str(failing) and result.probe_rounds == 0

"""The hooks' pure decisions as tables: freeze windows, smoke response evaluation, alarm gate,
target health, green from listener weights, deadlines and time scale. No doubles, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from hooks.deployment import green_from_weights, green_task_set, traffic_routes
from hooks.freeze import decide_freeze, override_reason, window_covers
from hooks.gates import alarm_gate, target_health_gate
from hooks.outcome import CheckResult, HookOutcome, HookStatus
from hooks.reporting import Claim, ExecutionLedger
from hooks.smoke import MISSING, HttpResponse, evaluate_response, host_allowed, json_field, listener_url
from hooks.timing import Deadline, VirtualTime, time_scale
from orchestrator.catalog import FreezeWindow, SmokeCheck

# --- freeze windows ------------------------------------------------------------------------------
# 2026-11-21 is a Saturday.
SAT = datetime(2026, 11, 21, tzinfo=UTC)


def at(day_offset: int, hh: int, mm: int = 0) -> datetime:
    return SAT + timedelta(days=day_offset, hours=hh, minutes=mm)


WEEKEND_PEAK = FreezeWindow(name="weekend-peak", days=["sat", "sun"], start="11:00", end="14:00")
FRIDAY_NIGHT = FreezeWindow(name="friday-night", days=["fri"], start="22:00", end="02:00")
ALL_DAY = FreezeWindow(name="all-day", days=["mon"], start="00:00", end="00:00")


@pytest.mark.parametrize(
    ("window", "moment", "covered"),
    [
        (WEEKEND_PEAK, at(0, 11), True),  # start is inclusive
        (WEEKEND_PEAK, at(0, 13, 59), True),
        (WEEKEND_PEAK, at(0, 14), False),  # end is exclusive
        (WEEKEND_PEAK, at(0, 10, 59), False),
        (WEEKEND_PEAK, at(1, 12), True),  # Sunday
        (WEEKEND_PEAK, at(2, 12), False),  # Monday
        (FRIDAY_NIGHT, at(-1, 23), True),  # Friday 23:00
        (FRIDAY_NIGHT, at(0, 1, 30), True),  # Saturday 01:30 belongs to Friday's window
        (FRIDAY_NIGHT, at(0, 2), False),
        (FRIDAY_NIGHT, at(-1, 1), False),  # Friday 01:00 belongs to Thursday, which is not listed
        (ALL_DAY, at(2, 0), True),  # Monday, whole day
        (ALL_DAY, at(2, 23, 59), True),
        (ALL_DAY, at(3, 0), False),
        (
            WEEKEND_PEAK,
            datetime(2026, 11, 21, 20, 30, tzinfo=timezone(timedelta(hours=9))),
            True,
        ),  # 11:30 UTC
        (WEEKEND_PEAK, datetime(2026, 11, 21, 12, 0), True),  # naive means UTC
    ],
)
def test_window_covers(window: FreezeWindow, moment: datetime, covered: bool) -> None:
    assert window_covers(window, moment) is covered


@pytest.mark.parametrize(
    ("description", "reason"),
    [
        (None, None),
        ("", None),
        ("release 1.4", None),
        ("freeze-override: INC-42 payment outage", "INC-42 payment outage"),
        ("hotfix\nFREEZE-OVERRIDE:   db failover  \nmore", "db failover"),
        ("freeze-override:", None),  # a reason is required
        ("freeze-override:    ", None),
    ],
)
def test_override_reason(description: str | None, reason: str | None) -> None:
    assert override_reason(description) == reason


@pytest.mark.parametrize(
    ("windows", "moment", "description", "allowed", "says"),
    [
        ([], at(0, 12), "", True, "no freeze window is active"),
        (
            [WEEKEND_PEAK],
            at(0, 12),
            "",
            False,
            "freeze window weekend-peak (sat/sun 11:00-14:00 UTC) is active",
        ),
        ([WEEKEND_PEAK], at(0, 12), "freeze-override: INC-1", True, "overridden: INC-1"),
        ([WEEKEND_PEAK], at(0, 15), "", True, "no freeze window is active"),
        ([FRIDAY_NIGHT, WEEKEND_PEAK], at(0, 12), "", False, "weekend-peak"),
    ],
)
def test_decide_freeze(
    windows: list[FreezeWindow], moment: datetime, description: str, allowed: bool, says: str
) -> None:
    decision = decide_freeze(windows, moment, description)
    assert decision.allowed is allowed
    assert says in decision.reason


# --- smoke response evaluation -------------------------------------------------------------------


def check(**fields: object) -> SmokeCheck:
    return SmokeCheck.model_validate({"name": "health", **fields})


def response(
    status: int = 200, body: bytes = b'{"status": "ok"}', latency_ms: float = 10.0, truncated: bool = False
) -> HttpResponse:
    return HttpResponse(status=status, body=body, truncated=truncated, latency_ms=latency_ms)


@pytest.mark.parametrize(
    ("smoke", "answer", "passed", "detail"),
    [
        (check(), response(), True, "status 200 in 10 ms"),
        (check(), response(503), False, "status 503, expected 200"),
        (check(expect_status=[200, 204]), response(204, b""), True, "status 204"),
        (check(expect_status=[200, 204]), response(302, b""), False, "status 302, expected 200, 204"),
        (check(latency_budget_ms=100), response(latency_ms=100.0), True, "status 200"),
        (
            check(latency_budget_ms=100),
            response(latency_ms=100.5),
            False,
            "latency 100 ms over the budget of 100",
        ),
        (check(body_contains="ok"), response(), True, "status 200"),
        (check(body_contains="healthy"), response(), False, "body does not contain 'healthy'"),
        (
            check(body_contains="zz"),
            response(body=b"a" * 10, truncated=True),
            False,
            "(body cut at the size cap)",
        ),
        (check(json_field={"path": "status", "equals": "ok"}), response(), True, "status 200"),
        (
            check(json_field={"path": "status", "equals": "ok"}),
            response(body=b'{"status": "bad"}'),
            False,
            "JSON field 'status' is 'bad', expected 'ok'",
        ),
        (
            check(json_field={"path": "db.up", "equals": True}),
            response(body=b'{"db": {"up": true}}'),
            True,
            "200",
        ),
        (
            check(json_field={"path": "items.0.id", "equals": 1}),
            response(body=b'{"items": [{"id": 1}]}'),
            True,
            "200",
        ),
        (
            check(json_field={"path": "items.3.id", "equals": 1}),
            response(body=b'{"items": []}'),
            False,
            "JSON field 'items.3.id' is missing",
        ),
        (
            check(json_field={"path": "status", "equals": "ok"}),
            response(body=b"<html>"),
            False,
            "body is not JSON",
        ),
        (
            check(json_field={"path": "status", "equals": "ok"}),
            response(truncated=True),
            False,
            "cannot read JSON",
        ),
    ],
)
def test_evaluate_response(smoke: SmokeCheck, answer: HttpResponse, passed: bool, detail: str) -> None:
    result = evaluate_response(smoke, answer)
    assert result.passed is passed
    assert detail in result.detail
    assert result.latency_ms == answer.latency_ms


@pytest.mark.parametrize(
    ("url", "allowed_host", "allowed"),
    [
        ("http://127.0.0.1:3003/health", "127.0.0.1", True),
        ("https://ALB.internal:443/health", "alb.internal", True),
        ("http://alb.internal.evil.com:80/health", "alb.internal", False),
        ("http://169.254.169.254/latest/meta-data", "alb.internal", False),
        ("http://alb.internal@evil.com/health", "alb.internal", False),  # userinfo trick
        ("file:///etc/passwd", "alb.internal", False),
        ("ftp://alb.internal/health", "alb.internal", False),
        (
            listener_url("http", "alb.internal", 80, "//evil.com/x"),
            "alb.internal",
            True,
        ),  # a path, not a host
    ],
)
def test_host_allowed(url: str, allowed_host: str, allowed: bool) -> None:
    assert host_allowed(url, allowed_host) is allowed


@pytest.mark.parametrize(
    ("document", "path", "found"),
    [
        ({"a": 1}, "a", 1),
        ({"a": {"b": [10, 20]}}, "a.b.1", 20),
        ({"a": None}, "a", None),
        ({"a": [1]}, "a.x", MISSING),
        ({"a": [1]}, "a.5", MISSING),
        ([{"id": 7}], "0.id", 7),
    ],
)
def test_json_field(document: object, path: str, found: object) -> None:
    assert json_field(document, path) is found or json_field(document, path) == found


# --- alarm gate ------------------------------------------------------------------------------------

NAMES = ["svc-5xx", "svc-latency"]


@pytest.mark.parametrize(
    ("states", "policy", "passed", "detail"),
    [
        ({"svc-5xx": "OK", "svc-latency": "OK"}, "ok", True, "2 of 2 alarms OK"),
        ({"svc-5xx": "ALARM", "svc-latency": "OK"}, "ok", False, "in ALARM: svc-5xx"),
        ({"svc-5xx": "ALARM", "svc-latency": "ALARM"}, "ok", False, "in ALARM: svc-5xx, svc-latency"),
        (
            {"svc-5xx": "INSUFFICIENT_DATA", "svc-latency": "OK"},
            "ok",
            True,
            "1 of 2 alarms OK; ignored by policy: svc-5xx (INSUFFICIENT_DATA)",
        ),
        (
            {"svc-5xx": "INSUFFICIENT_DATA", "svc-latency": "OK"},
            "alarm",
            False,
            "counted as ALARM by policy: svc-5xx (INSUFFICIENT_DATA)",
        ),
        ({"svc-5xx": "OK"}, "ok", True, "1 of 2 alarms OK; ignored by policy: svc-latency (missing)"),
        ({"svc-5xx": "OK"}, "alarm", False, "counted as ALARM by policy: svc-latency (missing)"),
        ({"svc-5xx": "ALARM"}, "alarm", False, "in ALARM: svc-5xx"),  # ALARM is named first
    ],
)
def test_alarm_gate(states: dict[str, str], policy: str, passed: bool, detail: str) -> None:
    result = alarm_gate(NAMES, states, policy)  # type: ignore[arg-type]
    assert (result.passed, result.detail) == (passed, detail)


def test_alarm_gate_without_alarms_passes_and_says_so() -> None:
    assert alarm_gate([], {}, "alarm") == CheckResult(
        "alarms", True, "the catalog names no alarm for this service"
    )


# --- green target health ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("healths", "desired", "passed", "detail"),
    [
        (
            [("10.0.0.1:80", "healthy"), ("10.0.0.2:80", "healthy")],
            2,
            True,
            "2 healthy target(s), need at least 2",
        ),
        ([("10.0.0.1:80", "healthy")], 2, False, "1 healthy target(s), need at least 2"),
        ([], 0, False, "0 healthy target(s), need at least 1"),  # an empty green never passes
        (
            [("10.0.0.1:80", "healthy"), ("10.0.0.2:80", "initial")],
            1,
            False,
            "not healthy: 10.0.0.2:80 (initial)",
        ),
        ([("i-1", "unused")], 1, False, "not healthy: i-1 (unused)"),
        ([("a", "healthy"), ("b", "healthy"), ("c", "healthy")], 2, True, "3 healthy target(s)"),
    ],
)
def test_target_health_gate(healths: list[tuple[str, str]], desired: int, passed: bool, detail: str) -> None:
    result = target_health_gate("svc-green", healths, desired)
    assert result.passed is passed
    assert detail in result.detail


# --- which target group is green ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "green"),
    [
        ({"svc-blue": 100, "svc-green": 0}, "svc-green"),
        ({"svc-blue": 1}, "svc-green"),  # a plain forward to blue
        ({"svc-green": 100, "svc-blue": 0}, "svc-blue"),  # roles swapped by the previous deployment
        ({"svc-blue": 90, "svc-green": 10}, "svc-green"),
        ({"svc-blue": 50, "svc-green": 50}, None),  # cannot tell
    ],
)
def test_green_from_weights(weights: dict[str, int], green: str | None) -> None:
    assert green_from_weights(("svc-blue", "svc-green"), weights) == green


def test_green_task_set_reads_the_green_label() -> None:
    targets = [
        {
            "ecsTarget": {
                "taskSetsInfo": [
                    {"taskSetLabel": "Blue", "targetGroup": {"name": "svc-green"}, "desiredCount": 2},
                    {"taskSetLabel": "Green", "targetGroup": {"name": "svc-blue"}, "desiredCount": 3},
                ]
            }
        }
    ]
    found = green_task_set(targets)
    assert found is not None and (found.target_group, found.desired_count) == ("svc-blue", 3)
    assert green_task_set([{"ecsTarget": {"taskSetsInfo": []}}]) is None


def test_traffic_routes_from_a_deployment_group() -> None:
    info = {
        "loadBalancerInfo": {
            "targetGroupPairInfoList": [
                {
                    "targetGroups": [{"name": "a"}, {"name": "b"}],
                    "prodTrafficRoute": {"listenerArns": ["prod"]},
                    "testTrafficRoute": {"listenerArns": ["test"]},
                }
            ]
        }
    }
    routes = traffic_routes(info)
    assert (routes.production_listeners, routes.test_listeners, routes.target_groups) == (
        ("prod",),
        ("test",),
        ("a", "b"),
    )


# --- outcome, ledger, time -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("passes", "status"),
    [([], HookStatus.FAILED), ([True], HookStatus.SUCCEEDED), ([True, False], HookStatus.FAILED)],
)
def test_outcome_succeeds_only_when_every_check_passed(passes: list[bool], status: HookStatus) -> None:
    outcome = HookOutcome.of(CheckResult(f"c{i}", p, "x") for i, p in enumerate(passes))
    assert outcome.status is status
    assert status.rolls_back is (status is HookStatus.FAILED)


def test_ledger_claims() -> None:
    ledger = ExecutionLedger()
    assert ledger.claim("e1") == (Claim.NEW, None)
    assert ledger.claim("e1") == (Claim.IN_FLIGHT, None)  # a concurrent duplicate does nothing
    ledger.settle("e1", HookStatus.FAILED, done=False)  # could not report: remember the verdict
    assert ledger.claim("e1") == (Claim.DECIDED, HookStatus.FAILED)
    ledger.settle("e1", HookStatus.FAILED, done=True)
    assert ledger.claim("e1") == (Claim.REPORTED, None)
    assert ledger.is_done("e1") and not ledger.is_done("e2")


@pytest.mark.parametrize(
    ("remaining_ms", "margin_ms", "checks_s", "report_s"),
    [
        (60_000, None, 50.0, 60.0),  # 25 % is 15 s, capped at 10 s
        (10_000, None, 7.5, 10.0),  # 25 %
        (1_000, None, 0.5, 1.0),  # at least 0.5 s
        (400, None, 0.0, 0.4),  # nothing left for checks
        (10_000, 2_000, 8.0, 10.0),  # explicit margin
    ],
)
def test_deadline_split(
    remaining_ms: float, margin_ms: float | None, checks_s: float, report_s: float
) -> None:
    deadline = Deadline.from_remaining(remaining_ms, margin_ms, clock=lambda: 100.0)
    assert deadline.remaining() == pytest.approx(checks_s)
    assert deadline.report_remaining() == pytest.approx(report_s)
    assert deadline.expired() is (checks_s == 0.0)


@pytest.mark.parametrize(("value", "scale"), [(None, 1.0), ("", 1.0), ("60", 60.0), ("0.5", 0.5)])
def test_time_scale(value: str | None, scale: float) -> None:
    environ = {} if value is None else {"BLUEGREEN_TIME_SCALE": value}
    assert time_scale(environ) == scale


@pytest.mark.parametrize("value", ["0", "-3", "x", "nan", "inf", "1e999", "\uff14\uff10", "4_0", " 40"])
def test_an_invalid_time_scale_fails_the_hook_as_the_cli_does(value: str) -> None:
    # One rule (orchestrator.time_scale) for the hooks and the CLI: never a silent fall back to 1.
    from orchestrator.errors import BadInputError

    with pytest.raises(BadInputError, match=r"^\$BLUEGREEN_TIME_SCALE: "):
        time_scale({"BLUEGREEN_TIME_SCALE": value})


def test_virtual_time_sleeps_scaled() -> None:
    slept: list[float] = []
    virtual = VirtualTime(scale=60.0, real_sleep=slept.append)
    virtual.sleep(120.0)
    virtual.sleep(0.0)
    assert slept == [2.0]
    assert virtual.virtual_seconds(0.5) == 30.0

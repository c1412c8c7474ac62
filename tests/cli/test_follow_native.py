"""`follow` (deploy/watch/rollback's watch and report) over a replayed native ECS deployment
(tests/support/native_timeline.py: DescribeServiceDeployments answers read through the ECS engine's
own mapping): exit codes, the JSON report, Ready continued through ``engine.promote``, --until ready,
the hook reason, and no CodeDeploy wording."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest

from orchestrator import documents
from orchestrator.commands.follow import Subject, follow, follow_created
from orchestrator.commands.options import GlobalOptions, WatchFlags
from orchestrator.commands.session import Session
from orchestrator.strategies import parse_strategy
from orchestrator.watching.lifecycles import NATIVE_LIFECYCLE
from orchestrator.watching.timing import GroupTiming, default_timeout, expected_phases
from tests.support.cli import FakeClock
from tests.support.fakes import FakeClients
from tests.support.native_timeline import ARN, PAUSE_WAITING, NativeTimelineEngine, service_deployment

sd = service_deployment
LAMBDA_OK = {"hookId": "smoke-1", "targetType": "AWS_LAMBDA", "status": "SUCCEEDED"}
LAMBDA_FAILED = {"hookId": "smoke-1", "targetType": "AWS_LAMBDA", "status": "FAILED"}

TO_TEST_TRAFFIC = [
    (0.0, sd("PENDING", None)),
    (10.0, sd("IN_PROGRESS", "PRE_SCALE_UP")),
    (20.0, sd("IN_PROGRESS", "SCALE_UP")),
    (200.0, sd("IN_PROGRESS", "TEST_TRAFFIC_SHIFT")),
    (210.0, sd("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT")),
]
TO_THE_END = [
    (0.0, sd("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", 10.0)),
    (300.0, sd("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", 100.0)),
    (310.0, sd("IN_PROGRESS", "POST_PRODUCTION_TRAFFIC_SHIFT", 100.0)),
    (450.0, sd("IN_PROGRESS", "BAKE_TIME", 100.0)),
    (1350.0, sd("IN_PROGRESS", "CLEAN_UP", 100.0)),
    (1360.0, sd("SUCCESSFUL", "CLEAN_UP", 100.0)),
]
CANARY = TO_TEST_TRAFFIC + [(250.0 + at, entry) for at, entry in TO_THE_END]
ALARMS = {
    "status": "TRIGGERED",
    "alarmNames": ["product-service-5xx"],
    "triggeredAlarmNames": ["product-service-5xx"],
}
ALARM_ROLLBACK = [
    *TO_TEST_TRAFFIC,
    (250.0, sd("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", 10.0)),
    (
        330.0,
        sd(
            "ROLLBACK_IN_PROGRESS",
            "PRODUCTION_TRAFFIC_SHIFT",
            0.0,
            alarms=ALARMS,
            rollback={"reason": "alarm product-service-5xx in ALARM"},
        ),
    ),
    (
        360.0,
        sd(
            "ROLLBACK_SUCCESSFUL",
            "PRODUCTION_TRAFFIC_SHIFT",
            0.0,
            alarms=ALARMS,
            statusReason="Service deployment rolled back because alarms were triggered",
            rollback={"reason": "alarm product-service-5xx in ALARM"},
        ),
    ),
]
SMOKE_FAILED = [
    *TO_TEST_TRAFFIC,
    (
        240.0,
        sd(
            "ROLLBACK_SUCCESSFUL",
            "POST_TEST_TRAFFIC_SHIFT",
            lifecycleHookDetails=[LAMBDA_FAILED],
            statusReason="lifecycle hook failed",
        ),
    ),
]
WAITS_AT_READY = [
    *TO_TEST_TRAFFIC,
    (240.0, sd("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", lifecycleHookDetails=[LAMBDA_OK, PAUSE_WAITING])),
]


def _subject(ready_waits: bool, *, continues: bool = True) -> Subject:
    timing = GroupTiming(
        "STOP_DEPLOYMENT" if ready_waits else "CONTINUE_DEPLOYMENT", 60, 15, lifecycle=NATIVE_LIFECYCLE
    )
    strategy = parse_strategy("canary10")
    return Subject(
        deployment_id=ARN,
        service="product-service",
        environment="dev",
        strategy="canary10",
        deployment_config_name="CANARY 10% then the rest after 5 min",
        phases=expected_phases(strategy, timing, continued_at_ready=continues),
        timeout_seconds=default_timeout(strategy, timing, continued_at_ready=continues),
        continues_at_ready=continues,
    )


def _follow(
    engine: NativeTimelineEngine,
    clock: FakeClock,
    subject: Subject,
    until: str = "done",
    output: str = "text",
) -> tuple[Any, dict[str, Any], str]:
    out = io.StringIO()
    session = Session(GlobalOptions(output=output), stdout=out)
    flags = WatchFlags(until=until, time_scale=1.0)
    result = follow(session, engine, FakeClients(), subject, flags, clock=clock, sleep=clock.sleep)
    document = json.loads(json.dumps(documents.to_json(result.document)))
    return result, document, out.getvalue() + str(result.text)


def _no_codedeploy_words(text: str) -> None:
    for word in ("CodeDeploy", "lifecycle event", "BeforeInstall", "AllowTraffic", "d-"):
        assert word not in text, word


def test_a_native_canary_succeeds_exit_0() -> None:
    clock = FakeClock()
    result, document, text = _follow(NativeTimelineEngine(clock, CANARY), clock, _subject(False))
    assert result.exit_code == 0 and result.error is None
    assert (document["status"], document["outcome"], document["exitCode"]) == ("Succeeded", "succeeded", 0)
    assert document["rolledBack"] is False and document["trafficWeights"] == {
        "original": 0.0,
        "replacement": 100.0,
    }
    assert list(document["lifecycleEvents"]) == list(NATIVE_LIFECYCLE.steps)
    traffic = [e["to"] for e in document["events"] if e["kind"] == "traffic"]
    assert traffic == ["blue 100% / green 0%", "blue 90% / green 10%", "blue 0% / green 100%"]
    assert "PRODUCTION_TRAFFIC_SHIFT" in text
    assert (
        text.splitlines()[-1].startswith("succeeded in 26m 5") and ARN in text.splitlines()[-1]
    )  # at 1610 s
    _no_codedeploy_words(text)


def test_an_alarm_rollback_exits_1_rolled_back_within_the_deployment() -> None:
    clock = FakeClock()
    result, document, _text = _follow(
        NativeTimelineEngine(clock, ALARM_ROLLBACK), clock, _subject(False), output="json"
    )
    assert result.exit_code == 1
    assert (document["status"], document["outcome"], document["exitCode"]) == ("Failed", "rolled back", 1)
    assert document["rolledBack"] is True and document["rollbackDeploymentId"] == ARN
    assert "product-service-5xx" in document["error"]
    assert "hookFailure" not in document  # an alarm, not a hook: no hook is blamed
    assert [e["kind"] for e in document["events"]].count("rollback") == 1
    message = str(result.error)
    assert message.startswith(f"deployment {ARN} Failed: ") and "rolled back within the deployment" in message
    assert f"rolled back by {ARN}" not in message
    _no_codedeploy_words(message)


def test_a_failed_smoke_hook_is_explained_by_its_own_verdict(
    monkeypatch: pytest.MonkeyPatch, repo_root: Any
) -> None:
    clients = FakeClients()
    hooks_of = "orchestrator.commands.hook_reason._hooks_of"
    monkeypatch.setattr(hooks_of, lambda *_: {"AfterAllowTestTraffic": "smoke-fn"})
    verdict = {
        "verdict": "Failed",
        "deployment_id": ARN,
        "lifecycle_event": "AfterAllowTestTraffic",
        "reason": "health: GET /health via the test listener: status 500",
    }
    clients.logs.events["/aws/lambda/smoke-fn"] = [
        {"message": json.dumps(verdict), "timestamp": int(time.time() * 1000)}
    ]
    clock = FakeClock()
    out = io.StringIO()
    result = follow(
        Session(GlobalOptions(), stdout=out),
        NativeTimelineEngine(clock, SMOKE_FAILED),
        clients,
        _subject(False),
        WatchFlags(time_scale=1.0),
        clock=clock,
        sleep=clock.sleep,
    )
    assert result.exit_code == 1
    document = documents.to_json(result.document)
    assert document["hookFailure"] == {
        "lifecycleEvent": "POST_TEST_TRAFFIC_SHIFT",
        "function": "smoke-fn",
        "reason": "health: GET /health via the test listener: status 500",
    }
    assert "POST_TEST_TRAFFIC_SHIFT hook (smoke-fn) failed: health: GET /health" in str(result.text)
    # production traffic never moved
    assert [e for e in document["events"] if e["kind"] == "traffic"] == [
        {"at": 0.0, "kind": "traffic", "subject": "traffic", "from": None, "to": "blue 100% / green 0%"}
    ]


def test_deploy_releases_the_pause_hook_through_promote_and_succeeds() -> None:
    clock = FakeClock()
    engine = NativeTimelineEngine(clock, WAITS_AT_READY, after=TO_THE_END)
    result, document, text = _follow(engine, clock, _subject(True))
    assert result.exit_code == 0 and document["outcome"] == "succeeded"
    continues = [(at, call) for at, call in engine.calls if call.startswith("ContinueServiceDeployment")]
    assert [call for _, call in continues] == ["ContinueServiceDeployment pause-1 CONTINUE"]
    assert 240.0 <= continues[0][0] < 240.0 + 30  # at the poll that first saw it waiting
    statuses = [e["to"] for e in document["events"] if e["kind"] == "status"]
    assert statuses[:5] == ["Queued", "InProgress", "Ready", "InProgress", "Baking"]
    assert statuses[-1] == "Succeeded"
    _no_codedeploy_words(text)


def test_until_ready_returns_at_the_pause_for_promote() -> None:
    clock = FakeClock()
    engine = NativeTimelineEngine(clock, WAITS_AT_READY, after=TO_THE_END)
    result, document, text = _follow(engine, clock, _subject(True), until="ready")
    assert result.exit_code == 0
    assert (document["status"], document["outcome"], document["reached"]) == ("Ready", "ready", True)
    assert not [call for _, call in engine.calls if call.startswith("ContinueServiceDeployment")]
    assert 240.0 <= clock.now < 240.0 + 31
    assert f"next: test through the test listener, then `bluegreen promote {ARN}`" in text
    _no_codedeploy_words(text)


def test_watch_only_looks_at_a_waiting_deployment_until_its_timeout() -> None:
    clock = FakeClock()
    engine = NativeTimelineEngine(clock, WAITS_AT_READY, after=TO_THE_END)
    subject = _subject(True, continues=False)
    result, document, _text = _follow(engine, clock, subject)
    assert result.exit_code == 3 and document["status"] == "Ready"
    assert not [call for _, call in engine.calls if call.startswith("ContinueServiceDeployment")]
    _no_codedeploy_words(str(result.error))


def test_until_ready_without_a_pause_hook_says_promote_is_not_needed() -> None:
    clock = FakeClock()
    result, _document, text = _follow(
        NativeTimelineEngine(clock, CANARY), clock, _subject(False), until="ready"
    )
    assert result.exit_code == 0
    assert "note: this service's deployments do not wait at Ready (no PAUSE hook" in text
    _no_codedeploy_words(text)


def test_no_wait_says_who_rolls_back_an_unpromoted_deployment() -> None:
    clock = FakeClock()
    subject = _subject(True)
    subject = Subject(
        **{
            **subject.__dict__,
            "facts": documents.DeployFacts(
                task_definition_arn="td",
                request_token="tok",
                forced=False,
                guardrail_violations=[],
                create_attempts=1,
            ),
        }
    )
    result = follow_created(
        Session(GlobalOptions(), stdout=io.StringIO()),
        NativeTimelineEngine(clock, WAITS_AT_READY),
        FakeClients(),
        subject,
        WatchFlags(wait=False),
    )
    assert "Amazon ECS rolls it back when the ready wait ends" in str(result.text)
    _no_codedeploy_words(str(result.text))


@pytest.mark.parametrize(
    ("rollback_on_interrupt", "says", "stops"),
    [
        (False, f"interrupted; deployment {ARN} keeps running in Amazon ECS: re-attach with", []),
        (
            True,
            f"interrupted; stopped deployment {ARN} with rollback: it rolls back within itself",
            ["StopServiceDeployment ROLLBACK"],
        ),
    ],
)
def test_an_interrupt_says_amazon_ecs_keeps_it_or_rolls_it_back_within_itself(
    rollback_on_interrupt: bool, says: str, stops: list[str]
) -> None:
    from orchestrator.errors import InterruptedByUser

    clock = FakeClock()
    engine = NativeTimelineEngine(clock, CANARY)

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.now > 300:  # Ctrl-C while production traffic shifts
            raise KeyboardInterrupt

    flags = WatchFlags(time_scale=1.0, rollback_on_interrupt=rollback_on_interrupt)
    session = Session(GlobalOptions(), stdout=io.StringIO())
    with pytest.raises(InterruptedByUser) as raised:
        follow(session, engine, FakeClients(), _subject(False), flags, clock=clock, sleep=sleep)
    assert str(raised.value).startswith(says)
    assert [call for _, call in engine.calls if call.startswith("Stop")] == stops
    _no_codedeploy_words(str(raised.value))


def test_until_traffic_shifted_returns_once_production_is_on_the_new_revision() -> None:
    clock = FakeClock()
    result, document, text = _follow(
        NativeTimelineEngine(clock, CANARY), clock, _subject(False), until="traffic-shifted"
    )
    assert result.exit_code == 0
    assert (document["outcome"], document["reached"], document["status"]) == (
        "traffic shifted",
        True,
        "InProgress",
    )
    assert document["trafficWeights"] == {"original": 0.0, "replacement": 100.0}
    # PRODUCTION_TRAFFIC_SHIFT ended at 250 + 310 s; polls are 5-30 s apart, and no later than the bake
    assert 560.0 <= clock.now < 250.0 + 450.0
    _no_codedeploy_words(text)


def test_the_reattach_hint_offers_no_stop_without_rollback_on_ecs() -> None:
    # ECS stops a service deployment only by rolling it back (`stop --no-rollback` is refused, exit 2).
    from orchestrator.commands.follow import reattach_hint

    native = reattach_hint(ARN)
    assert native == f"re-attach with `bluegreen watch {ARN}`, stop and roll back with `bluegreen stop {ARN}`"
    assert reattach_hint("d-ABCDEF123").endswith("`bluegreen stop d-ABCDEF123 --no-rollback`")

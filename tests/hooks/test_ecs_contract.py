"""The hooks' Amazon ECS contract: the same handlers, invoked with ECS's event, answer by return value
({hookStatus, callBackDelay, hookDetails}; AWS, "Lifecycle hooks for Amazon ECS service
deployments") with the same checks as on CodeDeploy, read through ECS's service, revision and
listener rules (tests/hooks/ecs_world.py: the in-memory fakes, real HTTP apps behind the listeners).
Nothing is ever reported to CodeDeploy on this path: the reporting client raises if made."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hooks import clients, handlers, settings
from tests.hooks.conftest import LogRecords
from tests.hooks.ecs_world import (
    ALARMS,
    DEPLOYMENT_ARN,
    GREEN,
    NativeFakes,
    event,
    native_world,
    set_green_health,
)
from tests.support.hooks import FakeLambdaContext, Route, SmokeApp, smoke_apps

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
TIME_SCALE = 100.0  # catalog seconds run 100x faster: dev's 30 s bake lasts 0.3 s


@pytest.fixture(scope="module")
def apps() -> Iterator[tuple[SmokeApp, SmokeApp]]:
    with smoke_apps() as pair:
        yield pair


@pytest.fixture
def world(
    apps: tuple[SmokeApp, SmokeApp], monkeypatch: pytest.MonkeyPatch, repo_root: Path
) -> Iterator[NativeFakes]:
    production, test = apps
    production.reset()
    test.reset()
    fakes = native_world(production, test)
    monkeypatch.setattr(clients, "client", fakes.client)

    def no_report() -> Any:
        raise AssertionError("an Amazon ECS hook must not report to CodeDeploy")

    monkeypatch.setattr(clients, "reporting_client", no_report)
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(repo_root / "services.yaml"))
    monkeypatch.setenv("BLUEGREEN_LISTENER_HOST", "127.0.0.1")
    monkeypatch.setenv("BLUEGREEN_TIME_SCALE", str(TIME_SCALE))
    monkeypatch.delenv("BLUEGREEN_ENVIRONMENT", raising=False)
    monkeypatch.delenv("BLUEGREEN_HOOK_SAFETY_MARGIN_MS", raising=False)
    settings.forget_catalog()
    yield fakes
    settings.forget_catalog()


def invoke(handler: Handler, payload: dict[str, Any], timeout_s: float = 30.0) -> dict[str, Any]:
    return handler(payload, FakeLambdaContext(timeout_s))


def fire(fakes: NativeFakes, alarm: str) -> None:
    fakes.cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM")


def fail_smoke(app: SmokeApp) -> None:
    app.routes["/health"] = Route(500, b'{"status": "down"}')


def malformed(payload: dict[str, Any]) -> None:
    del payload["executionDetails"]["serviceArn"]


def unknown_service(payload: dict[str, Any]) -> None:
    details = payload["executionDetails"]
    details["serviceArn"] = details["serviceArn"].replace("product-service", "no-such-service")


# (id, handler, stage, arrange the world, change the event, hookStatus, words of the verdict's reason)
CASES: list[tuple[str, Handler, str, Callable[..., None] | None, Callable[..., None] | None, str, str]] = [
    ("freeze: none active", handlers.before_install, "PRE_SCALE_UP", None, None, "SUCCEEDED", ""),
    ("green healthy", handlers.after_install, "POST_SCALE_UP", None, None, "SUCCEEDED", ""),
    (
        "green unhealthy",
        handlers.after_install,
        "POST_SCALE_UP",
        lambda fakes, apps: set_green_health(fakes, "unhealthy"),
        None,
        "FAILED",
        f"green-target-health: {GREEN}: not healthy",
    ),
    (
        "test smoke passes",
        handlers.after_allow_test_traffic,
        "POST_TEST_TRAFFIC_SHIFT",
        None,
        None,
        "SUCCEEDED",
        "",
    ),
    (
        "test smoke fails",
        handlers.after_allow_test_traffic,
        "POST_TEST_TRAFFIC_SHIFT",
        lambda fakes, apps: fail_smoke(apps[1]),
        None,
        "FAILED",
        "GET /health via the test listener: status 500",
    ),
    (
        "alarm gate passes",
        handlers.before_allow_traffic,
        "PRE_PRODUCTION_TRAFFIC_SHIFT",
        None,
        None,
        "SUCCEEDED",
        "",
    ),
    (
        "alarm gate: an alarm fires",
        handlers.before_allow_traffic,
        "PRE_PRODUCTION_TRAFFIC_SHIFT",
        lambda fakes, apps: fire(fakes, ALARMS[0]),
        None,
        "FAILED",
        f"alarms: in ALARM: {ALARMS[0]}",
    ),
    (
        "alarm gate: green unhealthy",
        handlers.before_allow_traffic,
        "PRE_PRODUCTION_TRAFFIC_SHIFT",
        lambda fakes, apps: set_green_health(fakes),
        None,
        "FAILED",
        f"{GREEN}: 0 healthy target(s), need at least 1",
    ),
    (
        "a hook at another stage than its event's",
        handlers.before_install,
        "POST_SCALE_UP",
        None,
        None,
        "FAILED",
        "the BeforeInstall hook runs at PRE_SCALE_UP on Amazon ECS, not at POST_SCALE_UP",
    ),
    (
        "an event without serviceArn",
        handlers.after_install,
        "POST_SCALE_UP",
        None,
        malformed,
        "FAILED",
        "the Amazon ECS hook event has no executionDetails.serviceArn",
    ),
    (
        "a service not in the catalog",
        handlers.after_install,
        "POST_SCALE_UP",
        None,
        unknown_service,
        "FAILED",
        "no service has cluster 'doa-market-cluster' and ECS service 'no-such-service'",
    ),
]


@pytest.mark.parametrize(
    ("handler", "stage", "arrange", "change", "status", "reason"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_an_ecs_event_is_answered_by_return_value(
    world: NativeFakes,
    apps: tuple[SmokeApp, SmokeApp],
    hook_logs: LogRecords,
    handler: Handler,
    stage: str,
    arrange: Callable[..., None] | None,
    change: Callable[..., None] | None,
    status: str,
    reason: str,
) -> None:
    if arrange:
        arrange(world, apps)
    payload = event(stage)
    if change:
        change(payload)

    answer = invoke(handler, payload)

    assert answer == {"hookStatus": status}  # exactly ECS's keys: no callBackDelay when it is over
    (line,) = [line for line in hook_logs.lines if "verdict" in line]
    assert line["verdict"] == ("Succeeded" if status == "SUCCEEDED" else "Failed")
    assert reason in line["reason"]
    assert line["hook_status"] == status
    assert line["execution_id"] == "exec-0001"
    if change is not malformed:
        assert (line["deployment_id"], line["lifecycle_stage"]) == (DEPLOYMENT_ARN, stage)


def test_smoke_goes_through_the_listener_of_the_services_test_rule(
    world: NativeFakes, apps: tuple[SmokeApp, SmokeApp]
) -> None:
    production, test = apps

    invoke(handlers.after_allow_test_traffic, event("POST_TEST_TRAFFIC_SHIFT"))

    assert test.requests and production.requests == []
    assert world.counter.calls["elastic-load-balancing-v2:DescribeRules"] == 1


def test_green_is_the_target_revisions_target_group_not_a_guess(world: NativeFakes) -> None:
    # The revision puts its tasks in the service's own targetGroupArn this time (ECS alternates the
    # pair between deployments): green health is read there, not in the alternate target group.
    blue = world.elbv2.target_groups["product-service-blue"]
    revision = world.ecs.revisions[next(iter(world.ecs.revisions))]
    revision["resolvedConfiguration"]["loadBalancers"][0]["targetGroupArn"] = blue
    set_green_health(world, "healthy")  # green healthy, blue has no target

    answer = invoke(handlers.after_install, event("POST_SCALE_UP"))

    assert answer == {"hookStatus": "FAILED"}


def run_bake(
    handler: Handler, first: dict[str, Any], between: Callable[[int], None] = lambda n: None, most: int = 20
) -> list[dict[str, Any]]:
    """Invoke as ECS does: again after callBackDelay (deployment seconds, TIME_SCALE faster) with the
    hookDetails the last answer returned, until the answer is not IN_PROGRESS."""
    answers = [invoke(handler, first)]
    while answers[-1]["hookStatus"] == "IN_PROGRESS" and len(answers) < most:
        time.sleep(answers[-1]["callBackDelay"] / TIME_SCALE)
        between(len(answers))
        answers.append(
            invoke(handler, event(first["lifecycleStage"], hook_details=answers[-1]["hookDetails"]))
        )
    return answers


def test_the_bake_spans_invocations_and_ends_succeeded(
    world: NativeFakes, apps: tuple[SmokeApp, SmokeApp], hook_logs: LogRecords
) -> None:
    production, _ = apps

    answers = run_bake(handlers.after_allow_traffic, event("POST_PRODUCTION_TRAFFIC_SHIFT"))

    first, last = answers[0], answers[-1]
    assert first["hookStatus"] == "IN_PROGRESS"
    assert first["callBackDelay"] == 8  # dev bakes 30 s, polled every 30/4 s, rounded up
    assert first["hookDetails"]["bluegreen"]["executionId"] == "exec-0001"
    assert last == {"hookStatus": "SUCCEEDED"}
    # 30 s of bake in 8 s waits: 0, 8, 16, 24, 30 -> four IN_PROGRESS answers, then SUCCEEDED
    assert [a["hookStatus"] for a in answers] == ["IN_PROGRESS"] * 4 + ["SUCCEEDED"]
    assert [a.get("callBackDelay") for a in answers] == [8, 8, 8, 6, None]
    assert len([r for r in production.requests if r[1] == "/health"]) == 1  # smoke ran once, first
    verdicts = [line for line in hook_logs.lines if "verdict" in line]
    assert [line["verdict"] for line in verdicts] == ["InProgress"] * 4 + ["Succeeded"]
    assert verdicts[-1]["reason"] == "all checks passed"
    assert verdicts[-1]["checks"] == [
        {"name": "bake", "passed": True, "detail": "30 s without an alarm (5 polls)"}
    ]


def test_a_failing_production_smoke_retries_across_invocations_then_fails(
    world: NativeFakes, apps: tuple[SmokeApp, SmokeApp], hook_logs: LogRecords
) -> None:
    # The Lambda never sleeps through a backoff: ECS waits callBackDelay between attempts, and
    # between them a stop (StopServiceDeployment) rolls back at once.
    production, _ = apps
    fail_smoke(production)

    answers = run_bake(handlers.after_allow_traffic, event("POST_PRODUCTION_TRAFFIC_SHIFT"))

    # dev: 5 attempts, backoff 1 s doubling, 30 s of warm-up: 1 + 2 + 4 + 8 s of waits
    assert [a["hookStatus"] for a in answers] == ["IN_PROGRESS"] * 4 + ["FAILED"]
    assert [a.get("callBackDelay") for a in answers] == [1, 2, 4, 8, None]
    assert answers[0]["hookDetails"]["bluegreen"]["smokeAttempts"] == 1
    assert len([r for r in production.requests if r[1] == "/health"]) == 5  # one attempt a call
    failed = [line for line in hook_logs.lines if line.get("verdict") == "Failed"]
    assert "GET /health via the production listener: status 500" in failed[0]["reason"]
    assert "(5 attempts)" in failed[0]["reason"]


def test_an_alarm_during_the_bake_fails_it(world: NativeFakes, hook_logs: LogRecords) -> None:
    answers = run_bake(
        handlers.after_allow_traffic,
        event("POST_PRODUCTION_TRAFFIC_SHIFT"),
        between=lambda n: fire(world, ALARMS[1]) if n == 2 else None,
    )

    assert [a["hookStatus"] for a in answers] == ["IN_PROGRESS", "IN_PROGRESS", "FAILED"]
    assert answers[-1] == {"hookStatus": "FAILED"}
    failed = [line for line in hook_logs.lines if line.get("verdict") == "Failed"]
    assert failed[0]["reason"] == f"bake: after 16 s of 30 s: in ALARM: {ALARMS[1]}"


def test_hook_details_ecs_was_configured_with_come_back_beside_the_bake_state(world: NativeFakes) -> None:
    first = invoke(
        handlers.after_allow_traffic,
        event("POST_PRODUCTION_TRAFFIC_SHIFT", hook_details={"team": "catalog"}),
    )

    assert first["hookStatus"] == "IN_PROGRESS"
    assert first["hookDetails"]["team"] == "catalog"
    assert set(first["hookDetails"]) == {"team", "bluegreen"}
    assert len(str(first["hookDetails"])) < 300  # a handful of numbers: nothing grows per invocation


def test_bake_state_of_another_execution_starts_a_fresh_bake(
    world: NativeFakes, apps: tuple[SmokeApp, SmokeApp]
) -> None:
    production, _ = apps
    earlier = invoke(handlers.after_allow_traffic, event("POST_PRODUCTION_TRAFFIC_SHIFT", "exec-A"))

    again = invoke(
        handlers.after_allow_traffic,
        event("POST_PRODUCTION_TRAFFIC_SHIFT", "exec-B", hook_details=earlier["hookDetails"]),
    )

    assert again["hookDetails"]["bluegreen"]["executionId"] == "exec-B"
    assert [path for _, path in production.requests].count("/health") == 2  # exec-B ran its own smoke


def test_bake_state_this_hook_did_not_write_fails_with_the_reason(
    world: NativeFakes, hook_logs: LogRecords
) -> None:
    details = {"bluegreen": {"executionId": "exec-0001", "bakeStartedAt": "yesterday"}}

    answer = invoke(
        handlers.after_allow_traffic, event("POST_PRODUCTION_TRAFFIC_SHIFT", hook_details=details)
    )

    assert answer == {"hookStatus": "FAILED"}
    assert "hookDetails.bluegreen is not a bake state this hook wrote" in hook_logs.lines[-1]["reason"]


def test_the_alarm_gate_is_quick_and_the_same_before_every_production_step(world: NativeFakes) -> None:
    # ECS runs PRE_PRODUCTION_TRAFFIC_SHIFT before every canary/linear step: no state, a few reads.
    before = sum(world.counter.calls.values())
    answers = [
        invoke(handlers.before_allow_traffic, event("PRE_PRODUCTION_TRAFFIC_SHIFT", f"e{n}"))
        for n in range(3)
    ]
    calls_per_invocation = (sum(world.counter.calls.values()) - before) / 3
    fire(world, ALARMS[2])
    after_alarm = invoke(handlers.before_allow_traffic, event("PRE_PRODUCTION_TRAFFIC_SHIFT", "e3"))

    assert answers == [{"hookStatus": "SUCCEEDED"}] * 3
    assert after_alarm == {"hookStatus": "FAILED"}
    # DescribeAlarms, DescribeServices, DescribeServiceRevisions, DescribeTargetGroups, DescribeTargetHealth,
    # and, product-service enabling canary analysis, DescribeRules: green's production weight (0 here,
    # before the first step, so nothing more is read)
    assert calls_per_invocation == 6


@pytest.mark.realtime  # real seconds against a 2 s deadline: run alone by `make test`
def test_an_ecs_invocation_returns_before_its_lambda_deadline(
    world: NativeFakes, apps: tuple[SmokeApp, SmokeApp], hook_logs: LogRecords
) -> None:
    # The test listener's app answers after 5 s; the function has 2 s: the checks are cut at the
    # deadline minus the safety margin and the hook answers FAILED in time, saying why.
    _, test = apps
    test.routes["/health"] = Route(200, b'{"status": "ok"}', delay_s=5.0)
    context = FakeLambdaContext(2.0)

    answer = handlers.after_allow_test_traffic(event("POST_TEST_TRAFFIC_SHIFT"), context)

    assert time.monotonic() < context.end
    assert answer == {"hookStatus": "FAILED"}
    assert "the checks did not finish before the hook's deadline" in hook_logs.lines[-1]["reason"]


@pytest.fixture
def frozen(world: NativeFakes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repo_root: Path) -> None:
    """dev frozen all day, every day."""
    doc = yaml.safe_load((repo_root / "services.yaml").read_text())
    doc["environments"]["dev"]["defaults"]["freeze_windows"] = [
        {"name": "release-freeze", "start": "00:00", "end": "00:00"}
    ]
    (tmp_path / "task-definitions").mkdir()
    for file in (repo_root / "task-definitions").iterdir():
        (tmp_path / "task-definitions" / file.name).write_bytes(file.read_bytes())
    (tmp_path / "services.yaml").write_text(yaml.safe_dump(doc))
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(tmp_path / "services.yaml"))


@pytest.mark.parametrize(
    ("hook_details", "status"),
    [(None, "FAILED"), ({"description": "freeze-override: payment outage INC-42"}, "SUCCEEDED")],
    ids=["frozen", "overridden by the hook's configured description"],
)
def test_freeze_window_on_ecs(frozen: None, hook_details: dict[str, str] | None, status: str) -> None:
    answer = invoke(handlers.before_install, event("PRE_SCALE_UP", hook_details=hook_details))

    assert answer == {"hookStatus": status}


@pytest.mark.parametrize(
    ("environment", "status"),
    [(None, "SUCCEEDED"), ("dev", "SUCCEEDED"), ("prod", "FAILED")],
    ids=["the ARN's account: dev", "BLUEGREEN_ENVIRONMENT=dev", "BLUEGREEN_ENVIRONMENT=prod"],
)
def test_the_environment_of_a_shared_cluster(
    world: NativeFakes, monkeypatch: pytest.MonkeyPatch, environment: str | None, status: str
) -> None:
    # dev and prod share the cluster doa-market-cluster; prod counts a missing alarm as ALARM.
    if environment:
        monkeypatch.setenv("BLUEGREEN_ENVIRONMENT", environment)
    world.cloudwatch.delete_alarms(AlarmNames=[ALARMS[3]])

    answer = invoke(handlers.before_allow_traffic, event("PRE_PRODUCTION_TRAFFIC_SHIFT"))

    assert answer == {"hookStatus": status}


def test_a_codedeploy_event_still_takes_the_codedeploy_path(
    world: NativeFakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Which contract answers is the event's: CodeDeploy's never reaches the ECS runtime.
    from hooks import native_runtime

    def not_here(*_: Any) -> dict[str, Any]:
        raise AssertionError("a CodeDeploy event reached the ECS runtime")

    monkeypatch.setattr(native_runtime, "run_native_hook", not_here)
    result = invoke(handlers.before_install, {"DeploymentId": "", "LifecycleEventHookExecutionId": ""})

    assert result["reason"] == "no execution id" and result["reported"] is False


HANDLER_FOR: dict[str, Handler] = {
    "BeforeInstall": handlers.before_install,
    "AfterInstall": handlers.after_install,
    "AfterAllowTestTraffic": handlers.after_allow_test_traffic,
    "BeforeAllowTraffic": handlers.before_allow_traffic,
    "AfterAllowTraffic": handlers.after_allow_traffic,
}
# Reads only the ECS contract makes; a hook's role must grant exactly the ones its handler makes.
ECS_CONTRACT_READS = {
    "ecs:DescribeServices",
    "ecs:DescribeServiceRevisions",
    "elasticloadbalancing:DescribeRules",
}


def granted_actions(repo_root: Path, function: str) -> set[str]:
    """What the function's role grants: its own policies and the role policies attached to it."""
    from tests.hooks.test_template import _actions, _statements, load_template

    resources = load_template(repo_root)["Resources"]
    role = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = _statements({role: resources[role]}, conditional=False)
    for resource in resources.values():
        if resource["Type"] == "AWS::IAM::RolePolicy" and resource["Properties"]["RoleName"] == {"Ref": role}:
            statements += resource["Properties"]["PolicyDocument"]["Statement"]
    return {a for s in statements for a in _actions(s)}


@pytest.mark.parametrize("lifecycle_event", sorted(HANDLER_FOR))
def test_each_hooks_role_grants_the_ecs_reads_it_makes_and_no_more(
    world: NativeFakes, repo_root: Path, lifecycle_event: str
) -> None:
    from orchestrator.vocabulary import NATIVE_STAGE_FOR_EVENT
    from tests.hooks.test_template import HOOK_FUNCTIONS

    before = dict(world.counter.calls)
    answers = run_bake(HANDLER_FOR[lifecycle_event], event(NATIVE_STAGE_FOR_EVENT[lifecycle_event]))
    made = {
        key.replace("elastic-load-balancing-v2:", "elasticloadbalancing:")
        for key, count in world.counter.calls.items()
        if count > before.get(key, 0)
    }

    assert answers[-1] == {"hookStatus": "SUCCEEDED"}  # every read of the path was made
    granted = granted_actions(repo_root, HOOK_FUNCTIONS[lifecycle_event])
    assert made <= granted, made - granted
    assert granted & ECS_CONTRACT_READS == made & ECS_CONTRACT_READS

"""The pure parts of the hooks' Amazon ECS contract as tables: the event, the service and rule ARNs,
green's target group, the return value, the bake state and one bake step, the catalog lookup."""

from __future__ import annotations

from typing import Any

import pytest

from hooks import settings
from hooks.gates import BakeSettings
from hooks.native_bake import BakeState, bake_step
from hooks.native_event import (
    NativeEventError,
    ServiceName,
    hook_return,
    parse_native_event,
    parse_service_arn,
)
from hooks.native_service import (
    NativeLoadBalancer,
    NativeSetupError,
    green_target_group_arn,
    listener_arn_of_rule,
    native_load_balancer,
    revision_target_groups,
    target_group_name,
)
from hooks.runtime import is_native_event
from orchestrator.errors import AwsError
from orchestrator.vocabulary import HookReturnStatus
from tests.hooks.ecs_world import event

ELB = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012"


@pytest.mark.parametrize(
    ("payload", "native"),
    [
        ({"executionId": "e", "lifecycleStage": "PRE_SCALE_UP"}, True),
        ({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "x"}, False),
        ({"executionId": "e"}, False),
        ({"executionId": "e", "lifecycleStage": "S", "LifecycleEventHookExecutionId": "x"}, False),
        ([], False),
        (None, False),
    ],
)
def test_the_event_says_which_contract(payload: Any, native: bool) -> None:
    assert is_native_event(payload) is native


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda e: e.pop("executionId"), "has no executionId"),
        (lambda e: e.update(lifecycleStage=""), "has no lifecycleStage"),
        (lambda e: e.pop("executionDetails"), "has no executionDetails"),
        (
            lambda e: e["executionDetails"].pop("targetServiceRevisionArn"),
            "executionDetails.targetServiceRevisionArn",
        ),
        (lambda e: e.update(hookDetails=["a"]), "hookDetails is not a JSON object"),
    ],
)
def test_a_malformed_event_is_one_line_naming_the_key(change: Any, error: str) -> None:
    payload = event("POST_SCALE_UP")
    change(payload)

    with pytest.raises(NativeEventError, match=error):
        parse_native_event(payload)


def test_an_event_without_resource_arn_or_hook_details_still_parses() -> None:
    payload = event("POST_SCALE_UP")
    del payload["resourceArn"]

    parsed = parse_native_event(payload)

    assert (parsed.resource_arn, parsed.hook_details) == ("", {})


@pytest.mark.parametrize(
    ("arn", "parts"),
    [
        (
            "arn:aws:ecs:us-west-2:1234567890:service/myCluster/myService",
            ServiceName("1234567890", "myCluster", "myService"),
        ),
        ("arn:aws:ecs:us-west-2:1234567890:service/myService", ServiceName("1234567890", None, "myService")),
        ("arn:aws:ecs:us-west-2:1234567890:task/myCluster/abc", None),
        ("arn:aws:ecs:us-west-2:1234567890:service//myService", None),
        ("myService", None),
    ],
)
def test_service_arn(arn: str, parts: ServiceName | None) -> None:
    if parts is None:
        with pytest.raises(NativeEventError, match="is not an ECS service ARN"):
            parse_service_arn(arn)
        return
    assert parse_service_arn(arn) == parts


@pytest.mark.parametrize(
    ("rule", "listener"),
    [
        (
            f"{ELB}:listener-rule/app/alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee",
            f"{ELB}:listener/app/alb/50dc6c495c0c9188/f2f7dc8efc522ab2",
        ),
        (f"{ELB}:listener/app/alb/50dc6c495c0c9188/f2f7dc8efc522ab2", None),
        (f"{ELB}:listener-rule/app/alb/50dc6c495c0c9188/f2f7dc8efc522ab2", None),
    ],
)
def test_a_rules_listener_is_in_its_arn(rule: str, listener: str | None) -> None:
    if listener is None:
        with pytest.raises(NativeSetupError, match="is not a listener rule ARN"):
            listener_arn_of_rule(rule)
        return
    assert listener_arn_of_rule(rule) == listener


PAIR = NativeLoadBalancer(f"{ELB}:targetgroup/svc-blue/1", f"{ELB}:targetgroup/svc-green/2", "p", "t")


@pytest.mark.parametrize(
    ("revision", "green"),
    [
        (
            {
                "resolvedConfiguration": {
                    "loadBalancers": [{"targetGroupArn": PAIR.alternate_target_group_arn}]
                }
            },
            PAIR.alternate_target_group_arn,
        ),
        (
            {"resolvedConfiguration": {"loadBalancers": [{"targetGroupArn": PAIR.target_group_arn}]}},
            PAIR.target_group_arn,
        ),
        (
            {"resolvedConfiguration": {"loadBalancers": [{"targetGroupArn": f"{ELB}:targetgroup/other/3"}]}},
            PAIR.alternate_target_group_arn,
        ),
        (
            {"serviceRevisionArn": "r"},
            PAIR.alternate_target_group_arn,
        ),  # not active: no resolvedConfiguration
        (None, PAIR.alternate_target_group_arn),
    ],
    ids=[
        "alternate",
        "primary (the pair alternates)",
        "not of the pair",
        "no resolvedConfiguration",
        "no revision",
    ],
)
def test_green_is_where_the_target_revisions_tasks_are(revision: dict[str, Any] | None, green: str) -> None:
    assert green_target_group_arn(PAIR, revision_target_groups(revision)) == green


def test_a_service_without_advanced_configuration_is_not_set_up_for_native_blue_green() -> None:
    service = {"serviceName": "svc", "loadBalancers": [{"targetGroupArn": PAIR.target_group_arn}]}

    with pytest.raises(
        NativeSetupError, match="ECS service svc has no load balancer with advancedConfiguration"
    ):
        native_load_balancer(service)


@pytest.mark.parametrize(
    ("arn", "name"),
    [(f"{ELB}:targetgroup/svc-green/73e2d6bc24d8a067", "svc-green"), (f"{ELB}:loadbalancer/app/x/1", None)],
)
def test_target_group_name(arn: str, name: str | None) -> None:
    if name is None:
        with pytest.raises(NativeSetupError):
            target_group_name(arn)
        return
    assert target_group_name(arn) == name


@pytest.mark.parametrize(
    ("status", "delay", "details", "answer"),
    [
        (HookReturnStatus.SUCCEEDED, 8, {"k": 1}, {"hookStatus": "SUCCEEDED"}),
        (HookReturnStatus.FAILED, None, None, {"hookStatus": "FAILED"}),
        (HookReturnStatus.IN_PROGRESS, None, None, {"hookStatus": "IN_PROGRESS", "callBackDelay": 30}),
        (
            HookReturnStatus.IN_PROGRESS,
            7.2,
            {"k": 1},
            {"hookStatus": "IN_PROGRESS", "callBackDelay": 8, "hookDetails": {"k": 1}},
        ),
        (
            HookReturnStatus.IN_PROGRESS,
            0.0,
            {},
            {"hookStatus": "IN_PROGRESS", "callBackDelay": 1, "hookDetails": {}},
        ),
    ],
)
def test_the_return_value(
    status: HookReturnStatus, delay: float | None, details: dict[str, Any] | None, answer: dict[str, Any]
) -> None:
    assert hook_return(status, delay, details) == answer


def test_bake_state_round_trips_through_hook_details_beside_configured_keys() -> None:
    state = BakeState("exec-1", 1_796_000_000.5, 16.0, 2, 1)

    details = state.to_details({"team": "x", "bluegreen": {"stale": True}})

    assert details["team"] == "x"
    assert BakeState.from_details(details, "exec-1") == state
    assert BakeState.from_details(details, "exec-2") is None
    assert BakeState.from_details({"team": "x"}, "exec-1") is None


@pytest.mark.parametrize(
    "state",
    [
        "text",
        {"executionId": "exec-1"},
        {
            "executionId": "exec-1",
            "bakeStartedAt": 1.0,
            "bakeWaitedSeconds": -1,
            "checksPassed": 0,
            "readErrors": 0,
        },
        {
            "executionId": "exec-1",
            "bakeStartedAt": True,
            "bakeWaitedSeconds": 0,
            "checksPassed": 0,
            "readErrors": 0,
        },
        {
            "executionId": "exec-1",
            "bakeStartedAt": 1.0,
            "bakeWaitedSeconds": 0,
            "checksPassed": 0.5,
            "readErrors": 0,
        },
    ],
)
def test_bake_state_the_hook_did_not_write_is_bad_input(state: Any) -> None:
    with pytest.raises(NativeEventError, match=r"hookDetails\.bluegreen"):
        BakeState.from_details({"bluegreen": state}, "exec-1")


WATCH = BakeSettings(alarms=("a",), insufficient_data="ok", bake_seconds=30.0)  # polls every 7.5 s
OK = {"a": "OK"}


def reads(*answers: Any) -> Any:
    queue = list(answers)

    def read() -> Any:
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return read


@pytest.mark.parametrize(
    ("wall_s", "waited_s", "answer", "done", "passed", "delay", "detail"),
    [
        (0.0, 0.0, OK, False, True, 8, "0 s of 30 s without an alarm so far (1 polls); next check in 8 s"),
        (16.0, 16.0, OK, False, True, 8, "16 s of 30 s"),
        (24.0, 24.0, OK, False, True, 6, "next check in 6 s"),  # the last wait: only what is left
        (30.0, 30.0, OK, True, True, 0, "30 s without an alarm (1 polls)"),
        (16.0, 16.0, {"a": "ALARM"}, True, False, 0, "after 16 s of 30 s: in ALARM: a"),
        # the clock ran slower than its scale (a busy sandbox): 60 s by the wall, only 16 s waited
        (60.0, 16.0, OK, False, True, 8, "16 s of 30 s"),
        # ECS invoked late: 16 s waited, the wall says 20 s: the waits count, never less bake
        (20.0, 16.0, OK, False, True, 8, "16 s of 30 s"),
        (16.0, 16.0, AwsError("throttled"), False, True, 8, "16 s of 30 s"),
    ],
)
def test_one_bake_step(
    wall_s: float, waited_s: float, answer: Any, done: bool, passed: bool, delay: int, detail: str
) -> None:
    state = BakeState("exec-1", started_at=1000.0, waited_s=waited_s)

    step = bake_step(WATCH, state, now=1000.0 + wall_s, scale=1.0, read_states=reads(answer))

    assert (step.done, step.result.passed, step.delay_s) == (done, passed, delay)
    assert detail in step.result.detail
    if not done:
        assert step.state.waited_s == waited_s + delay


def test_three_failed_alarm_reads_in_a_row_fail_the_bake() -> None:
    state = BakeState("exec-1", started_at=1000.0, waited_s=8.0, read_errors=2)

    step = bake_step(
        WATCH, state, now=1000.08, scale=100.0, read_states=reads(AwsError("DescribeAlarms: 503"))
    )

    assert (step.done, step.result.passed) == (True, False)
    assert step.result.detail == "3 alarm reads in a row failed, last: DescribeAlarms: 503"


def test_a_good_read_clears_the_read_errors() -> None:
    state = BakeState("exec-1", started_at=1000.0, waited_s=8.0, read_errors=2)

    step = bake_step(WATCH, state, now=1000.08, scale=100.0, read_states=reads(OK))

    assert (step.state.read_errors, step.state.checks_passed) == (0, 1)


@pytest.fixture
def catalog_env(monkeypatch: pytest.MonkeyPatch, repo_root: Any) -> Any:
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(repo_root / "services.yaml"))
    monkeypatch.delenv("BLUEGREEN_ENVIRONMENT", raising=False)
    settings.forget_catalog()
    yield monkeypatch
    settings.forget_catalog()


@pytest.mark.parametrize(
    ("cluster", "account", "environment", "found"),
    [
        ("doa-market-cluster", "123456789012", None, "dev"),  # dev's account
        ("doa-market-cluster", "210987654321", None, "prod"),  # prod's account
        ("doa-market-cluster", "999999999999", None, "dev"),  # neither: the first, as for CodeDeploy
        ("doa-market-cluster", "123456789012", "prod", "prod"),  # the Lambda's own environment wins
        (None, "210987654321", None, "prod"),  # an old-format ARN: the name is unique
    ],
)
def test_the_catalog_service_of_an_ecs_service(
    catalog_env: Any, cluster: str | None, account: str, environment: str | None, found: str
) -> None:
    if environment:
        catalog_env.setenv("BLUEGREEN_ENVIRONMENT", environment)

    view = settings.service_for_ecs(cluster, "product-service", account)

    assert (view.name, view.environment) == ("product-service", found)


def test_an_ecs_service_not_in_the_catalog(catalog_env: Any) -> None:
    with pytest.raises(settings.UnknownServiceError, match="no service has cluster 'other' and ECS service"):
        settings.service_for_ecs("other", "product-service")


def test_a_codedeploy_cold_start_loads_none_of_the_ecs_contract() -> None:
    # bench/hook_cold_start.py measures `import hooks.handlers`: the ECS contract's modules (and their
    # classes) load on the first ECS event only.
    import subprocess
    import sys

    code = "import sys, hooks.handlers; print(sorted(m for m in sys.modules if m.startswith('hooks.native')))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)

    assert run.stdout.strip() == "[]"

"""The ECS native emulator's state machine end to end over moto (boto3 on its endpoint, a scripted
``invoke``, a VirtualClock at 600x): canary steps, re-invocation with hookDetails, rollbacks on a
failed hook, an alarm, a stop, PAUSE hooks continued or timed out, and replacement."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.ecs_native import NativeWorld, ScriptedNativeHooks, lambda_hook, pause_hook

ENDED = {"SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"}
CANARY = {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5}}


@pytest.fixture
def hooks() -> ScriptedNativeHooks:
    return ScriptedNativeHooks()


@pytest.fixture
def world(moto_url: str, hooks: ScriptedNativeHooks) -> Iterator[NativeWorld]:
    with NativeWorld(moto_url, hooks) as started:
        yield started


def _with(config: dict[str, Any], *hooks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**config, **extra, "lifecycleHooks": list(hooks)}


def _awaiting(deployment: dict[str, Any]) -> bool:
    return any(h["status"] == "AWAITING_ACTION" for h in deployment.get("lifecycleHookDetails", []))


def _hook_id(deployment: dict[str, Any]) -> str:
    return next(h["hookId"] for h in deployment["lifecycleHookDetails"] if h["status"] == "AWAITING_ACTION")


def _assert_rolled_back(world: NativeWorld, env: Any, done: dict[str, Any]) -> None:
    assert done["status"] == "ROLLBACK_SUCCESSFUL", done.get("statusReason")
    assert done["rollback"]["serviceRevisionArn"] == done["sourceServiceRevisions"][0]["arn"]
    assert done["rollback"]["startedAt"] <= done["finishedAt"]
    assert world.rule_weights(env, env.production_rule) == {env.blue: 100, env.green: 0}
    assert world.rule_weights(env, env.test_rule) == {env.blue: 100, env.green: 0}
    assert world.running(env) == {env.blue: "PRIMARY"}
    assert done["targetServiceRevision"]["requestedProductionTrafficWeight"] == 0.0


def test_canary_moves_production_in_its_steps_with_the_pre_shift_hook_before_each(
    world: NativeWorld, hooks: ScriptedNativeHooks
) -> None:
    env_box: list[Any] = []
    rules: list[dict[str, int]] = []

    def invoke(function: str, payload: dict[str, Any]) -> dict[str, Any]:
        if payload["lifecycleStage"] == "PRODUCTION_TRAFFIC_SHIFT":
            rules.append(world.rule_weights(env_box[0], env_box[0].production_rule))
        return hooks(function, payload)

    world.native._machine.invoke = invoke
    config = _with(
        CANARY,
        lambda_hook("gate", "PRE_PRODUCTION_TRAFFIC_SHIFT"),
        lambda_hook("shift", "PRODUCTION_TRAFFIC_SHIFT"),
        bakeTimeInMinutes=0,
    )
    env_box.append(world.provision(config))
    env = env_box[0]
    arn = world.deploy(env)
    done = world.wait(arn, ENDED)
    assert done["status"] == "SUCCESSFUL", done.get("statusReason")
    assert hooks.stages() == ["PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"] * 2
    assert rules == [{env.blue: 90, env.green: 10}, {env.blue: 0, env.green: 100}]
    gate_weights = [p["executionDetails"]["productionTrafficWeights"] for n, p in hooks.calls if n == "gate"]
    target = done["targetServiceRevision"]["arn"]
    assert [w[target] for w in gate_weights] == [0.0, 10.0]  # before each step: what it is then
    # the source revision has the rest of production (test traffic is all on the target by then)
    source = done["sourceServiceRevisions"][0]["arn"]
    assert [w[source] for w in gate_weights] == [100.0, 90.0]
    assert world.rule_weights(env, env.production_rule) == {env.blue: 0, env.green: 100}
    # the canary's bake lasted 5 virtual minutes
    assert (done["finishedAt"] - done["startedAt"]).total_seconds() >= 300


def test_linear_moves_a_step_every_step_bake(world: NativeWorld, hooks: ScriptedNativeHooks) -> None:
    env_box: list[Any] = []
    rules: list[dict[str, int]] = []
    times: list[float] = []

    def invoke(function: str, payload: dict[str, Any]) -> dict[str, Any]:
        rules.append(world.rule_weights(env_box[0], env_box[0].production_rule))
        times.append(world.clock.now())
        return hooks(function, payload)

    world.native._machine.invoke = invoke
    linear = {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 1}}
    env_box.append(
        world.provision(_with(linear, lambda_hook("shift", "PRODUCTION_TRAFFIC_SHIFT"), bakeTimeInMinutes=0))
    )
    env = env_box[0]
    done = world.wait(world.deploy(env), ENDED)
    assert done["status"] == "SUCCESSFUL", done.get("statusReason")
    assert [r[env.green] for r in rules] == [25, 50, 75, 100]
    assert all(later - earlier >= 60 for earlier, later in itertools.pairwise(times))


def test_in_progress_reinvokes_after_call_back_delay_with_the_returned_hook_details(
    world: NativeWorld, hooks: ScriptedNativeHooks
) -> None:
    hooks.script["bake"] = [
        {"hookStatus": "IN_PROGRESS", "callBackDelay": 10, "hookDetails": {"n": 1}},
        {"hookStatus": "IN_PROGRESS", "hookDetails": {"n": 2}},
        {"hookStatus": "SUCCEEDED"},
    ]
    times: list[float] = []

    def invoke(function: str, payload: dict[str, Any]) -> dict[str, Any]:
        times.append(world.clock.now())
        return hooks(function, payload)

    world.native._machine.invoke = invoke
    config = _with(
        {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0},
        lambda_hook("bake", "POST_PRODUCTION_TRAFFIC_SHIFT", details={"n": 0}),
    )
    env = world.provision(config)
    done = world.wait(world.deploy(env), ENDED)
    assert done["status"] == "SUCCESSFUL", done.get("statusReason")
    assert [p["hookDetails"] for _, p in hooks.calls] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert len({p["executionId"] for _, p in hooks.calls}) == 1  # one hook execution, invoked 3 times
    assert times[1] - times[0] >= 10 and times[2] - times[1] >= 30  # callBackDelay, then the default


@pytest.mark.parametrize(
    "answer",
    [{"hookStatus": "FAILED"}, RuntimeError("the function raised"), {"nothing": "useful"}],
    ids=["FAILED", "function error", "no hookStatus"],
)
def test_a_failed_hook_rolls_back_before_production_moves(
    world: NativeWorld, hooks: ScriptedNativeHooks, answer: Any
) -> None:
    hooks.script["smoke"] = [answer]
    config = _with(CANARY, lambda_hook("smoke", "POST_TEST_TRAFFIC_SHIFT"), bakeTimeInMinutes=0)
    env = world.provision(config)
    done = world.wait(world.deploy(env), ENDED)
    _assert_rolled_back(world, env, done)
    assert [h["status"] for h in done["lifecycleHookDetails"]] == ["FAILED"]
    assert "POST_TEST_TRAFFIC_SHIFT" in done["rollback"]["reason"]
    assert hooks.stages("smoke") == ["POST_TEST_TRAFFIC_SHIFT"]


def test_an_alarm_in_alarm_rolls_back_and_names_the_alarm(
    world: NativeWorld, hooks: ScriptedNativeHooks
) -> None:
    env_box: list[Any] = []

    def invoke(function: str, payload: dict[str, Any]) -> dict[str, Any]:
        # the canary is live: the new revision's errors fire the alarm
        world.cloudwatch.set_alarm_state(
            AlarmName=env_box[0].alarm_names[0], StateValue="ALARM", StateReason="5xx"
        )
        return hooks(function, payload)

    world.native._machine.invoke = invoke
    env_box.append(world.provision(create=False, alarms=("5xx",)))
    env = env_box[0]
    config = _with(
        CANARY,
        lambda_hook("shift", "PRODUCTION_TRAFFIC_SHIFT"),
        bakeTimeInMinutes=0,
        alarms={"alarmNames": list(env.alarm_names), "enable": True, "rollback": True},
    )
    world.ecs.create_service(
        cluster=env.cluster,
        serviceName=env.service,
        taskDefinition=env.task_definition_arn,
        desiredCount=1,
        deploymentController={"type": "ECS"},
        deploymentConfiguration=config,
        loadBalancers=world.load_balancers(env),
    )
    done = world.wait(world.deploy(env), ENDED)
    _assert_rolled_back(world, env, done)
    assert done["alarms"] == {
        "status": "TRIGGERED",
        "alarmNames": list(env.alarm_names),
        "triggeredAlarmNames": list(env.alarm_names),
    }
    assert env.alarm_names[0] in done["rollback"]["reason"]
    assert (
        done["lifecycleStage"] == "PRODUCTION_TRAFFIC_SHIFT"
    )  # where it failed, not the rollback's last step
    # the canary step, then ECS's rollback runs the stage's hooks again as traffic goes back
    target = done["targetServiceRevision"]["arn"]
    shifts = [p["executionDetails"]["productionTrafficWeights"][target] for _, p in hooks.calls]
    assert hooks.stages() == ["PRODUCTION_TRAFFIC_SHIFT"] * 2 and shifts == [10.0, 0.0]


def test_stop_rolls_back(world: NativeWorld) -> None:
    env = world.provision(
        _with(CANARY, pause_hook("POST_TEST_TRAFFIC_SHIFT", minutes=600), bakeTimeInMinutes=0)
    )
    arn = world.deploy(env)
    world.wait(arn, _awaiting)
    with pytest.raises(world.ecs.exceptions.InvalidParameterException, match="ROLLBACK"):
        world.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ABORT")
    answer = world.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    assert answer["serviceDeploymentArn"] == arn
    done = world.wait(arn, ENDED)
    _assert_rolled_back(world, env, done)
    assert "stop request" in done["rollback"]["reason"]
    assert done["stoppedAt"] == done["finishedAt"]
    with pytest.raises(world.ecs.exceptions.ConflictException):
        world.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    with pytest.raises(world.ecs.exceptions.ServiceDeploymentNotFoundException):
        world.ecs.stop_service_deployment(serviceDeploymentArn=arn + "x")


def test_a_stop_shows_rollback_requested_until_the_worker_acts(
    world: NativeWorld, hooks: ScriptedNativeHooks
) -> None:
    entered, release = threading.Event(), threading.Event()

    def invoke(function: str, payload: dict[str, Any]) -> dict[str, Any]:
        entered.set()
        release.wait(10)  # the worker is busy in a synchronous invocation meanwhile
        return hooks(function, payload)

    world.native._machine.invoke = invoke
    env = world.provision(_with(CANARY, lambda_hook("slow", "POST_SCALE_UP"), bakeTimeInMinutes=0))
    arn = world.deploy(env)
    assert entered.wait(10)
    world.ecs.stop_service_deployment(serviceDeploymentArn=arn)  # stopType defaults to ROLLBACK
    # AWS, "Stopping Amazon ECS service deployments": IN_PROGRESS "moves to the ROLLBACK_REQUESTED
    # state, and then the rollback operation starts"; a second stop meanwhile continues it
    assert world.describe(arn)["status"] == "ROLLBACK_REQUESTED"
    world.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    assert world.describe(arn)["status"] == "ROLLBACK_REQUESTED"
    release.set()
    done = world.wait(arn, ENDED)
    _assert_rolled_back(world, env, done)


def test_a_deployment_stopped_while_pending_stays_rollback_requested_when_its_worker_starts(
    world: NativeWorld, hooks: ScriptedNativeHooks
) -> None:
    """A deployment that replaces one in flight is PENDING until that one's worker lets go; stopped
    then, it is ROLLBACK_REQUESTED, and its worker starting does not make it IN_PROGRESS again.
    Seen while that worker checks the networking (its first ELB read), then held for this read."""
    entered, release = threading.Event(), threading.Event()

    def invoke(function: str, payload: dict[str, Any]) -> dict[str, Any]:
        entered.set()
        release.wait(10)  # the first deployment's worker is busy in a synchronous invocation
        return hooks(function, payload)

    world.native._machine.invoke = invoke
    env = world.provision(_with(CANARY, lambda_hook("slow", "POST_SCALE_UP"), bakeTimeInMinutes=0))
    first = world.deploy(env)
    assert entered.wait(10)
    second = world.deploy(env, config=_with(CANARY, bakeTimeInMinutes=0), image="app:v3")
    assert world.describe(second)["status"] == "PENDING"  # waiting for the first's worker
    world.ecs.stop_service_deployment(serviceDeploymentArn=second)
    assert world.describe(second)["status"] == "ROLLBACK_REQUESTED"

    elbv2 = world.native._machine.elbv2
    checking, checked = threading.Event(), threading.Event()

    class HeldElbv2:
        def __getattr__(self, name: str) -> Any:
            return getattr(elbv2, name)

        def describe_rules(self, **request: Any) -> Any:
            checking.set()
            checked.wait(10)
            return elbv2.describe_rules(**request)

    world.native._machine.elbv2 = HeldElbv2()
    try:
        release.set()  # the first ends (replaced); the second's worker starts
        assert checking.wait(10)
        seen = world.describe(second)["status"]
    finally:
        checked.set()
        world.native._machine.elbv2 = elbv2
    assert seen == "ROLLBACK_REQUESTED"
    assert world.wait(first, ENDED)["status"] == "STOPPED"
    assert world.wait(second, ENDED)["status"] == "ROLLBACK_SUCCESSFUL"


@pytest.mark.parametrize(
    ("action", "ending"), [("CONTINUE", "SUCCESSFUL"), ("ROLLBACK", "ROLLBACK_SUCCESSFUL")]
)
def test_a_pause_waits_for_continue(
    world: NativeWorld, hooks: ScriptedNativeHooks, action: str, ending: str
) -> None:
    config = _with(
        CANARY,
        lambda_hook("smoke", "POST_TEST_TRAFFIC_SHIFT"),
        pause_hook("POST_TEST_TRAFFIC_SHIFT", minutes=600),
        bakeTimeInMinutes=0,
    )
    env = world.provision(config)
    arn = world.deploy(env)
    paused = world.wait(arn, _awaiting)
    assert paused["status"] == "IN_PROGRESS" and paused["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT"
    assert hooks.stages() == ["POST_TEST_TRAFFIC_SHIFT"]  # the Lambda hook listed first ran first
    pause = next(h for h in paused["lifecycleHookDetails"] if h["targetType"] == "PAUSE")
    assert pause["hookId"].startswith("ecs-pause-") and "targetArn" not in pause
    assert pause["timeoutAction"] == "ROLLBACK"
    assert world.rule_weights(env, env.production_rule) == {env.blue: 100, env.green: 0}
    with pytest.raises(world.ecs.exceptions.InvalidParameterException, match="does not exist"):
        world.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId="ecs-pause-nope")
    with pytest.raises(world.ecs.exceptions.ServiceDeploymentNotFoundException):
        world.ecs.continue_service_deployment(serviceDeploymentArn=arn + "x", hookId=pause["hookId"])
    smoke = next(h for h in paused["lifecycleHookDetails"] if h["targetType"] == "AWS_LAMBDA")
    with pytest.raises(world.ecs.exceptions.InvalidParameterException, match="AWAITING_ACTION"):
        # only the PAUSE hook waits: the Lambda hook that ran before it cannot be continued
        world.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=smoke["hookId"])
    world.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=pause["hookId"], action=action)
    done = world.wait(arn, ENDED)
    assert done["status"] == ending, done.get("statusReason")
    with pytest.raises(world.ecs.exceptions.InvalidParameterException, match="AWAITING_ACTION"):
        world.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=pause["hookId"])


@pytest.mark.parametrize(
    ("action", "ending"), [("ROLLBACK", "ROLLBACK_SUCCESSFUL"), ("CONTINUE", "SUCCESSFUL")]
)
def test_a_pause_times_out_into_its_action(world: NativeWorld, action: str, ending: str) -> None:
    config = _with(CANARY, pause_hook("POST_SCALE_UP", minutes=2, action=action), bakeTimeInMinutes=0)
    env = world.provision(config)
    arn = world.deploy(env)
    done = world.wait(arn, ENDED)
    assert done["status"] == ending, done.get("statusReason")
    assert [h["status"] for h in done["lifecycleHookDetails"]] == ["TIMED_OUT"]
    hook = done["lifecycleHookDetails"][0]
    assert (hook["expiresAt"] - done["startedAt"]).total_seconds() >= 120


def test_a_second_update_service_replaces_the_deployment_in_flight(
    world: NativeWorld, hooks: ScriptedNativeHooks
) -> None:
    env = world.provision(
        _with(CANARY, pause_hook("POST_TEST_TRAFFIC_SHIFT", minutes=600), bakeTimeInMinutes=0)
    )
    first = world.deploy(env)
    world.wait(first, _awaiting)
    assert world.rule_weights(env, env.test_rule) == {env.blue: 0, env.green: 100}
    at_reconcile: list[dict[str, int]] = []

    def invoke(function: str, payload: dict[str, Any]) -> dict[str, Any]:
        at_reconcile.append(world.rule_weights(env, env.test_rule))
        return hooks(function, payload)

    world.native._machine.invoke = invoke
    reconcile = lambda_hook("reconcile", "RECONCILE_SERVICE")
    second = world.deploy(env, config=_with(CANARY, reconcile, bakeTimeInMinutes=0), image="app:v3")
    assert second != first
    replaced = world.wait(first, ENDED)
    assert replaced["status"] == "STOPPED"
    assert second in replaced["statusReason"]
    done = world.wait(second, ENDED)
    assert done["status"] == "SUCCESSFUL", done.get("statusReason")
    # RECONCILE_SERVICE (two revisions were active): test traffic back on blue before its hook ran
    assert hooks.stages("reconcile") == ["RECONCILE_SERVICE"]
    assert at_reconcile == [{env.blue: 100, env.green: 0}]
    assert world.rule_weights(env, env.production_rule) == {env.blue: 0, env.green: 100}
    revisions = world.native.task_sets(env.cluster, env.service)
    assert len(revisions) == 1 and revisions[0]["taskDefinition"].endswith(":3")
    statuses = [
        d["status"]
        for d in world.ecs.list_service_deployments(cluster=env.cluster, service=env.service)[
            "serviceDeployments"
        ]
    ]
    assert statuses == ["SUCCESSFUL", "STOPPED", "SUCCESSFUL"]  # newest first


def test_an_alarm_without_rollback_stops_where_it_is(world: NativeWorld, hooks: ScriptedNativeHooks) -> None:
    # alarms.rollback false (the catalog's auto_rollback false): the alarm ends the deployment
    # STOPPED, no rollback and no traffic moved back (the canary step stays where it was).
    env_box: list[Any] = []

    def invoke(function: str, payload: dict[str, Any]) -> dict[str, Any]:
        world.cloudwatch.set_alarm_state(
            AlarmName=env_box[0].alarm_names[0], StateValue="ALARM", StateReason="5xx"
        )
        return hooks(function, payload)

    world.native._machine.invoke = invoke
    env_box.append(world.provision(create=False, alarms=("5xx",)))
    env = env_box[0]
    config = _with(
        CANARY,
        lambda_hook("shift", "PRODUCTION_TRAFFIC_SHIFT"),
        bakeTimeInMinutes=0,
        alarms={"alarmNames": list(env.alarm_names), "enable": True, "rollback": False},
    )
    world.ecs.create_service(
        cluster=env.cluster,
        serviceName=env.service,
        taskDefinition=env.task_definition_arn,
        desiredCount=1,
        deploymentController={"type": "ECS"},
        deploymentConfiguration=config,
        loadBalancers=world.load_balancers(env),
    )
    done = world.wait(world.deploy(env), ENDED)
    assert done["status"] == "STOPPED", done.get("statusReason")
    assert "rollback" not in done or not done["rollback"]
    assert env.alarm_names[0] in done["statusReason"]
    assert world.rule_weights(env, env.production_rule) == {env.blue: 90, env.green: 10}
    assert hooks.stages() == ["PRODUCTION_TRAFFIC_SHIFT"]  # no rollback: no hook runs again


def test_the_bake_time_keeps_the_source_revision_until_it_ends(world: NativeWorld) -> None:
    # bakeTimeInMinutes (the catalog's termination wait): after production moved, ECS waits that
    # long in BAKE_TIME before CLEAN_UP scales the source revision down.
    env = world.provision(_with({"strategy": "BLUE_GREEN"}, bakeTimeInMinutes=10))
    arn = world.deploy(env)
    baking = world.wait(arn, lambda d: d.get("lifecycleStage") == "BAKE_TIME" or d["status"] in ENDED)
    assert baking["lifecycleStage"] == "BAKE_TIME", baking.get("statusReason")
    done = world.wait(arn, ENDED)
    assert done["status"] == "SUCCESSFUL", done.get("statusReason")
    assert (done["finishedAt"] - baking["updatedAt"]).total_seconds() >= 10 * 60 - 1


def test_a_lambda_hook_in_progress_past_its_timeout_times_out_into_rollback(
    world: NativeWorld, hooks: ScriptedNativeHooks
) -> None:
    # A Lambda hook that keeps answering IN_PROGRESS is bounded by its timeoutConfiguration too.
    hooks.script["slow"] = [{"hookStatus": "IN_PROGRESS", "callBackDelay": 30}]
    hook = {
        **lambda_hook("slow", "POST_SCALE_UP"),
        "timeoutConfiguration": {"timeoutInMinutes": 2, "action": "ROLLBACK"},
    }
    env = world.provision(_with(CANARY, hook, bakeTimeInMinutes=0))
    done = world.wait(world.deploy(env), ENDED)
    assert done["status"] == "ROLLBACK_SUCCESSFUL", done.get("statusReason")
    assert [h["status"] for h in done["lifecycleHookDetails"]] == ["TIMED_OUT"]
    assert "timed out at POST_SCALE_UP" in done["statusReason"]
    assert 2 <= len(hooks.calls) <= 5  # every 30 s for 2 minutes, then no more


def test_a_listener_rule_that_does_not_forward_to_both_groups_rolls_back(world: NativeWorld) -> None:
    # ECS checks the wiring first: both target groups must be on the production or test rule.
    env = world.provision(_with(CANARY, bakeTimeInMinutes=0))
    only_blue = [
        {
            "Type": "forward",
            "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": env.tg_arns[env.blue], "Weight": 1}]},
        }
    ]
    for rule in (env.production_rule, env.test_rule):
        world.elbv2.modify_rule(RuleArn=rule, Actions=only_blue)
    done = world.wait(world.deploy(env), ENDED)
    assert done["status"] == "ROLLBACK_SUCCESSFUL", done.get("statusReason")
    assert "invalid networking configuration" in done["statusReason"]

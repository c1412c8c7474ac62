"""The ECS native emulator end to end over moto: boto3 on its endpoint, a fake ``invoke``.

A BLUE_GREEN deployment with a hook at every hookable stage: the stages in ECS's order, the green
revision scaled up on the alternate target group, test traffic then production moved by ModifyRule,
the blue revision cleaned up, the roles of the target groups swapped for the next deployment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.ecs_native import NativeWorld, ScriptedNativeHooks, lambda_hook

HOOKED = (
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
)


@pytest.fixture
def hooks() -> ScriptedNativeHooks:
    return ScriptedNativeHooks()


@pytest.fixture
def world(moto_url: str, hooks: ScriptedNativeHooks) -> Iterator[NativeWorld]:
    with NativeWorld(moto_url, hooks) as started:
        yield started


def test_blue_green_runs_every_stage_and_swaps_the_target_groups(
    world: NativeWorld, hooks: ScriptedNativeHooks
) -> None:
    config = {
        "strategy": "BLUE_GREEN",
        "bakeTimeInMinutes": 1,
        "lifecycleHooks": [lambda_hook("check", *HOOKED)],
    }
    env = world.provision(config)
    assert world.running(env) == {env.blue: "PRIMARY"}

    arn = world.deploy(env)
    done = world.wait(arn, {"SUCCESSFUL", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED", "STOPPED"})

    assert done["status"] == "SUCCESSFUL", done.get("statusReason")
    assert done["lifecycleStage"] == "CLEAN_UP"
    assert hooks.stages("check") == list(HOOKED)
    assert [h["status"] for h in done["lifecycleHookDetails"]] == ["SUCCEEDED"] * len(HOOKED)
    assert world.rule_weights(env, env.production_rule) == {env.blue: 0, env.green: 100}
    assert world.rule_weights(env, env.test_rule) == {env.blue: 0, env.green: 100}
    assert world.running(env) == {env.green: "PRIMARY"}
    assert done["targetServiceRevision"]["requestedProductionTrafficWeight"] == 100.0
    assert done["sourceServiceRevisions"][0]["requestedProductionTrafficWeight"] == 0.0
    assert done["startedAt"] <= done["finishedAt"]

    # the payload ECS sends: the deployment, the service, the revisions' weights at that moment
    _, first = hooks.calls[0]
    assert first["resourceArn"] == arn
    assert first["executionDetails"]["serviceArn"] == env.service_arn
    assert first["executionDetails"]["targetServiceRevisionArn"] == done["targetServiceRevision"]["arn"]
    assert set(first["executionDetails"]["productionTrafficWeights"].values()) == {0.0, 100.0}

    # the next deployment's alternate is blue
    second = world.deploy(env, image="app:v3")
    assert world.wait(second, {"SUCCESSFUL", "ROLLBACK_SUCCESSFUL", "STOPPED"})["status"] == "SUCCESSFUL"
    assert world.rule_weights(env, env.production_rule) == {env.blue: 100, env.green: 0}
    assert world.running(env) == {env.blue: "PRIMARY"}


def test_the_green_revision_runs_on_the_alternate_group_before_traffic_moves(
    world: NativeWorld, hooks: ScriptedNativeHooks
) -> None:
    seen: list[dict[str, str]] = []
    env_box: list = []

    def invoke(function: str, payload: dict) -> dict:
        seen.append(world.running(env_box[0]))
        return hooks(function, payload)

    world.native._machine.invoke = invoke  # the same world, a hook that looks at the fleet's view
    config = {
        "strategy": "BLUE_GREEN",
        "bakeTimeInMinutes": 0,
        "lifecycleHooks": [lambda_hook("look", "POST_SCALE_UP")],
    }
    env_box.append(world.provision(config))
    env = env_box[0]
    arn = world.deploy(env)
    assert world.wait(arn, {"SUCCESSFUL", "ROLLBACK_SUCCESSFUL"})["status"] == "SUCCESSFUL"
    assert seen == [{env.blue: "PRIMARY", env.green: "ACTIVE"}]


def test_describe_services_shows_what_moto_drops(world: NativeWorld) -> None:
    config = {
        "strategy": "CANARY",
        "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 1},
    }
    env = world.provision(config)
    service = world.ecs.describe_services(cluster=env.cluster, services=[env.service])["services"][0]
    assert service["deploymentController"] == {"type": "ECS"}
    assert service["deploymentConfiguration"] == config
    advanced = service["loadBalancers"][0]["advancedConfiguration"]
    assert advanced["productionListenerRule"] == env.production_rule
    assert advanced["testListenerRule"] == env.test_rule
    assert service["currentServiceDeployment"].startswith("arn:aws:ecs:")
    assert [
        d["status"]
        for d in world.ecs.list_service_deployments(cluster=env.cluster, service=env.service)[
            "serviceDeployments"
        ]
    ] == ["SUCCESSFUL"]


def test_the_world_settles_after_scale_up_and_before_every_hook(world: NativeWorld) -> None:
    settles: list[int] = []
    env_box: list = []
    world.native._machine.before_hook = lambda: settles.append(len(world.running(env_box[0])))
    config = {
        "strategy": "BLUE_GREEN",
        "bakeTimeInMinutes": 0,
        "lifecycleHooks": [lambda_hook("a", "PRE_SCALE_UP")],
    }
    env_box.append(world.provision(config))
    arn = world.deploy(env_box[0])
    assert world.wait(arn, {"SUCCESSFUL", "ROLLBACK_SUCCESSFUL"})["status"] == "SUCCESSFUL"
    assert settles == [1, 2]  # before PRE_SCALE_UP's hook (blue only), after SCALE_UP (blue and green)

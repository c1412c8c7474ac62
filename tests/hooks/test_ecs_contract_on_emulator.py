"""The hooks' Amazon ECS contract end to end: the real hook handlers, invoked by the sandbox's native
ECS emulator (``sandbox.ecs_native``, through the world's Lambda runner) at their native stages,
judge two BLUE_GREEN deployments of product-service in a sandbox world (the second puts green in the
other target group of the pair). Skipped where the emulator is not in the tree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sandbox.ecs_native")

from orchestrator.files.taskdef import load_task_definition
from orchestrator.vocabulary import NATIVE_STAGE_FOR_EVENT
from sandbox.moto_server import sandbox_client_factory
from sandbox.world import World, WorldOptions
from tests.hooks.conftest import LogRecords
from tests.sandbox.test_world_native import NATIVE, native_catalog
from tests.support.sandbox import wait_for

pytestmark = pytest.mark.integration


def lifecycle_hooks(world: World, hooks: dict[str, str]) -> list[dict[str, Any]]:
    """The catalog's hooks at their native stages, as the engine configures them."""
    return [
        {
            "hookTargetArn": f"arn:aws:lambda:{world.region}:123456789012:function:{function}",
            "roleArn": "arn:aws:iam::123456789012:role/doa-market-dev-ecs-hook-invoke",
            "lifecycleStages": [NATIVE_STAGE_FOR_EVENT[event]],
        }
        for event, function in hooks.items()
    ]


def test_the_real_hooks_judge_native_deployments(tmp_path: Path, hook_logs: LogRecords) -> None:
    catalog = native_catalog(tmp_path, NATIVE)
    # product-service alone: nothing here deploys or reads the catalog's CodeDeploy service.
    # 100x: the verdicts are the hooks', and the bake answers IN_PROGRESS once per invocation at any
    # scale (hooks/native_bake.py).
    with World(catalog, "dev", [NATIVE], None, WorldOptions(time_scale=100.0)) as world:
        native = next(item for item in world.infra if item.name == NATIVE)
        ecs = sandbox_client_factory(world.region)("ecs", world.env["AWS_ENDPOINT_URL_ECS"])
        try:
            for _ in range(2):  # the second deployment's green is the other target group
                revision = ecs.register_task_definition(**load_task_definition(native.service))
                ecs.update_service(
                    cluster=native.cluster,
                    service=native.ecs_service,
                    taskDefinition=revision["taskDefinition"]["taskDefinitionArn"],
                    deploymentConfiguration={
                        "strategy": "BLUE_GREEN",
                        "bakeTimeInMinutes": 0,
                        "lifecycleHooks": lifecycle_hooks(world, native.service.settings.hooks),
                    },
                )
                arn = ecs.list_service_deployments(cluster=native.cluster, service=native.ecs_service)[
                    "serviceDeployments"
                ][0]["serviceDeploymentArn"]

                def finished(arn: str = arn) -> dict[str, Any] | None:
                    found = ecs.describe_service_deployments(serviceDeploymentArns=[arn])[
                        "serviceDeployments"
                    ][0]
                    return found if found["status"] not in ("PENDING", "IN_PROGRESS") else None

                final = wait_for(finished, timeout=120, interval=0.25)
                assert final["status"] == "SUCCESSFUL", final
        finally:
            ecs.close()
    lines = [line for line in hook_logs.lines if line.get("verdict")]
    verdicts = [line for line in lines if line["verdict"] != "InProgress"]
    # the bake after the production shift answered IN_PROGRESS and was invoked again
    assert {line["lifecycle_stage"] for line in lines if line["verdict"] == "InProgress"} == {
        "POST_PRODUCTION_TRAFFIC_SHIFT"
    }
    # each deployment: the five hooks at their stages, each Succeeded in the end
    assert [(line["lifecycle_stage"], line["verdict"]) for line in verdicts] == 2 * [
        (NATIVE_STAGE_FOR_EVENT[event], "Succeeded") for event in native.service.settings.hooks
    ], [(line["lifecycle_stage"], line["verdict"], line["reason"]) for line in verdicts]
    greens = [
        line["checks"][0]["detail"].split(":")[0]
        for line in verdicts
        if line["lifecycle_event"] == "AfterInstall"
    ]
    settings = native.service.settings
    assert sorted(greens) == sorted([settings.target_group_blue, settings.target_group_green]), greens

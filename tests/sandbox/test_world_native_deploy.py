"""A real native BLUE_GREEN deployment in a sandbox world: the native ECS emulator
(``sandbox.ecs_native``) runs it, started by a plain boto3 UpdateService on the world's ECS
endpoint; the fleet runs green on the alternate target group, the users' traffic moves with the
production rule, a Lambda hook runs through the world's runner after the settle step, and a
CodeDeploy service of the same world still deploys."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli import main
from orchestrator.files.taskdef import load_task_definition
from sandbox.moto_server import sandbox_client_factory
from sandbox.provision import listener_rule
from sandbox.world import World, WorldOptions
from tests.sandbox.test_world_native import CODEDEPLOY, NATIVE, native_catalog, version_at
from tests.support.sandbox import child_processes, listening_ports, sandbox_threads, wait_for

pytestmark = pytest.mark.integration

SCALE = 40.0
PROBE = "native-probe"


@pytest.fixture
def nothing_left_behind() -> Iterator[None]:
    ports, children = listening_ports(), child_processes()
    threads = {t.ident for t in threading.enumerate()}
    yield
    assert listening_ports() - ports == set()
    assert child_processes() - children == set()
    wait_for(lambda: not sandbox_threads(exclude=threads), timeout=5.0, interval=0.1)


def test_a_native_blue_green_deployment_moves_the_fleet_and_the_users(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], nothing_left_behind: None
) -> None:
    catalog = native_catalog(tmp_path, NATIVE)
    with World(catalog, "dev", [NATIVE, CODEDEPLOY], None, WorldOptions(time_scale=SCALE)) as world:
        assert world.runner is not None and world.fleet is not None and world.load_balancer is not None
        fleet, balancer = world.fleet, world.load_balancer
        native = next(item for item in world.infra if item.name == NATIVE)
        settings = native.service.settings
        blue, green = (
            native.target_groups[settings.target_group_blue],
            native.target_groups[settings.target_group_green],
        )
        seen: dict[str, Any] = {}

        def probe(event: dict[str, Any], context: Any) -> dict[str, str]:
            """A Lambda hook at POST_TEST_TRAFFIC_SHIFT: what it sees through the listeners and the fleet."""
            green_runs = [run for run in fleet.replacement_runs() if run.service == NATIVE]
            seen.update(
                stage=event["lifecycleStage"],
                test=version_at(native.test_port),
                production=version_at(native.production_port),
                green=[(run.target_group_arn, run.version) for run in green_runs],
                states={balancer.target_state(t) for run in green_runs for t in run.target_ids},
            )
            return {"hookStatus": "SUCCEEDED"}

        world.runner.handlers[PROBE] = probe
        ecs = sandbox_client_factory(world.region)("ecs", world.env["AWS_ENDPOINT_URL_ECS"])
        try:
            # What moto drops, the endpoint kept from provisioning.
            described = ecs.describe_services(cluster=native.cluster, services=[native.ecs_service])[
                "services"
            ][0]
            assert described["deploymentController"] == {"type": "ECS"}
            assert described["loadBalancers"][0]["advancedConfiguration"]["productionListenerRule"] == (
                native.production_rule_arn
            )
            revision = ecs.register_task_definition(**load_task_definition(native.service))["taskDefinition"]
            ecs.update_service(
                cluster=native.cluster,
                service=native.ecs_service,
                taskDefinition=revision["taskDefinitionArn"],
                deploymentConfiguration={
                    "strategy": "BLUE_GREEN",
                    "bakeTimeInMinutes": 0,
                    "lifecycleHooks": [
                        {
                            "hookTargetArn": f"arn:aws:lambda:{world.region}:123456789012:function:{PROBE}",
                            "roleArn": "arn:aws:iam::123456789012:role/doa-market-dev-ecs-hooks",
                            "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
                        }
                    ],
                },
            )
            listed = ecs.list_service_deployments(cluster=native.cluster, service=native.ecs_service)
            arn = listed["serviceDeployments"][0]["serviceDeploymentArn"]

            def finished() -> dict[str, Any] | None:
                found = ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]
                return found if found["status"] not in ("PENDING", "IN_PROGRESS") else None

            final = wait_for(finished, timeout=60, interval=0.2)
        finally:
            ecs.close()
        assert final["status"] == "SUCCESSFUL", final
        # At POST_TEST_TRAFFIC_SHIFT: green ran on the alternate target group, healthy (the settle
        # step ran first), the test listener's rule sent the hook to green, production still blue.
        assert seen == {
            "stage": "POST_TEST_TRAFFIC_SHIFT",
            "test": "product-service:2",
            "production": "product-service:1",
            "green": [(green, "product-service:2")],
            "states": {"healthy"},
        }
        # After: blue's tasks are gone, production forwards to green (the routers' view is at most
        # a poll behind), and the users got there without an error on the way.
        originals = [run for run in fleet.history.values() if run.service == NATIVE and not run.replacement]
        wait_for(lambda: all(run.stopped for run in originals), timeout=5)
        assert [run.target_group_arn for run in originals] == [blue]
        assert version_at(native.production_port) == "product-service:2"
        traffic = world.traffic
        assert traffic is not None  # users reach green a request or two after the shift (bake 0)
        wait_for(lambda: "product-service:2" in {r.version for r in traffic.snapshot(NATIVE)}, timeout=5)
        answered = traffic.snapshot(NATIVE)
        assert {r.version for r in answered} == {"product-service:1", "product-service:2"}
        assert [(r.status, r.version) for r in answered if r.status != 200] == []

        # The CodeDeploy service of the same world still deploys, as before.
        capsys.readouterr()
        code = main(
            [
                "deploy",
                CODEDEPLOY,
                "--strategy",
                "all-at-once",
                "--time-scale",
                f"{SCALE:g}",
                "--output",
                "json",
            ]
        )
        result = json.loads(capsys.readouterr().out)
        assert code == 0 and result["status"] == "Succeeded", result


def test_a_codedeploy_service_migrated_while_the_world_runs_keeps_its_tasks_and_deploys_natively(
    nothing_left_behind: None,
) -> None:
    """What `bluegreen migrate --apply` does to a CodeDeploy service of a running sandbox (a rule per
    listener, then UpdateService to the ECS controller), done with plain boto3: the original tasks
    keep serving (the emulator's first revision is the task set, same ARN), and a native deployment
    then moves the users by the new rules."""
    repo = Path(__file__).resolve().parents[2]
    with World(repo / "services.yaml", "dev", [CODEDEPLOY], None, WorldOptions(time_scale=SCALE)) as world:
        assert world.fleet is not None
        fleet = world.fleet
        item = world.infra[0]
        settings = item.service.settings
        blue, green = (
            item.target_groups[settings.target_group_blue],
            item.target_groups[settings.target_group_green],
        )
        (original,) = [run for run in fleet.history.values() if not run.replacement]
        elbv2 = world.clients().elbv2
        rules = {
            name: listener_rule(elbv2, listener, blue, green)
            for name, listener in (
                ("production", item.production_listener_arn),
                ("test", item.test_listener_arn),
            )
        }
        ecs = sandbox_client_factory(world.region)("ecs", world.env["AWS_ENDPOINT_URL_ECS"])
        try:
            ecs.update_service(
                cluster=item.cluster,
                service=item.ecs_service,
                deploymentController={"type": "ECS"},
                deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0},
                loadBalancers=[
                    {
                        "targetGroupArn": blue,
                        "containerName": settings.container_name,
                        "containerPort": item.service.container_port,
                        "advancedConfiguration": {
                            "alternateTargetGroupArn": green,
                            "productionListenerRule": rules["production"],
                            "testListenerRule": rules["test"],
                            "roleArn": "arn:aws:iam::123456789012:role/doa-market-dev-ecs-infrastructure",
                        },
                    }
                ],
            )
            # Migrated: moto's task set is gone, the same tasks serve on as the first revision.
            wait_for(lambda: item.production_listener_arn in world.load_balancer.ruled_listeners, timeout=5)  # type: ignore[union-attr]
            world._sync_fleet()
            assert not original.stopped and list(fleet.history.values()) == [original]
            assert version_at(item.production_port) == "user-service:1"

            revision = ecs.register_task_definition(**load_task_definition(item.service))["taskDefinition"]
            ecs.update_service(
                cluster=item.cluster, service=item.ecs_service, taskDefinition=revision["taskDefinitionArn"]
            )
            listed = ecs.list_service_deployments(cluster=item.cluster, service=item.ecs_service)
            arn = listed["serviceDeployments"][0]["serviceDeploymentArn"]

            def finished() -> dict[str, Any] | None:
                found = ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]
                return found if found["status"] not in ("PENDING", "IN_PROGRESS") else None

            final = wait_for(finished, timeout=60, interval=0.2)
        finally:
            ecs.close()
        assert final["status"] == "SUCCESSFUL", final
        wait_for(lambda: original.stopped, timeout=5)
        assert version_at(item.production_port) == "user-service:2"
        assert [run.target_group_arn for run in fleet.replacement_runs()] == [green]
        traffic = world.traffic
        assert traffic is not None
        wait_for(lambda: "user-service:2" in {r.version for r in traffic.snapshot(CODEDEPLOY)}, timeout=5)
        answered = traffic.snapshot(CODEDEPLOY)
        assert {r.version for r in answered} == {"user-service:1", "user-service:2"}
        assert [(r.status, r.version) for r in answered if r.status != 200] == []

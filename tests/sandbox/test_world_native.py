"""One sandbox world runs an ecs-engine service (Amazon ECS's own blue/green) beside a CodeDeploy one.

The world is built here with a small fake of the native ECS emulator (``sandbox.ecs_native``, the
ecs-emulator helper's): an ECS endpoint that passes every call to moto and records what it was
sent, and a ``task_sets`` the test scripts, so what is checked is the world's half of the seam:
provisioning through the ECS endpoint, the listener rules, the fleet running the endpoint's
revisions, the load balancer following the rules, the hooks' wiring, and the CodeDeploy service
deploying as before.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.cli import main
from sandbox.http_server import LoopbackHttpServer
from sandbox.serve import export_lines
from sandbox.world import World, WorldOptions
from tests.support.sandbox import child_processes, clients, listening_ports, sandbox_threads, wait_for

pytestmark = pytest.mark.integration

SCALE = 40.0
REPO = Path(__file__).resolve().parents[2]
NATIVE, CODEDEPLOY = "product-service", "user-service"
ECS_TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."


def native_catalog(tmp_path: Path, *native: str) -> Path:
    """The example catalog with ``native`` services on the ECS engine (alarms/ and task-definitions/
    are the repository's)."""
    document = yaml.safe_load((REPO / "services.yaml").read_text())
    for name in native:
        document["services"][name]["engine"] = "ecs"
    for folder in ("alarms", "task-definitions"):
        (tmp_path / folder).symlink_to(REPO / folder)
    path = tmp_path / "services.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


class _Passthrough(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.owner.record(self.headers.get("X-Amz-Target", ""), body)
        upstream = http.client.HTTPConnection(self.server.moto.hostname, self.server.moto.port, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            payload = response.read()
            self.send_response(response.status)
            for name, value in response.getheaders():
                if name.lower() not in (
                    "content-length",
                    "connection",
                    "transfer-encoding",
                    "server",
                    "date",
                ):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        finally:
            upstream.close()

    do_GET = do_POST

    def log_message(self, format: str, *args: object) -> None:
        return


class _ProxyServer(LoopbackHttpServer):
    def __init__(self, owner: FakeNativeEcs, moto_url: str) -> None:
        super().__init__(_Passthrough, "fake-native-ecs")
        self.owner = owner
        self.moto = urllib.parse.urlsplit(moto_url)


class FakeNativeEcs:
    """The seam's NativeEcs, faked: passes every call to moto, records the ECS operations it is sent,
    lists each service it created's original revision on its target group, and what the test scripts."""

    instances: list[FakeNativeEcs] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.scripted: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._server = _ProxyServer(self, kwargs["moto_url"])
        self.url = ""
        FakeNativeEcs.instances.append(self)

    def start(self) -> FakeNativeEcs:
        self._server.start_serving()
        self.url = f"http://127.0.0.1:{self._server.port}"
        return self

    def stop(self) -> None:
        self._server.stop()

    def record(self, target: str, body: bytes) -> None:
        operation = target.removeprefix(ECS_TARGET_PREFIX)
        request = json.loads(body or b"{}")
        with self._lock:
            self.sent.append((operation, request))
            if operation == "CreateService":
                balancer = request["loadBalancers"][0]
                key = (request["cluster"], request["serviceName"])
                self.scripted[key] = [
                    task_set(key, "ecs-svc/1", request["taskDefinition"], balancer["targetGroupArn"])
                ]

    def task_sets(self, cluster: str, service: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(item) for item in self.scripted.get((cluster, service), [])]

    def script(self, cluster: str, service: str, task_sets: list[dict[str, Any]]) -> None:
        with self._lock:
            self.scripted[(cluster, service)] = task_sets


def task_set(
    key: tuple[str, str], revision_id: str, task_definition: str, target_group: str
) -> dict[str, Any]:
    cluster, service = key
    return {
        "id": revision_id,
        "taskSetArn": f"arn:aws:ecs:ap-northeast-2:123456789012:task-set/{cluster}/{service}/{revision_id}",
        "taskDefinition": task_definition,
        "loadBalancers": [{"targetGroupArn": target_group}],
        "computedDesiredCount": 1,
        "status": "PRIMARY",
    }


@pytest.fixture
def nothing_left_behind() -> Iterator[None]:
    ports, children = listening_ports(), child_processes()
    threads = {t.ident for t in threading.enumerate()}
    yield
    assert listening_ports() - ports == set()
    assert child_processes() - children == set()
    wait_for(lambda: not sandbox_threads(exclude=threads), timeout=5.0, interval=0.1)


def version_at(port: int, path: str = "/browse") -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return str(response.getheader("X-Bluegreen-Version"))
    finally:
        connection.close()


def forward(blue: str, green: str, blue_weight: int) -> list[dict[str, Any]]:
    groups = [
        {"TargetGroupArn": blue, "Weight": blue_weight},
        {"TargetGroupArn": green, "Weight": 100 - blue_weight},
    ]
    return [{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}]


def test_an_ecs_engine_service_runs_beside_a_codedeploy_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], nothing_left_behind: None
) -> None:
    catalog = native_catalog(tmp_path, NATIVE)
    options = WorldOptions(time_scale=SCALE, native_ecs=FakeNativeEcs)
    with World(catalog, "dev", [NATIVE, CODEDEPLOY], {NATIVE: "error_rate=0.5"}, options) as world:
        fake = FakeNativeEcs.instances[-1]
        assert world.runner is not None and world.fleet is not None
        # The endpoint is the process's ECS endpoint (CLI, hooks, `sandbox serve`'s exports).
        assert world.env["AWS_ENDPOINT_URL_ECS"] == fake.url == os.environ["AWS_ENDPOINT_URL_ECS"]
        assert f"export AWS_ENDPOINT_URL_ECS={fake.url}" in export_lines(world)
        # Hooks: ECS's synchronous invocation, after the world's settle step.
        assert fake.kwargs["invoke"] == world.runner.invoke_sync
        assert fake.kwargs["before_hook"] == world._sync_fleet
        assert fake.kwargs["clock"] is world.clock and fake.kwargs["moto_url"] == world.moto_url

        infra = {item.name: item for item in world.infra}
        native, codedeploy = infra[NATIVE], infra[CODEDEPLOY]
        settings = native.service.settings
        blue, green = (
            native.target_groups[settings.target_group_blue],
            native.target_groups[settings.target_group_green],
        )
        elbv2 = clients(world)["elbv2"]

        # Provisioning: one rule per listener, priority 1, every path, blue 100 / green 0.
        for listener, rule_arn in (
            (native.production_listener_arn, native.production_rule_arn),
            (native.test_listener_arn, native.test_rule_arn),
        ):
            rules = [r for r in elbv2.describe_rules(ListenerArn=listener)["Rules"] if not r["IsDefault"]]
            assert [r["RuleArn"] for r in rules] == [rule_arn]
            assert rules[0]["Priority"] == "1"
            assert rules[0]["Conditions"][0]["PathPatternConfig"]["Values"] == ["/*"]
            groups = rules[0]["Actions"][0]["ForwardConfig"]["TargetGroups"]
            assert [(g["TargetGroupArn"], g["Weight"]) for g in groups] == [(blue, 100), (green, 0)]
        assert codedeploy.ruled_listener_arns == []
        assert not [
            r
            for r in elbv2.describe_rules(ListenerArn=codedeploy.production_listener_arn)["Rules"]
            if not r["IsDefault"]
        ]

        # The ECS service went through the ECS endpoint with what moto drops.
        created = [request for operation, request in fake.sent if operation == "CreateService"]
        assert [request["serviceName"] for request in created] == [NATIVE]
        request = created[0]
        assert request["deploymentController"] == {"type": "ECS"}
        assert request["deploymentConfiguration"] == {
            "strategy": "BLUE_GREEN",
            "bakeTimeInMinutes": 0,
            "alarms": {"alarmNames": settings.alarms, "enable": True, "rollback": True},
        }
        assert request["loadBalancers"] == [
            {
                "targetGroupArn": blue,
                "containerName": settings.container_name,
                "containerPort": native.service.container_port,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": green,
                    "productionListenerRule": native.production_rule_arn,
                    "testListenerRule": native.test_rule_arn,
                    "roleArn": "arn:aws:iam::123456789012:role/doa-market-dev-ecs-infrastructure",
                },
            }
        ]
        # No CodeDeploy deployment group for it; the CodeDeploy service keeps its own.
        groups = clients(world)["codedeploy"].list_deployment_groups(applicationName=settings.application)
        assert groups["deploymentGroups"] == [codedeploy.service.settings.deployment_group]

        # The original revision runs on blue, healthy, and serves the users.
        original = [run for run in world.fleet.history.values() if run.service == NATIVE]
        assert [(run.replacement, run.target_group_arn, run.fault.is_healthy) for run in original] == [
            (False, blue, True)
        ]
        assert world.load_balancer is not None
        assert {world.load_balancer.target_state(t) for t in original[0].target_ids} == {"healthy"}
        assert version_at(native.production_port) == "product-service:1"

        # ECS starts green on the alternate target group: the fleet runs it as the replacement.
        key = (native.cluster, native.ecs_service)
        blue_set = fake.task_sets(*key)[0]
        green_set = task_set(key, "ecs-svc/2", blue_set["taskDefinition"].replace(":1", ":2"), green)
        fake.script(*key, [blue_set, green_set])
        run = wait_for(lambda: world.fleet.history.get("ecs-svc/2"), timeout=10)
        assert (run.replacement, run.target_group_arn, run.fault.error_rate) == (True, green, 0.5)

        # ECS moves the test rule, then the production rule: the routers follow each rule.
        elbv2.modify_rule(RuleArn=native.test_rule_arn, Actions=forward(blue, green, 0))
        world._sync_fleet()  # what the emulator's before_hook does before a hook
        assert version_at(native.test_port) == "product-service:2"
        assert version_at(native.production_port) == "product-service:1"
        elbv2.modify_rule(RuleArn=native.production_rule_arn, Actions=forward(blue, green, 0))
        wait_for(lambda: version_at(native.production_port) == "product-service:2", timeout=5)

        # Blue's revision ends: its tasks are deregistered and stopped.
        fake.script(*key, [green_set])
        wait_for(lambda: original[0].stopped, timeout=10)
        assert all(world.load_balancer.target_state(t) is None for t in original[0].target_ids)

        # The CodeDeploy service in the same world still deploys, through the ECS endpoint too.
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
        assert any(operation == "RegisterTaskDefinition" for operation, _ in fake.sent)


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_hooks_know_the_worlds_environment(environment: str) -> None:
    """dev and prod share a cluster, so an ECS hook finds its service's settings by
    $BLUEGREEN_ENVIRONMENT (as template.yaml sets it): without it a prod world's hooks took dev's."""
    from sandbox.world import World, WorldOptions

    world = World(REPO / "services.yaml", environment, ["inventory-service"], None, WorldOptions())
    assert world._environment()["BLUEGREEN_ENVIRONMENT"] == environment

"""The whole loop in the sandbox: bluegreen's own commands (in-process, the unchanged deploy path)
against moto + the CodeDeploy emulator + the fake fleet, with the real hook handlers, real HTTP
traffic through routers on the listener ports, metrics, and the alarm evaluator.

Every test starts its own world and checks, when it is over, that nothing it started is left:
no listening socket, no child process, no extra thread. The deployments that roll back before
production serves green share one world: tests/sandbox/test_rolled_back_before_production.py.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli import main
from sandbox.world import World, WorldOptions
from tests.support.sandbox import (
    child_processes,
    clients,
    deployment,
    listening_ports,
    production_weights,
    sandbox_threads,
    wait_for,
    wait_terminal,
)

pytestmark = pytest.mark.integration

SCALE = 40.0
REPO = Path(__file__).resolve().parents[2]
PROMOTE_CATALOG = REPO / "tests" / "fixtures" / "sandbox" / "services.yaml"


@contextlib.contextmanager
def leaves_nothing_behind() -> Iterator[None]:
    """After the block: every port, child process and thread started in it is gone."""
    ports, children = listening_ports(), child_processes()
    threads = {t.ident for t in threading.enumerate()}
    yield
    assert listening_ports() - ports == set()
    assert child_processes() - children == set()
    # Threads stop asynchronously (a handler sees its peer hang up): give them a moment, not more.
    try:
        wait_for(lambda: not sandbox_threads(exclude=threads), timeout=5.0, interval=0.1)
    except AssertionError:
        raise AssertionError(f"threads left: {[t.name for t in sandbox_threads(exclude=threads)]}") from None


@pytest.fixture
def nothing_left_behind() -> Iterator[None]:
    """After the test: every port, child process and thread the world started is gone."""
    with leaves_nothing_behind():
        yield


def start_world(
    services: list[str], fault: Any = None, catalog: Path | None = None, evaluator_tick: float = 10.0
) -> World:
    options = WorldOptions(time_scale=SCALE, evaluator_tick=evaluator_tick)
    return World(catalog or REPO / "services.yaml", "dev", services, fault, options)


def bluegreen(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    """Run a bluegreen command in this process (the world's variables are set); exit code and JSON."""
    capsys.readouterr()
    code = main([*args, "--output", "json"])
    out = capsys.readouterr().out.strip()
    return code, (json.loads(out) if out.startswith("{") else {})


def deploy(
    capsys: pytest.CaptureFixture[str], service: str, strategy: str, *extra: str
) -> tuple[int, dict[str, Any]]:
    return bluegreen(capsys, "deploy", service, "--strategy", strategy, "--time-scale", f"{SCALE:g}", *extra)


def users(world: World, service: str = "product-service") -> list[Any]:
    assert world.traffic is not None
    return world.traffic.snapshot(service)


def replacement_versions(world: World) -> set[str]:
    assert world.fleet is not None
    return {run.version for run in world.fleet.replacement_runs()}


def test_canary10_succeeds(capsys: pytest.CaptureFixture[str], nothing_left_behind: None) -> None:
    with start_world(["product-service"]) as world:
        code, result = deploy(capsys, "product-service", "canary10")
        assert code == 0, result
        assert result["status"] == "Succeeded" and result["rolledBack"] is False
        new = replacement_versions(world)
        answered = users(world)
        assert new and {r.version for r in answered} >= new | {"product-service:1"}
        assert all(r.status == 200 for r in answered)
        # Production now forwards everything to the replacement's target group.
        weights = production_weights(world, "product-service")
        assert sorted(weights.values()) in ([0, 100], [100])
        assert world.runner is not None
        hooks = {i.function_name: i.error for i in world.runner.invocations}
        assert len(hooks) == 5 and set(hooks.values()) == {None}
        # The metrics reached CloudWatch (moto) too, at virtual timestamps.
        cloudwatch = clients(world)["cloudwatch"]
        pages = cloudwatch.get_paginator("list_metrics").paginate(
            Namespace="AWS/ApplicationELB", MetricName="RequestCount"
        )
        listed = [metric for page in pages for metric in page["Metrics"]]
        groups = {d["Value"] for m in listed for d in m["Dimensions"] if d["Name"] == "TargetGroup"}
        assert len(groups) == 2


def test_alarm_during_canary_step_rolls_back(
    capsys: pytest.CaptureFixture[str], nothing_left_behind: None
) -> None:
    # The bug is in what users request (/browse), not in what the smoke checks call: with it on
    # every path, the smoke checks' 5xx (test listener, same target group) could fire the alarm
    # right as traffic shifts, before any user reached the canary, when the machine is slow.
    with start_world(["product-service"], fault="error_rate=0.5,path=/browse") as world:
        code, result = deploy(capsys, "product-service", "canary10")
        assert code == 1 and result["rolledBack"] is True, result
        info = deployment(world, result["deploymentId"])
        assert info["errorInformation"]["code"] == "ALARM_ACTIVE"
        assert "product-service-5xx-errors" in info["errorInformation"]["message"]
        assert world.evaluator is not None
        fired = [t for t in world.evaluator.history() if t.new.value == "ALARM"]
        assert fired and fired[0].alarm == "product-service-5xx-errors"
        # Caught during the 10 % step: some users saw the faulty version, but only a canary's share.
        new = replacement_versions(world)
        answered = users(world)
        exposed = [r for r in answered if r.version in new]
        assert 0 < len(exposed) < 0.2 * len(answered)
        # Traffic is back on blue.
        weights = production_weights(world, "product-service")
        assert weights.get("product-service-blue") and not weights.get("product-service-green")
        # Users see the listener through the reconciler's view (refreshed every 0.1 s when the
        # machine keeps up): wait until that view is the listener as it is, then watch new users.
        balancer, listener = world.load_balancer, world.infra[0].production_listener_arn
        assert balancer is not None
        wait_for(lambda: balancer.weights(listener) == balancer.current_weights(listener), timeout=20)
        done = world.clock.now()
        wait_for(lambda: len([r for r in users(world) if r.sent_at > done]) >= 5, timeout=20)
        assert all(r.version == "product-service:1" for r in users(world) if r.sent_at > done)


def test_promote_from_ready(
    capsys: pytest.CaptureFixture[str], nothing_left_behind: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dev in this catalog waits at Ready (STOP_DEPLOYMENT); promote (ContinueDeployment) shifts."""
    with start_world(["product-service"], catalog=PROMOTE_CATALOG) as world:
        code, created = deploy(capsys, "product-service", "all-at-once", "--no-wait")
        assert code == 0, created
        deployment_id = created["deploymentId"]
        wait_for(lambda: deployment(world, deployment_id)["status"] == "Ready", timeout=30)
        time.sleep(0.5)  # while Ready, production stays on blue
        assert not [r for r in users(world) if r.version in replacement_versions(world)]
        code, _ = bluegreen(capsys, "promote", deployment_id)
        assert code == 0
        assert wait_terminal(world, deployment_id)["status"] == "Succeeded"
        new = replacement_versions(world)
        wait_for(lambda: [r for r in users(world) if r.version in new], timeout=10)


def test_two_services_deployed_at_once(capsys: pytest.CaptureFixture[str], nothing_left_behind: None) -> None:
    services = ["product-service", "order-service"]
    with start_world(services, fault={"order-service": "error_rate=1.0"}) as world:
        ids = {}
        # all-at-once: the two run side by side from creation to the faulty one's failure before
        # Ready either way; a canary's 5-minute step after the promote would only add world time.
        for service in services:
            code, created = deploy(capsys, service, "all-at-once", "--no-wait")
            assert code == 0, created
            ids[service] = created["deploymentId"]
        # The shipped catalog's groups wait at Ready and --no-wait leaves nobody to continue: promote
        # the healthy one (the faulty one fails its smoke checks before Ready).
        healthy = ids["product-service"]
        wait_for(lambda: deployment(world, healthy)["status"] == "Ready", timeout=60)
        assert bluegreen(capsys, "promote", healthy)[0] == 0
        outcomes = {service: wait_terminal(world, ids[service], timeout=90)["status"] for service in services}
        # Each deployment group runs its own deployment: the faulty one fails alone.
        assert outcomes == {"product-service": "Succeeded", "order-service": "Failed"}
        for service in services:
            assert {r.service for r in users(world, service)} == {service}
            assert all(r.version.startswith(service) for r in users(world, service))


def test_world_leaves_nothing_behind(nothing_left_behind: None) -> None:
    before = listening_ports()
    with start_world(["product-service"]) as world:
        opened = listening_ports() - before
        # moto runs in a child process; ours: the emulator and the two listeners' routers (plus tasks).
        assert {
            world.routers["product-service:production"].port,
            world.routers["product-service:test"].port,
        } <= opened
        wait_for(lambda: users(world), timeout=10)


def test_alarms_start_ok_from_the_services_history(nothing_left_behind: None) -> None:
    """The services have been running: every alarm is OK at once, so a production gate that counts
    INSUFFICIENT_DATA as ALARM lets a healthy deployment through."""
    options = WorldOptions(time_scale=SCALE)
    with World(REPO / "services.yaml", "prod", ["product-service"], None, options) as world:
        cloudwatch = clients(world)["cloudwatch"]

        def states() -> dict[str, str]:
            alarms = cloudwatch.describe_alarms(AlarmNamePrefix="product-service-")["MetricAlarms"]
            return {a["AlarmName"]: a["StateValue"] for a in alarms}

        wait_for(lambda: set(states().values()) == {"OK"}, timeout=10)
        assert len(states()) == 4
        # The history is in CloudWatch too (the audit and the AWS CLI see it).
        dims = [
            {"Name": "ClusterName", "Value": "doa-market-cluster"},
            {"Name": "ServiceName", "Value": "product-service"},
        ]
        now = world.clock.now()
        stats = cloudwatch.get_metric_statistics(
            Namespace="AWS/ECS",
            MetricName="CPUUtilization",
            Dimensions=dims,
            StartTime=now - 900,
            EndTime=now,
            Period=300,
            Statistics=["Average"],
        )
        assert len(stats["Datapoints"]) >= 2

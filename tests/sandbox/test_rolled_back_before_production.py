"""Deployments the sandbox stops before production serves green, in ONE world (product-service,
the shipped catalog's dev): the smoke checks catch a faulty green (5xx, latency past the budget, a
smoke host that is not the load balancer), green never becomes healthy, or bluegreen stops it mid
shift. Each rolls back to blue, so the next test's deployment starts from the state the world
started in; each test stages its own fault (``Fleet.set_fault``: the next task set runs with it)
and checks what its own deployment left (by deployment id; the fleet's runs and the load balancer's
health history since the test began).

A world costs ~10 CPU-seconds to start and stop; these six used to start one each. Alarms stay as
the history left them (evaluator tick 1e6): the verdicts are the hooks' (or the stop's) on any
machine's speed, never an alarm's (a 5xx alarm on the smoke checks' errors could otherwise stop a
deployment first while a hook still retries).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from orchestrator.cli import main
from sandbox.fleet import TaskSetRun
from sandbox.moto_server import sandbox_client_factory
from sandbox.world import World
from tests.sandbox.test_full_loop import SCALE, bluegreen, deploy, leaves_nothing_behind, start_world, users
from tests.support.sandbox import (
    clients,
    deployment,
    in_shared_world,
    lifecycle_events,
    production_weights,
    wait_for,
    wait_terminal,
)
from tests.support.sandbox import stage as support_stage

pytestmark = pytest.mark.integration

SERVICE = "product-service"
FUNCTION = "bluegreen-dev-after-allow-test-traffic"


@pytest.fixture(scope="module")
def shared_world() -> Iterator[World]:
    """The module's world; when it is over, nothing it started is left (ports, children, threads)."""
    with leaves_nothing_behind(), start_world([SERVICE], evaluator_tick=1e6) as world:
        yield world


@pytest.fixture
def world(shared_world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The shared world, its environment back in this test, healthy again after it."""
    with in_shared_world(shared_world, SERVICE, monkeypatch) as made:
        yield made


def stage(world: World, fault: str | None) -> list[TaskSetRun]:
    """This test's deployment runs green with ``fault`` (None: healthy)."""
    return support_stage(world, SERVICE, fault)


def new_runs(world: World, before: list[TaskSetRun]) -> list[TaskSetRun]:
    """The replacement runs started since ``before`` (this test's deployment's green)."""
    assert world.fleet is not None
    return [run for run in world.fleet.replacement_runs() if all(run is not old for old in before)]


def test_smoke_failure_at_after_allow_test_traffic(capsys: pytest.CaptureFixture[str], world: World) -> None:
    before = stage(world, "error_rate=1.0")
    code, result = deploy(capsys, SERVICE, "canary10")
    assert code == 1 and result["rolledBack"] is True, result
    assert deployment(world, result["deploymentId"])["errorInformation"]["code"] != "ALARM_ACTIVE"
    events = lifecycle_events(world, result["deploymentId"])
    assert events["AfterAllowTestTraffic"] == "Failed"
    assert events.get("AllowTraffic") in ("Skipped", "Pending")
    # Smoke tests caught it on the test listener: no user ever reached the faulty version.
    new = {run.version for run in new_runs(world, before)}
    assert new and not [r for r in users(world) if r.version in new]


def test_latency_past_the_smoke_budget_fails_after_allow_test_traffic(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    """product-service's smoke check calls /products?limit=1 with a 1500 ms budget: 3000 ms of
    latency there fails AfterAllowTestTraffic (it passed when the task slept latency / 40)."""
    stage(world, "latency_ms=3000,path=/products")
    code, result = deploy(capsys, SERVICE, "canary10")
    assert code == 1 and result["rolledBack"] is True, result
    events = lifecycle_events(world, result["deploymentId"])
    assert events["AfterAllowTestTraffic"] == "Failed"
    assert events.get("AllowTraffic") in ("Skipped", "Pending")


def test_a_smoke_host_that_is_not_the_load_balancer_fails_after_allow_test_traffic(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, world: World
) -> None:
    """In the sandbox, smoke checks reach only the deployment group's load balancer (the routers on
    127.0.0.1, moto's DNSName for them): a catalog pointing them at another host fails the hook with
    its reason, and the deployment rolls back before any user reaches green."""
    stage(world, None)
    elbv2 = clients(world)["elbv2"]
    assert {lb["DNSName"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]} == {"127.0.0.1"}
    # The catalog's listener_host now names another loopback address (a server that is not green
    # could answer there); the hooks read it when they run.
    monkeypatch.setenv("BLUEGREEN_LISTENER_HOST", "127.0.0.2")

    capsys.readouterr()
    code = main(["deploy", SERVICE, "--time-scale", f"{SCALE:g}", "--output", "json"])
    result = json.loads(capsys.readouterr().out)

    assert code == 1 and result["rolledBack"] is True, result
    events = lifecycle_events(world, result["deploymentId"])
    assert events["AfterAllowTestTraffic"] == "Failed"
    assert result["hookFailure"]["reason"].startswith("smoke host 127.0.0.2 refused: "), result
    log = world.log_path.read_text(encoding="utf-8")
    assert (
        "smoke host 127.0.0.2 refused: it resolves to 127.0.0.2, not an address of the deployment "
        "group's load balancer 127.0.0.1 (127.0.0.1) (test listener" in log
    )


def test_green_that_never_becomes_healthy_fails_after_install(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    """Green's targets register ``initial`` (as an ALB has them until the health checks pass),
    fail their health checks, turn ``unhealthy``; AfterInstall sees it and the deployment rolls back."""
    before = stage(world, "unhealthy=1")
    assert world.load_balancer is not None
    checked = len(world.load_balancer.health_history)
    code, created = deploy(capsys, SERVICE, "canary10", "--no-wait")
    assert code == 0, created
    deployment_id = created["deploymentId"]
    elbv2 = clients(world)["elbv2"]
    green = world.infra[0].target_groups["product-service-green"]
    seen: list[str] = []

    def settled() -> bool:
        described = elbv2.describe_target_health(TargetGroupArn=green)["TargetHealthDescriptions"]
        states = sorted({d["TargetHealth"]["State"] for d in described})
        if states and (not seen or seen[-1] != ",".join(states)):
            seen.append(",".join(states))
        ended = deployment(world, deployment_id)["status"] in ("Failed", "Stopped")
        return "unhealthy" in states or ended

    wait_for(settled, timeout=30, interval=0.05)
    info = wait_terminal(world, deployment_id)
    assert info["status"] == "Failed" and info.get("rollbackInfo"), info
    assert lifecycle_events(world, deployment_id)["AfterInstall"] == "Failed"
    assert seen[0] == "initial", seen  # what DescribeTargetHealth (moto) answered first
    runs = new_runs(world, before)
    green_targets = {t for run in runs for t in run.target_ids}
    unhealthy = {t for _, t, state in world.load_balancer.health_history[checked:] if state == "unhealthy"}
    assert green_targets and unhealthy == green_targets
    new = {run.version for run in runs}
    assert not [r for r in users(world) if r.version in new]


def test_stop_mid_shift_rolls_back(capsys: pytest.CaptureFixture[str], world: World) -> None:
    stage(world, None)
    code, created = deploy(capsys, SERVICE, "canary10", "--no-wait")
    assert code == 0, created
    deployment_id = created["deploymentId"]
    # The shipped catalog's groups wait at Ready; with --no-wait nobody continues but promote.
    wait_for(lambda: deployment(world, deployment_id)["status"] == "Ready", timeout=30)
    assert bluegreen(capsys, "promote", deployment_id)[0] == 0
    wait_for(lambda: production_weights(world, SERVICE).get("product-service-green"), timeout=30)
    code, _ = bluegreen(capsys, "stop", deployment_id)
    info = wait_terminal(world, deployment_id)
    assert info["status"] == "Stopped"
    assert info.get("rollbackInfo", {}).get("rollbackDeploymentId")
    wait_for(lambda: not production_weights(world, SERVICE).get("product-service-green"), timeout=20)
    assert code in (0, 1)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(args))
    return code, capsys.readouterr().out


def test_deploy_and_status_print_the_failed_hooks_reason(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    """A failed hook says why: `deploy` and `status` print the hook's own verdict, read back from the
    CloudWatch Logs group the Lambda runner delivers each invocation's lines to (as Lambda does), and
    with --sandbox where the hook log file is. Without the logs, the plain status and one line why.
    (Last here: it deletes the hook's log group.)"""
    # Every request to green fails; alarms stay as the history left them, so the smoke checks decide.
    stage(world, "error_rate=1.0")
    code, out = run(capsys, "deploy", SERVICE, "--time-scale", f"{SCALE:g}", "--output", "json")
    result: dict[str, Any] = json.loads(out)

    assert code == 1 and result["lifecycleEvents"]["AfterAllowTestTraffic"] == "Failed", result
    failure = result["hookFailure"]
    assert failure["lifecycleEvent"] == "AfterAllowTestTraffic" and failure["function"] == FUNCTION
    assert failure["reason"].startswith(
        "health: GET /health via the test listener: status 500, expected 200 ("
    )
    assert failure["logFile"] == str(world.log_path)
    deployment_id = result["deploymentId"]

    code, out = run(capsys, "status", deployment_id)
    assert code == 0
    assert f"AfterAllowTestTraffic hook ({FUNCTION}) failed: health: GET /health via the test listener" in out
    assert f"hook log: {world.log_path}" in out

    # No log group (deleted, or never written): the plain status and one line saying why.
    logs = sandbox_client_factory(world.region)("logs", world.moto_url)
    logs.delete_log_group(logGroupName=f"/aws/lambda/{FUNCTION}")
    logs.close()
    code, out = run(capsys, "status", deployment_id, "--output", "json")
    assert code == 0
    failure = json.loads(out)["hookFailure"]
    assert failure["reason"] is None
    assert failure["reasonUnavailable"] == f"log group /aws/lambda/{FUNCTION} does not exist"
    code, out = run(capsys, "status", deployment_id)
    assert code == 0 and f"its reason is unavailable: log group /aws/lambda/{FUNCTION} does not exist" in out

"""EcsEngine.inspect and .history against the sandbox's ECS endpoint (issue 12), with the SHIPPED
services.yaml (dev runs inventory-service on Amazon ECS's own deployments).

One world, three native deployments in it (each with its own fault): a successful all-at-once, a
canary the smoke hook fails after test traffic (alarms held still: the smoke hook's verdict on any
machine), and a canary whose green tasks fail their ELB health checks. What inspect says is checked
against what the endpoint answers to boto3 and the AWS CLI (list-service-deployments,
list-tasks, describe-tasks, describe-services).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator.aws.clients import AwsClients
from orchestrator.cli import main
from orchestrator.engines.ecs import EcsEngine
from orchestrator.insight.outcome import Outcome
from sandbox.faults import HEALTHY, parse_fault
from sandbox.world import World, WorldOptions

pytestmark = pytest.mark.integration

SCALE = 100.0
REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "services.yaml"
SERVICE = "inventory-service"  # engine: ecs in dev (services.yaml)
CLUSTER = "doa-market-cluster"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, Any]]:
    """The world and the three deployments' reports (by name), made once for the module."""
    capture = _Capture()
    # Few users (0.05 a virtual second, not 1): alarms are held still and nothing here reads their
    # requests; the verdicts are the smoke hook's (test listener) and the ELB health checks'.
    options = WorldOptions(time_scale=SCALE, evaluator_tick=1e6, traffic_rate=0.05)
    with World(SHIPPED, "dev", [SERVICE], None, options) as world:
        assert world.fleet is not None
        found: dict[str, Any] = {"world": world}
        found["succeeded"] = capture.deploy("--strategy", "all-at-once")
        world.fleet.set_fault(SERVICE, parse_fault("error_rate=1.0"))
        found["smoke"] = capture.deploy("--strategy", "canary10")
        world.fleet.set_fault(SERVICE, parse_fault("unhealthy=1"))
        found["unhealthy"] = capture.deploy("--strategy", "canary10")
        world.fleet.set_fault(SERVICE, HEALTHY)
        yield found


@pytest.fixture
def live(runs: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The module's runs, with the world's environment back in this test (tests/conftest.py's
    ``_no_real_aws`` removes every AWS_ENDPOINT_URL* before each test) and an engine on it."""
    for key, value in runs["world"].env.items():
        monkeypatch.setenv(key, value)
    return {**runs, "engine": EcsEngine(AwsClients(runs["world"].region))}


class _Capture:
    """`bluegreen deploy ... --output json` in-process; its exit code and JSON report."""

    def deploy(self, *args: str) -> tuple[int, dict[str, Any]]:
        import contextlib
        import io

        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = main(["deploy", SERVICE, "--time-scale", f"{SCALE:g}", "--output", "json", *args])
        text = out.getvalue().strip()
        return code, json.loads(text[text.index("{") :]) if "{" in text else {}


def aws(*args: str) -> dict[str, Any]:
    """The AWS CLI against the sandbox's endpoints (the world's environment), its JSON answer."""
    out = subprocess.run(
        [str(BIN / "aws"), *args, "--output", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=os.environ.copy(),
    ).stdout
    return dict(json.loads(out))


def test_a_smoke_failure_shows_its_stage_reason_and_events(live: dict[str, Any]) -> None:
    code, doc = live["smoke"]
    assert code == 1 and doc["rolledBack"] is True, doc
    found = live["engine"].inspect(doc["deploymentId"])
    facts = found.facts
    assert (facts.status, facts.outcome, facts.strategy) == (
        "ROLLBACK_SUCCESSFUL",
        Outcome.ROLLED_BACK,
        "canary10",
    )
    assert facts.rollback_reason and "POST_TEST_TRAFFIC_SHIFT" in facts.rollback_reason
    assert facts.rollback_started is not None and facts.completed is not None
    assert facts.created is not None and facts.created <= facts.rollback_started <= facts.completed
    failed = found.steps[-1]
    assert (failed.name, failed.status) == ("POST_TEST_TRAFFIC_SHIFT", "Failed"), found.steps
    assert failed.hook_function and failed.hook_function.endswith("bluegreen-dev-after-allow-test-traffic")
    assert [s.status for s in found.steps[:-1]] == ["Succeeded"] * (len(found.steps) - 1)
    assert [(s.name, s.status) for s in found.rollback_steps] == [("ROLLBACK", "Succeeded")]
    assert found.traffic and all(point.green_percent == 0.0 for point in found.traffic)
    assert "inventory-service-5xx-errors" in found.alarm_names
    # green is the revision's resolved target group: the one the test listener rule moved to
    assert len(found.green_target_groups) == 1 and "inventory-service-" in found.green_target_groups[0]
    green = re.escape(found.green_target_groups[0])
    messages = [event.message for event in found.service_events]
    started = re.compile(rf"\(service {SERVICE}\) has started (\d+) tasks: (\(task [0-9a-f]{{32}}\) ?)+\.")
    assert any(started.fullmatch(m) for m in messages), messages
    assert any(
        re.fullmatch(rf"\(service {SERVICE}\) registered \d+ targets in \(target-group {green}\)", m)
        for m in messages
    ), messages
    rolling = [
        i
        for i, m in enumerate(messages)
        if m.startswith(f"(service {SERVICE}) rolling back to deployment ecs-svc/")
    ]
    assert len(rolling) == 1, messages
    # Not asserted: the rollback's closing "has reached a steady state." (missing from the window in
    # 2 of ~6 loaded runs, cause not found yet; see issue 12's closing note).
    # the next deployment's events are its own: the window ends where it was created
    later = live["engine"].inspect(live["unhealthy"][1]["deploymentId"]).facts.created
    assert later is not None and all(event.at <= later for event in found.service_events)
    assert [e.at for e in found.service_events] == sorted(e.at for e in found.service_events)
    # its green tasks stopped when the rollback scaled the revision down
    assert found.stopped_tasks and all(
        t.stopped_reason and t.stopped_reason.startswith("Scaling activity initiated by (deployment ecs-svc/")
        for t in found.stopped_tasks
    )
    assert found.unreadable == ()


def test_unhealthy_green_tasks_are_stopped_for_failing_elb_health_checks(live: dict[str, Any]) -> None:
    code, doc = live["unhealthy"]
    assert code == 1 and doc["rolledBack"] is True, doc
    found = live["engine"].inspect(doc["deploymentId"])
    green = found.green_target_groups[0]
    health = [
        t
        for t in found.stopped_tasks
        if t.stopped_reason == f"Task failed ELB health checks in (target-group {green})"
    ]
    assert health, found.stopped_tasks
    assert all(t.stop_code == "ServiceSchedulerInitiated" and t.stopped_at is not None for t in health)
    messages = [event.message for event in found.service_events]
    assert any(
        m.startswith(f"(service {SERVICE}) (task ")
        and f"is unhealthy in (target-group {green}) due to (reason " in m
        for m in messages
    ), messages
    # boto3 and the AWS CLI read the same tasks: ListTasks(serviceName, STOPPED) + DescribeTasks
    ecs = ecs_client(live["world"])
    arns = ecs.list_tasks(cluster=CLUSTER, serviceName=SERVICE, desiredStatus="STOPPED")["taskArns"]
    assert {t.task_arn for t in found.stopped_tasks} <= set(arns)
    described = aws("ecs", "describe-tasks", "--cluster", CLUSTER, "--tasks", *[t.task_arn for t in health])[
        "tasks"
    ]
    assert {t["stoppedReason"] for t in described} == {
        f"Task failed ELB health checks in (target-group {green})"
    }
    assert all(t["lastStatus"] == "STOPPED" and t["group"] == f"service:{SERVICE}" for t in described)
    # a running task is listed as RUNNING, never as stopped
    running = ecs.list_tasks(cluster=CLUSTER, serviceName=SERVICE)["taskArns"]
    assert running and not set(running) & set(arns)


def test_history_of_three_native_deployments_and_the_aws_cli_agrees(live: dict[str, Any]) -> None:
    engine: EcsEngine = live["engine"]
    world: World = live["world"]
    first = engine.inspect(live["succeeded"][1]["deploymentId"]).facts
    assert first.outcome is Outcome.SUCCEEDED and first.created is not None
    service = world.catalog.resolve(SERVICE, "dev")
    records = engine.history(service, first.created)
    ids = [live[name][1]["deploymentId"] for name in ("unhealthy", "smoke", "succeeded")]
    assert [r.deployment_id for r in records] == ids  # newest first; since is inclusive
    assert [r.outcome for r in records] == [Outcome.ROLLED_BACK, Outcome.ROLLED_BACK, Outcome.SUCCEEDED]
    assert records[1].rolled_back_by == "POST_TEST_TRAFFIC_SHIFT hook"
    assert all(r.task_definition and r.image for r in records), records
    assert [r.strategy for r in records] == ["canary10", "canary10", "all-at-once"]
    # from further back: CreateService's own deployment too
    assert len(engine.history(service, first.created - timedelta(days=1))) == 4
    # the AWS CLI lists the same three, newest first (ListServiceDeployments has no paginator in
    # botocore: the CLI sends --max-results and --next-token as given)
    after = (first.created - timedelta(milliseconds=1)).isoformat()
    window = f"after={after}"
    listed = aws(
        "ecs", "list-service-deployments", "--cluster", CLUSTER, "--service", SERVICE, "--created-at", window
    )
    assert [d["serviceDeploymentArn"] for d in listed["serviceDeployments"]] == ids
    assert [d["status"] for d in listed["serviceDeployments"]] == [r.status for r in records]
    # one a page: the endpoint's nextToken walks the same three
    ecs = ecs_client(world)
    request: dict[str, Any] = {
        "cluster": CLUSTER,
        "service": SERVICE,
        "createdAt": {"after": first.created - timedelta(milliseconds=1)},
        "maxResults": 1,
    }
    paged: list[str] = []
    for _ in range(5):
        page = ecs.list_service_deployments(**request)
        paged += [d["serviceDeploymentArn"] for d in page["serviceDeployments"]]
        if "nextToken" not in page:
            break
        request["nextToken"] = page["nextToken"]
    assert paged == ids


_CLIENTS: dict[str, Any] = {}


def ecs_client(world: World) -> Any:
    """boto3 on the sandbox's ECS endpoint (made once: a client costs ~0.5 s to make)."""
    import boto3

    if world.native_ecs_url not in _CLIENTS:
        _CLIENTS[world.native_ecs_url] = boto3.client(
            "ecs", endpoint_url=world.native_ecs_url, region_name=world.region
        )
    return _CLIENTS[world.native_ecs_url]


def test_the_services_events_read_back_newest_first_at_most_100(live: dict[str, Any]) -> None:
    events = aws("ecs", "describe-services", "--cluster", CLUSTER, "--services", SERVICE)["services"][0][
        "events"
    ]
    assert 0 < len(events) <= 100
    times = [e["createdAt"] for e in events]
    assert times == sorted(times, reverse=True)
    assert all(e["message"].startswith(f"(service {SERVICE})") and e["id"] for e in events)

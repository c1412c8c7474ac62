"""Issue 11's "done when", end to end on the ECS engine: bluegreen's own commands (in-process)
against moto + the sandbox's ECS endpoint (native service deployments) + the fleet + the load
balancer's listener rules + the real hooks, with the SHIPPED services.yaml, whose dev runs
inventory-service on Amazon ECS's own deployments.

The deployments that need the alarm evaluator (or another service) start their own world; the
rest run one after another in one world (the module's, alarms held as the history left them: the
verdicts are the hooks' and ECS's on any machine), each checking its own deployment (by ARN; the
fleet's runs since it began; the production rule's target group as the test found it), since a
world costs ~10 CPU-seconds to start and stop. What bluegreen reports is checked against what the ECS endpoint
says (boto3 and the AWS CLI's `aws ecs describe-service-deployments`), and against where the
users' requests went.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from orchestrator.cli import main
from sandbox.fleet import TaskSetRun
from sandbox.world import World, WorldOptions
from tests.support.sandbox import clients, in_shared_world
from tests.support.sandbox import stage as support_stage

pytestmark = pytest.mark.integration

SCALE = 40.0
# The shared world's deployments are about what ECS and bluegreen decide, with alarms held still:
# no verdict there rests on timing, so its virtual minutes pass 2.5 times faster (users still 1 per
# virtual second: the same requests per deployment reach the listeners).
SHARED_SCALE = 100.0
REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "services.yaml"
SERVICE = "inventory-service"  # engine: ecs in dev (services.yaml)
BIN = Path(sys.executable).parent


def bluegreen(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    capsys.readouterr()
    code = main([*args, "--output", "json"])
    captured = capsys.readouterr()
    out = captured.out.strip()
    return code, (json.loads(out) if out.startswith("{") else {}), captured.err


def deploy(
    capsys: pytest.CaptureFixture[str], *extra: str, scale: float = SHARED_SCALE
) -> tuple[int, dict[str, Any], str]:
    return bluegreen(capsys, "deploy", SERVICE, "--time-scale", f"{scale:g}", *extra)


def world(
    fault: str | None = None,
    services: list[str] | None = None,
    evaluator_tick: float = 10.0,
    scale: float = SCALE,
) -> World:
    options = WorldOptions(time_scale=scale, evaluator_tick=evaluator_tick)
    return World(SHIPPED, "dev", services or [SERVICE], fault, options)


@pytest.fixture(scope="module")
def shared_world() -> Iterator[World]:
    with world(evaluator_tick=1e6, scale=SHARED_SCALE) as w:
        yield w


@pytest.fixture
def w(shared_world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The shared world, its environment back in this test, healthy again after it."""
    with in_shared_world(shared_world, SERVICE, monkeypatch) as made:
        yield made


def stage(w: World, fault: str | None = None) -> list[TaskSetRun]:
    """This test's deployment runs green with ``fault`` (None: healthy)."""
    return support_stage(w, SERVICE, fault)


def versions_since(w: World, before: list[TaskSetRun]) -> set[str]:
    """The versions of the replacement runs started since ``before`` (this test's green)."""
    assert w.fleet is not None
    return {run.version for run in w.fleet.replacement_runs() if all(run is not old for old in before)}


def serving(w: World) -> str:
    """The target group the production rule forwards everything to now."""
    (name,) = [name for name, weight in rule_weights(w).items() if weight == 100]
    return name


def ecs_deployment(w: World, arn: str) -> dict[str, Any]:
    """The service deployment as the sandbox's ECS endpoint (not moto, which has none) describes it."""
    ecs = boto3.client("ecs", endpoint_url=w.native_ecs_url, region_name=os.environ["AWS_DEFAULT_REGION"])
    found = ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"]
    ecs.close()
    assert len(found) == 1
    return dict(found[0])


def rule_weights(world: World, listener: str = "production", service: str = SERVICE) -> dict[str, int]:
    """Target group name -> weight on the service's production (or test) listener rule, per moto."""
    elbv2 = clients(world)["elbv2"]
    infra = next(item for item in world.infra if item.name == service)
    names = {arn: name for name, arn in infra.target_groups.items()}
    arn = infra.production_listener_arn if listener == "production" else infra.test_listener_arn
    rules = [r for r in elbv2.describe_rules(ListenerArn=arn)["Rules"] if not r["IsDefault"]]
    assert len(rules) == 1, rules
    out: dict[str, int] = {}
    for action in rules[0]["Actions"]:
        for group in (action.get("ForwardConfig") or {}).get("TargetGroups") or []:
            out[names[group["TargetGroupArn"]]] = int(group.get("Weight", 1))
    return out


def users_on(world: World, version_prefix: str) -> list[Any]:
    assert world.traffic is not None
    return [r for r in world.traffic.snapshot(SERVICE) if (r.version or "").startswith(version_prefix)]


def aws_cli_deployment(arn: str) -> dict[str, Any]:
    """What the AWS CLI (against the sandbox's ECS endpoint) says of a service deployment."""
    out = subprocess.run(
        [str(BIN / "aws"), "ecs", "describe-service-deployments", "--service-deployment-arns", arn],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=os.environ.copy(),
    ).stdout
    found = json.loads(out)["serviceDeployments"]
    assert len(found) == 1
    return found[0]


# Each in a world of its own: the alarm evaluator runs (every 10 virtual s); another service.


def test_error_rate_fault_is_stopped_by_the_alarm_and_rolled_back(capsys: pytest.CaptureFixture[str]) -> None:
    with world(fault="error_rate=0.5") as w:
        # ECS's alarm monitoring or its alarm gate stops it here: the watcher leaves it to them.
        code, doc, err = deploy(capsys, "--strategy", "canary10", "--no-stop-on-alarm", scale=SCALE)
        assert code == 1, (doc, err)
        assert doc["engine"] == "ecs" and doc["rolledBack"] is True and doc["status"] == "Failed"
        described = aws_cli_deployment(doc["deploymentId"])
        assert described["status"] == "ROLLBACK_SUCCESSFUL"
        # The 5xx alarm stopped it: ECS's own alarm monitoring (triggeredAlarmNames), or the alarm
        # gate ECS runs before each production step (BeforeAllowTraffic's hook at
        # PRE_PRODUCTION_TRAFFIC_SHIFT), whichever looks first after the alarm fires.
        triggered = described["alarms"].get("triggeredAlarmNames") or []
        gate = (doc.get("hookFailure") or {}).get("reason") or ""
        assert (
            "inventory-service-5xx-errors" in triggered or "in ALARM: inventory-service-5xx-errors" in gate
        ), (
            described,
            doc,
        )
        # Traffic is back on the original revision.
        assert rule_weights(w) == {"inventory-service-blue": 100, "inventory-service-green": 0}


def test_migrate_then_deploy_moves_a_codedeploy_service_to_native(capsys: pytest.CaptureFixture[str]) -> None:
    with world(services=["product-service"]) as w:
        code, _plan, err = bluegreen(capsys, "migrate", "product-service")
        assert code == 0, err
        before = clients(w)["ecs"].describe_services(
            cluster="doa-market-cluster", services=["product-service"]
        )
        assert before["services"][0]["deploymentController"]["type"] == "CODE_DEPLOY"
        code, applied, err = bluegreen(capsys, "migrate", "product-service", "--apply")
        assert code == 0, (applied, err)
        after = clients(w)["ecs"].describe_services(
            cluster="doa-market-cluster", services=["product-service"]
        )
        assert after["services"][0]["deploymentController"]["type"] == "ECS"
        # Idempotent: a second --apply changes nothing.
        code, _again, err = bluegreen(capsys, "migrate", "product-service", "--apply")
        assert code == 0, err
        # all-at-once: what this proves is that the migrated service deploys natively to the end; a
        # native canary (5 virtual minutes more, ~8 s here) is test_canary10_succeeds_and_the_aws_cli_agrees'.
        code, doc, err = bluegreen(
            capsys,
            "deploy",
            "product-service",
            "--engine",
            "ecs",
            "--strategy",
            "all-at-once",
            "--time-scale",
            f"{SCALE:g}",
        )
        assert code == 0 and doc["engine"] == "ecs" and doc["status"] == "Succeeded", (doc, err)
        assert aws_cli_deployment(doc["deploymentId"])["status"] == "SUCCESSFUL"
        weights = rule_weights(w, service="product-service")
        assert sorted(weights.values()) == [0, 100]


# One world for the rest, one deployment after another (the fixture ``w``).


def users_on_any(w: World, versions: set[str]) -> list[Any]:
    assert w.traffic is not None
    return [r for r in w.traffic.snapshot(SERVICE) if r.version in versions]


def test_smoke_visible_fault_fails_before_production_traffic_moves(
    capsys: pytest.CaptureFixture[str], w: World
) -> None:
    before, live = stage(w, "error_rate=1.0"), serving(w)
    code, doc, err = deploy(capsys, "--strategy", "canary10")
    assert code == 1 and doc["rolledBack"] is True, (doc, err)
    assert doc["hookFailure"]["function"] == "bluegreen-dev-after-allow-test-traffic", doc
    assert not ecs_deployment(w, doc["deploymentId"])["alarms"].get("triggeredAlarmNames")
    # The smoke checks caught it on the test listener: no user ever reached the faulty version.
    new = versions_since(w, before)
    assert new and not users_on_any(w, new)
    assert rule_weights(w)[live] == 100


def test_stop_rolls_back(capsys: pytest.CaptureFixture[str], w: World) -> None:
    stage(w)
    live = serving(w)
    code, doc, err = deploy(capsys, "--strategy", "canary10", "--until", "ready")
    assert code == 0 and doc["status"] == "Ready", (doc, err)
    arn = doc["deploymentId"]
    code, _, err = bluegreen(capsys, "stop", arn)
    assert code in (0, 1), err
    code, watched, err = bluegreen(capsys, "watch", arn, "--time-scale", f"{SHARED_SCALE:g}")
    assert code == 1 and watched["rolledBack"] is True and watched["status"] == "Stopped", (watched, err)
    assert aws_cli_deployment(arn)["status"] == "ROLLBACK_SUCCESSFUL"
    assert rule_weights(w)[live] == 100


def test_until_ready_then_promote_completes(capsys: pytest.CaptureFixture[str], w: World) -> None:
    before, live = stage(w), serving(w)
    (other,) = set(rule_weights(w)) - {live}
    code, doc, err = deploy(capsys, "--strategy", "all-at-once", "--until", "ready")
    assert code == 0 and doc["status"] == "Ready", (doc, err)
    arn = doc["deploymentId"]
    paused = ecs_deployment(w, arn)
    assert [h["status"] for h in paused["lifecycleHookDetails"] if h["targetType"] == "PAUSE"] == [
        "AWAITING_ACTION"
    ]
    # While paused, production stays on the original revision.
    assert rule_weights(w)[live] == 100
    assert not users_on_any(w, versions_since(w, before))
    code, _, err = bluegreen(capsys, "promote", arn)
    assert code == 0, err
    code, watched, err = bluegreen(capsys, "watch", arn, "--time-scale", f"{SHARED_SCALE:g}")
    assert code == 0 and watched["status"] == "Succeeded", (watched, err)
    assert aws_cli_deployment(arn)["status"] == "SUCCESSFUL"
    assert rule_weights(w)[other] == 100


def test_canary10_succeeds_and_the_aws_cli_agrees(capsys: pytest.CaptureFixture[str], w: World) -> None:
    stage(w)
    code, doc, err = deploy(capsys, "--strategy", "canary10")
    assert code == 0, (doc, err)
    assert doc["engine"] == "ecs" and doc["status"] == "Succeeded" and doc["rolledBack"] is False
    assert doc["deploymentId"].startswith("arn:aws:ecs:") and ":service-deployment/" in doc["deploymentId"]
    weights = rule_weights(w)
    assert sorted(weights.values()) == [0, 100]
    described = aws_cli_deployment(doc["deploymentId"])
    assert described["status"] == "SUCCESSFUL"
    assert described["deploymentConfiguration"]["strategy"] == "CANARY"
    assert described["deploymentConfiguration"]["canaryConfiguration"]["canaryPercent"] == 10.0
    # status reads the same deployment back the same way.
    code, status, _ = bluegreen(capsys, "status", doc["deploymentId"])
    assert code == 0 and status["status"] == "Succeeded" and status["engine"] == "ecs"


def test_promote_without_a_waiting_pause_is_bad_input(capsys: pytest.CaptureFixture[str], w: World) -> None:
    stage(w)
    code, doc, err = deploy(capsys, "--strategy", "all-at-once")
    assert code == 0, (doc, err)
    code, _, err = bluegreen(capsys, "promote", doc["deploymentId"])
    assert code == 2 and "no lifecycle hook is waiting" in err and "Traceback" not in err


def test_status_of_the_service_and_rollback_to_the_previous_revision(
    capsys: pytest.CaptureFixture[str], w: World
) -> None:
    stage(w)
    ecs = clients(w)["ecs"]

    def revision() -> str:
        return str(
            ecs.describe_services(cluster="doa-market-cluster", services=[SERVICE])["services"][0][
                "taskDefinition"
            ]
        )

    previous = revision()  # what the service ran before this test (":1" in a fresh world)
    code, first, err = deploy(capsys, "--strategy", "all-at-once")
    assert code == 0, (first, err)
    assert revision() != previous
    # status SERVICE: the service's latest deployment, by the engine the catalog names.
    code, status, err = bluegreen(capsys, "status", SERVICE)
    assert code == 0 and status["deploymentId"] == first["deploymentId"] and status["engine"] == "ecs", err
    code, back, err = bluegreen(
        capsys, "rollback", SERVICE, "--strategy", "all-at-once", "--time-scale", f"{SHARED_SCALE:g}"
    )
    assert code == 0 and back["status"] == "Succeeded", (back, err)
    assert back["deploymentId"] != first["deploymentId"]
    assert revision() == previous
    assert aws_cli_deployment(back["deploymentId"])["status"] == "SUCCESSFUL"

"""`deploy --engine ecs`, `watch` and `promote` watching Amazon ECS's native deployments through the
CLI, the real EcsEngine and the fakes (tests/support/fakes.py's FakeEcs answering
DescribeServiceDeployments from a script): the same report, exit codes and ETA as CodeDeploy's, in
ECS's stage names; deploy releases the PAUSE hook itself, --until ready leaves it to promote."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from orchestrator.catalog import load_catalog
from orchestrator.strategies import parse_strategy
from orchestrator.vocabulary import NATIVE_LIFECYCLE_STAGES
from orchestrator.watching.timing import GroupTiming, expected_duration
from tests.support.cli import run_cli, shown
from tests.support.fakes import ACCOUNT, REGION, FakeClients, FakeEcs

CLUSTER, SERVICE = "doa-market-cluster", "product-service"
TASK = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{SERVICE}:"
FAST = ("--time-scale", "1000", "--timeout", "600")  # polls 5-30 ms apart; a timeout never reached
CANARY_CONFIG = {
    "strategy": "CANARY",
    "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5},
    "bakeTimeInMinutes": 15,
}
PAUSE = {"hookId": "pause-1", "targetType": "PAUSE", "status": "AWAITING_ACTION", "timeoutAction": "ROLLBACK"}
CODEDEPLOY_WORDS = ("CodeDeploy", "lifecycle event", "BeforeInstall", "AllowTraffic")


def at(stage: str, green: float = 0.0, status: str = "IN_PROGRESS", **more: Any) -> dict[str, Any]:
    """What DescribeServiceDeployments says next: ``status`` at ``stage``, ``green`` % on the target."""
    return {
        "status": status,
        "lifecycleStage": stage,
        "sourceServiceRevisions": [{"arn": "source", "requestedProductionTrafficWeight": 100.0 - green}],
        "targetServiceRevision": {"arn": "target", "requestedProductionTrafficWeight": green},
        "lifecycleHookDetails": [],
        **more,
    }


TO_TEST_TRAFFIC = [
    at("PRE_SCALE_UP"),
    at("SCALE_UP"),
    at("TEST_TRAFFIC_SHIFT"),
    at("POST_TEST_TRAFFIC_SHIFT"),
]
TO_THE_END = [
    at("PRODUCTION_TRAFFIC_SHIFT", 10.0),
    at("PRODUCTION_TRAFFIC_SHIFT", 100.0),
    at("POST_PRODUCTION_TRAFFIC_SHIFT", 100.0),
    at("BAKE_TIME", 100.0),
    at("CLEAN_UP", 100.0, "SUCCESSFUL"),
]
WAITING = at("POST_TEST_TRAFFIC_SHIFT", lifecycleHookDetails=[PAUSE])
ALARMED = {"status": "TRIGGERED", "triggeredAlarmNames": ["product-service-5xx-errors"]}


class ScriptedEcs(FakeEcs):
    """FakeEcs whose service deployments answer ``before`` one DescribeServiceDeployments at a time
    (the last one kept) until ContinueServiceDeployment released its PAUSE hook, then ``after``."""

    def __init__(self, counter: Any, before: list[dict[str, Any]], after: list[dict[str, Any]]) -> None:
        super().__init__(counter)
        self.before, self.after = list(before), list(after)
        self.continued = False

    def describe_service_deployments(self, serviceDeploymentArns: list[str]) -> dict[str, Any]:
        script = self.after if self.continued else self.before
        for arn in serviceDeploymentArns:
            if arn in self.service_deployments and script:
                # a copy: ContinueServiceDeployment changes the stored hook, never the script
                answer = script.pop(0) if len(script) > 1 else script[0]
                self.service_deployments[arn].update(copy.deepcopy(answer))
        return {
            "serviceDeployments": [dict(self.service_deployments[a]) for a in serviceDeploymentArns],
            "failures": [],
        }

    def continue_service_deployment(
        self, serviceDeploymentArn: str, hookId: str, action: str = "CONTINUE"
    ) -> Any:
        answer = super().continue_service_deployment(serviceDeploymentArn, hookId, action)
        self.continued = True
        return answer


def world(
    monkeypatch: pytest.MonkeyPatch, before: list[dict[str, Any]], after: list[dict[str, Any]] | None = None
) -> FakeClients:
    """product-service's ECS service (native controller), its target groups and listener rules, and
    the service deployments' script; every command of the test talks to it."""
    clients = FakeClients()
    clients.ecs = ScriptedEcs(clients.counter, before, after or [])
    clients._by_name = {**clients._by_name, "ecs": clients.ecs}
    clients.ecs.services[(CLUSTER, SERVICE)] = {
        "serviceName": SERVICE,
        "status": "ACTIVE",
        "deploymentController": {"type": "ECS"},
        "taskDefinition": f"{TASK}1",
    }
    elbv2 = clients.elbv2
    blue, green = elbv2.add_target_group(f"{SERVICE}-blue"), elbv2.add_target_group(f"{SERVICE}-green")
    balancer = elbv2.add_load_balancer("doa-market-dev-alb")
    forward = {
        "Type": "forward",
        "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": blue, "Weight": 100}, {"TargetGroupArn": green, "Weight": 0}]
        },
    }
    resolved = load_catalog(None).resolve(SERVICE, "dev")
    for port in (resolved.production_listener_port, resolved.test_listener_port):
        elbv2.add_listener(balancer, port, [{"Actions": [forward]}])
    monkeypatch.setattr("orchestrator.commands.session.Session.clients", lambda self, region=None: clients)
    return clients


def continues(clients: FakeClients) -> list[dict[str, Any]]:
    return [request for name, request in clients.ecs.requests if name == "ContinueServiceDeployment"]


def test_watch_follows_a_native_canary_in_ecs_stage_names(monkeypatch: pytest.MonkeyPatch) -> None:
    clients = world(monkeypatch, [at("RECONCILE_SERVICE", status="PENDING"), *TO_TEST_TRAFFIC, *TO_THE_END])
    arn = clients.ecs.add_service_deployment(
        CLUSTER, SERVICE, f"{TASK}2", status="PENDING", deploymentConfiguration=CANARY_CONFIG
    )

    result = run_cli("watch", arn, *FAST)

    assert result.code == 0, shown(result)
    assert f"watching {arn} ({SERVICE}, canary10)" in result.stdout
    for stage in NATIVE_LIFECYCLE_STAGES[1:]:
        assert f" {stage} " in result.stdout, stage
    assert "traffic                       blue 90% / green 10%" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("succeeded in ")
    assert not any(word in result.stdout + result.stderr for word in CODEDEPLOY_WORDS)


def test_the_watch_report_of_a_native_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    clients = world(monkeypatch, [*TO_TEST_TRAFFIC, *TO_THE_END])
    arn = clients.ecs.add_service_deployment(
        CLUSTER, SERVICE, f"{TASK}2", status="PENDING", deploymentConfiguration=CANARY_CONFIG
    )

    document = run_cli("watch", arn, *FAST, "-o", "json").json()

    assert (document["engine"], document["outcome"], document["exitCode"]) == ("ecs", "succeeded", 0)
    assert list(document["lifecycleEvents"]) == list(NATIVE_LIFECYCLE_STAGES)
    # the expected duration is the native phases' from ECS's own configuration
    timing = GroupTiming.from_deployment_configuration(CANARY_CONFIG)
    assert document["expectedSeconds"] < expected_duration(parse_strategy("canary10"), timing) + 200
    assert document["expectedSeconds"] >= expected_duration(parse_strategy("canary10"), timing)


def test_deploy_releases_the_pause_hook_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    clients = world(monkeypatch, [*TO_TEST_TRAFFIC, WAITING], TO_THE_END)

    result = run_cli("deploy", SERVICE, "--engine", "ecs", *FAST, "-o", "json")

    assert result.code == 0, shown(result)
    document = result.json()
    assert (document["engine"], document["status"], document["outcome"]) == ("ecs", "Succeeded", "succeeded")
    assert [(c["hookId"], c["action"]) for c in continues(clients)] == [("pause-1", "CONTINUE")]
    statuses = [e["to"] for e in document["events"] if e["kind"] == "status"]
    assert "Ready" in statuses and statuses[-1] == "Succeeded"


def test_until_ready_stops_at_the_pause_and_promote_releases_it(monkeypatch: pytest.MonkeyPatch) -> None:
    clients = world(monkeypatch, [*TO_TEST_TRAFFIC, WAITING], TO_THE_END)

    result = run_cli("deploy", SERVICE, "--engine", "ecs", *FAST, "--until", "ready")

    assert result.code == 0, shown(result)
    assert continues(clients) == []
    arn = next(iter(clients.ecs.service_deployments))
    assert "ready in " in result.stdout and f"bluegreen promote {arn}" in result.stdout
    assert not any(word in result.stdout for word in CODEDEPLOY_WORDS)

    promoted = run_cli("promote", arn)

    assert promoted.code == 0, shown(promoted)
    assert [c["hookId"] for c in continues(clients)] == ["pause-1"]


def test_an_alarm_rollback_exits_1_rolled_back(monkeypatch: pytest.MonkeyPatch) -> None:
    rolled_back = at(
        "PRODUCTION_TRAFFIC_SHIFT",
        status="ROLLBACK_SUCCESSFUL",
        alarms=ALARMED,
        statusReason="alarm product-service-5xx-errors in ALARM",
        rollback={"reason": "alarm product-service-5xx-errors in ALARM"},
    )
    world(monkeypatch, [*TO_TEST_TRAFFIC, at("PRODUCTION_TRAFFIC_SHIFT", 10.0), rolled_back])

    result = run_cli("deploy", SERVICE, "--engine", "ecs", *FAST, "-o", "json")

    assert result.code == 1, shown(result)
    document = result.json()
    assert (document["status"], document["outcome"], document["rolledBack"]) == (
        "Failed",
        "rolled back",
        True,
    )
    assert document["rollbackDeploymentId"] == document["deploymentId"]
    assert "product-service-5xx-errors" in document["error"]
    assert "rolled back within the deployment" in result.stderr
    assert not any(word in result.stderr for word in CODEDEPLOY_WORDS)


def test_status_lists_the_native_stages_apart_from_their_status(monkeypatch: pytest.MonkeyPatch) -> None:
    clients = world(monkeypatch, [at("POST_PRODUCTION_TRAFFIC_SHIFT", 100.0)])
    arn = clients.ecs.add_service_deployment(
        CLUSTER, SERVICE, f"{TASK}2", status="IN_PROGRESS", deploymentConfiguration=CANARY_CONFIG
    )

    result = run_cli("status", arn)

    assert result.code == 0, shown(result)
    lines = result.stdout.splitlines()
    assert "  PRODUCTION_TRAFFIC_SHIFT      Succeeded" in lines
    assert "  POST_PRODUCTION_TRAFFIC_SHIFT InProgress" in lines
    assert "  BAKE_TIME                     Pending" in lines


def test_an_interrupt_before_the_watch_says_amazon_ecs_keeps_the_deployment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clients = world(monkeypatch, [at("SCALE_UP")])
    arn = clients.ecs.add_service_deployment(CLUSTER, SERVICE, f"{TASK}2", status="IN_PROGRESS")

    def interrupted(*_: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr("orchestrator.commands.lookup.deployment_engine", interrupted)
    result = run_cli("watch", arn)

    assert result.code == 130, shown(result)
    assert f"interrupted; deployment {arn} keeps running in Amazon ECS: re-attach with" in result.stderr

"""EcsEngine on the fakes: plan (offline and read), the refusal while a service deployment is in
flight, start exactly once, snapshots, stop, promote (and its refusal), rollback's choice and
engine_for by service and by id."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from orchestrator.catalog import ResolvedService, load_catalog
from orchestrator.commands.rollback import previous_revision
from orchestrator.engines import engine_for
from orchestrator.engines.base import DeployInputs, RollbackWait
from orchestrator.engines.ecs import EcsEngine, strategy_for_native
from orchestrator.engines.ecs_plan import InFlightDeploymentError
from orchestrator.errors import AwsError, BadInputError, GuardrailError
from orchestrator.strategies import parse_strategy
from orchestrator.vocabulary import DeploymentStatus, EngineName
from orchestrator.watching.timing import GroupTiming
from tests.support.fakes import ACCOUNT, REGION, FakeClients, client_error

CLUSTER, SERVICE = "doa-market-cluster", "product-service"
TASK = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{SERVICE}:"


def service(**deployment: Any) -> ResolvedService:
    found = load_catalog(None).resolve(SERVICE, "dev")
    settings = found.settings.model_copy(update={"engine": EngineName.ECS})
    if deployment:
        settings = settings.model_copy(
            update={"deployment": settings.deployment.model_copy(update=deployment)}
        )
    return dataclasses.replace(found, settings=settings)


def world(controller: str = "ECS", production_on_green: bool = False) -> FakeClients:
    """The AWS the plan reads: the ECS service, its target groups, one rule per listener."""
    clients = FakeClients()
    clients.ecs.services[(CLUSTER, SERVICE)] = {
        "serviceName": SERVICE,
        "status": "ACTIVE",
        "deploymentController": {"type": controller},
        "taskDefinition": f"{TASK}1",
    }
    elbv2 = clients.elbv2
    blue, green = elbv2.add_target_group(f"{SERVICE}-blue"), elbv2.add_target_group(f"{SERVICE}-green")
    balancer = elbv2.add_load_balancer("doa-market-dev-alb")
    weights = {blue: 0, green: 100} if production_on_green else {blue: 100, green: 0}
    forward = {
        "Type": "forward",
        "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": g, "Weight": w} for g, w in weights.items()]},
    }
    resolved = service()
    for port in (resolved.production_listener_port, resolved.test_listener_port):
        elbv2.add_listener(balancer, port, [{"Actions": [forward]}])
    return clients


def inputs(strategy: str = "canary10", **more: Any) -> DeployInputs:
    return DeployInputs(
        service=more.pop("service", None) or service(), strategy=parse_strategy(strategy), **more
    )


def writes(clients: FakeClients) -> list[str]:
    return [name for name, _ in clients.ecs.requests]


# --- plan ------------------------------------------------------------------------------------------------


def test_the_dry_run_plan_makes_no_aws_call_and_shows_the_update_service_request() -> None:
    clients = FakeClients()
    plan = EcsEngine(clients).plan(inputs("canary10"), offline=True)

    assert sum(clients.counter.calls.values()) == 0
    request = plan.update_request()
    assert (request["cluster"], request["service"]) == (CLUSTER, SERVICE)
    assert request["deploymentController"] == {"type": "ECS"}
    assert request["deploymentConfiguration"]["strategy"] == "CANARY"
    assert request["loadBalancers"][0]["advancedConfiguration"]["productionListenerRule"].startswith(
        "<rule of"
    )
    assert plan.config_name == "ecs:CANARY:10:5"
    assert any("DescribeRules" in read for read in plan.skipped_reads)
    document = plan.dry_run_document(600.0)
    assert (document.engine, document.update_service) == ("ecs", request)
    assert "UpdateService request" in plan.dry_run_text(600.0)


@pytest.mark.parametrize(
    ("production_on_green", "blue", "green"), [(False, "blue", "green"), (True, "green", "blue")]
)
def test_the_plan_reads_which_group_serves_production_now(
    production_on_green: bool, blue: str, green: str
) -> None:
    # ECS swaps the groups' roles after each deployment: the one the production rule weighs most is
    # UpdateService's targetGroupArn, the other the alternate the new revision starts behind.
    clients = world(production_on_green=production_on_green)
    plan = EcsEngine(clients).plan(inputs())

    balancer = plan.load_balancers[0]
    groups = clients.elbv2.target_groups
    assert balancer["targetGroupArn"] == groups[f"{SERVICE}-{blue}"]
    assert balancer["advancedConfiguration"]["alternateTargetGroupArn"] == groups[f"{SERVICE}-{green}"]
    rules = [r["RuleArn"] for rules in clients.elbv2.rules.values() for r in rules if not r["IsDefault"]]
    advanced = balancer["advancedConfiguration"]
    assert [advanced["productionListenerRule"], advanced["testListenerRule"]] == rules
    assert writes(clients) == []


def test_a_native_service_names_its_own_rules_whatever_the_listener_ports() -> None:
    # A native blue/green service carries its target groups and listener rules (DescribeServices'
    # loadBalancers[].advancedConfiguration): the listeners need not be on the catalog's ports (the
    # sandbox picks free ones), and the production rule's weights still say which group is blue.
    clients = FakeClients()
    elbv2 = clients.elbv2
    blue, green = elbv2.add_target_group(f"{SERVICE}-blue"), elbv2.add_target_group(f"{SERVICE}-green")
    balancer = elbv2.add_load_balancer("doa-market-dev-alb")
    targets = [{"TargetGroupArn": blue, "Weight": 0}, {"TargetGroupArn": green, "Weight": 100}]
    forward = {"Type": "forward", "ForwardConfig": {"TargetGroups": targets}}
    production, test = (
        elbv2.add_listener(balancer, port, [{"Actions": [forward]}]) for port in (40001, 40002)
    )
    rule = {listener: elbv2.rules[listener][1]["RuleArn"] for listener in (production, test)}
    advanced = {
        "alternateTargetGroupArn": green,
        "productionListenerRule": rule[production],
        "testListenerRule": rule[test],
        "roleArn": "arn:aws:iam::123456789012:role/infra",
    }
    clients.ecs.services[(CLUSTER, SERVICE)] = {
        "serviceName": SERVICE,
        "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{SERVICE}",
        "status": "ACTIVE",
        "loadBalancers": [{"targetGroupArn": blue, "advancedConfiguration": advanced}],
    }

    plan = EcsEngine(clients).plan(inputs())

    sent = plan.load_balancers[0]
    assert (sent["targetGroupArn"], sent["advancedConfiguration"]["alternateTargetGroupArn"]) == (green, blue)
    assert sent["advancedConfiguration"]["productionListenerRule"] == rule[production]
    assert sent["advancedConfiguration"]["testListenerRule"] == rule[test]
    assert clients.counter.calls["elastic-load-balancing-v2:DescribeListeners"] == 0
    assert clients.counter.calls["ecs:DescribeServices"] == 1


def test_a_code_deploy_service_is_refused_with_the_way_to_migrate_it() -> None:
    with pytest.raises(
        BadInputError, match=r"uses the CODE_DEPLOY deployment controller, not ECS; move it with"
    ):
        EcsEngine(world(controller="CODE_DEPLOY")).plan(inputs())


# --- start -----------------------------------------------------------------------------------------------


def test_start_registers_the_task_definition_and_updates_the_service_once() -> None:
    clients = world()
    engine = EcsEngine(clients)
    started = engine.start(engine.plan(inputs()))

    assert started.deployment_id in clients.ecs.service_deployments
    assert (started.attempts, started.recovered) == (1, False)
    assert writes(clients) == ["UpdateService"]
    assert clients.counter.calls["ecs:RegisterTaskDefinition"] == 1
    sent = clients.ecs.requests[0][1]
    assert sent["taskDefinition"] == started.task_definition_arn
    assert sent["deploymentConfiguration"]["strategy"] == "CANARY"


@pytest.mark.parametrize("status", ["PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_IN_PROGRESS"])
def test_start_refuses_while_a_service_deployment_is_in_flight(status: str) -> None:
    clients = world()
    running = clients.ecs.add_service_deployment(CLUSTER, SERVICE, f"{TASK}1", status=status)
    engine = EcsEngine(clients)

    with pytest.raises(InFlightDeploymentError) as refused:
        engine.start(engine.plan(inputs()))

    assert refused.value.exit_code == 2
    assert f"already runs service deployment {running} ({status})" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert writes(clients) == [] and clients.counter.calls["ecs:RegisterTaskDefinition"] == 0


def _ambiguous() -> Exception:
    return client_error("UpdateService", "ServerException", "dropped", status=500)


def test_an_ambiguous_update_that_was_applied_is_found_not_sent_again() -> None:
    clients = world()
    clients.ecs.update_errors = [_ambiguous()]
    clients.ecs.applied_before_error = True
    engine = EcsEngine(clients)
    plan = engine.plan(inputs())

    started = _start_without_sleeping(engine, plan)

    assert (started.attempts, started.recovered) == (1, True)
    assert writes(clients) == ["UpdateService"]
    assert list(clients.ecs.service_deployments) == [started.deployment_id]


def test_an_ambiguous_update_that_was_not_applied_is_sent_again_once() -> None:
    clients = world()
    clients.ecs.update_errors = [_ambiguous()]
    engine = EcsEngine(clients)

    started = _start_without_sleeping(engine, engine.plan(inputs()))

    assert (started.attempts, started.recovered) == (2, False)
    assert writes(clients) == ["UpdateService", "UpdateService"]
    assert len(clients.ecs.service_deployments) == 1


def test_an_earlier_finished_deployment_of_the_same_revision_is_not_taken_for_ours() -> None:
    # A rollback redeploys an existing task definition ARN: the search must not find the deployment
    # that ran it before (finished), only one in flight.
    clients = world()
    clients.ecs.task_definitions[f"{TASK}1"] = {"family": SERVICE, "taskDefinitionArn": f"{TASK}1"}
    earlier = clients.ecs.add_service_deployment(CLUSTER, SERVICE, f"{TASK}1")
    clients.ecs.update_errors = [_ambiguous()]
    engine = EcsEngine(clients)

    started = _start_without_sleeping(engine, engine.plan(inputs(task_definition=f"{TASK}1")))

    assert started.deployment_id != earlier
    assert (started.attempts, started.recovered) == (2, False)


def test_a_throttled_update_is_sent_again_and_a_refused_one_deregisters_the_revision() -> None:
    clients = world()
    clients.ecs.update_errors = [client_error("UpdateService", "ThrottlingException", "slow down")]
    engine = EcsEngine(clients)
    assert _start_without_sleeping(engine, engine.plan(inputs())).attempts == 2

    clients = world()
    clients.ecs.update_errors = [client_error("UpdateService", "InvalidParameterException", "bad rule")]
    engine = EcsEngine(clients)
    with pytest.raises(AwsError, match="InvalidParameterException"):
        _start_without_sleeping(engine, engine.plan(inputs()))
    assert [d["status"] for d in clients.ecs.task_definitions.values()] == ["INACTIVE"]
    assert clients.ecs.service_deployments == {}


def test_ambiguous_failures_are_tried_three_times_then_one_line_and_the_revision_is_deregistered() -> None:
    # Each ambiguous attempt is followed by a search; after UPDATE_ATTEMPTS (3) nothing started: stop
    # trying (a dead endpoint must not be hammered), say so and clean up what this run registered.
    clients = world()
    clients.ecs.update_errors = [_ambiguous() for _ in range(10)]
    engine = EcsEngine(clients)

    with pytest.raises(AwsError, match=r"\(tried 3 times; no service deployment was started\)"):
        _start_without_sleeping(engine, engine.plan(inputs()))

    assert writes(clients) == ["UpdateService"] * 3
    assert clients.ecs.service_deployments == {}
    assert clients.counter.calls["ecs:DeregisterTaskDefinition"] == 1


@pytest.mark.parametrize(
    ("ready_action", "paused"), [("STOP_DEPLOYMENT", True), ("CONTINUE_DEPLOYMENT", False)]
)
def test_the_plan_waits_at_ready_as_the_catalog_says(ready_action: str, paused: bool) -> None:
    # STOP_DEPLOYMENT: a PAUSE hook after test traffic (what --until ready + promote release).
    resolved = service(ready_action=ready_action, ready_wait_minutes=30)
    plan = EcsEngine(world()).plan(inputs(service=resolved))
    pauses = [h for h in plan.deployment_configuration["lifecycleHooks"] if h["targetType"] == "PAUSE"]
    expected = {
        "targetType": "PAUSE",
        "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
        "timeoutConfiguration": {"timeoutInMinutes": 30, "action": "ROLLBACK"},
    }
    assert pauses == ([expected] if paused else [])


def test_a_guardrail_refuses_the_native_plan_unless_forced() -> None:
    found = service()
    guardrails = found.settings.guardrails.model_copy(update={"require_alarms": True})
    settings = found.settings.model_copy(update={"alarms": [], "guardrails": guardrails})
    unguarded = dataclasses.replace(found, settings=settings)
    clients = world()

    with pytest.raises(GuardrailError, match="requires alarm monitoring"):
        EcsEngine(clients).plan(inputs(service=unguarded))
    assert writes(clients) == []
    assert EcsEngine(clients).plan(inputs(service=unguarded, force=True)).forced is True


def _start_without_sleeping(engine: EcsEngine, plan: Any) -> Any:
    from orchestrator.engines import ecs_plan

    return ecs_plan.apply_plan(plan, engine.clients, sleep=lambda _s: None)


# --- look, stop, promote ----------------------------------------------------------------------------------


def test_a_poll_is_one_describe_service_deployments() -> None:
    clients = world()
    arn = clients.ecs.add_service_deployment(CLUSTER, SERVICE, f"{TASK}2", status="IN_PROGRESS")
    clients.ecs.scripted[arn] = [
        {"lifecycleStage": "SCALE_UP"},
        {"status": "IN_PROGRESS", "lifecycleStage": "BAKE_TIME"},
        {"status": "SUCCESSFUL", "lifecycleStage": "CLEAN_UP"},
    ]
    engine = EcsEngine(clients)

    seen = [engine.snapshot(arn).snapshot.status for _ in range(3)]

    assert seen == [DeploymentStatus.IN_PROGRESS, DeploymentStatus.BAKING, DeploymentStatus.SUCCEEDED]
    assert clients.counter.calls["ecs:DescribeServiceDeployments"] == 3 == 3 * engine.poll_calls(arn)


def test_polls_remember_where_the_deployment_was_before_it_rolled_back() -> None:
    clients = world()
    arn = clients.ecs.add_service_deployment(CLUSTER, SERVICE, f"{TASK}2", status="IN_PROGRESS")
    clients.ecs.scripted[arn] = [
        {"lifecycleStage": "PRODUCTION_TRAFFIC_SHIFT"},
        {"status": "ROLLBACK_IN_PROGRESS", "lifecycleStage": "TEST_TRAFFIC_SHIFT"},
        {"status": "ROLLBACK_SUCCESSFUL", "alarms": {"status": "TRIGGERED"}},
    ]
    engine = EcsEngine(clients)

    last = [engine.snapshot(arn).snapshot for _ in range(3)][-1]

    assert last.status is DeploymentStatus.FAILED
    assert last.current_lifecycle_event == "PRODUCTION_TRAFFIC_SHIFT"


def test_describe_says_whose_deployment_it_is_and_its_strategy() -> None:
    clients = world()
    arn = clients.ecs.add_service_deployment(
        CLUSTER,
        SERVICE,
        f"{TASK}2",
        deploymentConfiguration={
            "strategy": "LINEAR",
            "linearConfiguration": {"stepPercent": 10.0, "stepBakeTimeInMinutes": 3},
            "bakeTimeInMinutes": 5,
        },
    )
    found = EcsEngine(clients).describe(arn)

    assert (found.engine, found.config_name) == ("ecs", "ecs:LINEAR:10:3")
    assert found.strategy == parse_strategy("linear10-3m")
    assert found.timing.termination_wait_minutes == 5
    assert found.service_in(load_catalog(None)) is not None


def test_stop_rolls_back_inside_the_same_service_deployment() -> None:
    clients = world()
    arn = clients.ecs.add_service_deployment(CLUSTER, SERVICE, f"{TASK}2", status="IN_PROGRESS")

    stopped = EcsEngine(clients).stop(arn, rollback=True, wait=RollbackWait(timeout_seconds=1.0))

    assert clients.ecs.requests == [
        ("StopServiceDeployment", {"serviceDeploymentArn": arn, "stopType": "ROLLBACK"})
    ]
    assert stopped.rollback_deployment_id == arn
    assert stopped.snapshot is not None and stopped.snapshot.rolled_back


def test_stop_without_rollback_is_refused_before_any_call() -> None:
    # AWS: "The valid values are ROLLBACK" (StopServiceDeployment's stopType).
    clients = world()
    arn = clients.ecs.add_service_deployment(CLUSTER, SERVICE, f"{TASK}2", status="IN_PROGRESS")

    with pytest.raises(BadInputError, match="only by rolling it back"):
        EcsEngine(clients).stop(arn, rollback=False)
    assert writes(clients) == []


def test_promote_continues_the_waiting_pause_hook() -> None:
    clients = world()
    hooks = [
        {"hookId": "lambda-1", "targetType": "AWS_LAMBDA", "status": "SUCCEEDED"},
        {"hookId": "pause-1", "targetType": "PAUSE", "status": "AWAITING_ACTION"},
    ]
    arn = clients.ecs.add_service_deployment(
        CLUSTER,
        SERVICE,
        f"{TASK}2",
        status="IN_PROGRESS",
        lifecycleStage="POST_TEST_TRAFFIC_SHIFT",
        lifecycleHookDetails=hooks,
    )

    EcsEngine(clients).promote(arn)

    assert clients.ecs.requests == [
        (
            "ContinueServiceDeployment",
            {"serviceDeploymentArn": arn, "hookId": "pause-1", "action": "CONTINUE"},
        )
    ]


def test_promote_with_no_hook_waiting_is_one_line_of_bad_input() -> None:
    clients = world()
    arn = clients.ecs.add_service_deployment(
        CLUSTER, SERVICE, f"{TASK}2", status="IN_PROGRESS", lifecycleStage="SCALE_UP"
    )

    with pytest.raises(BadInputError) as refused:
        EcsEngine(clients).promote(arn)

    assert str(refused.value) == (
        f"no lifecycle hook is waiting for promote on {arn} (status IN_PROGRESS, stage SCALE_UP)"
    )
    assert writes(clients) == []


# --- find, rollback ----------------------------------------------------------------------------------------


def test_find_active_and_latest() -> None:
    clients = world()
    engine = EcsEngine(clients)
    with pytest.raises(BadInputError, match="has no service deployments yet"):
        engine.latest(service())
    clients.ecs.add_service_deployment(CLUSTER, SERVICE, f"{TASK}1")
    running = clients.ecs.add_service_deployment(CLUSTER, SERVICE, f"{TASK}2", status="IN_PROGRESS")

    assert engine.find_active(service()) == [running]
    assert engine.latest(service()) == running
    del clients.ecs.service_deployments[running]["createdAt"]  # a brief without one sorts first
    assert engine.latest(service()) != running


def test_rollback_chooses_the_task_definition_of_the_last_successful_deployment_before_the_live_one() -> None:
    clients = world()
    old = clients.ecs.add_service_deployment(CLUSTER, SERVICE, f"{TASK}1")
    clients.ecs.add_service_deployment(CLUSTER, SERVICE, f"{TASK}2", status="ROLLBACK_SUCCESSFUL")
    live = clients.ecs.add_service_deployment(CLUSTER, SERVICE, f"{TASK}3")
    clients.ecs.add_service_deployment(CLUSTER, SERVICE, f"{TASK}3")  # the same revision again

    infos = EcsEngine(clients).succeeded_deployments(service())
    got_live, target = previous_revision(infos)

    assert got_live["taskDefinitionArn"] == f"{TASK}3" and got_live["deploymentId"] != live
    assert (target["deploymentId"], target["taskDefinitionArn"]) == (old, f"{TASK}1")


# --- engine_for -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("owner", "engine"),
    [
        ("d-ABCDEFGH1", "codedeploy"),
        (
            f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/{CLUSTER}/{SERVICE}/r9i43YFjvgF_xlg7m2eJ1r",
            "ecs",
        ),
    ],
)
def test_engine_for_a_deployment_id_goes_by_its_form(owner: str, engine: str) -> None:
    assert engine_for(owner, FakeClients()).name == engine


def test_engine_for_a_service_goes_by_its_settings() -> None:
    codedeploy = load_catalog(None).resolve(SERVICE, "dev")
    assert engine_for(codedeploy, FakeClients()).name == "codedeploy"
    assert engine_for(service(), FakeClients()).name == "ecs"


def _canary(percent: float, minutes: int) -> dict[str, Any]:
    return {
        "strategy": "CANARY",
        "canaryConfiguration": {"canaryPercent": percent, "canaryBakeTimeInMinutes": minutes},
    }


def _linear(percent: float, minutes: int) -> dict[str, Any]:
    return {
        "strategy": "LINEAR",
        "linearConfiguration": {"stepPercent": percent, "stepBakeTimeInMinutes": minutes},
    }


PAUSED = {
    "strategy": "BLUE_GREEN",
    "lifecycleHooks": [
        {"targetType": "AWS_LAMBDA", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]},
        {
            "targetType": "PAUSE",
            "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
            "timeoutConfiguration": {"timeoutInMinutes": 30, "action": "ROLLBACK"},
        },
    ],
}


@pytest.mark.parametrize(
    ("configuration", "strategy", "ready", "bake"),
    [
        ({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 2}, "all-at-once", 0, 2),
        (_canary(10.0, 5), "canary10", 0, 0),
        (_canary(12.5, 5), None, 0, 0),  # bluegreen's names have whole percents
        (_linear(20.0, 2), "linear:20:2", 0, 0),
        ({"strategy": "ROLLING"}, None, 0, 0),
        (PAUSED, "all-at-once", 30, 0),
    ],
)
def test_a_native_configuration_read_back(
    configuration: dict[str, Any], strategy: str | None, ready: int, bake: int
) -> None:
    found = strategy_for_native(configuration)
    assert (found.name if found else None) == strategy
    timing = GroupTiming.from_deployment_configuration(configuration)
    assert (timing.ready_wait_minutes, timing.termination_wait_minutes) == (ready, bake)
    assert (timing.ready_action == "STOP_DEPLOYMENT") is bool(ready)


def test_the_server_clock_reads_the_ecs_answers_dates() -> None:
    clients = FakeClients()
    EcsEngine(clients).server_clock(40.0)
    assert clients.ecs.registered == ["after-call.ecs"]


@pytest.mark.parametrize("ended", ["finishedAt", "stoppedAt"])
def test_describe_says_when_the_deployment_ended(ended: str) -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    clients = world()
    arn = clients.ecs.add_service_deployment(CLUSTER, SERVICE, f"{TASK}2", **{ended: at})
    found = EcsEngine(clients).describe(arn)
    assert (found.create_time is not None, found.complete_time) == (True, at)


def test_after_an_ambiguous_failure_another_runs_deployment_is_not_taken_for_ours() -> None:
    # Someone else's service deployment (another task definition) in flight since our first attempt:
    # the search matches our task definition only, so ours is sent again, not "recovered".
    from orchestrator.engines import ecs_plan

    clients = world()
    clients.ecs.update_errors = [_ambiguous()]
    theirs = clients.ecs.add_service_deployment(CLUSTER, SERVICE, f"{TASK}9", status="IN_PROGRESS")
    request = {"cluster": CLUSTER, "service": SERVICE, "taskDefinition": f"{TASK}2"}

    arn, attempts, recovered = ecs_plan.update_exactly_once(
        clients.ecs, clients.ecs, request, sleep=lambda _s: None
    )

    assert arn != theirs and (attempts, recovered) == (2, False)

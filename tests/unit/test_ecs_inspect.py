"""EcsEngine.inspect and .history (engines/ecs_inspect.py) on the in-memory ECS fake: what each ECS
answer becomes, which sources go to ``unreadable``, bad input, and the calls' bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.catalog import load_catalog
from orchestrator.engines.ecs import EcsEngine
from orchestrator.errors import AwsError, BadInputError
from orchestrator.insight.evidence import Outcome, ServiceEvent, TrafficPoint
from tests.support.fakes import ACCOUNT, REGION, client_error
from tests.support.fakes_native import InsightClients

CLUSTER, SERVICE = "doa-market-cluster", "inventory-service"
TD_OLD = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/inventory-service:1"
TD_NEW = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/inventory-service:2"
GREEN = (
    f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/inventory-service-green/0123456789abcdef"
)
HOOK = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:bluegreen-dev-after-allow-test-traffic"
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
HOOK_REASON = (
    f"Service deployment rolled back because the lifecycle hook {HOOK} "
    "at POST_TEST_TRAFFIC_SHIFT returned FAILED."
)
CANARY = {
    "strategy": "CANARY",
    "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5},
    "bakeTimeInMinutes": 2,
    "alarms": {"alarmNames": ["inventory-service-5xx-errors"], "enable": True, "rollback": True},
    "lifecycleHooks": [
        {"hookTargetArn": HOOK, "roleArn": "r", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]},
    ],
}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def failed_canary(clients: InsightClients) -> str:
    """A canary that failed its smoke hook at POST_TEST_TRAFFIC_SHIFT and rolled back, with the
    service's events and tasks around it."""
    ecs = clients.ecs
    arn = ecs.add_service_deployment(
        CLUSTER,
        SERVICE,
        TD_NEW,
        status="ROLLBACK_SUCCESSFUL",
        createdAt=T0,
        startedAt=at(0.1),
        finishedAt=at(4),
        statusReason=HOOK_REASON,
        lifecycleStage="POST_TEST_TRAFFIC_SHIFT",
        sourceServiceRevisions=[{"arn": "source", "requestedProductionTrafficWeight": 100.0}],
        deploymentConfiguration=CANARY,
        lifecycleHookDetails=[
            {"hookId": "ecs-lambda-1", "targetType": "AWS_LAMBDA", "targetArn": HOOK, "status": "FAILED"}
        ],
        rollback={"reason": HOOK_REASON, "startedAt": at(3), "serviceRevisionArn": "source"},
        alarms={"status": "MONITORING_COMPLETE", "alarmNames": ["inventory-service-5xx-errors"]},
    )
    revision = ecs.service_deployments[arn]["targetServiceRevision"]["arn"]
    ecs.revisions[revision].update(
        resolvedConfiguration={"loadBalancers": [{"targetGroupArn": GREEN}]},
        containerImages=[{"containerName": "app", "image": "inventory:v2"}],
    )
    ecs.services[(CLUSTER, SERVICE)] = {
        "serviceName": SERVICE,
        "status": "ACTIVE",
        "events": [  # newest first, as ECS lists them
            {"id": "4", "createdAt": at(30), "message": f"(service {SERVICE}) has reached a steady state."},
            {"id": "3", "createdAt": at(4.1), "message": f"(service {SERVICE}) has reached a steady state."},
            {"id": "2", "createdAt": at(1), "message": f"(service {SERVICE}) has started 1 tasks: (task a)."},
            {"id": "1", "createdAt": at(-10), "message": f"(service {SERVICE}) has reached a steady state."},
        ],
    }
    stopped = {"desiredStatus": "STOPPED", "lastStatus": "STOPPED", "stopCode": "ServiceSchedulerInitiated"}
    ecs.add_task(
        CLUSTER,
        SERVICE,
        TD_NEW,
        **stopped,
        startedAt=at(1),
        stoppedAt=at(2),
        stoppedReason=f"Task failed ELB health checks in (target-group {GREEN})",
        containers=[{"name": "app", "exitCode": 137, "reason": "killed"}, {"name": "sidecar"}],
    )
    ecs.add_task(
        CLUSTER, SERVICE, TD_NEW, **stopped, startedAt=at(1.5), stoppedAt=at(3.5), stoppedReason="Scaling"
    )
    ecs.add_task(
        CLUSTER, SERVICE, TD_OLD, **stopped, startedAt=at(-60), stoppedAt=at(-50), stoppedReason="old"
    )
    ecs.add_task(
        CLUSTER, SERVICE, TD_NEW, **stopped, startedAt=at(-90), stoppedAt=at(-80), stoppedReason="earlier"
    )
    ecs.add_task(CLUSTER, SERVICE, TD_NEW, startedAt=at(1))  # still running
    return arn


def test_a_failed_canary_inspected() -> None:
    clients = InsightClients()
    arn = failed_canary(clients)
    found = EcsEngine(clients).inspect(arn)
    facts = found.facts
    assert (facts.engine, facts.status, facts.outcome) == ("ecs", "ROLLBACK_SUCCESSFUL", Outcome.ROLLED_BACK)
    assert facts.strategy == "canary10" and facts.rolled_back and not facts.stopped_by_user
    assert (facts.created, facts.completed, facts.rollback_started) == (T0, at(4), at(3))
    assert facts.rollback_reason == HOOK_REASON and facts.error_message == HOOK_REASON
    assert (facts.task_definition, facts.image) == (TD_NEW, "inventory:v2")
    assert facts.rollback_deployment_id is None  # ECS rolls back inside the same deployment
    # the stages up to where it failed (RECONCILE_SERVICE did not run: one source revision)
    assert [(s.name, s.status) for s in found.steps] == [
        ("PRE_SCALE_UP", "Succeeded"),
        ("SCALE_UP", "Succeeded"),
        ("POST_SCALE_UP", "Succeeded"),
        ("TEST_TRAFFIC_SHIFT", "Succeeded"),
        ("POST_TEST_TRAFFIC_SHIFT", "Failed"),
    ]
    assert found.steps[0].started == at(0.1)
    failed = found.steps[-1]
    assert (failed.ended, failed.message, failed.hook_function) == (at(3), HOOK_REASON, HOOK)
    assert [(s.name, s.status, s.started, s.ended) for s in found.rollback_steps] == [
        ("ROLLBACK", "Succeeded", at(3), at(4))
    ]
    assert found.traffic == (TrafficPoint(at(0.1), 0.0),)  # production never moved
    assert found.green_target_groups == (GREEN,)
    assert found.alarm_names == ("inventory-service-5xx-errors",)
    # events of the window only (creation to 5 minutes past the end), oldest first
    assert found.service_events == (
        ServiceEvent(at(1), f"(service {SERVICE}) has started 1 tasks: (task a)."),
        ServiceEvent(at(4.1), f"(service {SERVICE}) has reached a steady state."),
    )
    # the replacement's stopped tasks: its task definition, started in the window, by stop time
    assert [(t.stopped_reason, t.stop_code, t.stopped_at) for t in found.stopped_tasks] == [
        (f"Task failed ELB health checks in (target-group {GREEN})", "ServiceSchedulerInitiated", at(2)),
        ("Scaling", "ServiceSchedulerInitiated", at(3.5)),
    ]
    assert found.stopped_tasks[0].container_reasons == ("app: exit 137: killed",)
    assert found.unreadable == ()
    calls = clients.counter.calls
    assert calls["ecs:DescribeServiceDeployments"] == 1 and calls["ecs:DescribeServiceRevisions"] == 1
    assert (
        calls["ecs:ListTasks"] == 1 and calls["ecs:DescribeTasks"] == 1 and calls["ecs:DescribeServices"] == 1
    )


def test_the_events_window_ends_where_the_next_deployment_begins() -> None:
    clients = InsightClients()
    arn = failed_canary(clients)
    clients.ecs.add_service_deployment(CLUSTER, SERVICE, TD_NEW, status="SUCCESSFUL", createdAt=at(4.05))
    found = EcsEngine(clients).inspect(arn)
    assert [event.at for event in found.service_events] == [at(1)]  # not at(4.1): the next one's
    assert clients.counter.calls["ecs:ListServiceDeployments"] == 1


def test_a_stop_request_reads_as_stopped_by_the_user() -> None:
    clients = InsightClients()
    reason = "Service deployment rolled back because of a stop request (StopServiceDeployment)."
    arn = clients.ecs.add_service_deployment(
        CLUSTER,
        SERVICE,
        TD_NEW,
        status="ROLLBACK_SUCCESSFUL",
        createdAt=T0,
        startedAt=T0,
        stoppedAt=at(2),
        statusReason=reason,
        lifecycleStage="PRODUCTION_TRAFFIC_SHIFT",
        deploymentConfiguration=CANARY,
        rollback={"reason": reason, "startedAt": at(1.5)},
    )
    found = EcsEngine(clients).inspect(arn)
    assert found.facts.stopped_by_user and found.facts.completed == at(2)
    assert found.steps[-1].name == "PRODUCTION_TRAFFIC_SHIFT" and found.steps[-1].status == "Skipped"
    assert found.traffic == ()  # when the shift ran is in the hooks' verdict lines only


def test_a_successful_canary_has_its_scheduled_traffic() -> None:
    clients = InsightClients()
    arn = clients.ecs.add_service_deployment(
        CLUSTER,
        SERVICE,
        TD_NEW,
        status="SUCCESSFUL",
        createdAt=T0,
        startedAt=T0,
        finishedAt=at(10),
        deploymentConfiguration=CANARY,
    )
    found = EcsEngine(clients).inspect(arn)
    # finished at 10, baked 2 minutes: the shift ended at 8 and (canary 10 %, 5 min) began at 3
    assert found.traffic == (TrafficPoint(at(3), 10.0), TrafficPoint(at(8), 100.0))
    assert [s.status for s in found.steps] == ["Succeeded"] * len(found.steps)
    assert found.steps[-1].name == "CLEAN_UP" and found.steps[-1].ended == at(10)
    assert found.rollback_steps == () and found.facts.error_message is None
    assert found.facts.outcome is Outcome.SUCCEEDED


def test_a_source_that_cannot_be_read_is_said_and_the_rest_still_answers() -> None:
    clients = InsightClients()
    arn = failed_canary(clients)
    clients.ecs.errors["DescribeServices"] = client_error("DescribeServices", "AccessDeniedException", "no")
    clients.ecs.errors["ListTasks"] = client_error("ListTasks", "AccessDeniedException", "no")
    found = EcsEngine(clients).inspect(arn)
    sources = [u.source for u in found.unreadable]
    assert sources == ["ECS service events (DescribeServices)", "ECS tasks (ListTasks, DescribeTasks)"]
    assert all("access denied" in u.problem for u in found.unreadable)
    assert found.service_events == () and found.stopped_tasks == ()
    assert found.facts.outcome is Outcome.ROLLED_BACK and found.green_target_groups == (GREEN,)


def test_more_stopped_tasks_than_the_bound_are_said() -> None:
    clients = InsightClients()
    arn = failed_canary(clients)
    for _ in range(500):
        clients.ecs.add_task(CLUSTER, SERVICE, TD_OLD, desiredStatus="STOPPED", startedAt=at(-100))
    found = EcsEngine(clients).inspect(arn)
    assert clients.counter.calls["ecs:ListTasks"] == 5 and clients.counter.calls["ecs:DescribeTasks"] == 5
    assert [u.source for u in found.unreadable] == ["ECS tasks (ListTasks, DescribeTasks)"]
    assert "more than 500 stopped tasks" in found.unreadable[0].problem


@pytest.mark.parametrize(
    ("reason", "error"),
    [("MISSING", BadInputError), ("AccessDenied", AwsError)],
)
def test_a_deployment_ecs_does_not_know_or_will_not_show(reason: str, error: type[Exception]) -> None:
    clients = InsightClients()
    arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/{CLUSTER}/{SERVICE}/nope"
    clients.ecs.failure_reasons[arn] = reason
    with pytest.raises(error) as raised:
        EcsEngine(clients).inspect(arn)
    assert type(raised.value) is error
    assert "\n" not in str(raised.value) and arn in str(raised.value)


def test_history_is_batched_bounded_and_newest_first() -> None:
    clients = InsightClients()
    service = load_catalog().resolve(SERVICE, "dev")
    arns = [
        clients.ecs.add_service_deployment(
            CLUSTER,
            SERVICE,
            TD_NEW,
            status="SUCCESSFUL" if n % 3 else "ROLLBACK_SUCCESSFUL",
            createdAt=at(n),
            finishedAt=at(n + 0.5),
            deploymentConfiguration=CANARY,
            statusReason=HOOK_REASON,
        )
        for n in range(45)
    ]
    # another service's deployments are not this one's
    clients.ecs.add_service_deployment(CLUSTER, "other", TD_NEW, createdAt=at(50))
    records = EcsEngine(clients).history(service, at(5))
    assert [r.deployment_id for r in records] == list(reversed(arns[5:]))  # since is inclusive
    assert all(r.service == SERVICE and r.environment == "dev" and r.engine == "ecs" for r in records)
    assert all(r.task_definition == TD_NEW for r in records)
    assert [r.outcome for r in records[-2:]] == [Outcome.ROLLED_BACK, Outcome.SUCCEEDED]  # n=6, n=5
    assert [r.rolled_back_by for r in records[-2:]] == ["POST_TEST_TRAFFIC_SHIFT hook", None]
    calls = clients.counter.calls
    # 40 deployments: one list page, 2 DescribeServiceDeployments and 2 DescribeServiceRevisions (20 each)
    assert (calls["ecs:ListServiceDeployments"], calls["ecs:DescribeServiceDeployments"]) == (1, 2)
    assert calls["ecs:DescribeServiceRevisions"] == 2


def test_history_since_a_naive_time_reads_it_as_utc() -> None:
    clients = InsightClients()
    service = load_catalog().resolve(SERVICE, "dev")
    arn = clients.ecs.add_service_deployment(CLUSTER, SERVICE, TD_NEW, createdAt=at(1))
    assert [r.deployment_id for r in EcsEngine(clients).history(service, at(1).replace(tzinfo=None))] == [arn]


def test_history_of_a_quiet_service_is_empty_and_costs_one_call() -> None:
    clients = InsightClients()
    service = load_catalog().resolve(SERVICE, "dev")
    assert EcsEngine(clients).history(service, T0) == []
    assert clients.counter.total == 1


def test_facts_of_a_running_deployment() -> None:
    clients = InsightClients()
    arn = clients.ecs.add_service_deployment(
        CLUSTER,
        SERVICE,
        TD_NEW,
        status="IN_PROGRESS",
        createdAt=T0,
        startedAt=T0,
        lifecycleStage="SCALE_UP",
        deploymentConfiguration=CANARY,
    )
    found = EcsEngine(clients).inspect(arn)
    assert found.facts.outcome is Outcome.IN_PROGRESS and found.facts.completed is None
    assert [(s.name, s.status) for s in found.steps][-1] == ("SCALE_UP", "InProgress")


def test_newest_first_puts_deployments_without_a_time_last() -> None:
    # breaker: flipping the known-time key put the undated deployments at the top of history
    from orchestrator.engines.ecs_inspect import newest_first
    from orchestrator.insight.records import DeploymentKind, DeploymentRecord

    def record(deployment_id: str, created: datetime | None) -> DeploymentRecord:
        return DeploymentRecord(
            deployment_id, "ecs", "svc", "dev", "SUCCESSFUL", Outcome.SUCCEEDED, DeploymentKind.DEPLOY,
            created=created,
        )  # fmt: skip

    t0 = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
    ordered = newest_first([record("a", t0), record("none", None), record("b", t0 + timedelta(minutes=5))])
    assert [r.deployment_id for r in ordered] == ["b", "a", "none"]

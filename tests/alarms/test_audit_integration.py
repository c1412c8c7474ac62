"""The audit: each seeded violation is found, exactly, and `--fix` (repair) leaves only what sync
cannot fix. The seeds run on the in-memory fakes (tests/support/fakes.py: the logic over fetched
data), one of them again end to end against moto (CloudWatch, ELBv2) and the CodeDeploy emulator,
like the batched-calls, prod-actions and missing-application tests.

CodeDeploy refuses more than 10 alarms in a deployment group, so that rule cannot be seeded through the
API; tests/alarms/test_audit_rules.py covers it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from orchestrator.alarms.audit import run_audit
from orchestrator.alarms.definitions import render_request
from orchestrator.alarms.repair import repair
from orchestrator.alarms.rules import Rule
from orchestrator.alarms.sync import sync_all_alarms
from orchestrator.catalog import Catalog, load_catalog
from tests.support.alarms import World, fake_world

Seed = Callable[[World], None]


# The services the seeds touch, plus one left alone; the clean-audit test covers all 16.
SEEDED = (
    "product-service",
    "order-service",
    "payment-service",
    "user-service",
    "seller-service",
    "file-service",
)


def synced(world: World, names: tuple[str, ...] | None = SEEDED) -> World:
    """Services (default: SEEDED; None: all) with a deployment group and their alarms in sync."""
    services = world.catalog.resolve_all(world.environment)
    services = [s for s in services if names is None or s.name in names]
    for service in services:
        world.add_group(service.name, alarms=[], enabled=False)
    result = sync_all_alarms(world.clients, services, world.definitions)
    assert not result.problems
    return world


def put_changed(world: World, service: str, kind: str, **changes: object) -> None:
    """Re-put one alarm as sync would, with some fields changed (dimension values kept real)."""
    name = f"{service}-{kind}"
    current = world.cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    alarm = next(a for a in world.definitions.for_service(world.service(service)) if a.name == name)
    request = render_request(alarm, world.service(service))
    if "Metrics" in request:
        request["Metrics"] = [
            {k: v for k, v in q.items() if k in ("Id", "MetricStat", "Expression", "Label", "ReturnData")}
            for q in current["Metrics"]
        ]
    else:
        request["Dimensions"] = current["Dimensions"]
    world.cloudwatch.put_metric_alarm(**{**request, **changes})


def alarm_configuration(world: World, name: str, **changes: object) -> None:
    world.update_group(name, alarmConfiguration={**world.group(name)["alarmConfiguration"], **changes})


def disable_alarm_configuration(world: World) -> None:
    alarm_configuration(world, "product-service", enabled=False)


def ignore_poll_alarm_failure(world: World) -> None:
    alarm_configuration(world, "product-service", ignorePollAlarmFailure=True)


def keep_one_alarm(world: World) -> None:
    alarm_configuration(world, "product-service", alarms=[{"name": "product-service-5xx-errors"}])


def delete_an_alarm(world: World) -> None:
    world.cloudwatch.delete_alarms(AlarmNames=["order-service-high-cpu"])


def raise_a_threshold(world: World) -> None:
    put_changed(world, "order-service", "high-cpu", Threshold=99.0)


def change_period_of_a_math_alarm(world: World) -> None:
    put_changed(world, "payment-service", "5xx-errors", EvaluationPeriods=5)


def point_at_an_old_target_group(world: World) -> None:
    # The alarm still reads a target group that was replaced: it can never fire for the new one.
    name = "product-service-5xx-errors"
    current = world.cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    metrics = [
        {k: v for k, v in q.items() if k in ("Id", "MetricStat", "Expression", "Label", "ReturnData")}
        for q in current["Metrics"]
    ]
    for query in metrics:
        if query["Id"] == "e_green":
            for dimension in query["MetricStat"]["Metric"]["Dimensions"]:
                if dimension["Name"] == "TargetGroup":
                    dimension["Value"] = "targetgroup/product-service-green-old/0123456789abcdef"
    put_changed(world, "product-service", "5xx-errors", Metrics=metrics)


def no_rollback_on_alarm(world: World) -> None:
    world.update_group(
        "user-service", autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE"]}
    )


def rollback_disabled(world: World) -> None:
    events = world.group("seller-service")["autoRollbackConfiguration"]["events"]
    world.update_group("seller-service", autoRollbackConfiguration={"enabled": False, "events": events})


def unmanaged_group_with_a_ghost_alarm(world: World) -> None:
    world.add_group("legacy-service", alarms=["ghost-alarm", "order-service-high-cpu"])


def stuck_insufficient_data(world: World) -> None:
    world.cloudwatch.set_alarm_state(
        AlarmName="file-service-unhealthy-hosts", StateValue="INSUFFICIENT_DATA", StateReason="seeded"
    )


CASES: list[tuple[Seed, set[tuple[Rule, str, str | None, bool]]]] = [
    (disable_alarm_configuration, {(Rule.ALARMS_DISABLED, "product-service", None, True)}),
    (ignore_poll_alarm_failure, {(Rule.POLL_FAILURE_IGNORED, "product-service", None, True)}),
    (
        keep_one_alarm,
        {
            (Rule.TOO_FEW_ALARMS, "product-service", None, True),
            (Rule.ALARM_NOT_ATTACHED, "product-service", "product-service-high-latency", True),
            (Rule.ALARM_NOT_ATTACHED, "product-service", "product-service-unhealthy-hosts", True),
            (Rule.ALARM_NOT_ATTACHED, "product-service", "product-service-high-cpu", True),
            (Rule.ALARM_NOT_ATTACHED, "product-service", "product-service-canary-verdict", True),
        },
    ),
    (delete_an_alarm, {(Rule.ALARM_MISSING, "order-service", "order-service-high-cpu", True)}),
    (raise_a_threshold, {(Rule.DRIFT, "order-service", "order-service-high-cpu", True)}),
    (change_period_of_a_math_alarm, {(Rule.DRIFT, "payment-service", "payment-service-5xx-errors", True)}),
    (
        point_at_an_old_target_group,
        {(Rule.DRIFT, "product-service", "product-service-5xx-errors", True)},
    ),
    (no_rollback_on_alarm, {(Rule.NO_ROLLBACK_ON_ALARM, "user-service", None, True)}),
    (rollback_disabled, {(Rule.NO_ROLLBACK_ON_ALARM, "seller-service", None, True)}),
    (
        unmanaged_group_with_a_ghost_alarm,
        {(Rule.ALARM_MISSING, "legacy-service", "ghost-alarm", False)},
    ),
    (
        stuck_insufficient_data,
        {(Rule.STUCK_INSUFFICIENT_DATA, "file-service", "file-service-unhealthy-hosts", False)},
    ),
]


def findings_of(report: object) -> set[tuple[Rule, str, str | None, bool]]:
    return {(f.rule, f.deployment_group, f.alarm, f.fixable) for f in report.findings}  # type: ignore[attr-defined]


@pytest.mark.integration
def test_a_synced_environment_audits_clean_in_few_batched_calls(world: World) -> None:
    synced(world, None)
    world.clients.counter.calls.clear()

    report = run_audit(world.clients, world.catalog, world.definitions, "dev", world.now())

    assert report.clean and report.groups_checked == 16 and report.alarms_checked == 65
    assert report.notes == ()  # every dimension value was compared
    calls = world.clients.counter.calls
    assert calls == {
        "codedeploy:ListApplications": 1,
        "codedeploy:ListDeploymentGroups": 1,
        "codedeploy:BatchGetDeploymentGroups": 1,  # 16 <= 25
        "cloudwatch:DescribeAlarms": 1,  # 65 <= 100 (product-service has its verdict alarm too)
        "elastic-load-balancing-v2:DescribeTargetGroups": 1,  # 32 <= 400 a page
        "elastic-load-balancing-v2:DescribeLoadBalancers": 1,
    }


@pytest.fixture(scope="module")
def catalog(repo_root: Path) -> Catalog:
    return load_catalog(repo_root / "services.yaml")


def fake_or_moto(request: pytest.FixtureRequest, catalog: Catalog) -> World:
    """The in-memory fakes, or (``integration`` cases) moto and the CodeDeploy emulator."""
    if request.node.get_closest_marker("integration"):
        make_world: Callable[..., World] = request.getfixturevalue("make_world")
        return make_world("dev", SEEDED)
    return fake_world(catalog, "dev", SEEDED)


# point_at_an_old_target_group needs real ARN suffixes from ELBv2: it runs end to end as well.
END_TO_END = "point_at_an_old_target_group"
SEEDED_CASES = [
    *(pytest.param(seed, expected, id=seed.__name__) for seed, expected in CASES),
    *(
        pytest.param(seed, expected, id=f"{seed.__name__}-moto", marks=pytest.mark.integration)
        for seed, expected in CASES
        if seed.__name__ == END_TO_END
    ),
]


@pytest.mark.parametrize(("seed", "expected"), SEEDED_CASES)
def test_each_seeded_violation_is_found_exactly_and_fix_leaves_only_the_unfixable(
    request: pytest.FixtureRequest,
    catalog: Catalog,
    seed: Seed,
    expected: set[tuple[Rule, str, str | None, bool]],
) -> None:
    world = synced(fake_or_moto(request, catalog))
    seed(world)
    # 121 minutes on: beyond dev's stuck_insufficient_data_minutes (120).
    now = world.now() + timedelta(minutes=121)

    report = run_audit(world.clients, world.catalog, world.definitions, "dev", now)
    assert findings_of(report) == expected

    outcome = repair(world.clients, world.catalog, world.definitions, report, now)
    assert findings_of(outcome.after) == {f for f in expected if not f[3]}
    if outcome.sync is not None:
        assert outcome.sync.writes >= 1


@pytest.mark.integration
def test_actions_missing_in_prod_is_found_and_fixed(make_world: Callable[..., World]) -> None:
    world = synced(make_world("prod", ("payment-service",)), ("payment-service",))
    put_changed(world, "payment-service", "high-cpu", AlarmActions=[])

    report = run_audit(world.clients, world.catalog, world.definitions, "prod", world.now())
    assert findings_of(report) == {
        (Rule.ACTIONS_MISSING, "payment-service", "payment-service-high-cpu", True)
    }

    outcome = repair(world.clients, world.catalog, world.definitions, report, world.now())
    assert outcome.after.clean
    alarm = world.cloudwatch.describe_alarms(AlarmNames=["payment-service-high-cpu"])["MetricAlarms"][0]
    assert alarm["AlarmActions"] == ["arn:aws:sns:ap-northeast-2:210987654321:doa-market-prod-alarms"]


@pytest.mark.integration
def test_an_application_that_does_not_exist_yet_is_skipped(world: World) -> None:
    report = run_audit(world.clients, world.catalog, world.definitions, "dev", world.now())
    assert report.clean and report.groups_checked == 0
    assert world.clients.counter.calls["codedeploy:ListDeploymentGroups"] == 0

"""The pure translation of a CodeDeploy deployment group into ECS's native request
(orchestrator/engines/migration.py), as tables; the requests checked against botocore's shapes."""

from __future__ import annotations

import copy
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from orchestrator.catalog import Catalog, ResolvedService
from orchestrator.engines.migration import (
    MigrationInputs,
    MigrationPlan,
    already_native,
    placeholder_rule,
    plan_migration,
    with_rules,
)

ACCOUNT, REGION = "123456789012", "ap-northeast-2"
ELB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}"
BLUE, GREEN = f"{ELB}:targetgroup/product-service-blue/1", f"{ELB}:targetgroup/product-service-green/2"
PROD_LISTENER, TEST_LISTENER = f"{ELB}:listener/app/alb/1/p", f"{ELB}:listener/app/alb/1/t"
PROD_RULE, TEST_RULE = f"{ELB}:listener-rule/app/alb/1/p/9", f"{ELB}:listener-rule/app/alb/1/t/9"
LIVE = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/product-service:7"

GROUP: dict[str, Any] = {
    "deploymentGroupName": "product-service",
    "deploymentConfigName": "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
    "alarmConfiguration": {"enabled": True, "alarms": [{"name": "a-5xx"}, {"name": "a-latency"}]},
    "autoRollbackConfiguration": {
        "enabled": True,
        "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
    },
    "blueGreenDeploymentConfiguration": {
        "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0},
        "terminateBlueInstancesOnDeploymentSuccess": {
            "action": "TERMINATE",
            "terminationWaitTimeInMinutes": 15,
        },
    },
    "loadBalancerInfo": {
        "targetGroupPairInfoList": [
            {
                "targetGroups": [{"name": "product-service-blue"}, {"name": "product-service-green"}],
                "prodTrafficRoute": {"listenerArns": [PROD_LISTENER]},
                "testTrafficRoute": {"listenerArns": [TEST_LISTENER]},
            }
        ]
    },
}
ECS_SERVICE: dict[str, Any] = {
    "serviceName": "product-service",
    "taskDefinition": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/product-service:1",
    "deploymentController": {"type": "CODE_DEPLOY"},
    "loadBalancers": [{"targetGroupArn": BLUE, "containerName": "product-service", "containerPort": 3003}],
    "taskSets": [
        {"status": "ACTIVE", "taskDefinition": "old", "loadBalancers": [{"targetGroupArn": BLUE}]},
        {"status": "PRIMARY", "taskDefinition": LIVE, "loadBalancers": [{"targetGroupArn": GREEN}]},
    ],
}


def _service(catalog: Catalog) -> ResolvedService:
    return catalog.resolve("product-service", "dev")


def _inputs(
    catalog: Catalog,
    *,
    group: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    rules: dict[str, str | None] | None = None,
    **group_changes: Any,
) -> MigrationInputs:
    chosen = copy.deepcopy(group or GROUP)
    chosen.update(group_changes)
    return MigrationInputs(
        service=_service(catalog),
        group=chosen,
        config=config,
        ecs_service=ECS_SERVICE,
        target_groups={"product-service-blue": BLUE, "product-service-green": GREEN},
        rules=rules if rules is not None else {"production": PROD_RULE, "test": TEST_RULE},
        region=REGION,
        account_id=ACCOUNT,
    )


def _fates(plan: MigrationPlan) -> dict[str, str | None]:
    return {s.setting: s.native for s in plan.settings}


@pytest.mark.parametrize(
    ("config_name", "config", "strategy", "native"),
    [
        ("CodeDeployDefault.ECSAllAtOnce", None, "all-at-once", {"strategy": "BLUE_GREEN"}),
        (
            "CodeDeployDefault.ECSCanary10Percent15Minutes",
            None,
            "canary10-15m",
            {
                "strategy": "CANARY",
                "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 15},
            },
        ),
        (
            "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
            None,
            "linear10-3m",
            {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 10.0, "stepBakeTimeInMinutes": 3}},
        ),
        (
            "team.Canary25For7",  # a config someone named freely: its trafficRoutingConfig says what it is
            {
                "trafficRoutingConfig": {
                    "type": "TimeBasedCanary",
                    "timeBasedCanary": {"canaryPercentage": 25, "canaryInterval": 7},
                }
            },
            "canary:25:7",
            {
                "strategy": "CANARY",
                "canaryConfiguration": {"canaryPercent": 25.0, "canaryBakeTimeInMinutes": 7},
            },
        ),
    ],
)
def test_the_groups_deployment_config_becomes_the_native_strategy(
    real_catalog: Catalog,
    config_name: str,
    config: dict[str, Any] | None,
    strategy: str,
    native: dict[str, Any],
) -> None:
    plan = plan_migration(_inputs(real_catalog, config=config, deploymentConfigName=config_name))
    assert plan.strategy.name == strategy
    configuration = plan.request["deploymentConfiguration"]
    assert {
        k: v
        for k, v in configuration.items()
        if k in ("strategy", "canaryConfiguration", "linearConfiguration")
    } == native
    assert plan.blocked is None and plan.untranslated == ()


@pytest.mark.parametrize(
    ("config_name", "config", "reason"),
    [
        (
            "bluegreen.ECSLinear2PercentEvery1Minutes",
            None,
            "strategy 'linear:2:1': linear step 2% is below ECS's 3.0% minimum (allowed 3.0..100%)",
        ),
        (
            "CodeDeployDefault.OneAtATime",
            {"minimumHealthyHosts": {"type": "HOST_COUNT", "value": 1}},
            "minimumHealthyHosts (HOST_COUNT 1) is for EC2/on-premises in-place deployments; ECS blue/green "
            "shifts traffic, it does not count healthy hosts",
        ),
    ],
)
def test_a_config_ecs_cannot_run_is_named_and_the_catalogs_strategy_used(
    real_catalog: Catalog, config_name: str, config: dict[str, Any] | None, reason: str
) -> None:
    plan = plan_migration(_inputs(real_catalog, config=config, deploymentConfigName=config_name))
    (untranslated,) = plan.untranslated
    assert (untranslated.setting, untranslated.value, untranslated.reason) == (
        "deploymentConfigName",
        config_name,
        reason,
    )
    assert plan.strategy.name == "all-at-once"  # the example catalog's dev strategy
    assert _fates(plan)["strategy (catalog)"] == "strategy BLUE_GREEN (used instead of the group's config)"
    assert plan.request["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"
    assert plan.blocked is None


@pytest.mark.parametrize(
    ("events", "enabled", "alarm_rollback", "untranslated"),
    [
        (["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"], True, True, []),
        (["DEPLOYMENT_FAILURE"], True, False, []),
        (["DEPLOYMENT_STOP_ON_ALARM"], True, True, ["autoRollback on DEPLOYMENT_FAILURE"]),
        (
            ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"],
            True,
            False,
            ["autoRollback on DEPLOYMENT_STOP_ON_REQUEST"],
        ),
        (
            ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
            False,
            False,
            ["autoRollback on DEPLOYMENT_FAILURE"],
        ),
    ],
)
def test_auto_rollback(
    real_catalog: Catalog, events: list[str], enabled: bool, alarm_rollback: bool, untranslated: list[str]
) -> None:
    plan = plan_migration(
        _inputs(real_catalog, autoRollbackConfiguration={"enabled": enabled, "events": events})
    )
    assert plan.request["deploymentConfiguration"]["alarms"]["rollback"] is alarm_rollback
    assert [s.setting for s in plan.untranslated] == untranslated


@pytest.mark.parametrize(
    ("blue_green", "bake", "untranslated"),
    [
        (
            {
                "terminateBlueInstancesOnDeploymentSuccess": {
                    "action": "TERMINATE",
                    "terminationWaitTimeInMinutes": 15,
                }
            },
            15,
            [],
        ),
        (
            {
                "terminateBlueInstancesOnDeploymentSuccess": {
                    "action": "KEEP_ALIVE",
                    "terminationWaitTimeInMinutes": 0,
                }
            },
            0,
            ["terminateBlueInstancesOnDeploymentSuccess.action"],
        ),
        (
            {"deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 20}},
            0,
            ["deploymentReadyOption.waitTimeInMinutes"],
        ),
        ({"deploymentReadyOption": {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 20}}, 0, []),
    ],
)
def test_termination_wait_and_ready_option(
    real_catalog: Catalog, blue_green: dict[str, Any], bake: int, untranslated: list[str]
) -> None:
    plan = plan_migration(_inputs(real_catalog, blueGreenDeploymentConfiguration=blue_green))
    configuration = plan.request["deploymentConfiguration"]
    assert configuration["bakeTimeInMinutes"] == bake
    assert [s.setting for s in plan.untranslated] == untranslated
    # the Ready wait is bluegreen's, per deployment: the service's configuration has no PAUSE hook
    assert all(hook["targetType"] == "AWS_LAMBDA" for hook in configuration["lifecycleHooks"])


def test_a_termination_wait_past_ecs_bake_limit_blocks_apply(real_catalog: Catalog) -> None:
    terminate = {"action": "TERMINATE", "terminationWaitTimeInMinutes": 2880}
    plan = plan_migration(
        _inputs(
            real_catalog,
            blueGreenDeploymentConfiguration={"terminateBlueInstancesOnDeploymentSuccess": terminate},
        )
    )
    assert plan.blocked == (
        "deployment.termination_wait_minutes: bake time 2880 minutes is outside ECS's 0..1440 minutes "
        "(ECS's bakeTimeInMinutes)"
    )


@pytest.mark.parametrize(
    ("alarm_configuration", "names", "enable", "untranslated"),
    [
        ({"enabled": True, "alarms": [{"name": "a"}, {"name": "b"}]}, ["a", "b"], True, []),
        ({"enabled": False, "alarms": [{"name": "a"}]}, [], False, []),
        ({"enabled": True, "alarms": []}, [], False, []),
        (
            {"enabled": True, "ignorePollAlarmFailure": True, "alarms": [{"name": "a"}]},
            ["a"],
            True,
            ["alarmConfiguration.ignorePollAlarmFailure"],
        ),
    ],
)
def test_alarms(
    real_catalog: Catalog,
    alarm_configuration: dict[str, Any],
    names: list[str],
    enable: bool,
    untranslated: list[str],
) -> None:
    plan = plan_migration(_inputs(real_catalog, alarmConfiguration=alarm_configuration))
    alarms = plan.request["deploymentConfiguration"]["alarms"]
    assert (alarms["alarmNames"], alarms["enable"]) == (names, enable)
    assert [s.setting for s in plan.untranslated] == untranslated


def test_triggers_do_not_translate(real_catalog: Catalog) -> None:
    trigger = {
        "triggerName": "ops",
        "triggerTargetArn": "arn:aws:sns:ap-northeast-2:1:ops",
        "triggerEvents": [],
    }
    plan = plan_migration(_inputs(real_catalog, triggerConfigurations=[trigger]))
    (setting,) = plan.untranslated
    assert (setting.setting, setting.value) == (
        "triggerConfigurations[ops]",
        "arn:aws:sns:ap-northeast-2:1:ops",
    )
    assert "EventBridge" in setting.reason


def test_appspec_hooks_map_to_native_stages(real_catalog: Catalog) -> None:
    fates = _fates(plan_migration(_inputs(real_catalog)))
    assert (
        fates["AppSpec hook AfterAllowTestTraffic"]
        == "lifecycle hook (AWS_LAMBDA) at POST_TEST_TRAFFIC_SHIFT"
    )
    assert (
        fates["AppSpec hook BeforeAllowTraffic"]
        == "lifecycle hook (AWS_LAMBDA) at PRE_PRODUCTION_TRAFFIC_SHIFT"
    )


def test_blue_is_the_target_group_the_primary_task_set_serves(real_catalog: Catalog) -> None:
    # After an odd number of CodeDeploy deployments green serves production: it stays, as blue.
    balancer = plan_migration(_inputs(real_catalog)).request["loadBalancers"][0]
    assert balancer["targetGroupArn"] == GREEN
    assert balancer["advancedConfiguration"]["alternateTargetGroupArn"] == BLUE
    assert plan_migration(_inputs(real_catalog)).request["taskDefinition"] == LIVE


def test_missing_rules_are_planned_and_filled_in_after_creation(real_catalog: Catalog) -> None:
    plan = plan_migration(_inputs(real_catalog, rules={"production": None, "test": None}))
    assert sorted(plan.create_rules) == ["production", "test"]
    assert plan.create_rules["production"]["ListenerArn"] == PROD_LISTENER
    assert plan.create_rules["test"]["Actions"][0]["ForwardConfig"]["TargetGroups"] == [
        {"TargetGroupArn": GREEN, "Weight": 100},
        {"TargetGroupArn": BLUE, "Weight": 0},
    ]
    advanced = plan.request["loadBalancers"][0]["advancedConfiguration"]
    assert advanced["productionListenerRule"] == placeholder_rule("production")
    sent = with_rules(plan, {"production": PROD_RULE, "test": TEST_RULE})
    advanced = sent["loadBalancers"][0]["advancedConfiguration"]
    assert (advanced["productionListenerRule"], advanced["testListenerRule"]) == (PROD_RULE, TEST_RULE)


def test_without_a_test_listener_the_production_rule_serves_test_traffic(real_catalog: Catalog) -> None:
    group = copy.deepcopy(GROUP)
    del group["loadBalancerInfo"]["targetGroupPairInfoList"][0]["testTrafficRoute"]
    plan = plan_migration(_inputs(real_catalog, group=group, rules={"production": PROD_RULE}))
    advanced = plan.request["loadBalancers"][0]["advancedConfiguration"]
    assert advanced["testListenerRule"] == PROD_RULE and plan.create_rules == {}


@pytest.mark.parametrize(
    ("controller", "configuration_change", "native"),
    [
        ("CODE_DEPLOY", {}, False),
        ("ECS", {}, True),
        ("ECS", {"bakeTimeInMinutes": 99}, False),
        ("ECS", {"maximumPercent": 200, "minimumHealthyPercent": 100}, True),  # ECS's defaults, not ours
    ],
)
def test_already_native(
    real_catalog: Catalog, controller: str, configuration_change: dict[str, Any], native: bool
) -> None:
    plan = plan_migration(_inputs(real_catalog))
    described = {
        "deploymentController": {"type": controller},
        "deploymentConfiguration": {**plan.request["deploymentConfiguration"], **configuration_change},
        "loadBalancers": plan.request["loadBalancers"],
    }
    assert already_native(described, plan.request) is native


def test_already_native_ignores_defaults_ecs_adds_inside_what_was_sent(real_catalog: Catalog) -> None:
    plan = plan_migration(_inputs(real_catalog))
    configuration = copy.deepcopy(plan.request["deploymentConfiguration"])
    configuration["lifecycleHooks"][0]["timeoutConfiguration"] = {
        "timeoutInMinutes": 1440,
        "action": "ROLLBACK",
    }
    described = {
        "deploymentController": {"type": "ECS"},
        "deploymentConfiguration": configuration,
        "loadBalancers": plan.request["loadBalancers"],
    }
    assert already_native(described, plan.request)
    configuration["lifecycleHooks"].pop()  # one hook fewer: not the same configuration
    assert not already_native(described, plan.request)


def test_not_already_native_when_the_load_balancers_differ(real_catalog: Catalog) -> None:
    # Same deploymentConfiguration, other listener rule: --apply must send UpdateService again.
    plan = plan_migration(_inputs(real_catalog))
    (balancer,) = plan.request["loadBalancers"]
    advanced = {**balancer["advancedConfiguration"], "productionListenerRule": "arn:other-rule"}
    described = {
        "deploymentController": {"type": "ECS"},
        "deploymentConfiguration": plan.request["deploymentConfiguration"],
        "loadBalancers": [{**balancer, "advancedConfiguration": advanced}],
    }
    assert not already_native(described, plan.request)


def test_already_native_whichever_group_ecs_made_primary(real_catalog: Catalog) -> None:
    plan = plan_migration(_inputs(real_catalog))
    (balancer,) = plan.request["loadBalancers"]
    advanced = balancer["advancedConfiguration"]
    swapped = {
        **balancer,
        "targetGroupArn": advanced["alternateTargetGroupArn"],
        "advancedConfiguration": {**advanced, "alternateTargetGroupArn": balancer["targetGroupArn"]},
    }
    described = {
        "deploymentController": {"type": "ECS"},
        "deploymentConfiguration": plan.request["deploymentConfiguration"],
        "loadBalancers": [swapped],
    }
    assert already_native(described, plan.request)


def _valid(service: str, operation: str, request: dict[str, Any]) -> None:
    model = botocore.session.get_session().get_service_model(service)
    report = ParamValidator().validate(request, model.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()


@pytest.mark.parametrize(
    "config_name",
    [
        "CodeDeployDefault.ECSAllAtOnce",
        "CodeDeployDefault.ECSCanary10Percent5Minutes",
        "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
    ],
)
def test_requests_validate_against_botocore(real_catalog: Catalog, config_name: str) -> None:
    plan = plan_migration(
        _inputs(real_catalog, deploymentConfigName=config_name, rules={"production": None, "test": None})
    )
    for request in plan.create_rules.values():
        _valid("elbv2", "CreateRule", request)
    _valid("ecs", "UpdateService", with_rules(plan, {"production": PROD_RULE, "test": TEST_RULE}))


def test_a_group_without_a_ready_option_continues_at_ready(real_catalog: Catalog) -> None:
    # CodeDeploy's default actionOnTimeout is CONTINUE_DEPLOYMENT: no PAUSE hook to describe.
    plan = plan_migration(_inputs(real_catalog, blueGreenDeploymentConfiguration={}))
    (ready,) = [s for s in plan.settings if s.setting.startswith("deploymentReadyOption")]
    assert (ready.value, ready.native) == ("CONTINUE_DEPLOYMENT", "no PAUSE hook (traffic shifts when ready)")


def test_already_native_when_the_answer_names_no_controller(real_catalog: Catalog) -> None:
    """ECS is the default controller: an answer without deploymentController is a native service (the
    in-flight check reads it so too), so a second --apply stays a no-op."""
    plan = plan_migration(_inputs(real_catalog))
    described = {
        "deploymentConfiguration": copy.deepcopy(plan.request["deploymentConfiguration"]),
        "loadBalancers": plan.request["loadBalancers"],
    }
    assert already_native(described, plan.request)
    assert not already_native({**described, "deploymentController": {"type": "CODE_DEPLOY"}}, plan.request)

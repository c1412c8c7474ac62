"""The native ECS request a service + strategy make (orchestrator/engines/ecs_config.py), as tables,
and every request checked against botocore's UpdateService input shape (no network)."""

from __future__ import annotations

import dataclasses
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from orchestrator.catalog import Catalog, ResolvedService
from orchestrator.engines.ecs_config import (
    NativeLimitError,
    deployment_configuration,
    describe_native,
    lambda_arn,
    load_balancers,
    pauses_at_ready,
    strategy_configuration,
)
from orchestrator.errors import BadInputError, CatalogError
from orchestrator.strategies import list_strategies, parse_strategy

REGION = "ap-northeast-2"
ACCOUNT = "123456789012"
HOOK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/doa-market-dev-ecs-hook-invoke"
INFRA_ROLE = f"arn:aws:iam::{ACCOUNT}:role/doa-market-dev-ecs-infrastructure"
TG = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup"
RULE = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener-rule/app/doa-market-dev-alb/1/2"


def _service(
    catalog: Catalog, *, deployment: dict[str, Any] | None = None, **settings: Any
) -> ResolvedService:
    base = catalog.resolve("auth-service", "dev")
    update: dict[str, Any] = {"hook_role_arn": HOOK_ROLE, "infrastructure_role_arn": INFRA_ROLE, **settings}
    if deployment:
        update["deployment"] = base.settings.deployment.model_copy(update=deployment)
    return dataclasses.replace(base, settings=base.settings.model_copy(update=update))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("all-at-once", {"strategy": "BLUE_GREEN"}),
        (
            "canary10",
            {
                "strategy": "CANARY",
                "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5},
            },
        ),
        (
            "canary10-15m",
            {
                "strategy": "CANARY",
                "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 15},
            },
        ),
        (
            "linear10",
            {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 10.0, "stepBakeTimeInMinutes": 1}},
        ),
        (
            "linear10-3m",
            {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 10.0, "stepBakeTimeInMinutes": 3}},
        ),
        ("canary:1:0", None),  # parse refuses a 0-minute interval first (CodeDeploy's rule): see below
        (
            "canary:1:1",
            {
                "strategy": "CANARY",
                "canaryConfiguration": {"canaryPercent": 1.0, "canaryBakeTimeInMinutes": 1},
            },
        ),
        (
            "canary:25:1440",
            {
                "strategy": "CANARY",
                "canaryConfiguration": {"canaryPercent": 25.0, "canaryBakeTimeInMinutes": 1440},
            },
        ),
        (
            "linear:3:2",
            {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 3.0, "stepBakeTimeInMinutes": 2}},
        ),
        (
            "linear:50:1440",
            {
                "strategy": "LINEAR",
                "linearConfiguration": {"stepPercent": 50.0, "stepBakeTimeInMinutes": 1440},
            },
        ),
    ],
)
def test_strategy_maps_to_native_configuration(name: str, expected: dict[str, Any] | None) -> None:
    if expected is None:
        with pytest.raises(BadInputError):
            parse_strategy(name)
        return
    assert strategy_configuration(parse_strategy(name)) == expected


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "linear:2:1",
            "strategy 'linear:2:1': linear step 2% is below ECS's 3.0% minimum (allowed 3.0..100%)",
        ),
        (
            "linear:1:5",
            "strategy 'linear:1:5': linear step 1% is below ECS's 3.0% minimum (allowed 3.0..100%)",
        ),
        (
            "linear:50:1441",
            "strategy 'linear:50:1441': linear step bake time 1441 minutes is outside ECS's 0..1440 minutes",
        ),
        (
            "canary:10:2000",
            "strategy 'canary:10:2000': canary bake time 2000 minutes is outside ECS's 0..1440 minutes",
        ),
    ],
)
def test_broken_native_limit_is_one_line_naming_it(name: str, message: str) -> None:
    with pytest.raises(NativeLimitError) as caught:
        strategy_configuration(parse_strategy(name))
    assert str(caught.value) == message
    assert caught.value.exit_code == 2
    assert "\n" not in message


def test_every_predefined_strategy_has_a_native_configuration() -> None:
    assert [describe_native(s) for s in list_strategies()] == [
        "BLUE_GREEN",
        "CANARY 10%, rest after 5 min",
        "CANARY 10%, rest after 15 min",
        "LINEAR 10% every 1 min",
        "LINEAR 10% every 3 min",
    ]


def test_deployment_configuration_of_the_example_service(real_catalog: Catalog) -> None:
    service = _service(real_catalog, deployment={"termination_wait_minutes": 7})
    config = deployment_configuration(
        service, parse_strategy("canary10"), region=REGION, account_id=ACCOUNT, pause_at_ready=False
    )
    fn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:bluegreen-dev-"
    assert config == {
        "strategy": "CANARY",
        "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5},
        "bakeTimeInMinutes": 7,
        "alarms": {
            "alarmNames": [
                "auth-service-5xx-errors",
                "auth-service-high-latency",
                "auth-service-unhealthy-hosts",
                "auth-service-high-cpu",
            ],
            "enable": True,
            "rollback": True,
        },
        "lifecycleHooks": [
            {
                "hookTargetArn": fn + "before-install",
                "roleArn": HOOK_ROLE,
                "lifecycleStages": ["PRE_SCALE_UP"],
                "targetType": "AWS_LAMBDA",
            },
            {
                "hookTargetArn": fn + "after-install",
                "roleArn": HOOK_ROLE,
                "lifecycleStages": ["POST_SCALE_UP"],
                "targetType": "AWS_LAMBDA",
            },
            {
                "hookTargetArn": fn + "after-allow-test-traffic",
                "roleArn": HOOK_ROLE,
                "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
                "targetType": "AWS_LAMBDA",
            },
            {
                "hookTargetArn": fn + "before-allow-traffic",
                "roleArn": HOOK_ROLE,
                "lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT"],
                "targetType": "AWS_LAMBDA",
            },
            {
                "hookTargetArn": fn + "after-allow-traffic",
                "roleArn": HOOK_ROLE,
                "lifecycleStages": ["POST_PRODUCTION_TRAFFIC_SHIFT"],
                "targetType": "AWS_LAMBDA",
            },
        ],
    }


def test_pause_at_ready_adds_a_pause_hook_after_the_test_traffic_lambda(real_catalog: Catalog) -> None:
    service = _service(real_catalog, deployment={"ready_action": "STOP_DEPLOYMENT", "ready_wait_minutes": 60})
    assert pauses_at_ready(service)
    hooks = deployment_configuration(
        service, parse_strategy("linear10"), region=REGION, account_id=ACCOUNT, pause_at_ready=True
    )["lifecycleHooks"]
    at_ready = [hook for hook in hooks if hook["lifecycleStages"] == ["POST_TEST_TRAFFIC_SHIFT"]]
    assert [hook["targetType"] for hook in at_ready] == ["AWS_LAMBDA", "PAUSE"]
    assert hooks[-1] == {
        "targetType": "PAUSE",
        "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
        "timeoutConfiguration": {"timeoutInMinutes": 60, "action": "ROLLBACK"},
    }
    assert hooks.index(at_ready[0]) < hooks.index(at_ready[1])


@pytest.mark.parametrize(
    ("deployment", "pause", "message"),
    [
        (
            {"ready_wait_minutes": 0},
            True,
            "deployment.ready_wait_minutes: ready wait 0 minutes is outside ECS's 1..20160 minutes "
            "(a PAUSE hook's timeoutInMinutes)",
        ),
        (
            {"termination_wait_minutes": 2880},
            False,
            "deployment.termination_wait_minutes: bake time 2880 minutes is outside ECS's 0..1440 minutes "
            "(ECS's bakeTimeInMinutes)",
        ),
    ],
)
def test_catalog_settings_beyond_native_limits(
    real_catalog: Catalog, deployment: dict[str, Any], pause: bool, message: str
) -> None:
    service = _service(real_catalog, deployment=deployment)
    with pytest.raises(NativeLimitError) as caught:
        deployment_configuration(
            service, parse_strategy("canary10"), region=REGION, account_id=ACCOUNT, pause_at_ready=pause
        )
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("alarms", "auto_rollback", "expected"),
    [
        (["a", "b"], True, {"alarmNames": ["a", "b"], "enable": True, "rollback": True}),
        (["a"], False, {"alarmNames": ["a"], "enable": True, "rollback": False}),
        ([], True, {"alarmNames": [], "enable": False, "rollback": True}),
    ],
)
def test_alarms_and_auto_rollback(
    real_catalog: Catalog, alarms: list[str], auto_rollback: bool, expected: dict[str, Any]
) -> None:
    service = _service(real_catalog, alarms=alarms, deployment={"auto_rollback": auto_rollback})
    config = deployment_configuration(
        service, parse_strategy("all-at-once"), region=REGION, account_id=ACCOUNT, pause_at_ready=False
    )
    assert config["alarms"] == expected
    assert config["strategy"] == "BLUE_GREEN"


def test_no_hooks_needs_no_hook_role(real_catalog: Catalog) -> None:
    service = _service(real_catalog, hooks={}, hook_role_arn=None)
    config = deployment_configuration(
        service, parse_strategy("canary10"), region=REGION, account_id=ACCOUNT, pause_at_ready=True
    )
    assert [hook["targetType"] for hook in config["lifecycleHooks"]] == ["PAUSE"]


@pytest.mark.parametrize("field", ["hook_role_arn", "infrastructure_role_arn"])
def test_missing_role_names_the_catalog_field(real_catalog: Catalog, field: str) -> None:
    service = _service(real_catalog, **{field: None})
    with pytest.raises(CatalogError) as caught:
        deployment_configuration(
            service, parse_strategy("canary10"), region=REGION, account_id=ACCOUNT, pause_at_ready=False
        )
        load_balancers(service, blue_tg_arn="b", green_tg_arn="g", production_rule_arn="p", test_rule_arn="t")
    message = str(caught.value)
    assert message.startswith(f"services.auth-service (dev): field {field} is not set; the ecs engine needs ")
    assert f"environments.dev.defaults.{field}" in message
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("region", "name", "expected"),
    [
        (
            REGION,
            "bluegreen-dev-before-install",
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:bluegreen-dev-before-install",
        ),
        ("cn-north-1", "f", f"arn:aws-cn:lambda:cn-north-1:{ACCOUNT}:function:f"),
        ("us-gov-west-1", "f", f"arn:aws-us-gov:lambda:us-gov-west-1:{ACCOUNT}:function:f"),
        (
            REGION,
            "arn:aws:lambda:us-east-1:111122223333:function:given",
            "arn:aws:lambda:us-east-1:111122223333:function:given",
        ),
    ],
)
def test_lambda_arn(real_catalog: Catalog, region: str, name: str, expected: str) -> None:
    assert (
        lambda_arn(real_catalog.resolve("auth-service", "dev"), name, region=region, account_id=ACCOUNT)
        == expected
    )


def test_load_balancers_with_advanced_configuration(real_catalog: Catalog) -> None:
    service = _service(real_catalog)
    assert load_balancers(
        service,
        blue_tg_arn=f"{TG}/b/1",
        green_tg_arn=f"{TG}/g/2",
        production_rule_arn=RULE + "/p",
        test_rule_arn=RULE + "/t",
    ) == [
        {
            "targetGroupArn": f"{TG}/b/1",
            "containerName": "auth-service",
            "containerPort": 3001,
            "advancedConfiguration": {
                "alternateTargetGroupArn": f"{TG}/g/2",
                "productionListenerRule": RULE + "/p",
                "testListenerRule": RULE + "/t",
                "roleArn": INFRA_ROLE,
            },
        }
    ]


_STRATEGIES = [s.name for s in list_strategies()] + ["canary:5:30", "linear:3:1", "linear:33:10"]


@pytest.mark.parametrize("strategy", _STRATEGIES)
@pytest.mark.parametrize("pause", [False, True])
def test_every_request_validates_against_botocore_update_service(
    real_catalog: Catalog, strategy: str, pause: bool
) -> None:
    service = _service(real_catalog, deployment={"ready_wait_minutes": 30})
    request = {
        "cluster": service.settings.cluster,
        "service": service.settings.ecs_service,
        "taskDefinition": "auth-service:7",
        "deploymentController": {"type": "ECS"},
        "deploymentConfiguration": deployment_configuration(
            service, parse_strategy(strategy), region=REGION, account_id=ACCOUNT, pause_at_ready=pause
        ),
        "loadBalancers": load_balancers(
            service,
            blue_tg_arn=f"{TG}/b/1",
            green_tg_arn=f"{TG}/g/2",
            production_rule_arn=RULE,
            test_rule_arn=RULE,
        ),
    }
    shape = (
        botocore.session.get_session().get_service_model("ecs").operation_model("UpdateService").input_shape
    )
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()

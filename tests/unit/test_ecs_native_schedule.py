"""The ECS native emulator's pure decisions: traffic steps per strategy, rule weights, hooks per
stage, callBackDelay, and the configurations ECS refuses."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.ecs_native import api, checks, schedule, server
from sandbox.ecs_native.schedule import TrafficStep


@pytest.mark.parametrize(
    ("config", "steps"),
    [
        ({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5}, [(0, 100)]),
        (
            {
                "strategy": "CANARY",
                "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5},
            },
            [(0, 10), (300, 100)],
        ),
        # botocore's documented defaults: canary 5.0 % for 10 minutes
        ({"strategy": "CANARY"}, [(0, 5), (600, 100)]),
        ({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 100.0}}, [(0, 100)]),
        (
            {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 1}},
            [(0, 25), (60, 50), (60, 75), (60, 100)],
        ),
        # the last step is capped at 100, no bake after it
        (
            {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 40.0, "stepBakeTimeInMinutes": 2}},
            [(0, 40), (120, 80), (120, 100)],
        ),
        # tenths do not drift: 3 x 33.3 = 99.9, then 100
        (
            {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 33.3, "stepBakeTimeInMinutes": 0}},
            [(0, 33.3), (0, 66.6), (0, 99.9), (0, 100)],
        ),
        # defaults: 10.0 % every 6 minutes
        ({"strategy": "LINEAR"}, [(0, 10)] + [(360, p) for p in range(20, 101, 10)]),
    ],
)
def test_production_steps(config: dict[str, Any], steps: list[tuple[float, float]]) -> None:
    assert schedule.production_steps(config) == [TrafficStep(float(b), float(p)) for b, p in steps]


@pytest.mark.parametrize(
    ("percent", "weights"),
    [(0, (100, 0)), (10, (90, 10)), (100, (0, 100)), (10.5, (179, 21)), (0.1, (999, 1)), (33.3, (667, 333))],
)
def test_rule_weights(percent: float, weights: tuple[int, int]) -> None:
    assert schedule.rule_weights("blue", "green", percent) == {"blue": weights[0], "green": weights[1]}
    assert all(0 <= w <= 999 for w in weights)


def test_hooks_at_keeps_list_order_and_defaults() -> None:
    config = {
        "lifecycleHooks": [
            {"hookTargetArn": "a", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT", "PRE_SCALE_UP"]},
            {
                "targetType": "PAUSE",
                "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
                "timeoutConfiguration": {"timeoutInMinutes": 3, "action": "CONTINUE"},
            },
        ]
    }
    found = schedule.hooks_at(config, "POST_TEST_TRAFFIC_SHIFT")
    assert [(h.target_type, h.target_arn) for h in found] == [("AWS_LAMBDA", "a"), ("PAUSE", None)]
    assert (found[0].timeout_seconds, found[0].timeout_action) == (1440 * 60.0, "ROLLBACK")
    assert (found[1].timeout_seconds, found[1].timeout_action) == (180.0, "CONTINUE")
    assert schedule.hooks_at(config, "BAKE_TIME") == []


@pytest.mark.parametrize(
    ("answer", "delay"),
    [
        ({}, 30.0),
        ({"callBackDelay": 5}, 5.0),
        ({"callBackDelay": 0}, 0.0),
        ({"callBackDelay": -1}, 30.0),
        ({"callBackDelay": "9"}, 30.0),
        ({"callBackDelay": True}, 30.0),
    ],
)
def test_callback_delay(answer: dict[str, Any], delay: float) -> None:
    assert schedule.callback_delay(answer) == delay


LB = [
    {
        "targetGroupArn": "blue",
        "advancedConfiguration": {
            "alternateTargetGroupArn": "green",
            "productionListenerRule": "rule",
            "roleArn": "role",
        },
    }
]


@pytest.mark.parametrize(
    ("config", "load_balancers", "problem"),
    [
        ({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0}, LB, None),
        ({"strategy": "BLUE_GREEN"}, LB, "bakeTimeInMinutes is required"),
        (
            {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 2.0}},
            LB,
            "from 3.0 to 100.0, got 2.0",
        ),
        ({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 3.05}}, LB, "multiple of 0.1"),
        ({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 3.0}}, LB, None),
        ({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 0.1}}, LB, None),
        ({"strategy": "CANARY", "canaryConfiguration": {"canaryBakeTimeInMinutes": 1441}}, LB, "0 to 1440"),
        (
            {"strategy": "CANARY", "lifecycleHooks": [{"lifecycleStages": ["PRE_SCALE_UP"]}]},
            LB,
            "hookTargetArn is required",
        ),
        (
            {
                "strategy": "CANARY",
                "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["TEST_TRAFFIC_SHIFT"]}],
            },
            LB,
            "PAUSE hooks cannot be configured",
        ),
        (
            {"strategy": "CANARY", "lifecycleHooks": [{"hookTargetArn": "f", "lifecycleStages": []}]},
            LB,
            "lifecycleStages is required",
        ),
        ({"strategy": "CANARY"}, [], "needs loadBalancers"),
        ({"strategy": "CANARY"}, [{"targetGroupArn": "blue"}], "alternateTargetGroupArn is required"),
        (
            {"strategy": "CANARY"},
            [{"advancedConfiguration": LB[0]["advancedConfiguration"]}],
            "targetGroupArn is required",
        ),
    ],
)
def test_native_problems(
    config: dict[str, Any], load_balancers: list[dict[str, Any]], problem: str | None
) -> None:
    found = checks.native_problems(config, load_balancers)
    if problem is None:
        assert found == []
    else:
        assert any(problem in p for p in found), found


@pytest.mark.parametrize(
    ("cluster", "service", "key"),
    [
        (None, "svc", ("default", "svc")),
        ("c", "svc", ("c", "svc")),
        ("arn:aws:ecs:ap-northeast-2:123456789012:cluster/c", "svc", ("c", "svc")),
        (None, "arn:aws:ecs:ap-northeast-2:123456789012:service/c/svc", ("c", "svc")),
        ("c", "arn:aws:ecs:ap-northeast-2:123456789012:service/other/svc", ("c", "svc")),
        (
            None,
            "arn:aws:ecs:ap-northeast-2:123456789012:service/svc",
            ("default", "svc"),
        ),  # the short ARN form
    ],
)
def test_service_key(cluster: str | None, service: str, key: tuple[str, str]) -> None:
    assert api.service_key(cluster, service) == key


@pytest.mark.parametrize(
    ("authorization", "region"),
    [
        (
            "AWS4-HMAC-SHA256 Credential=testing/20261130/ap-northeast-2/ecs/aws4_request, SignedHeaders=x",
            "ap-northeast-2",
        ),
        ("AWS4-HMAC-SHA256 Credential=testing/20261130/us-west-2/ecs/aws4_request", "us-west-2"),
        ("", "us-east-1"),  # unsigned: moto's default region
    ],
)
def test_region_of_the_signature(authorization: str, region: str) -> None:
    assert server.region_of({"Authorization": authorization}) == region

"""Strategy names -> CodeDeploy deployment configs, read like DESIGN.md's list of strategies."""

from __future__ import annotations

import re
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from orchestrator.errors import StrategyError
from orchestrator.strategies import (
    Strategy,
    StrategyKind,
    list_strategies,
    parse_strategy,
    strategy_for_config,
)

CANARY, LINEAR, ALL = StrategyKind.CANARY, StrategyKind.LINEAR, StrategyKind.ALL_AT_ONCE

PREDEFINED = [
    # name,         kind,   CodeDeploy config,                                 pct,  minutes
    ("all-at-once", ALL, "CodeDeployDefault.ECSAllAtOnce", None, None),
    ("canary10", CANARY, "CodeDeployDefault.ECSCanary10Percent5Minutes", 10, 5),
    ("canary10-15m", CANARY, "CodeDeployDefault.ECSCanary10Percent15Minutes", 10, 15),
    ("linear10", LINEAR, "CodeDeployDefault.ECSLinear10PercentEvery1Minutes", 10, 1),
    ("linear10-3m", LINEAR, "CodeDeployDefault.ECSLinear10PercentEvery3Minutes", 10, 3),
]


@pytest.mark.parametrize(("name", "kind", "config", "pct", "minutes"), PREDEFINED)
def test_predefined_strategy_maps_to_codedeploy_default(
    name: str, kind: StrategyKind, config: str, pct: int | None, minutes: int | None
) -> None:
    strategy = parse_strategy(name)
    assert strategy == Strategy(name, kind, config, pct, minutes, predefined=True)
    assert strategy.create_request() is None
    assert strategy_for_config(config) == strategy


def test_list_strategies_is_design_order() -> None:
    assert [s.name for s in list_strategies()] == [row[0] for row in PREDEFINED]


@pytest.mark.parametrize(
    ("typed", "name", "config", "routing"),
    [
        (
            "canary:25:3",
            "canary:25:3",
            "bluegreen.ECSCanary25Percent3Minutes",
            {"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 25, "canaryInterval": 3}},
        ),
        (
            " Linear:20:2 ",
            "linear:20:2",
            "bluegreen.ECSLinear20PercentEvery2Minutes",
            {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 20, "linearInterval": 2}},
        ),
        (
            "canary:1:2880",
            "canary:1:2880",
            "bluegreen.ECSCanary1Percent2880Minutes",
            {"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 1, "canaryInterval": 2880}},
        ),
        (
            "linear:99:2880",
            "linear:99:2880",
            "bluegreen.ECSLinear99PercentEvery2880Minutes",
            {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 99, "linearInterval": 2880}},
        ),
    ],
)
def test_custom_strategy_is_a_create_deployment_config_request(
    typed: str, name: str, config: str, routing: dict[str, Any]
) -> None:
    strategy = parse_strategy(typed)
    assert (strategy.name, strategy.deployment_config_name, strategy.predefined) == (name, config, False)
    request = strategy.create_request()
    assert request == {
        "deploymentConfigName": config,
        "computePlatform": "ECS",
        "trafficRoutingConfig": routing,
    }
    _assert_valid_request("CreateDeploymentConfig", request)
    # botocore does not check name patterns client side; CodeDeploy does, so check it here.
    name_shape = _codedeploy_model().shape_for("DeploymentConfigName")
    assert re.fullmatch(name_shape.metadata["pattern"], config)
    assert len(config) <= name_shape.metadata["max"]
    # The name is predictable: the same spec always gives the same config, so creating it is idempotent.
    assert parse_strategy(typed) == strategy
    # ... and reading it back (status/watch of a deployment) gives the same strategy.
    assert strategy_for_config(config) == strategy
    assert strategy_for_config(config, routing) == strategy


@pytest.mark.parametrize(
    ("typed", "predefined"), [("canary:10:5", "canary10"), ("linear:10:3", "linear10-3m")]
)
def test_custom_spec_equal_to_a_predefined_config_uses_it(typed: str, predefined: str) -> None:
    assert parse_strategy(typed) == parse_strategy(predefined)


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("canary11", "did you mean canary10?"),
        ("linear", "unknown strategy"),
        ("blue-green", "unknown strategy"),
        ("", "unknown strategy"),
        ("canary:10", "unknown strategy"),
        ("canary:ten:5", "unknown strategy"),
        ("canary:-5:5", "unknown strategy"),
        ("rolling:10:5", "unknown strategy"),
        ("canary:0:5", "percentage must be 1..99, got 0"),
        ("canary:100:5", "percentage must be 1..99, got 100"),
        ("linear:10:0", "interval must be at least 1 minute"),
        ("canary:10:2881", "at most 2880"),
        ("linear:1:30", "2970 minutes"),  # 100 steps x 30 min: 99 x 30 min from first shift to last
        # int() accepts any Unicode digit; a strategy takes ASCII digits only.
        ("canary:\uff11\uff10:5", "unknown strategy"),
        ("linear:10:\u0663", "unknown strategy"),
        ("canary:\u00b2:5", "unknown strategy"),
    ],
)
def test_bad_strategy_says_why_and_lists_valid_names(typed: str, why: str) -> None:
    with pytest.raises(StrategyError) as raised:
        parse_strategy(typed)
    message = str(raised.value)
    assert why in message
    assert "\n" not in message
    assert raised.value.exit_code == 2
    if why in ("unknown strategy", "did you mean canary10?"):
        for name in ("all-at-once", "canary10", "canary10-15m", "linear10", "linear10-3m", "canary:PCT:MIN"):
            assert name in message


@pytest.mark.parametrize(
    ("strategy", "steps"),
    [
        ("all-at-once", [(0, 100)]),
        ("canary10", [(0, 10), (5, 100)]),
        ("canary10-15m", [(0, 10), (15, 100)]),
        ("linear10", [(minute, 10 * (minute + 1)) for minute in range(10)]),
        ("linear10-3m", [(3 * step, 10 * (step + 1)) for step in range(10)]),
        ("linear:30:2", [(0, 30), (2, 60), (4, 90), (6, 100)]),
        ("canary:25:3", [(0, 25), (3, 100)]),
    ],
)
def test_traffic_steps(strategy: str, steps: list[tuple[float, int]]) -> None:
    assert parse_strategy(strategy).traffic_steps() == steps


def test_linear10_is_ten_steps() -> None:
    assert len(parse_strategy("linear10").traffic_steps()) == 10
    assert parse_strategy("linear10").describe() == "10% more every 1 minute (10 steps)"


@pytest.mark.parametrize(
    ("config", "routing", "expected"),
    [
        ("CodeDeployDefault.LambdaCanary10Percent30Minutes", None, ("canary:10:30", CANARY, 10, 30, False)),
        ("CodeDeployDefault.LambdaLinear10PercentEvery1Minute", None, ("linear:10:1", LINEAR, 10, 1, False)),
        ("CodeDeployDefault.LambdaAllAtOnce", None, ("all-at-once", ALL, None, None, False)),
        (
            "team-slow-canary",
            {"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 5, "canaryInterval": 30}},
            ("canary:5:30", CANARY, 5, 30, False),
        ),
        ("team-big-bang", {"type": "AllAtOnce"}, ("all-at-once", ALL, None, None, False)),
    ],
)
def test_strategy_for_configs_made_elsewhere(
    config: str, routing: dict[str, Any] | None, expected: tuple[Any, ...]
) -> None:
    strategy = strategy_for_config(config, routing)
    assert strategy.deployment_config_name == config
    got = (strategy.name, strategy.kind, strategy.percentage, strategy.interval_minutes, strategy.predefined)
    assert got == expected


@pytest.mark.parametrize(
    ("config", "routing"),
    [
        ("team-config", None),
        ("team-config", {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 10}}),
    ],
)
def test_strategy_for_unknown_config_is_a_strategy_error(config: str, routing: dict[str, Any] | None) -> None:
    with pytest.raises(StrategyError, match="team-config"):
        strategy_for_config(config, routing)


def _codedeploy_model() -> Any:
    return botocore.session.get_session().get_service_model("codedeploy")


def _assert_valid_request(operation: str, params: dict[str, Any]) -> None:
    """botocore's own parameter validation, against the CodeDeploy service model shipped with it."""
    model = _codedeploy_model()
    report = ParamValidator().validate(params, model.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()

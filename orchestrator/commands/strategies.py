"""`bluegreen strategies`: the predefined strategies and the custom forms on both engines, as a table."""

from __future__ import annotations

from orchestrator import documents
from orchestrator.commands.result import Result, lines
from orchestrator.commands.session import Session

_HEADER = ("NAME", "KIND", "CODEDEPLOY CONFIG", "ECS NATIVE", "TRAFFIC")
_CUSTOM_ROWS = (
    (
        "canary:PCT:MIN",
        "canary",
        "bluegreen.ECSCanary{PCT}Percent{MIN}Minutes",
        "CANARY PCT%, rest after MIN min",
        "PCT% first, the rest after MIN minutes",
    ),
    (
        "linear:PCT:MIN",
        "linear",
        "bluegreen.ECSLinear{PCT}PercentEvery{MIN}Minutes",
        "LINEAR PCT% every MIN min",
        "PCT% more every MIN minutes",
    ),
)


def run(session: Session) -> Result:
    from orchestrator.engines import ecs_config
    from orchestrator.strategies import list_strategies

    strategies = list_strategies()
    document = documents.StrategiesDocument(
        strategies=[
            documents.StrategyRow(
                name=s.name,
                kind=s.kind.value,
                deployment_config_name=s.deployment_config_name,
                percentage=s.percentage,
                interval_minutes=s.interval_minutes,
                traffic_steps=s.traffic_steps(),
                description=s.describe(),
                native_configuration=documents.native_configuration(ecs_config.strategy_configuration(s)),
                native_description=ecs_config.describe_native(s),
            )
            for s in strategies
        ],
        custom=["canary:PCT:MIN", "linear:PCT:MIN"],
    )
    rows = [_HEADER]
    rows += [
        (s.name, s.kind.value, s.deployment_config_name, ecs_config.describe_native(s), s.describe())
        for s in strategies
    ]
    rows += _CUSTOM_ROWS
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    table = ["  ".join([*(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])), row[4]]) for row in rows]
    linear, canary, bake = (
        ecs_config.LINEAR_STEP_PERCENT,
        ecs_config.CANARY_PERCENT,
        ecs_config.STEP_BAKE_MINUTES,
    )
    limits = (
        f"ECS's limits: linear step {linear[0]:g}..{linear[1]:g}%, canary {canary[0]:g}..{canary[1]:g}%, "
        f"MIN {bake[0]}..{bake[1]} minutes"
    )
    notes = (
        "engine codedeploy: custom configs are created once per account and region (idempotent) and reused",
        "engine ecs: the configuration goes with each deployment (nothing to create)",
        limits,
    )
    return Result(document, lines(*table, *notes))

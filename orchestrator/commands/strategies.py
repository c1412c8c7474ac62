"""`bluegreen strategies`: the predefined strategies and the custom forms, as a table."""

from __future__ import annotations

from orchestrator import documents
from orchestrator.commands.result import Result, lines
from orchestrator.commands.session import Session


def run(session: Session) -> Result:
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
            )
            for s in strategies
        ],
        custom=["canary:PCT:MIN", "linear:PCT:MIN"],
    )
    rows = [("NAME", "KIND", "DEPLOYMENT CONFIG", "TRAFFIC")]
    rows += [(s.name, s.kind.value, s.deployment_config_name, s.describe()) for s in strategies]
    rows.append(
        (
            "canary:PCT:MIN",
            "canary",
            "bluegreen.ECSCanary{PCT}Percent{MIN}Minutes",
            "PCT% first, the rest after MIN minutes",
        )
    )
    rows.append(
        (
            "linear:PCT:MIN",
            "linear",
            "bluegreen.ECSLinear{PCT}PercentEvery{MIN}Minutes",
            "PCT% more every MIN minutes",
        )
    )
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    table = ["  ".join([*(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])), row[3]]) for row in rows]
    note = "custom configs are created once per account and region (idempotent) and reused"
    return Result(document, lines(*table, note))

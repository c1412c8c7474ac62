"""`bluegreen strategies`: the predefined strategies and the custom forms, as a table."""

from __future__ import annotations

from orchestrator.commands.session import Session


def run(session: Session) -> int:
    from orchestrator.strategies import list_strategies

    strategies = list_strategies()
    if session.json:
        session.print_json(
            {
                "strategies": [
                    {
                        "name": s.name,
                        "kind": s.kind.value,
                        "deploymentConfigName": s.deployment_config_name,
                        "percentage": s.percentage,
                        "intervalMinutes": s.interval_minutes,
                        "trafficSteps": [list(step) for step in s.traffic_steps()],
                        "description": s.describe(),
                    }
                    for s in strategies
                ],
                "custom": ["canary:PCT:MIN", "linear:PCT:MIN"],
            }
        )
        return 0
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
    for row in rows:
        session.print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    session.print("custom configs are created once per account and region (idempotent) and reused")
    return 0

"""`bluegreen strategies` shows both engines: CodeDeploy's config and ECS's native configuration."""

from __future__ import annotations

from tests.support.cli import run_cli, shown


def test_strategies_json_has_the_native_configuration_of_each_strategy() -> None:
    result = run_cli("strategies", "-o", "json")
    assert result.code == 0, shown(result)
    rows = {row["name"]: row for row in result.json()["strategies"]}
    assert rows["all-at-once"]["nativeConfiguration"] == {"strategy": "BLUE_GREEN"}
    assert rows["canary10"]["nativeConfiguration"] == {
        "strategy": "CANARY",
        "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5},
    }
    assert rows["linear10-3m"]["nativeConfiguration"] == {
        "strategy": "LINEAR",
        "linearConfiguration": {"stepPercent": 10.0, "stepBakeTimeInMinutes": 3},
    }
    assert rows["linear10"]["nativeDescription"] == "LINEAR 10% every 1 min"
    assert rows["canary10"]["deploymentConfigName"] == "CodeDeployDefault.ECSCanary10Percent5Minutes"


def test_strategies_text_names_both_engines() -> None:
    result = run_cli("strategies")
    assert result.code == 0, shown(result)
    header, canary = result.stdout.splitlines()[0], result.stdout.splitlines()[2]
    assert header.split() == ["NAME", "KIND", "CODEDEPLOY", "CONFIG", "ECS", "NATIVE", "TRAFFIC"]
    assert "CodeDeployDefault.ECSCanary10Percent5Minutes" in canary
    assert "CANARY 10%, rest after 5 min" in canary
    assert "ECS's limits: linear step 3..100%, canary 0.1..100%, MIN 0..1440 minutes" in result.stdout

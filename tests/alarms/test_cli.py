"""`bluegreen alarms sync|audit` through typer's CliRunner on the sub-app, and exit codes via cli.main."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.commands.alarms import app
from orchestrator.errors import (
    AlarmDefinitionError,
    AuditViolationsError,
    BadInputError,
    UnknownServiceError,
)
from tests.support.alarms import World
from tests.support.schema import document_kind

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "alarms"
runner = CliRunner()


def groups_for(world: World, *names: str) -> None:
    for name in names:
        world.add_group(name, alarms=[], enabled=False)


def test_sync_dry_run_prints_the_diff_and_writes_nothing(world: World) -> None:
    groups_for(world, "product-service")

    result = runner.invoke(app, ["sync", "product-service", "--dry-run"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:5] == [
        "+ alarm product-service-5xx-errors",
        "+ alarm product-service-high-latency",
        "+ alarm product-service-unhealthy-hosts",
        "+ alarm product-service-high-cpu",
        "+ alarm product-service-canary-verdict",  # its canary analysis' verdict (alarms/verdict.yaml)
    ]
    assert lines[5].startswith(
        "~ deployment group doa-market-dev/product-service: alarmConfiguration.enabled: "
    )
    assert (
        lines[-1]
        == "dev: 5 alarm(s), 1 deployment group(s) checked; dry run: 6 change(s) to make, nothing written"
    )
    assert world.cloudwatch.describe_alarms(AlarmNamePrefix="product-service")["MetricAlarms"] == []


def test_sync_all_twice_second_is_a_no_op_in_json(world: World) -> None:
    groups_for(world, *world.catalog.services)
    first = runner.invoke(app, ["sync", "--all", "--output", "json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["writes"] == 81  # product-service has a fifth alarm, its verdict
    assert document_kind(json.loads(first.output)) == "SyncDocument"  # against `bluegreen schema`

    second = runner.invoke(app, ["sync", "--all", "--output", "json"])

    document = json.loads(second.output)
    assert (document["writes"], document["alarmChanges"], document["deploymentGroupChanges"]) == (0, [], [])
    assert runner.invoke(app, ["sync", "--all"]).output.splitlines()[-1] == (
        "dev: 65 alarm(s), 16 deployment group(s) checked; in sync, nothing to do"
    )


def test_audit_exits_1_with_violations_and_fix_repairs_them(world: World) -> None:
    groups_for(world, "order-service", "user-service")
    assert runner.invoke(app, ["sync", "--all"]).exception is not None  # 14 services have no group yet
    world.cloudwatch.delete_alarms(AlarmNames=["order-service-high-cpu"])

    audit = runner.invoke(app, ["audit"])
    assert isinstance(audit.exception, AuditViolationsError) and audit.exception.exit_code == 1
    assert "alarm-missing" in audit.output and "order-service-high-cpu" in audit.output
    assert str(audit.exception) == (
        "alarm audit (dev): 1 violation(s), 0 not fixable by sync; "
        "`bluegreen alarms audit --fix` repairs the fixable ones"
    )

    fixed = runner.invoke(app, ["audit", "--fix"])
    assert fixed.exit_code == 0, fixed.output
    assert fixed.output.splitlines() == [
        "fix: 1 of 1 violation(s) fixable by sync; 1 write(s) made",
        "dev: 2 deployment group(s), 8 alarm(s) audited; clean",
    ]
    clean = runner.invoke(app, ["audit", "--output", "json"])
    assert clean.exit_code == 0 and json.loads(clean.output)["violations"] == 0


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (["sync"], BadInputError, "give a SERVICE or --all (not both)"),
        (["sync", "order-service", "--all"], BadInputError, "give a SERVICE or --all (not both)"),
        (["sync", "basket-service"], UnknownServiceError, "services.yaml: no service 'basket-service'"),
        (["audit", "--output", "xml"], BadInputError, "--output 'xml': use text or json"),
        (["audit", "--env", "staging"], BadInputError, "services.yaml: no environment 'staging'"),
    ],
)
def test_bad_input_is_a_one_line_error_with_exit_2(args: list[str], error: type, message: str) -> None:
    result = runner.invoke(app, args)
    assert isinstance(result.exception, error) and result.exception.exit_code == 2
    assert str(result.exception).startswith(message)


def test_an_override_for_an_unknown_service_is_exit_2_naming_file_and_field(
    tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(repo_root / "alarms" / "templates.yaml", tmp_path / "templates.yaml")
    shutil.copy(FIXTURES / "unknown-service.yaml", tmp_path / "unknown-service.yaml")
    monkeypatch.setenv("BLUEGREEN_ALARMS", str(tmp_path))
    result = runner.invoke(app, ["audit"])
    assert isinstance(result.exception, AlarmDefinitionError) and result.exception.exit_code == 2
    assert str(result.exception).startswith(
        f"{tmp_path.name}/unknown-service.yaml: field services.basket-service: no such service"
    )


def test_exit_codes_through_the_bluegreen_main(
    world: World,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    repo_root: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from orchestrator.cli import main

    groups_for(world, "order-service")
    assert main(["alarms", "sync", "order-service"]) == 0
    assert main(["alarms", "audit"]) == 0
    world.update_group(
        "order-service", autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE"]}
    )
    assert main(["alarms", "audit", "--output", "json"]) == 1
    out, err = capsys.readouterr()
    assert (
        json.loads(out[out.index('{\n  "environment"') :])["byRule"]["auto-rollback-on-alarm-disabled"] == 1
    )
    assert err.strip().count("\n") == 0 and "alarm audit (dev): 1 violation(s)" in err

    shutil.copy(FIXTURES / "malformed.yaml", tmp_path / "malformed.yaml")
    monkeypatch.setenv("BLUEGREEN_ALARMS", str(tmp_path))
    assert main(["alarms", "sync", "--all"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {tmp_path.name}/malformed.yaml: "
        "expected ',' or '}', but got '<stream end>' at line 6, column 1"
    )


def test_audit_on_a_tty_is_a_table_with_a_header_that_never_cuts_names(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.commands import alarms as alarms_cli

    groups_for(world, "product-service")
    assert runner.invoke(app, ["sync", "product-service"]).exit_code == 0
    world.cloudwatch.delete_alarms(AlarmNames=["product-service-high-latency"])
    monkeypatch.setattr(alarms_cli, "_stdout_is_tty", lambda: True)
    monkeypatch.setenv("COLUMNS", "80")  # a narrow terminal: rich must fold, not cut with "…"

    result = runner.invoke(app, ["audit"])

    assert result.exit_code == 1
    lines = result.output.splitlines()
    header = next(line for line in lines if "rule" in line)
    assert next(cell.strip() for cell in header.strip("┃").split("┃")) == "rule"
    assert {"alarm", "fixable", "message"} <= set(header.replace("┃", " ").split())
    assert "…" not in result.output
    cells = "".join(line.split("│")[3].strip() for line in lines if line.startswith("│"))
    assert cells == "product-service-high-latency"
    assert lines[-1] == "dev: 1 deployment group(s), 4 alarm(s) audited; 1 violation(s)"


def test_audit_json_has_the_same_keys_clean_violated_and_fixed(world: World) -> None:
    groups_for(world, "order-service")
    assert runner.invoke(app, ["sync", "order-service"]).exit_code == 0
    clean = json.loads(runner.invoke(app, ["audit", "--output", "json"]).output)
    world.cloudwatch.delete_alarms(AlarmNames=["order-service-high-cpu"])
    violated = json.loads(runner.invoke(app, ["audit", "--output", "json"]).output)
    fixed = json.loads(runner.invoke(app, ["audit", "--fix", "--output", "json"]).output)

    assert list(clean) == list(violated) == list(fixed)
    assert {document_kind(d) for d in (clean, violated, fixed)} == {"AuditDocument"}
    assert (clean["violations"], violated["violations"], fixed["violations"]) == (0, 1, 0)
    assert clean["fix"] is None and fixed["fix"]["before"] == 1 and fixed["fix"]["sync"]["writes"] == 1
    assert list(violated["findings"][0]) == [
        "rule",
        "application",
        "deploymentGroup",
        "alarm",
        "service",
        "message",
        "fixable",
        "unfixableReason",
    ]


def test_audit_says_what_it_could_not_compare(world: World) -> None:
    groups_for(world, "coupon-service")
    assert runner.invoke(app, ["sync", "coupon-service"]).exit_code == 0
    elbv2 = world.clients.client("elbv2")
    arn = elbv2.describe_target_groups(Names=["coupon-service-green"])["TargetGroups"][0]["TargetGroupArn"]
    elbv2.delete_target_group(TargetGroupArn=arn)

    result = runner.invoke(app, ["audit"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "note: coupon-service: coupon-service-green not found in ELBv2 (ap-northeast-2); "
        "its alarms' dimension values not compared",
        "dev: 1 deployment group(s), 4 alarm(s) audited; clean",
    ]


def test_fix_says_what_it_cannot_fix_and_why(world: World) -> None:
    groups_for(world, "order-service")
    assert runner.invoke(app, ["sync", "order-service"]).exit_code == 0
    world.add_group("legacy-service", alarms=["ghost-alarm"])  # no catalog service deploys here
    world.cloudwatch.delete_alarms(AlarmNames=["order-service-high-cpu"])

    result = runner.invoke(app, ["audit", "--fix"])

    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[:2] == [
        "fix: 1 of 3 violation(s) fixable by sync; 1 write(s) made",
        # once for the group, not once for each of its two findings (too few alarms, one missing)
        "cannot fix doa-market-dev/legacy-service: "
        "no catalog service deploys to this deployment group, so sync leaves it alone",
    ]
    assert "order-service-high-cpu" not in result.output and "cannot fix" not in "".join(lines[2:])
    assert str(result.exception) == "alarm audit (dev): 2 violation(s), 2 not fixable by sync"
    # Without --fix, the hint to run it only appears while something is left that it can fix.
    again = runner.invoke(app, ["audit"])
    assert str(again.exception) == "alarm audit (dev): 2 violation(s), 2 not fixable by sync"

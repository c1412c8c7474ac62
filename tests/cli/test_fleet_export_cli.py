"""`bluegreen fleet export`: the plan `fleet deploy --dry-run` shows, written as the state machine and
its template (no AWS call: the tests' environment has no endpoint and no credentials that work)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from orchestrator.catalog import load_catalog
from orchestrator.fleet import export
from orchestrator.fleet.planning import FleetRequest, plan_fleet
from tests.support.cli import run_cli

REPO = Path(__file__).resolve().parents[2]


def test_export_writes_the_plan_as_a_state_machine_and_its_template(tmp_path: Path) -> None:
    result = run_cli("fleet", "export", "--all", "--env", "dev", "--out", str(tmp_path), "-o", "json")

    assert result.code == 0, result.stderr
    document = result.json()
    asl = json.loads((tmp_path / "fleet-dev.asl.json").read_text(encoding="utf-8"))
    plan = plan_fleet(
        load_catalog(REPO / "services.yaml"), FleetRequest(environment="dev", all_services=True)
    )
    dev = load_catalog(REPO / "services.yaml").environment("dev").fleet
    options = export.ExportOptions(queue_wait_seconds=dev.queue_wait_minutes * 60)
    assert asl == export.state_machine(plan, options)
    assert export.problems(asl) == []
    assert (document["services"], document["waves"], document["maxParallel"]) == (16, len(plan.waves), 8)
    assert document["aslPath"] == str(tmp_path / "fleet-dev.asl.json")
    template = yaml.safe_load((tmp_path / "fleet-dev.template.yaml").read_text(encoding="utf-8"))
    assert template["Resources"]["FleetStateMachine"]["Properties"]["Definition"]["StartAt"] == "Record run"
    # SAM resolves CodeUri from the template's folder: it must lead to the repository's build/lambda
    code_uri = template["Resources"]["FleetStepFunction"]["Properties"]["CodeUri"]
    assert (tmp_path / code_uri).resolve() == (REPO / "build" / "lambda").resolve()


def test_the_text_says_how_to_deploy_and_start_a_run(tmp_path: Path) -> None:
    result = run_cli(
        "fleet", "export", "product-service", "order-service", "--env", "prod", "--out", str(tmp_path)
    )

    assert result.code == 0, result.stderr
    assert "2 services of prod in 2 waves, at most 4 at once" in result.stdout
    assert "sam deploy --template-file" in result.stdout
    assert "aws stepfunctions start-execution" in result.stdout and "--name fr-" in result.stdout


def test_without_stop_on_failure_no_wave_stops(tmp_path: Path) -> None:
    result = run_cli(
        "fleet", "export", "--all", "--env", "dev", "--no-stop-on-failure", "--out", str(tmp_path)
    )

    assert result.code == 0, result.stderr
    asl = json.loads((tmp_path / "fleet-dev.asl.json").read_text(encoding="utf-8"))
    assert not [name for name in asl["States"] if name.endswith(" stop")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--all", "--poll-seconds", "1"], "--poll-seconds must be between 5 and 3600, got 1"),
        (["nope-service"], "no service 'nope-service'"),
        (["--all", "--max-parallel", "0"], "--max-parallel must be between 1 and 100"),
        ([], "name the services to deploy, or pass --all"),
    ],
)
def test_bad_input_is_exit_2_one_line_and_writes_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_cli("fleet", "export", *args, "--env", "dev", "--out", str(tmp_path / "out"))

    assert result.code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "out").exists()


def test_out_must_be_a_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")

    result = run_cli("fleet", "export", "--all", "--env", "dev", "--out", str(tmp_path / "file"))

    assert result.code == 2
    assert "not a directory" in result.stderr

"""What people and machines read: exact text of strategies and dry runs, render files, JSON shapes,
the live view, and --help."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.catalog import load_catalog
from tests.support.cli import FIXTURES, Recorder, normalise, recording_endpoint, run_cli, shown

REPO = Path(__file__).resolve().parents[2]
IMAGE = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/doa-market/payment-service:2.0.1"


@pytest.fixture(autouse=True)
def _catalog_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalog's ${VAR:-default}s take their defaults, whatever the shell exported."""
    for var in ("ECR_REGISTRY", "IMAGE_TAG", "BLUEGREEN_LISTENER_HOST", "PRODUCT_CACHE_TTL_SECONDS"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    with recording_endpoint() as recorder:
        monkeypatch.setenv("AWS_ENDPOINT_URL", recorder.url)
        yield recorder


def test_strategies_table() -> None:
    result = run_cli("strategies")
    assert result.code == 0, shown(result)
    assert result.stdout == (FIXTURES / "strategies.txt").read_text()


def test_strategies_json() -> None:
    document = run_cli("strategies", "-o", "json").json()
    canary = next(s for s in document["strategies"] if s["name"] == "canary10")
    assert canary["deploymentConfigName"] == "CodeDeployDefault.ECSCanary10Percent5Minutes"
    assert canary["trafficSteps"] == [[0.0, 10], [5.0, 100]]


@pytest.mark.parametrize(
    ("args", "golden"),
    [
        pytest.param(
            ["deploy", "product-service", "--strategy", "canary10", "--dry-run"],
            "dry-run-product-service-dev-canary10.txt",
            id="product-dev-canary10",
        ),
        pytest.param(
            ["deploy", "payment-service", "--env", "prod", "--dry-run", "--image", IMAGE],
            "dry-run-payment-service-prod.txt",
            id="payment-prod-catalog-strategy",
        ),
    ],
)
def test_dry_run_text_makes_no_aws_call(endpoint: Recorder, args: list[str], golden: str) -> None:
    result = run_cli(*args)
    assert result.code == 0, shown(result)
    assert normalise(result.stdout) == (FIXTURES / golden).read_text()
    assert result.stderr == ""
    assert endpoint.requests == []


def test_dry_run_json_has_the_create_deployment_request(endpoint: Recorder) -> None:
    result = run_cli("deploy", "product-service", "--strategy", "linear:20:2", "--dry-run", "-o", "json")
    assert result.code == 0, shown(result)
    plan = result.json()
    assert plan["dryRun"] is True
    assert plan["createDeploymentConfig"] == {
        "deploymentConfigName": "bluegreen.ECSLinear20PercentEvery2Minutes",
        "computePlatform": "ECS",
        "trafficRoutingConfig": {
            "type": "TimeBasedLinear",
            "timeBasedLinear": {"linearPercentage": 20, "linearInterval": 2},
        },
    }
    request = plan["createDeployment"]
    assert request["autoRollbackConfiguration"] == {
        "enabled": True,
        "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
    }
    assert request["revision"]["revisionType"] == "AppSpecContent"
    assert len(request["description"]) <= 100 and request["description"].startswith("bg:")
    assert plan["skippedReads"] and endpoint.requests == []


def test_force_is_recorded_in_the_description(endpoint: Recorder) -> None:
    result = run_cli(
        "deploy", "product-service", "--env", "prod", "-s", "all-at-once", "--dry-run", "--force"
    )
    assert result.code == 0, shown(result)
    assert (
        "  guardrail             allowed_strategy_kinds: prod allows only canary or linear deployments, "
        "not all-at-once (overridden by --force)\n"
    ) in result.stdout
    description = next(line for line in result.stdout.splitlines() if "description" in line)
    assert normalise(description) == (
        "  description           bg:TOKEN; bluegreen --force overrode guardrails: allowed_strategy_kinds"
    )


def test_render_writes_the_file_and_committed_appspecs_are_current(tmp_path: Path) -> None:
    out = tmp_path / "product.yaml"
    result = run_cli("render", "product-service", "--env", "prod", "--out", str(out))
    assert result.code == 0, shown(result)
    assert (
        result.stdout.startswith("wrote ")
        and out.read_text() == (REPO / "appspecs" / "product-service.prod.yaml").read_text()
    )
    catalog = load_catalog(REPO / "services.yaml")
    for environment in catalog.environments:
        for service in catalog.services:
            stdout = run_cli("render", service, "--env", environment, "--out", "-")
            committed = REPO / "appspecs" / f"{service}.{environment}.yaml"
            assert stdout.stdout == committed.read_text(), (
                f"{committed.name} is stale: run `bluegreen render`"
            )


def test_render_json() -> None:
    result = run_cli("render", "auth-service", "--out", "-", "-o", "json")
    assert result.code == 0
    assert result.stdout.startswith("version: 0.0")


def test_help_lists_every_command_fast_path() -> None:
    result = run_cli("--help")
    assert result.code == 0
    for command in ("deploy", "render", "status", "watch", "stop", "rollback", "promote", "strategies"):
        assert f"  {command} " in result.stdout
    assert "  alarms " in result.stdout and "  sandbox " in result.stdout


def test_help_imports_no_boto3_or_rich_console() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from orchestrator.cli import main\n"
        "import contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()): main(['--help'])\n"
        "print(sorted(m for m in ('boto3', 'botocore', 'pydantic', 'rich.live', 'yaml') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.strip().replace("'", '"')) == []


def test_live_view_shows_lifecycle_and_traffic_bar() -> None:
    from rich.console import Console

    from orchestrator.strategies import parse_strategy
    from orchestrator.watching.snapshots import snapshot_from
    from orchestrator.watching.timing import GroupTiming, expected_phases
    from orchestrator.watching.views import EtaTracker, LiveView

    data = json.loads((FIXTURES / "get-deployment-target-canary.json").read_text())
    console = Console(record=True, force_terminal=True, width=100)
    phases = expected_phases(parse_strategy("canary10"), GroupTiming("CONTINUE_DEPLOYMENT", 0, 0))
    view = LiveView(console, "product-service d-CANARY001", EtaTracker(phases))
    view.update(snapshot_from(data["deploymentInfo"], data["deploymentTarget"]), [], 250.0)
    view.close()
    text = console.export_text()
    assert "product-service d-CANARY001  InProgress  04:10  ETA 5m 00s" in text
    assert re.search(r"✓ +AfterInstall", text) and re.search(r"… +AllowTraffic", text)
    assert re.search(r"· +AfterAllowTraffic", text)
    assert "blue 90% / green 10%" in text

"""What a newcomer reads first: --help (examples, exit codes, true defaults), where --catalog may
go, BLUEGREEN_ENVIRONMENT, and a missing deployment group's hint that agrees with the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.commands.options import SANDBOX_TIME_SCALE
from tests.support.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
SHIPPED = str(REPO / "services.yaml")
OTHER = str(REPO / "tests" / "fixtures" / "sandbox" / "services.yaml")  # dev's default strategy: canary10

VERBS = [
    (),
    ("deploy",),
    ("render",),
    ("status",),
    ("watch",),
    ("stop",),
    ("rollback",),
    ("promote",),
    ("strategies",),
    ("schema",),
    ("sandbox", "serve"),
]


@pytest.mark.parametrize("verb", VERBS, ids=lambda verb: " ".join(verb) or "bluegreen")
def test_help_teaches_with_examples_and_exit_codes(verb: tuple[str, ...]) -> None:
    result = run_cli(*verb, "--help")
    assert result.code == 0
    assert "Examples:" in result.stdout
    assert f"bluegreen {' '.join(verb)}".strip() in result.stdout.split("Examples:")[1]
    exit_codes = result.stdout.split("Exit codes:")[1]
    for code in ("0", "1", "2", "3", "4", "130"):
        assert f"\n    {code} " in exit_codes


def test_sandbox_serve_help_shows_the_real_time_scale_and_port_once() -> None:
    from sandbox.world import DEFAULT_TIME_SCALE

    assert DEFAULT_TIME_SCALE == SANDBOX_TIME_SCALE  # one number, two names
    text = " ".join(run_cli("sandbox", "serve", "--help").stdout.split())
    assert f"[default: {SANDBOX_TIME_SCALE:g}:" in text
    assert "or 1]" not in text
    options = text.split("Examples:")[0]
    assert options.count("--port") == 1
    assert options.count("[default:") == 4  # catalog, port, time scale, service: one each
    assert "[default: 0]" not in options


@pytest.mark.parametrize(
    "args",
    [
        ("deploy", "product-service", "--dry-run", "--catalog", OTHER),
        ("--catalog", OTHER, "deploy", "product-service", "--dry-run"),
        # the verb's wins
        ("--catalog", SHIPPED, "deploy", "product-service", "--dry-run", "--catalog", OTHER),
    ],
)
def test_catalog_works_before_and_after_the_verb(args: tuple[str, ...]) -> None:
    result = run_cli(*args)
    assert result.code == 0, result.stderr
    assert "  strategy              canary10:" in result.stdout


def test_catalog_after_an_alarms_verb() -> None:
    result = run_cli("alarms", "audit", "--catalog", "/nonexistent/catalog.yaml")
    assert result.code == 2
    assert "/nonexistent/catalog.yaml" in result.stderr


@pytest.mark.parametrize(
    ("variable", "args", "environment"),
    [
        ("prod", (), "prod"),
        ("prod", ("--env", "dev"), "dev"),  # an explicit global --env wins over the variable
        ("prod", ("deploy-env", "dev"), "dev"),  # and so does the verb's
        (None, (), "dev"),  # the catalog's default_environment
    ],
)
def test_bluegreen_env_sets_the_default_environment(
    monkeypatch: pytest.MonkeyPatch, variable: str | None, args: tuple[str, ...], environment: str
) -> None:
    if variable is None:
        monkeypatch.delenv("BLUEGREEN_ENVIRONMENT", raising=False)
    else:
        monkeypatch.setenv("BLUEGREEN_ENVIRONMENT", variable)
    before, after = (args, ()) if args[:1] != ("deploy-env",) else ((), ("--env", args[1]))
    result = run_cli(
        "--catalog", SHIPPED, *before, "deploy", "product-service", "--dry-run", "--force", *after
    )
    assert result.code == 0, result.stderr
    assert result.stdout.startswith(f"plan: deploy product-service to {environment} ")


def test_missing_group_hint_agrees_with_the_template_and_the_readme() -> None:
    import boto3
    from botocore.stub import Stubber

    from orchestrator.aws import codedeploy as codedeploy_api
    from orchestrator.errors import BadInputError

    client = boto3.client("codedeploy", region_name="ap-northeast-2")
    with Stubber(client) as stub:
        stub.add_client_error("list_deployments", "DeploymentGroupDoesNotExistException", "no group")
        with pytest.raises(BadInputError) as raised:
            codedeploy_api.list_deployments(client, "doa-market-dev", "product-service")
    hint = str(raised.value)
    template = (REPO / "template.yaml").read_text(encoding="utf-8")
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    # What is true: template.yaml makes the application, not deployment groups.
    assert "AWS::CodeDeploy::Application" in template and "AWS::CodeDeploy::DeploymentGroup" not in template
    assert "template.yaml creates only the application" in hint
    assert "create it (template.yaml)" not in hint
    assert "creates them; `template.yaml` does not" in readme


def test_readme_documents_every_variable_bluegreen_reads() -> None:
    import re

    named: set[str] = set()
    for folder in ("orchestrator", "hooks", "sandbox", "scripts"):
        for path in (REPO / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            named |= set(re.findall(r"[\"'](BLUEGREEN_[A-Z][A-Z0-9_]*)[\"']", text))
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    assert {"BLUEGREEN_ALARMS", "BLUEGREEN_ENVIRONMENT", "BLUEGREEN_CATALOG"} <= named
    assert sorted(name for name in named if f"`{name}`" not in section) == []

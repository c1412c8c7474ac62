"""Bad input: exit 2, one line on stderr naming the problem, no traceback, and no AWS call at all."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.cli import FIXTURES, Recorder, recording_endpoint, run_cli, shown


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    """Every AWS client in the run talks to a recorder on loopback; the tests assert it heard nothing."""
    with recording_endpoint() as recorder:
        monkeypatch.setenv("AWS_ENDPOINT_URL", recorder.url)
        monkeypatch.delenv("BLUEGREEN_TEST_UNSET_VAR", raising=False)
        yield recorder


BAD_INPUT = [
    pytest.param(["deploy", "nope-service"], "no service 'nope-service'", id="unknown-service"),
    pytest.param(
        ["deploy", "product-service", "--strategy", "canary11"],
        "unknown strategy 'canary11'",
        id="unknown-strategy",
    ),
    pytest.param(
        ["deploy", "product-service", "--strategy", "linear:0:1"],
        "percentage must be",
        id="bad-custom-strategy",
    ),
    pytest.param(
        ["--catalog", "/nonexistent/services.yaml", "deploy", "product-service"],
        "catalog /nonexistent/services.yaml not found",
        id="missing-catalog",
    ),
    pytest.param(
        ["--catalog", str(FIXTURES / "malformed.yaml"), "deploy", "product-service"],
        "malformed.yaml: ",
        id="malformed-catalog",
    ),
    pytest.param(
        ["deploy", "product-service", "--task-definition", str(FIXTURES / "taskdef-missing-var.json")],
        "BLUEGREEN_TEST_UNSET_VAR",
        id="taskdef-missing-variable",
    ),
    pytest.param(
        ["deploy", "product-service", "--task-definition", str(FIXTURES / "no-such-file.json")],
        "not found",
        id="taskdef-missing-file",
    ),
    pytest.param(
        ["deploy", "product-service", "--image", "Not A Valid/Image:ref!"],
        "is not a valid image reference",
        id="bad-image",
    ),
    pytest.param(
        ["deploy", "product-service", "--env", "staging"], "no environment 'staging'", id="unknown-env"
    ),
    pytest.param(
        ["--env", "staging", "render", "product-service"], "no environment 'staging'", id="unknown-env-global"
    ),
    pytest.param(["deploy", "product-service", "--until", "halfway"], "--until 'halfway'", id="bad-until"),
    pytest.param(
        ["deploy", "product-service", "--timeout", "0"],
        "--timeout: must be a positive number",
        id="bad-timeout",
    ),
    pytest.param(
        ["deploy", "product-service", "--inject-fault", "hook:AfterInstall"],
        "--inject-fault works only",
        id="fault-no-sandbox",
    ),
    pytest.param(["deploy", "product-service", "--output", "yaml"], "--output 'yaml'", id="bad-output"),
    pytest.param(
        ["deploy", "product-service", "--env", "prod", "--strategy", "all-at-once", "--dry-run"],
        "refused by prod guardrails",
        id="guardrail-prod-all-at-once",
    ),
    pytest.param(
        ["deploy", "product-service", "--env", "prod", "--strategy", "all-at-once"],
        "allowed_strategy_kinds: prod allows only canary or linear",
        # The strategy rule needs nothing from AWS: refused before any read, even without credentials.
        id="guardrail-prod-all-at-once-before-any-read",
    ),
    pytest.param(["watch", "12345"], "is not a CodeDeploy deployment id", id="watch-bad-id"),
    pytest.param(["stop", "d-short"], "is not a CodeDeploy deployment id", id="stop-bad-id"),
    pytest.param(["promote", "deployment-1"], "is not a CodeDeploy deployment id", id="promote-bad-id"),
    pytest.param(["rollback", "nope-service"], "no service 'nope-service'", id="rollback-unknown-service"),
    pytest.param(["status", "nope-service"], "no service 'nope-service'", id="status-unknown-service"),
    pytest.param(
        ["render", "product-service", "--task-definition", "x.json"],
        "render takes a task",
        id="render-not-arn",
    ),
]


@pytest.mark.parametrize(("args", "names"), BAD_INPUT)
def test_bad_input_exits_2_with_one_line_and_no_aws_call(
    endpoint: Recorder, args: list[str], names: str
) -> None:
    result = run_cli(*args)
    assert result.code == 2, shown(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, shown(result)
    assert lines[0].startswith("error: ")
    assert names in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    assert endpoint.requests == []


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["deploy"], id="missing-argument"),
        pytest.param(["deploy", "product-service", "--timeout", "soon"], id="not-a-number"),
        pytest.param(["deploy", "product-service", "--no-such-flag"], id="unknown-flag"),
        pytest.param(["frobnicate"], id="unknown-command"),
    ],
)
def test_usage_errors_exit_2_in_one_line(endpoint: Recorder, args: list[str]) -> None:
    result = run_cli(*args)
    assert result.code == 2, shown(result)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and lines[0].endswith(" --help"), shown(result)
    assert endpoint.requests == []


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["deploy"], "error: missing argument SERVICE; see bluegreen deploy --help"),
        (
            ["deploy", "product-service", "--timeout", "abc"],
            "error: --timeout: 'abc' is not a number; give a positive number such as 10 or 2.5; "
            "see bluegreen deploy --help",
        ),
        (["watch", "d-ABCDEFGHI", "--time-scale", "0"], "error: --time-scale: must be a positive number"),
        # sandbox serve reads --time-scale by the same rule (a bad one was an internal ValueError)
        (["sandbox", "serve", "--time-scale", "nan"], "error: --time-scale: 'nan' is not a number"),
        (["sandbox", "serve", "--time-scale", "0"], "error: --time-scale: must be a positive number"),
        (["sandbox", "serve", "--time-scale", "1e999"], "error: --time-scale: must be a positive number"),
        (["deploy", "product-service", "--nope"], "error: no such option: --nope; see bluegreen deploy"),
    ],
)
def test_usage_error_lines(endpoint: Recorder, args: list[str], line: str) -> None:
    result = run_cli(*args)
    assert (result.code, result.stdout) == (2, ""), shown(result)
    assert result.stderr.startswith(line) and result.stderr.count("\n") == 1, shown(result)


def test_usage_errors_in_json_mode_are_one_document_of_kind_usage(endpoint: Recorder) -> None:
    import json

    result = run_cli("-o", "json", "deploy", "product-service", "--timeout", "abc")
    assert result.code == 2, shown(result)
    document = json.loads(result.stdout)
    assert document["errorKind"] == "usage" and "--timeout: 'abc' is not a number" in document["error"]
    assert result.stderr.count("\n") == 1


def test_no_credentials_is_exit_4_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    result = run_cli("status", "d-ABCDEFGHI")
    assert result.code == 4, shown(result)
    assert result.stderr.count("\n") == 1
    assert "no AWS credentials found" in result.stderr
    assert "Traceback" not in result.stderr


def test_access_denied_is_exit_4(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.cli import StubbedClients

    stubbed = StubbedClients()
    stubbed.stubbers["codedeploy"].add_client_error(
        "get_deployment", "AccessDeniedException", "not authorized to perform codedeploy:GetDeployment", 400
    )
    monkeypatch.setattr("orchestrator.commands.session.Session.clients", lambda self, region=None: stubbed)
    result = run_cli("status", "d-ABCDEFGHI")
    assert result.code == 4, shown(result)
    assert result.stderr.startswith("error: GetDeployment d-ABCDEFGHI: access denied")
    assert result.stderr.count("\n") == 1

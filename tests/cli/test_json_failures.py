"""--output json: stdout holds exactly one JSON document whatever the exit code.

Commands that fail before they print their own document (bad input, AWS errors, guardrail refusal,
a busy deployment group, an interrupt) get an error document from ``cli.main``; commands that
printed theirs (a failed or timed-out watch) get no second one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.cli import FIXTURES, Recorder, StubbedClients, recording_endpoint, run_cli, shown

APP, GROUP = "doa-market-dev", "product-service"
ERROR_KEYS = {"deploymentId", "service", "environment", "strategy", "status", "outcome", "error"}
ERROR_KEYS |= {"errorKind", "exitCode"}


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    with recording_endpoint() as recorder:
        monkeypatch.setenv("AWS_ENDPOINT_URL", recorder.url)
        monkeypatch.delenv("BLUEGREEN_TEST_UNSET_VAR", raising=False)
        yield recorder


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> StubbedClients:
    clients = StubbedClients()
    monkeypatch.setattr("orchestrator.commands.session.Session.clients", lambda self, region=None: clients)
    return clients


def one_document(stdout: str) -> dict[str, Any]:
    """The single JSON document on stdout (json.loads fails on a second one or on stray text)."""
    document = json.loads(stdout)
    assert isinstance(document, dict)
    return document


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # the output mode comes from what click parsed, before or after the verb; the verb's wins
        (["deploy", "x", "--output", "json", "--timeout", "abc"], True),
        (["--output", "json", "deploy", "x", "--timeout", "abc"], True),
        (["deploy", "x", "--timeout", "abc", "-o", "json"], True),  # --output is read first (eager)
        (["deploy", "x", "--output=json", "--timeout", "abc"], True),
        (["deploy", "x", "-ojson", "--timeout", "abc"], True),
        (["deploy", "--output", "json"], True),  # the missing SERVICE is found after --output
        (["--output", "json", "deploy", "x", "-o", "text", "--timeout", "abc"], False),
        (["deploy", "x", "--timeout", "abc"], False),
        (["deploy", "x", "--output"], False),  # --output has no value: nothing was parsed
        (["--output", "json", "no-such-verb"], True),
        (["--output", "json", "alarms", "sync", "--no-such-flag"], True),
        (["alarms", "sync", "--output", "json", "--no-such-flag"], False),  # click stopped before it
    ],
)
def test_a_usage_error_is_a_document_when_click_had_parsed_output_json(
    endpoint: Recorder, args: list[str], expected: bool
) -> None:
    result = run_cli(*args)
    assert result.code == 2, shown(result)
    if expected:
        document = one_document(result.stdout)
        assert (document["errorKind"], document["exitCode"]) == ("usage", 2)
    else:
        assert result.stdout == ""
    assert endpoint.requests == []


@pytest.mark.parametrize(
    ("args", "kind", "known"),
    [
        pytest.param(
            ["deploy", "nope-service"], "unknown-service", {"service": "nope-service"}, id="unknown-service"
        ),
        pytest.param(
            ["deploy", "product-service", "--strategy", "canary11"],
            "strategy",
            {"service": "product-service", "environment": "dev", "strategy": "canary11"},
            id="unknown-strategy",
        ),
        pytest.param(
            ["deploy", "product-service", "--env", "staging"],
            "unknown-environment",
            {"environment": "staging"},
            id="unknown-env",
        ),
        pytest.param(
            ["deploy", "product-service", "--task-definition", str(FIXTURES / "taskdef-missing-var.json")],
            "task-definition",
            {"service": "product-service", "strategy": "all-at-once"},
            id="taskdef-missing-variable",
        ),
        pytest.param(
            ["deploy", "product-service", "--env", "prod", "--strategy", "all-at-once", "--dry-run"],
            "guardrail",
            {"environment": "prod", "strategy": "all-at-once"},
            id="guardrail",
        ),
        pytest.param(["watch", "12345"], "bad-input", {"deploymentId": "12345"}, id="watch-bad-id"),
        pytest.param(["rollback", "nope-service"], "unknown-service", {}, id="rollback-unknown"),
        pytest.param(["deploy"], "usage", {}, id="usage-missing-argument"),
        pytest.param(["deploy", "product-service", "--no-such-flag"], "usage", {}, id="usage-unknown-flag"),
    ],
)
@pytest.mark.parametrize("where", ["global", "command"])
def test_bad_input_prints_one_error_document(
    endpoint: Recorder, args: list[str], kind: str, known: dict[str, str], where: str
) -> None:
    argv = ["--output", "json", *args] if where == "global" else [*args, "--output", "json"]
    if kind == "usage" and where == "command":
        argv = ["--output", "json", *args]  # after a usage error click never reads the later flags
    result = run_cli(*argv)
    assert result.code == 2, shown(result)
    document = one_document(result.stdout)
    assert set(document) >= ERROR_KEYS
    assert (document["outcome"], document["errorKind"], document["exitCode"]) == ("error", kind, 2)
    assert {key: document[key] for key in known} == known
    assert document["deploymentId"] is None or kind == "bad-input"
    # stderr still has the line for a person; the document carries the same message
    assert document["error"] in result.stderr
    assert endpoint.requests == []


def test_text_output_prints_nothing_on_stdout_for_bad_input(endpoint: Recorder) -> None:
    result = run_cli("deploy", "nope-service")
    assert (result.code, result.stdout) == (2, "")


def test_aws_error_document(stubbed: StubbedClients) -> None:
    stubbed.stubbers["codedeploy"].add_client_error(
        "get_deployment", "AccessDeniedException", "not authorized to perform codedeploy:GetDeployment", 400
    )
    result = run_cli("status", "d-ABCDEFGHI", "-o", "json")
    assert result.code == 4, shown(result)
    document = one_document(result.stdout)
    assert (document["errorKind"], document["exitCode"], document["deploymentId"]) == (
        "aws",
        4,
        "d-ABCDEFGHI",
    )
    assert "access denied" in document["error"]


def test_busy_group_document_names_the_active_deployment(stubbed: StubbedClients) -> None:
    cd = stubbed.stubbers["codedeploy"]
    cd.add_response("get_deployment_group", {"deploymentGroupInfo": {"applicationName": APP}})
    cd.add_response("list_deployments", {"deployments": ["d-BUSY00001"]})
    result = run_cli("deploy", "product-service", "-o", "json")
    assert result.code == 1, shown(result)
    document = one_document(result.stdout)
    assert document["errorKind"] == "active-deployment"
    assert document["activeDeploymentId"] == "d-BUSY00001"
    assert (document["service"], document["environment"], document["strategy"]) == (
        "product-service",
        "dev",
        "all-at-once",
    )
    assert document["deploymentId"] is None


def test_interrupted_watch_document_has_the_deployment_and_its_status(
    stubbed: StubbedClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.watching import loop as watcher

    def interrupted(self: Any, options: Any) -> Any:
        assert self.listener is not None
        running = {"deploymentId": "d-RUNNING01", "status": "InProgress"}
        from orchestrator.watching.snapshots import snapshot_from

        self.listener(snapshot_from(running), [], 1.0)
        raise KeyboardInterrupt

    monkeypatch.setattr(watcher.Watcher, "run", interrupted)
    stubbed.stubbers["codedeploy"].add_response(
        "get_deployment",
        {
            "deploymentInfo": {
                "deploymentId": "d-RUNNING01",
                "status": "InProgress",
                "applicationName": APP,
                "deploymentGroupName": GROUP,
                "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
            }
        },
    )
    result = run_cli("watch", "d-RUNNING01", "-o", "json")
    assert result.code == 130, shown(result)
    document = one_document(result.stdout)
    assert (document["errorKind"], document["exitCode"]) == ("interrupted", 130)
    assert (document["deploymentId"], document["status"], document["service"]) == (
        "d-RUNNING01",
        "InProgress",
        "product-service",
    )
    assert "bluegreen watch d-RUNNING01" in document["error"]


def test_failed_watch_prints_its_report_and_no_second_document(stubbed: StubbedClients) -> None:
    failed = {
        "deploymentId": "d-FAILED001",
        "status": "Failed",
        "applicationName": APP,
        "deploymentGroupName": GROUP,
        "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
        "rollbackInfo": {"rollbackDeploymentId": "d-ROLLBACK1"},
    }
    cd = stubbed.stubbers["codedeploy"]
    cd.add_response("get_deployment", {"deploymentInfo": failed})
    cd.add_response("get_deployment", {"deploymentInfo": failed})
    cd.add_response("list_deployment_targets", {"targetIds": []})
    result = run_cli("watch", "d-FAILED001", "-o", "json")
    assert result.code == 1, shown(result)
    document = one_document(result.stdout)  # the report, not an error document
    assert (document["status"], document["rolledBack"], document["exitCode"]) == ("Failed", True, 1)
    assert document["outcome"] == "rolled back"
    assert "errorKind" not in document


def test_failed_watch_in_json_mode_still_says_the_error_on_stderr(stubbed: StubbedClients) -> None:
    # stdout is the machine's (the report); the one-line error is the person's, whatever the mode.
    failed = {
        "deploymentId": "d-FAILED002",
        "status": "Failed",
        "applicationName": APP,
        "deploymentGroupName": GROUP,
        "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
    }
    cd = stubbed.stubbers["codedeploy"]
    cd.add_response("get_deployment", {"deploymentInfo": failed})
    cd.add_response("get_deployment", {"deploymentInfo": failed})
    cd.add_response("list_deployment_targets", {"targetIds": []})
    result = run_cli("watch", "d-FAILED002", "-o", "json")
    assert result.code == 1, shown(result)
    document = one_document(result.stdout)
    assert document["exitCode"] == 1
    assert document["reached"] is False  # the watch ended, but not where it was asked to
    said = result.stderr.strip().splitlines()
    assert len(said) == 1 and said[0].startswith("error: ") and "d-FAILED002" in said[0]


def test_interrupt_with_rollback_document_names_the_rollback(
    stubbed: StubbedClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.watching import loop as watcher

    def interrupted(self: Any, options: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(watcher.Watcher, "run", interrupted)
    info = {
        "deploymentId": "d-RUNNING03",
        "status": "InProgress",
        "applicationName": APP,
        "deploymentGroupName": GROUP,
        "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
    }
    cd = stubbed.stubbers["codedeploy"]
    cd.add_response("get_deployment", {"deploymentInfo": info})
    cd.add_response("stop_deployment", {"status": "Pending", "statusMessage": "stopping"})
    stopped = {**info, "status": "Stopped", "rollbackInfo": {"rollbackDeploymentId": "d-ROLLBACK4"}}
    cd.add_response("get_deployment", {"deploymentInfo": stopped})
    result = run_cli("watch", "d-RUNNING03", "--rollback-on-interrupt", "-o", "json")
    assert result.code == 130, shown(result)
    document = one_document(result.stdout)
    assert (document["errorKind"], document["deploymentId"]) == ("interrupted", "d-RUNNING03")
    assert document["rollbackDeploymentId"] == "d-ROLLBACK4"

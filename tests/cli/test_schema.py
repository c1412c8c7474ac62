"""`bluegreen schema`: the JSON Schema of every --output json document, checked against real ones.

Each case runs a real command through ``cli.main`` (AWS answered by botocore's Stubber, or no AWS
call at all) and validates the document it printed with `jsonschema` against what `bluegreen
schema` printed. ``run_cli`` validates every other test's JSON documents the same way, so the
emulator runs (tests/cli/test_e2e_emulator.py: deploy, status, watch, stop, promote, rollback) and
the alarms runs (tests/alarms/test_cli.py: sync, audit) are checked without a second run.
"""

from __future__ import annotations

import ast
import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator import documents
from orchestrator.errors import ErrorContext
from tests.support.cli import Recorder, StubbedClients, recording_endpoint, run_cli, shown
from tests.support.deploy_stubs import ALL_DONE, APP, GROUP, stub_deploy_writes, target_response
from tests.support.schema import document_kind, document_names, printed_schema

REPO = Path(__file__).resolve().parents[2]
FAILED = {
    "deploymentId": "d-FAILED001",
    "status": "Failed",
    "applicationName": APP,
    "deploymentGroupName": GROUP,
    "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
    "rollbackInfo": {"rollbackDeploymentId": "d-ROLLBACK1"},
    "errorInformation": {"code": "HOOK_EXECUTION_FAILURE", "message": "AfterAllowTestTraffic hook failed"},
}


@pytest.fixture(scope="module")
def made_once() -> Iterator[tuple[StubbedClients, Recorder]]:
    """Stubbed clients and a recording endpoint made once for the module (both take a while)."""
    with recording_endpoint() as recorder:
        yield StubbedClients(), recorder


@pytest.fixture
def stubbed(
    made_once: tuple[StubbedClients, Recorder], monkeypatch: pytest.MonkeyPatch
) -> Iterator[StubbedClients]:
    made, recorder = made_once
    clients = made.fresh()
    monkeypatch.setattr("orchestrator.commands.session.Session.clients", lambda self, region=None: clients)
    monkeypatch.setenv("AWS_ENDPOINT_URL", recorder.url)  # what is not stubbed lands here (and fails)
    seen = len(recorder.requests)
    yield clients
    assert recorder.requests[seen:] == []


def _deploy_succeeds(stubbed: StubbedClients, monkeypatch: pytest.MonkeyPatch) -> None:
    stub_deploy_writes(stubbed, "d-STUBBED01")
    cd = stubbed.stubbers["codedeploy"]
    running = {"deploymentInfo": {"deploymentId": "d-STUBBED01", "status": "InProgress"}}
    cd.add_response("get_deployment", running)
    cd.add_response("list_deployment_targets", {"targetIds": ["t"]})
    cd.add_response("get_deployment_target", target_response({"BeforeInstall": "InProgress"}, (100, 0)))
    succeeded = {"deploymentInfo": {"deploymentId": "d-STUBBED01", "status": "Succeeded"}}
    cd.add_response("get_deployment", succeeded)
    cd.add_response("get_deployment_target", target_response(ALL_DONE, (0, 100)))


def _deploy_fails(stubbed: StubbedClients, monkeypatch: pytest.MonkeyPatch) -> None:
    stub_deploy_writes(stubbed, "d-FAILED001")
    cd = stubbed.stubbers["codedeploy"]
    cd.add_response("get_deployment", {"deploymentInfo": FAILED})
    cd.add_response("list_deployment_targets", {"targetIds": ["t"]})
    cd.add_response("get_deployment_target", target_response({"AfterAllowTestTraffic": "Failed"}, (100, 0)))


def _deploy_times_out(stubbed: StubbedClients, monkeypatch: pytest.MonkeyPatch) -> None:
    stub_deploy_writes(stubbed, "d-SLOW00001")
    cd = stubbed.stubbers["codedeploy"]
    running = {"deploymentInfo": {"deploymentId": "d-SLOW00001", "status": "InProgress"}}
    cd.add_response("get_deployment", running)
    cd.add_response("list_deployment_targets", {"targetIds": ["t"]})
    cd.add_response("get_deployment_target", target_response({"Install": "InProgress"}, (100, 0)))
    for _ in range(40):
        cd.add_response("get_deployment", running)
        cd.add_response("get_deployment_target", target_response({"Install": "InProgress"}, (100, 0)))


def _deploy_created(stubbed: StubbedClients, monkeypatch: pytest.MonkeyPatch) -> None:
    stub_deploy_writes(stubbed, "d-NOWAIT001")


def _watch_failed(stubbed: StubbedClients, monkeypatch: pytest.MonkeyPatch) -> None:
    cd = stubbed.stubbers["codedeploy"]
    cd.add_response("get_deployment", {"deploymentInfo": FAILED})
    cd.add_response("get_deployment", {"deploymentInfo": FAILED})
    cd.add_response("list_deployment_targets", {"targetIds": []})


def _status(stubbed: StubbedClients, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    created = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
    info = {**FAILED, "createTime": created, "completeTime": created + dt.timedelta(minutes=3)}
    cd = stubbed.stubbers["codedeploy"]
    cd.add_response("get_deployment", {"deploymentInfo": info})
    cd.add_response("list_deployment_targets", {"targetIds": ["t"]})
    cd.add_response("get_deployment_target", target_response({"AfterAllowTestTraffic": "Failed"}, (100, 0)))


def _stop(stubbed: StubbedClients, monkeypatch: pytest.MonkeyPatch) -> None:
    stubbed.stubbers["codedeploy"].add_response("stop_deployment", {"status": "Succeeded"})


def _promote(stubbed: StubbedClients, monkeypatch: pytest.MonkeyPatch) -> None:
    stubbed.stubbers["codedeploy"].add_response("continue_deployment", {})


def _aws_error(stubbed: StubbedClients, monkeypatch: pytest.MonkeyPatch) -> None:
    stubbed.stubbers["codedeploy"].add_client_error("get_deployment", "AccessDeniedException", "no", 400)


def _interrupted(stubbed: StubbedClients, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.watching import loop

    def interrupted(self: Any, options: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(loop.Watcher, "run", interrupted)
    running = {"deploymentInfo": {**FAILED, "status": "InProgress"}}
    stubbed.stubbers["codedeploy"].add_response("get_deployment", running)


def _internal_error(stubbed: StubbedClients, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr("orchestrator.strategies.list_strategies", broken)


def _nothing(stubbed: StubbedClients, monkeypatch: pytest.MonkeyPatch) -> None:
    return None


FAST = ("--time-scale", "100000", "--timeout", "600000")
CASES: list[Any] = [
    pytest.param(_deploy_succeeds, ["deploy", "product-service", *FAST], 0, "DeployReport", id="deploy-ok"),
    pytest.param(_deploy_fails, ["deploy", "product-service", *FAST], 1, "DeployReport", id="deploy-failed"),
    pytest.param(
        _deploy_times_out,
        ["deploy", "product-service", "--timeout", "0.5", "--time-scale", "300"],
        3,
        "DeployReport",
        id="deploy-timeout",
    ),
    pytest.param(
        _deploy_created, ["deploy", "product-service", "--no-wait"], 0, "DeployCreated", id="no-wait"
    ),
    pytest.param(_nothing, ["deploy", "product-service", "--dry-run"], 0, "DeployPlan", id="dry-run"),
    pytest.param(_watch_failed, ["watch", "d-FAILED001"], 1, "WatchReport", id="watch"),
    pytest.param(_status, ["status", "d-FAILED001"], 0, "StatusDocument", id="status"),
    pytest.param(_stop, ["stop", "d-FAILED001", "--no-rollback"], 0, "StopDocument", id="stop"),
    pytest.param(_promote, ["promote", "d-FAILED001"], 0, "PromoteDocument", id="promote"),
    pytest.param(_nothing, ["strategies"], 0, "StrategiesDocument", id="strategies"),
    pytest.param(_nothing, ["deploy"], 2, "ErrorDocument", id="usage-error"),
    pytest.param(_nothing, ["deploy", "nope-service"], 2, "ErrorDocument", id="bad-input"),
    pytest.param(_aws_error, ["status", "d-FAILED001"], 4, "ErrorDocument", id="aws-error"),
    pytest.param(_interrupted, ["watch", "d-FAILED001"], 130, "ErrorDocument", id="interrupted"),
    pytest.param(_internal_error, ["strategies"], 1, "ErrorDocument", id="internal-error"),
]


@pytest.mark.parametrize(("given", "args", "code", "kind"), CASES)
def test_real_documents_validate_against_the_printed_schema(
    stubbed: StubbedClients,
    monkeypatch: pytest.MonkeyPatch,
    given: Callable[[StubbedClients, pytest.MonkeyPatch], None],
    args: list[str],
    code: int,
    kind: str,
) -> None:
    given(stubbed, monkeypatch)
    result = run_cli("--output", "json", *args)
    assert result.code == code, shown(result)
    document = result.json()
    assert document_kind(document) == kind
    assert document.get("exitCode", 0) == code


def test_render_document_validates(tmp_path: Path) -> None:
    result = run_cli("render", "product-service", "--out", str(tmp_path / "appspec.yaml"), "-o", "json")
    assert result.code == 0, shown(result)
    assert document_kind(result.json()) == "RenderDocument"


def test_a_failed_deployment_carries_the_optional_hook_failure_key(
    stubbed: StubbedClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    _deploy_fails(stubbed, monkeypatch)
    document = run_cli("deploy", "product-service", *FAST, "-o", "json").json()
    assert document["hookFailure"]["lifecycleEvent"] == "AfterAllowTestTraffic"
    assert document_kind(document) == "DeployReport"


@pytest.fixture(scope="module")
def dry_run_document() -> Iterator[dict[str, Any]]:
    """One real document (deploy --dry-run: no AWS call) for the tests that make it stray."""
    with recording_endpoint() as recorder, pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", recorder.url)
        result = run_cli("deploy", "product-service", "--dry-run", "-o", "json")
        assert result.code == 0 and recorder.requests == [], shown(result)
        yield result.json()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: d.update(surprise=1), id="unknown-key"),
        pytest.param(lambda d: d.pop("timeoutSeconds"), id="missing-key"),
        pytest.param(lambda d: d.update(forced="no"), id="wrong-type"),
        pytest.param(lambda d: d["taskDefinition"].update(extra=None), id="unknown-nested-key"),
        pytest.param(lambda d: d.update(dryRun=False), id="dry-run-is-always-true"),
    ],
)
def test_the_schema_refuses_a_document_that_strays(
    change: Callable[[dict[str, Any]], Any], dry_run_document: dict[str, Any]
) -> None:
    assert document_kind(dry_run_document) == "DeployPlan"
    strayed = copy.deepcopy(dry_run_document)
    change(strayed)
    with pytest.raises(AssertionError, match="matches no schema document"):
        document_kind(strayed)


def test_schema_lists_every_document_once() -> None:
    schema = printed_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document_names() == [cls.__name__ for cls in documents.DOCUMENTS]
    text = run_cli("schema").stdout
    assert json.loads(text) == schema  # the same whatever --output says
    assert json.loads(run_cli("--output", "json", "schema").stdout) == schema
    help_text = " ".join(run_cli("schema", "--help").stdout.split())
    assert "$defs" in help_text


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        # each step of a command learns more; a fact given as None keeps what was known
        ([{"service": "a"}, {"environment": "dev"}], ErrorContext(service="a", environment="dev")),
        ([{"strategy": "x"}, {"strategy": "canary10"}], ErrorContext(strategy="canary10")),
        ([{"environment": "dev"}, {"environment": None}], ErrorContext(environment="dev")),
    ],
)
def test_error_context_learns_step_by_step(
    steps: list[dict[str, str | None]], expected: ErrorContext
) -> None:
    known = ErrorContext()
    for facts in steps:
        known = known.learned(**facts)
    assert known == expected


def test_the_error_knows_best_and_the_command_fills_in() -> None:
    raised = ErrorContext(deployment_id="d-1", status="InProgress")
    command = ErrorContext(deployment_id="d-OTHER", service="svc", status=None)
    assert raised.under(command) == ErrorContext(deployment_id="d-1", service="svc", status="InProgress")


def _assigns_stdout(node: ast.AST) -> bool:
    """``sys.stdout = ...`` (plain, augmented or annotated) or ``setattr(sys, "stdout", ...)``."""
    if isinstance(node, ast.Assign):
        return any(ast.unparse(target) == "sys.stdout" for target in node.targets)
    if isinstance(node, ast.AugAssign | ast.AnnAssign):
        return ast.unparse(node.target) == "sys.stdout"
    # ast.unparse writes every string literal with single quotes
    return isinstance(node, ast.Call) and ast.unparse(node).startswith("setattr(sys, 'stdout'")


def test_sys_stdout_is_never_assigned_in_orchestrator() -> None:
    """Commands return results that cli.main prints; nothing swaps the stream to watch it."""
    offenders = [
        f"{path.relative_to(REPO)}:{node.lineno}"
        for path in sorted((REPO / "orchestrator").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if _assigns_stdout(node)
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "source",
    ["sys.stdout = x", "sys.stdout: Any = x", 'setattr(sys, "stdout", x)', "a = sys.stdout = x"],
)
def test_the_stdout_check_sees_every_way_to_assign_it(source: str) -> None:
    assert any(_assigns_stdout(node) for node in ast.walk(ast.parse(source)))

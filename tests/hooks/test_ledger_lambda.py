"""hooks/ledger.py: EventBridge events of both engines in, ledger rows out (moto's DynamoDB and SNS,
in-process), the engines' reads answered by fakes a test moves on: replays and reordered delivery
change nothing, the outcome line is published once, the DORA metrics printed once as EMF."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

# Imported while pytest's session-wide capture is stdout: powertools' Logger keeps the stream it
# was made with (a test's capsys stream would be closed after that test).
from hooks.ledger import handler, logger
from orchestrator.aws.ledger import DynamoLedger, LedgerTableMissingError, create_table_request, plain
from orchestrator.insight.outcome import Outcome
from orchestrator.insight.records import DeploymentKind, DeploymentRecord, Provenance
from tests.support.fake_codedeploy import FakeCodeDeploy
from tests.support.hooks import FakeLambdaContext, load_event
from tests.support.ledger import LedgerEcs

TABLE = "doa-market-dev-deployments"
TOPIC = "arn:aws:sns:ap-northeast-2:123456789012:doa-market-dev-deployments"
CANARY = "CodeDeployDefault.ECSCanary10Percent5Minutes"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
COMMITTED = T0 - timedelta(hours=2)


@dataclass
class LedgerWorld:
    """moto (DynamoDB table, SNS topic, an SQS queue subscribed to it) and the engines' fakes."""

    dynamodb: Any
    sqs: Any
    queue_url: str
    codedeploy: FakeCodeDeploy = field(default_factory=FakeCodeDeploy)
    ecs: LedgerEcs = field(default_factory=LedgerEcs)
    aws_calls: list[str] = field(default_factory=list)  # service:Operation of the moto clients

    def actions(self) -> set[str]:
        """The IAM actions of every call the Lambda made (moto's and the fakes')."""
        fakes = {f"codedeploy:{op}" for op in self.codedeploy.calls} | set(self.ecs.counter.calls)
        return fakes | set(self.aws_calls)

    def row(self, deployment_id: str) -> dict[str, str]:
        item = self.dynamodb.get_item(TableName=TABLE, Key={"deploymentId": {"S": deployment_id}})
        return plain(item.get("Item") or {})

    def rows(self) -> list[dict[str, str]]:
        return [plain(item) for item in self.dynamodb.scan(TableName=TABLE)["Items"]]

    def published(self) -> list[str]:
        answer = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"])["Message"] for m in answer.get("Messages", [])]

    def ledger(self) -> DynamoLedger:
        return DynamoLedger(self.dynamodb, TABLE)

    def record_call(self, event_name: str, **_: Any) -> None:
        _, service, operation = event_name.split(".", 2)  # before-call.<service>.<Operation>
        self.aws_calls.append(f"{service}:{operation}")


@pytest.fixture(scope="module")
def _module_clients() -> Iterator[dict[str, LedgerWorld]]:
    """The hooks' cached clients, made afresh for this module (one made before moto's mock would
    reach the network) and kept across its tests (moto's mock intercepts them whichever test runs);
    the current test's world, for the calls they record."""
    from hooks import clients

    clients.forget_clients()
    yield {}
    clients.forget_clients()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, _module_clients: dict[str, LedgerWorld]) -> Iterator[LedgerWorld]:
    import boto3
    from moto import mock_aws

    from hooks import clients

    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="ap-northeast-2")
        dynamodb.create_table(**create_table_request(TABLE))
        sns = boto3.client("sns", region_name="ap-northeast-2")
        topic = sns.create_topic(Name="doa-market-dev-deployments")["TopicArn"]
        assert topic == TOPIC  # the catalog's notification_topic_arn
        sqs = boto3.client("sqs", region_name="ap-northeast-2")
        queue_url = sqs.create_queue(QueueName="outcomes")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
        made = _module_clients["current"] = LedgerWorld(dynamodb, sqs, queue_url)
        real = clients.client
        fakes: dict[str, Any] = {"codedeploy": made.codedeploy, "ecs": made.ecs}

        def record_call(event_name: str, **_: Any) -> None:
            _module_clients["current"].record_call(event_name)

        def counted(name: str) -> Any:
            if name in fakes:
                return fakes[name]
            client = real(name)
            client.meta.events.register_first("before-call.*.*", record_call, unique_id="ledger-test")
            return client

        monkeypatch.setattr(clients, "client", counted)
        yield made


def codedeploy_event(deployment_id: str, state: str, group: str = "product-service") -> dict[str, Any]:
    return load_event(
        "codedeploy-state-change.json",
        deployment_id=deployment_id,
        deployment_group=group,
        state=state,
        event_id=str(uuid.uuid4()),
        time=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def ecs_event(state: str, service: str = "inventory-service") -> dict[str, Any]:
    return load_event(
        "ecs-deployment-state-change.json",
        service=service,
        state=state,
        event_id=str(uuid.uuid4()),
        time=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def deployment_info(deployment_id: str, status: str, **more: Any) -> dict[str, Any]:
    """A BatchGetDeployments deploymentInfo of product-service (dev), as CodeDeploy answers it."""
    return {
        "deploymentId": deployment_id,
        "applicationName": "doa-market-dev",
        "deploymentGroupName": "product-service",
        "deploymentConfigName": CANARY,
        "status": status,
        "creator": "user",
        "createTime": T0,
        **more,
    }


ROLLED_BACK = {
    "completeTime": T0 + timedelta(minutes=6, seconds=12),
    "errorInformation": {
        "code": "ALARM_ACTIVE",
        "message": "The deployment failed because a specified alarm was activated. "
        "Activated alarms: product-service-5xx-errors",
    },
    "rollbackInfo": {"rollbackDeploymentId": "d-ROLLBACK1"},
}


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    return handler(event, FakeLambdaContext(30.0, "bluegreen-dev-ledger"))


def emf_documents(output: str) -> list[dict[str, Any]]:
    """The EMF documents among stdout's lines (powertools prints each as one JSON line)."""
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if "_aws" in line]


def test_codedeploy_events_write_one_row_that_ends_terminal_and_publish_once(
    world: LedgerWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.ledger().record_start(  # the CLI, after CreateDeployment
        DeploymentRecord(
            "d-AAAAAAAAA",
            "codedeploy",
            "product-service",
            "dev",
            "",
            Outcome.IN_PROGRESS,
            strategy="canary10",
            provenance=Provenance("alice", "abc123def4567", COMMITTED, "git"),
        )
    )
    world.codedeploy.deployments["d-AAAAAAAAA"] = deployment_info("d-AAAAAAAAA", "InProgress")
    started = invoke(codedeploy_event("d-AAAAAAAAA", "START"))
    in_progress = world.row("d-AAAAAAAAA")

    world.codedeploy.deployments["d-AAAAAAAAA"] = deployment_info("d-AAAAAAAAA", "Failed", **ROLLED_BACK)
    failed = invoke(codedeploy_event("d-AAAAAAAAA", "FAILURE"))
    terminal = world.row("d-AAAAAAAAA")
    replayed = invoke(codedeploy_event("d-AAAAAAAAA", "FAILURE"))

    assert started == {"written": ["d-AAAAAAAAA"], "terminal": []}
    assert (in_progress["status"], in_progress["outcome"], in_progress["deployer"]) == (
        "InProgress",
        "in progress",
        "alice",
    )
    assert failed == {"written": ["d-AAAAAAAAA"], "terminal": ["d-AAAAAAAAA"]}
    assert (terminal["status"], terminal["outcome"], terminal["rolledBackBy"]) == (
        "Failed",
        "rolled back",
        "alarm product-service-5xx-errors",
    )
    assert (terminal["strategy"], terminal["deployer"], terminal["commit"]) == (
        "canary10",
        "alice",
        "abc123def4567",
    )
    assert replayed == {"written": ["d-AAAAAAAAA"], "terminal": []}
    assert world.row("d-AAAAAAAAA") == terminal
    assert world.published() == [
        "product-service dev: rolled back d-AAAAAAAAA (alarm product-service-5xx-errors) after 6m12s; "
        "canary10; by alice@abc123def456"
    ]
    [emf] = emf_documents(capsys.readouterr().out)
    assert emf["_aws"]["CloudWatchMetrics"] == [
        {
            "Namespace": "bluegreen/DORA",
            "Dimensions": [["service", "environment"]],
            "Metrics": [
                {"Name": "Deployments", "Unit": "Count"},
                {"Name": "ChangeFailures", "Unit": "Count"},
            ],
        }
    ]
    assert (emf["service"], emf["environment"], emf["Deployments"], emf["ChangeFailures"]) == (
        "product-service",
        "dev",
        [1.0],
        [1.0],
    )
    assert emf["deploymentId"] == "d-AAAAAAAAA"


def test_a_start_delivered_after_the_terminal_event_leaves_the_terminal_row(world: LedgerWorld) -> None:
    world.codedeploy.deployments["d-AAAAAAAAA"] = deployment_info("d-AAAAAAAAA", "Failed", **ROLLED_BACK)
    invoke(codedeploy_event("d-AAAAAAAAA", "FAILURE"))
    terminal = world.row("d-AAAAAAAAA")
    # The START's invocation read CodeDeploy before the failure (its write lands last).
    world.codedeploy.deployments["d-AAAAAAAAA"] = deployment_info("d-AAAAAAAAA", "InProgress")

    late = invoke(codedeploy_event("d-AAAAAAAAA", "START"))

    assert late == {"written": ["d-AAAAAAAAA"], "terminal": []}
    assert world.row("d-AAAAAAAAA") == terminal
    assert len(world.published()) == 1


def test_a_deployment_read_before_codedeploy_named_its_rollback_is_linked_by_the_rollback(
    world: LedgerWorld,
) -> None:
    early = {key: value for key, value in ROLLED_BACK.items() if key != "rollbackInfo"}
    world.codedeploy.deployments["d-AAAAAAAAA"] = deployment_info("d-AAAAAAAAA", "Failed", **early)
    invoke(codedeploy_event("d-AAAAAAAAA", "FAILURE"))
    failed = world.row("d-AAAAAAAAA")
    world.codedeploy.deployments["d-ROLLBACK1"] = deployment_info(
        "d-ROLLBACK1",
        "InProgress",
        creator="codeDeployRollback",
        rollbackInfo={"rollbackTriggeringDeploymentId": "d-AAAAAAAAA"},
    )

    invoke(codedeploy_event("d-ROLLBACK1", "START"))

    assert failed["outcome"] == "failed"
    assert world.row("d-AAAAAAAAA") == {
        **failed,
        "outcome": "rolled back",
        "rollbackDeploymentId": "d-ROLLBACK1",
    }
    assert world.published() == [
        "product-service dev: failed d-AAAAAAAAA (alarm product-service-5xx-errors) after 6m12s; canary10"
    ]  # said once, when it ended


def test_a_success_after_a_failure_emits_lead_time_and_time_to_restore(
    world: LedgerWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.codedeploy.deployments["d-FAILED"] = deployment_info("d-FAILED", "Failed", **ROLLED_BACK)
    invoke(codedeploy_event("d-FAILED", "FAILURE"))
    fixed = T0 + timedelta(minutes=30)
    world.ledger().record_start(
        DeploymentRecord(
            "d-FIXED", "codedeploy", "product-service", "dev", "", Outcome.IN_PROGRESS,
            provenance=Provenance("bob", "0123456789abcdef", COMMITTED, "github-actions"),
        )
    )  # fmt: skip
    world.codedeploy.deployments["d-FIXED"] = deployment_info(
        "d-FIXED", "Succeeded", createTime=fixed, completeTime=fixed + timedelta(minutes=4)
    )

    invoke(codedeploy_event("d-FIXED", "SUCCESS"))

    failure, success = emf_documents(capsys.readouterr().out)
    assert failure["deploymentId"] == "d-FAILED" and "TimeToRestoreSeconds" not in failure
    assert (success["Deployments"], success["ChangeFailures"]) == ([1.0], [0.0])
    # lead time: commit (T0 - 2 h) to completion (T0 + 34 min); restore: the failure's completion
    # (T0 + 6 min 12 s) to the fix's (T0 + 34 min)
    assert success["LeadTimeSeconds"] == [(2 * 3600 + 34 * 60) * 1.0]
    assert success["TimeToRestoreSeconds"] == [(34 * 60 - 6 * 60 - 12) * 1.0]
    assert world.published()[-1] == (
        "product-service dev: succeeded d-FIXED after 4m00s; canary10; by bob@0123456789ab"
    )


def test_a_bluegreen_rollback_makes_the_success_it_rolled_back_a_change_failure(
    world: LedgerWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.codedeploy.deployments["d-OK"] = deployment_info("d-OK", "Succeeded", completeTime=T0)
    invoke(codedeploy_event("d-OK", "SUCCESS"))
    back = T0 + timedelta(minutes=20)
    world.ledger().record_start(  # `bluegreen rollback` (on ECS only its row would say so)
        DeploymentRecord(
            "d-BACK",
            "codedeploy",
            "product-service",
            "dev",
            "",
            Outcome.IN_PROGRESS,
            kind=DeploymentKind.ROLLBACK,
        )
    )
    world.codedeploy.deployments["d-BACK"] = deployment_info(
        "d-BACK", "Succeeded", createTime=back, completeTime=back + timedelta(minutes=3)
    )

    invoke(codedeploy_event("d-BACK", "SUCCESS"))

    deployed, rolled_back = emf_documents(capsys.readouterr().out)
    assert (deployed["Deployments"], deployed["ChangeFailures"]) == ([1.0], [0.0])
    assert "Deployments" not in rolled_back  # a rollback is no deploy...
    assert rolled_back["ChangeFailures"] == [1.0]  # ...but d-OK now counts as a change failure
    assert rolled_back["TimeToRestoreSeconds"] == [23 * 60.0]  # d-OK's end to the rollback's


def test_an_automatic_rollback_deployment_counts_as_no_deploy(
    world: LedgerWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.codedeploy.deployments["d-ROLLBACK1"] = deployment_info(
        "d-ROLLBACK1",
        "Succeeded",
        creator="codeDeployRollback",
        completeTime=T0 + timedelta(minutes=8),
        rollbackInfo={"rollbackTriggeringDeploymentId": "d-AAAAAAAAA"},
    )

    invoke(codedeploy_event("d-ROLLBACK1", "SUCCESS"))

    row = world.row("d-ROLLBACK1")
    assert (row["kind"], row["rollbackOf"], row["outcome"]) == ("auto-rollback", "d-AAAAAAAAA", "succeeded")
    assert emf_documents(capsys.readouterr().out) == []  # CodeDeploy's own rollback restores nothing
    assert len(world.published()) == 1


def test_ecs_events_write_the_services_recent_deployments(
    world: LedgerWorld, ledger_logs: list[dict[str, Any]]
) -> None:
    cluster, service = "doa-market-cluster", "inventory-service"
    old = world.ecs.add_service_deployment(
        cluster, service, "inventory:1", "SUCCESSFUL", finishedAt=datetime.now(UTC) - timedelta(hours=5)
    )
    arn = world.ecs.add_service_deployment(
        cluster,
        service,
        "inventory:2",
        "IN_PROGRESS",
        startedAt=datetime.now(UTC),
        deploymentConfiguration={"strategy": "BLUE_GREEN"},
    )
    started = invoke(ecs_event("SERVICE_DEPLOYMENT_IN_PROGRESS"))
    world.ecs.service_deployments[arn].update(status="SUCCESSFUL", finishedAt=datetime.now(UTC))
    completed = invoke(ecs_event("SERVICE_DEPLOYMENT_COMPLETED"))
    row = world.row(arn)
    replayed = invoke(ecs_event("SERVICE_DEPLOYMENT_COMPLETED"))

    assert started == {"written": [arn], "terminal": []}  # the one finished hours ago is not read
    assert completed == {"written": [arn], "terminal": [arn]}
    assert replayed == {"written": [arn], "terminal": []}
    assert world.row(arn) == row
    assert (row["engine"], row["service"], row["environment"], row["status"], row["outcome"]) == (
        "ecs",
        "inventory-service",
        "dev",
        "SUCCESSFUL",
        "succeeded",
    )
    assert row["taskDefinition"] == "inventory:2"  # the target service revision's
    assert world.row(old) == {}
    [line] = world.published()
    assert line.startswith(f"inventory-service dev: succeeded {arn} after ")
    written = [log for log in ledger_logs if log["message"].startswith("ledger row")]
    assert {log["correlation_id"] for log in written} == {arn}


def test_ecs_rows_are_written_without_the_revision_when_it_cannot_be_read(
    world: LedgerWorld, monkeypatch: pytest.MonkeyPatch, ledger_logs: list[dict[str, Any]]
) -> None:
    from botocore.exceptions import ClientError

    arn = world.ecs.add_service_deployment(
        "doa-market-cluster", "inventory-service", "inventory:2", "IN_PROGRESS"
    )

    def denied(**_: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DescribeServiceRevisions"
        )

    monkeypatch.setattr(world.ecs, "describe_service_revisions", denied)

    assert invoke(ecs_event("SERVICE_DEPLOYMENT_IN_PROGRESS")) == {"written": [arn], "terminal": []}
    assert "taskDefinition" not in world.row(arn)
    assert any(line["message"].startswith("service revisions not read") for line in ledger_logs)


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (
            {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}},
            "not a CodeDeploy or ECS deployment state change",
        ),
        ({"source": "aws.codedeploy"}, "not a CodeDeploy or ECS deployment state change"),
        ("not even a mapping", "not a CodeDeploy or ECS deployment state change"),
    ],
)
def test_anything_else_is_skipped_without_failing(world: LedgerWorld, event: Any, reason: str) -> None:
    assert invoke(event) == {"written": [], "terminal": [], "skipped": reason}
    assert world.rows() == []


def test_an_unknown_service_is_logged_and_skipped(
    world: LedgerWorld, ledger_logs: list[dict[str, Any]]
) -> None:
    answer = invoke(codedeploy_event("d-AAAAAAAAA", "START", group="no-such-service"))

    assert answer["written"] == [] and "no service has application 'doa-market-dev'" in answer["skipped"]
    assert world.rows() == [] and world.codedeploy.calls == []
    [warning] = [line for line in ledger_logs if line["level"] == "WARNING"]
    assert warning["correlation_id"] == "d-AAAAAAAAA"


def test_a_catalog_that_does_not_load_is_an_error_line_and_no_retry(
    world: LedgerWorld, ledger_logs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, repo_root: Any
) -> None:
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(repo_root / "tests/fixtures/catalogs/duplicate-service.yaml"))

    answer = invoke(codedeploy_event("d-AAAAAAAAA", "START"))

    assert answer["written"] == [] and "duplicate-service.yaml" in answer["skipped"]
    [error] = [line for line in ledger_logs if line["level"] == "ERROR"]
    assert error["message"].startswith("skipped: ")


def test_a_missing_table_fails_the_invocation_so_lambda_retries_it(
    world: LedgerWorld, ledger_logs: list[dict[str, Any]]
) -> None:
    world.dynamodb.delete_table(TableName=TABLE)
    world.codedeploy.deployments["d-AAAAAAAAA"] = deployment_info("d-AAAAAAAAA", "InProgress")

    with pytest.raises(LedgerTableMissingError):
        invoke(codedeploy_event("d-AAAAAAAAA", "START"))

    [error] = [line for line in ledger_logs if line["level"] == "ERROR"]
    assert error["message"].startswith(
        "ledger not written: ledger table doa-market-dev-deployments does not exist"
    )


def test_every_log_line_carries_the_deployment_id_as_correlation_id(
    world: LedgerWorld, ledger_logs: list[dict[str, Any]]
) -> None:
    world.codedeploy.deployments["d-AAAAAAAAA"] = deployment_info("d-AAAAAAAAA", "Succeeded", completeTime=T0)

    invoke(codedeploy_event("d-AAAAAAAAA", "SUCCESS"))

    assert ledger_logs
    assert {line["correlation_id"] for line in ledger_logs} == {"d-AAAAAAAAA"}
    assert {line["service"] for line in ledger_logs} == {"bluegreen-ledger"}
    assert {(line["service_name"], line["environment"]) for line in ledger_logs} == {
        ("product-service", "dev")
    }
    assert {line["function_name"] for line in ledger_logs} == {"bluegreen-dev-ledger"}


def test_the_handler_runs_through_the_sandboxs_lambda_runner(world: LedgerWorld) -> None:
    from sandbox.lambda_runner import LambdaRunner

    world.codedeploy.deployments["d-AAAAAAAAA"] = deployment_info("d-AAAAAAAAA", "Succeeded", completeTime=T0)
    runner = LambdaRunner({"bluegreen-dev-ledger": handler}, "ap-northeast-2", "123456789012")

    runner("bluegreen-dev-ledger", codedeploy_event("d-AAAAAAAAA", "SUCCESS"))
    runner.join(timeout=30.0)

    assert [(i.function_name, i.error) for i in runner.invocations] == [("bluegreen-dev-ledger", None)]
    assert world.row("d-AAAAAAAAA")["outcome"] == "succeeded"


class _Lines(logging.Handler):
    def __init__(self, formatter: logging.Formatter, into: list[dict[str, Any]]) -> None:
        super().__init__(level=logging.DEBUG)
        self._formatter, self._into = formatter, into

    def emit(self, record: logging.LogRecord) -> None:
        self._into.append(json.loads(self._formatter.format(record)))


@pytest.fixture
def ledger_logs() -> Iterator[list[dict[str, Any]]]:
    """The ledger Lambda's log lines as powertools formats them (JSON)."""
    lines: list[dict[str, Any]] = []
    handler = _Lines(logger.registered_formatter, lines)
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


def test_every_call_the_lambda_makes_is_granted_to_its_role(world: LedgerWorld, repo_root: Any) -> None:
    from tests.hooks.test_template import _actions, _statements, load_template

    world.codedeploy.deployments["d-AAAAAAAAA"] = deployment_info("d-AAAAAAAAA", "Succeeded", completeTime=T0)
    invoke(codedeploy_event("d-AAAAAAAAA", "SUCCESS"))
    arn = world.ecs.add_service_deployment(
        "doa-market-cluster", "inventory-service", "inventory:2", "SUCCESSFUL"
    )
    world.ecs.service_deployments[arn]["finishedAt"] = datetime.now(UTC)
    invoke(ecs_event("SERVICE_DEPLOYMENT_COMPLETED"))

    role = load_template(repo_root)["Resources"]["LedgerRole"]
    granted = {action for statement in _statements({"LedgerRole": role}) for action in _actions(statement)}
    made = world.actions()
    assert {"dynamodb:UpdateItem", "dynamodb:Query", "sns:Publish", "ecs:DescribeServiceRevisions"} <= made
    assert made <= granted


def test_the_ledger_lambda_stays_lean(repo_root: Any) -> None:
    """What the handler imports (its lazy record and DORA modules included) loads none of the CLI's
    dependencies, no pydantic or yaml (the catalog comes from the build's snapshot) and no boto3
    (botocore's own clients, as the hooks')."""
    import subprocess
    import sys

    code = (
        "import sys, json\n"
        "import hooks.ledger, orchestrator.insight.codedeploy_records, orchestrator.insight.native_records\n"
        "import orchestrator.insight.dora, orchestrator.insight.provenance\n"
        "print(json.dumps(sorted(m for m in ('typer', 'rich', 'moto', 'click', 'pydantic', 'yaml', 'boto3')"
        " if m in sys.modules)))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "POWERTOOLS_TRACE_DISABLED": "true"}
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == []


# Mutation-testing rows (breaker): each kills a mutation of hooks/ledger.py no test above caught.


def test_a_notification_that_cannot_be_published_leaves_the_row_written(world: LedgerWorld) -> None:
    import boto3

    boto3.client("sns", region_name="ap-northeast-2").delete_topic(TopicArn=TOPIC)
    world.codedeploy.deployments["d-OK"] = deployment_info("d-OK", "Succeeded", completeTime=T0)

    assert invoke(codedeploy_event("d-OK", "SUCCESS")) == {"written": ["d-OK"], "terminal": ["d-OK"]}
    assert world.row("d-OK")["outcome"] == "succeeded"


def test_times_are_emitted_in_seconds_and_counts_as_counts(
    world: LedgerWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.ledger().record_start(
        DeploymentRecord(
            "d-OK", "codedeploy", "product-service", "dev", "", Outcome.IN_PROGRESS,
            provenance=Provenance("bob", "0123456789abcdef", COMMITTED, "github-actions"),
        )
    )  # fmt: skip
    world.codedeploy.deployments["d-OK"] = deployment_info("d-OK", "Succeeded", completeTime=T0)

    invoke(codedeploy_event("d-OK", "SUCCESS"))

    [document] = emf_documents(capsys.readouterr().out)
    units = {m["Name"]: m["Unit"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units == {"Deployments": "Count", "ChangeFailures": "Count", "LeadTimeSeconds": "Seconds"}


@pytest.mark.parametrize(
    ("failed_service", "failed_days_before", "restores"),
    [
        ("product-service", 2, True),  # read back 90 days, not 1
        ("inventory-service", 0, False),  # another service's failure is not this one's outage
    ],
)
def test_time_to_restore_reads_the_same_services_earlier_rows(
    world: LedgerWorld,
    capsys: pytest.CaptureFixture[str],
    failed_service: str,
    failed_days_before: int,
    restores: bool,
) -> None:
    failed_at = T0 - timedelta(days=failed_days_before, minutes=30)
    world.ledger().upsert(
        DeploymentRecord(
            "d-EARLIER", "codedeploy", failed_service, "dev", "Failed", Outcome.FAILED,
            created=failed_at, completed=failed_at + timedelta(minutes=5),
        )
    )  # fmt: skip
    world.codedeploy.deployments["d-OK"] = deployment_info("d-OK", "Succeeded", completeTime=T0)

    invoke(codedeploy_event("d-OK", "SUCCESS"))

    [document] = emf_documents(capsys.readouterr().out)
    assert ("TimeToRestoreSeconds" in document) is restores

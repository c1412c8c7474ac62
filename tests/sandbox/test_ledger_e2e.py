"""Issue 12's ledger, end to end in the sandbox: the emulators publish CodeDeploy's and ECS's
state-change events, template.yaml's rule sends them to the ledger Lambda (the real
``hooks.ledger.handler``, run by the world's Lambda runner), which writes rows to the ledger's
DynamoDB table in moto and one line per finished deployment to the SNS topic (read, as AWS would
deliver it, from an SQS queue subscribed to the topic).

One world (the shipped services.yaml, dev) for the module: a CodeDeploy deployment that succeeds
(product-service, all-at-once) and a native ECS canary that rolls back (inventory-service, a fault
the smoke checks see on the test listener; alarms held still so the verdict is the smoke hook's on
any machine), the
bus delivering every event twice after random delays (EventBridge's at-least-once, unordered
delivery, as the knob plays it), then every event replayed once more, newest first.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orchestrator.aws.ledger import DynamoLedger
from orchestrator.insight.outcome import Outcome
from sandbox.events import Delivery, Event, template_rules
from sandbox.world import TEMPLATE, World, WorldOptions
from tests.support.cli import run_cli

pytestmark = pytest.mark.integration

SCALE = 40.0
REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "services.yaml"
CODEDEPLOY_SERVICE = "product-service"  # engine codedeploy in dev
NATIVE_SERVICE = "inventory-service"  # engine ecs in dev
TABLE = "doa-market-dev-deployments"  # services.yaml: {project}-{environment}-deployments
TOPIC = "arn:aws:sns:ap-northeast-2:123456789012:doa-market-dev-deployments"
# Every event twice, each copy up to 90 virtual seconds late (2.25 real s at 40x): a START can
# arrive after its SUCCESS.
KNOB = Delivery(copies=2, max_delay_seconds=90.0, seed=12)


@dataclass
class Run:
    world: World
    codedeploy_id: str
    native_id: str
    native_doc: dict[str, Any]
    queue_url: str
    received: list[Event]
    rows: list[dict[str, Any]]  # the table after the deployments
    lines: list[str]  # what the topic delivered to the queue by then


def subscribe_queue(world: World) -> str:
    """An SQS queue subscribed to the notification topic (how a reader gets what SNS delivers)."""
    from sandbox.moto_server import sandbox_client_factory

    make = sandbox_client_factory(world.region)
    sqs, sns = make("sqs", world.moto_url), make("sns", world.moto_url)
    url = sqs.create_queue(QueueName="ledger-notifications")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=world.topics[TOPIC], Protocol="sqs", Endpoint=arn)
    sqs.close()
    sns.close()
    return str(url)


def moto_client(world: World, service: str) -> Any:
    from sandbox.moto_server import sandbox_client_factory

    return sandbox_client_factory(world.region)(service, world.moto_url)


def scan(world: World) -> list[dict[str, Any]]:
    """Every row of the ledger table, sorted by deployment id (a test-sized table: one page)."""
    dynamodb = moto_client(world, "dynamodb")
    answer = dynamodb.scan(TableName=TABLE, ConsistentRead=True)
    dynamodb.close()
    assert "LastEvaluatedKey" not in answer
    return sorted(answer["Items"], key=lambda item: item["deploymentId"]["S"])


def notifications(world: World, queue_url: str) -> list[str]:
    """The lines SNS delivered to the queue since the last call (each message's ``Message``)."""
    from sandbox.moto_server import sandbox_client_factory

    sqs = sandbox_client_factory(world.region)("sqs", world.moto_url)
    lines: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages") or []
        if not got:
            break
        for message in got:
            envelope = json.loads(message["Body"])  # SNS's JSON envelope (raw delivery off, AWS's default)
            assert envelope["Type"] == "Notification" and envelope["TopicArn"] == TOPIC
            lines.append(envelope["Message"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    sqs.close()
    return lines


def deploy(service: str, strategy: str) -> tuple[int, dict[str, Any]]:
    result = run_cli(
        "deploy", service, "--strategy", strategy, "--time-scale", f"{SCALE:g}", "--output", "json"
    )
    return result.code, (result.json() if result.stdout.startswith("{") else {"stderr": result.stderr})


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    options = WorldOptions(time_scale=SCALE, evaluator_tick=1e6, event_delivery=KNOB)
    services = [CODEDEPLOY_SERVICE, NATIVE_SERVICE]
    with World(SHIPPED, "dev", services, {NATIVE_SERVICE: "error_rate=1.0"}, options) as world:
        assert [rule.function_name for rule in world.event_rules] == ["bluegreen-dev-ledger"]
        received: list[Event] = []
        pattern = {"source": ["aws.codedeploy", "aws.ecs"]}
        world.events.put_rule("test-recorder", pattern, received.append)
        queue_url = subscribe_queue(world)
        # The succeeding one is dev's all-at-once: its events (START, READY, SUCCESS) and row are a
        # canary's too, and the canary's 5 virtual minutes more (7.5 real s) add no event.
        code, doc = deploy(CODEDEPLOY_SERVICE, "all-at-once")
        assert code == 0 and doc["status"] == "Succeeded", doc
        native_code, native_doc = deploy(NATIVE_SERVICE, "canary10")
        assert native_code == 1 and native_doc["rolledBack"] is True, native_doc
        assert world.settle_events(60.0)
        rows, lines = scan(world), notifications(world, queue_url)
        yield Run(
            world,
            doc["deploymentId"],
            native_doc["deploymentId"],
            native_doc,
            queue_url,
            received,
            rows,
            lines,
        )


def published(world: World, source: str) -> list[Event]:
    return [e for e in world.events.published if e["source"] == source]


def test_codedeploy_publishes_start_ready_success_for_its_deployment(run: Run) -> None:
    events = [
        e for e in published(run.world, "aws.codedeploy") if e["detail"]["deploymentId"] == run.codedeploy_id
    ]
    # dev waits at Ready (STOP_DEPLOYMENT) and `deploy` continues it
    assert [e["detail"]["state"] for e in events] == ["START", "READY", "SUCCESS"]
    first = events[0]
    assert first["detail-type"] == "CodeDeploy Deployment State-change Notification"
    assert first["detail"]["application"] == "doa-market-dev"
    assert first["detail"]["deploymentGroup"] == CODEDEPLOY_SERVICE
    assert first["resources"] == [
        "arn:aws:codedeploy:ap-northeast-2:123456789012:application:doa-market-dev",
        f"arn:aws:codedeploy:ap-northeast-2:123456789012:deploymentgroup:doa-market-dev/{CODEDEPLOY_SERVICE}",
    ]
    times = [e["time"] for e in events]
    assert times == sorted(times)  # virtual time, in order of the deployment's life


def test_ecs_publishes_in_progress_rolling_back_failed_for_the_rolled_back_one(run: Run) -> None:
    service_arn = run.native_id.replace(":service-deployment/", ":service/").rsplit("/", 1)[0]
    events = [e for e in published(run.world, "aws.ecs") if e["resources"] == [service_arn]]
    names = [e["detail"]["eventName"] for e in events]
    assert names == [
        "SERVICE_DEPLOYMENT_IN_PROGRESS",
        "SERVICE_DEPLOYMENT_IN_PROGRESS",
        "SERVICE_DEPLOYMENT_FAILED",
    ]
    assert [e["detail"]["eventType"] for e in events] == ["INFO", "INFO", "ERROR"]
    assert len({e["detail"]["deploymentId"] for e in events}) == 1
    assert events[0]["detail"]["deploymentId"].startswith("ecs-svc/")
    assert "Rolling back to deploymentId ecs-svc/" in events[1]["detail"]["reason"]
    assert "bluegreen-dev-after-allow-test-traffic" in events[2]["detail"]["reason"]


def test_the_bus_delivered_every_event_twice_and_not_in_order(run: Run) -> None:
    sent = [e["id"] for e in run.world.events.published]
    got = [e["id"] for e in run.received]
    assert sorted(got) == sorted(sent * 2)
    firsts = list(dict.fromkeys(got))
    assert firsts != sent  # some event reached the target before one published earlier


def test_the_world_made_the_ledger_table_and_topic_the_catalog_names(run: Run) -> None:
    table = moto_client(run.world, "dynamodb").describe_table(TableName=TABLE)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "deploymentId", "KeyType": "HASH"}]
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "byEnvironment"
    assert index["KeySchema"] == [
        {"AttributeName": "environment", "KeyType": "HASH"},
        {"AttributeName": "created", "KeyType": "RANGE"},
    ]
    assert run.world.topics == {TOPIC: TOPIC}  # moto's account and region are dev's


def test_the_shipped_rule_routes_both_engines_events_to_the_ledger() -> None:
    rules = [r for r in template_rules(TEMPLATE, "dev") if r.handler == "hooks.ledger.handler"]
    if not rules:
        pytest.skip("template.yaml has no ledger rule yet")
    from sandbox.event_patterns import matches

    codedeploy = json.loads(
        (REPO / "tests/fixtures/eventbridge/codedeploy-deployment-state-change.json").read_text()
    )
    ecs = json.loads((REPO / "tests/fixtures/eventbridge/ecs-deployment-failed.json").read_text())
    for example in (codedeploy, ecs):
        assert any(matches(rule.pattern, example) for rule in rules), example["source"]
    other = {**ecs, "detail-type": "ECS Task State Change"}
    assert not any(matches(rule.pattern, other) for rule in rules)


# --- the ledger's rows and notifications ------------------------------------------------------------


def test_each_deployment_has_its_row_with_the_right_outcome(run: Run) -> None:
    ledger = DynamoLedger(moto_client(run.world, "dynamodb"), TABLE)
    succeeded = ledger.get(run.codedeploy_id)
    assert succeeded is not None, run.rows
    assert (succeeded.engine, succeeded.service, succeeded.environment) == (
        "codedeploy",
        CODEDEPLOY_SERVICE,
        "dev",
    )
    assert (succeeded.status, succeeded.outcome) == ("Succeeded", Outcome.SUCCEEDED)
    assert succeeded.created and succeeded.completed and succeeded.completed > succeeded.created
    rolled_back = ledger.get(run.native_id)
    assert rolled_back is not None, run.rows
    assert (rolled_back.engine, rolled_back.service, rolled_back.environment) == (
        "ecs",
        NATIVE_SERVICE,
        "dev",
    )
    assert (rolled_back.status, rolled_back.outcome) == ("ROLLBACK_SUCCESSFUL", Outcome.ROLLED_BACK)
    assert rolled_back.rolled_back_by, run.rows


def test_the_topic_got_exactly_one_line_per_finished_deployment(run: Run) -> None:
    terminal = {
        row["deploymentId"]["S"] for row in run.rows if row["outcome"]["S"] != Outcome.IN_PROGRESS.value
    }
    assert {run.codedeploy_id, run.native_id} <= terminal
    mentioned = Counter(
        deployment for line in run.lines for deployment in terminal if deployment in line.split()
    )
    assert mentioned == Counter(dict.fromkeys(terminal, 1)), run.lines
    (line,) = [line for line in run.lines if run.codedeploy_id in line.split()]
    assert line.startswith(f"{CODEDEPLOY_SERVICE} dev: succeeded {run.codedeploy_id}")
    (line,) = [line for line in run.lines if run.native_id in line.split()]
    assert line.startswith(f"{NATIVE_SERVICE} dev: rolled back {run.native_id}")


@pytest.fixture
def live(run: Run, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The module's world with its variables set again: tests/conftest.py removes every
    AWS_ENDPOINT_URL* and BLUEGREEN_* before each test, and the in-process Lambdas read them."""
    for name, value in run.world.env.items():
        monkeypatch.setenv(name, value)
    return run


def test_replayed_and_reordered_events_change_no_row_and_publish_nothing(live: Run) -> None:
    world = live.world
    again = list(reversed(world.events.published))  # newest first: every terminal state before its start
    for event in again:
        world.events.publish(event)  # and the knob delivers each twice more, out of order
    assert world.settle_events(60.0)
    assert len(world.events.delivered) >= 2 * 2 * len(again)
    assert scan(world) == live.rows
    assert notifications(world, live.queue_url) == []


def test_the_ledger_lambda_logs_to_the_worlds_hook_log_not_stdout(run: Run) -> None:
    """As the hooks do: an in-process Lambda's JSON lines never mix into the CLI's output."""
    assert run.world.log_path is not None
    logged = run.world.log_path.read_text(encoding="utf-8")
    assert f'"message":"ledger row {run.codedeploy_id}: Succeeded"' in logged

"""orchestrator/aws/ledger.py against moto's DynamoDB (in-process ``mock_aws``): the row each writer
leaves, conditional upserts (replays and late events change nothing, the first terminal write wins,
exactly one write answers True), the index query (newest first, every page), and the one-line errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from orchestrator.aws.ledger import (
    DynamoLedger,
    LedgerTableMissingError,
    create_table_request,
    iso,
    parse_time,
    plain,
    record_of_item,
    update_request,
)
from orchestrator.errors import AwsError
from orchestrator.insight.outcome import Outcome
from orchestrator.insight.records import DeploymentKind, DeploymentRecord, Provenance

T = TypeVar("T")
TABLE = "doa-market-dev-deployments"
T0 = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)


def record(
    deployment_id: str = "d-AAAAAAAAA",
    outcome: Outcome = Outcome.IN_PROGRESS,
    status: str = "InProgress",
    **changes: Any,
) -> DeploymentRecord:
    base = DeploymentRecord(
        deployment_id=deployment_id,
        engine="codedeploy",
        service="product-service",
        environment="dev",
        status=status,
        outcome=outcome,
        created=T0,
        image="product:1.2.3",
    )
    return replace(base, **changes)


SUCCEEDED = {"outcome": Outcome.SUCCEEDED, "status": "Succeeded", "completed": T0 + timedelta(minutes=6)}
ROLLED_BACK = {
    "outcome": Outcome.ROLLED_BACK,
    "status": "Failed",
    "completed": T0 + timedelta(minutes=6, seconds=12),
    "rolled_back_by": "alarm product-service-5xx-errors",
}


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-northeast-2")
        client.create_table(**create_table_request(TABLE))
        yield client


@pytest.fixture
def ledger(dynamodb: Any) -> DynamoLedger:
    return DynamoLedger(dynamodb, TABLE)


def raw(dynamodb: Any, deployment_id: str = "d-AAAAAAAAA") -> dict[str, str]:
    return plain(dynamodb.get_item(TableName=TABLE, Key={"deploymentId": {"S": deployment_id}})["Item"])


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 11, 30, 4, 33, 3, tzinfo=UTC), "2026-11-30T04:33:03.000Z"),
        (datetime(2026, 11, 30, 4, 33, 3, 123456, tzinfo=UTC), "2026-11-30T04:33:03.123Z"),
        (datetime(2026, 11, 30, 4, 33, 3), "2026-11-30T04:33:03.000Z"),  # naive: taken as UTC
    ],
)
def test_times_are_fixed_width_utc_text(moment: datetime, text: str) -> None:
    assert iso(moment) == text
    assert parse_time(text) == moment.replace(microsecond=moment.microsecond // 1000 * 1000, tzinfo=UTC)


def test_a_time_in_another_zone_is_stored_in_utc() -> None:
    from datetime import timezone

    seoul = datetime(2026, 11, 30, 13, 33, 3, tzinfo=timezone(timedelta(hours=9)))
    assert iso(seoul) == "2026-11-30T04:33:03.000Z"


@pytest.mark.parametrize("text", [None, "", "yesterday"])
def test_an_unreadable_time_is_none(text: str | None) -> None:
    assert parse_time(text) is None


def test_update_expression_names_every_attribute_and_fills_in_only_where_absent() -> None:
    expression, names, values = update_request(
        {"status": "Failed"}, {"commit": "abc"}, {"stateRank": {"N": "2"}}
    )

    assert expression == "SET #a0 = :v0, #a1 = if_not_exists(#a1, :v1), #a2 = :v2"
    assert names == {"#a0": "status", "#a1": "commit", "#a2": "stateRank"}
    assert values == {":v0": {"S": "Failed"}, ":v1": {"S": "abc"}, ":v2": {"N": "2"}}


def test_a_row_with_only_the_clis_attributes_is_no_record_yet() -> None:
    assert record_of_item({"deploymentId": "d-1", "deployer": "alice", "kind": "deploy"}) is None


def test_a_row_without_a_kind_is_a_deploy() -> None:
    # breaker: a row the Lambda wrote before any CLI attribute reads as a deploy, never a rollback
    item = {
        "deploymentId": "d-1",
        "engine": "codedeploy",
        "service": "product-service",
        "environment": "dev",
        "status": "Succeeded",
        "outcome": "succeeded",
    }
    found = record_of_item(item)
    assert found is not None and found.kind is DeploymentKind.DEPLOY


def test_get_reads_consistently_a_row_just_written() -> None:
    # breaker: an eventually consistent GetItem may miss the row the Lambda has just written
    class Recording:
        requests: list[dict[str, Any]] = []

        def get_item(self, **request: Any) -> dict[str, Any]:
            self.requests.append(request)
            return {}

    client = Recording()
    assert DynamoLedger(client, TABLE).get("d-1") is None  # type: ignore[arg-type]
    assert client.requests[0]["ConsistentRead"] is True


def test_the_row_is_the_record_with_camel_case_attributes_and_iso_times(
    ledger: DynamoLedger, dynamodb: Any
) -> None:
    provenance = Provenance("alice", "abc123", T0 - timedelta(hours=2), "git")
    written = record(
        **ROLLED_BACK,
        strategy="canary10",
        provenance=provenance,
        rollback_deployment_id="d-B",
        stopped_by="green probe: 3 of the last 10 answers were wrong",
    )

    assert ledger.upsert(written) is True
    row = raw(dynamodb)

    assert row == {
        "deploymentId": "d-AAAAAAAAA",
        "engine": "codedeploy",
        "service": "product-service",
        "environment": "dev",
        "status": "Failed",
        "outcome": "rolled back",
        "kind": "deploy",
        "strategy": "canary10",
        "created": "2026-11-30T04:00:00.000Z",
        "completed": "2026-11-30T04:06:12.000Z",
        "rolledBackBy": "alarm product-service-5xx-errors",
        "rollbackDeploymentId": "d-B",
        "image": "product:1.2.3",
        "deployer": "alice",
        "commit": "abc123",
        "commitTime": "2026-11-30T02:00:00.000Z",
        "provenanceSource": "git",
        "stoppedBy": "green probe: 3 of the last 10 answers were wrong",
        "stateRank": "2",
        "terminalWrite": row["terminalWrite"],
    }
    assert ledger.get("d-AAAAAAAAA") == written


def test_only_the_write_that_makes_the_row_terminal_answers_true(ledger: DynamoLedger, dynamodb: Any) -> None:
    assert ledger.upsert(record()) is False  # in progress: nothing to publish
    assert ledger.upsert(record()) is False  # a replay of it
    assert ledger.upsert(record(**SUCCEEDED)) is True
    row = raw(dynamodb)

    assert ledger.upsert(record(**SUCCEEDED)) is False  # a replayed terminal event
    assert raw(dynamodb) == row


def test_a_late_in_progress_event_leaves_the_terminal_row(ledger: DynamoLedger, dynamodb: Any) -> None:
    assert ledger.upsert(record(**ROLLED_BACK)) is True
    row = raw(dynamodb)

    assert ledger.upsert(record(status="Created")) is False  # START delivered after FAILURE

    assert raw(dynamodb) == row
    assert ledger.get("d-AAAAAAAAA") == record(**ROLLED_BACK)


def test_the_first_terminal_write_wins(ledger: DynamoLedger) -> None:
    assert ledger.upsert(record(**ROLLED_BACK)) is True
    assert ledger.upsert(record(**SUCCEEDED)) is False

    found = ledger.get("d-AAAAAAAAA")
    assert found is not None and found.outcome is Outcome.ROLLED_BACK


def twice(what: str, call: Callable[[], T]) -> T:
    """A policy that sends every request twice, as botocore does when an attempt was applied but its
    answer was lost (a read timeout): the second answer is the one the caller gets."""
    call()
    return call()


def test_a_retried_write_whose_first_attempt_was_applied_still_answers_true(dynamodb: Any) -> None:
    retried = DynamoLedger(dynamodb, TABLE, call=twice)

    assert retried.upsert(record(**SUCCEEDED)) is True  # the second attempt finds its own token
    assert retried.upsert(record(**SUCCEEDED)) is False  # another write (a replay): a new token


def test_the_clis_attributes_survive_the_lambdas_writes_in_either_order(ledger: DynamoLedger) -> None:
    cli = record(kind=DeploymentKind.ROLLBACK, strategy="canary10", provenance=Provenance("alice", "abc123"))

    ledger.record_start(cli)  # the CLI first, then the Lambda (which knows neither)
    ledger.upsert(record(strategy="CodeDeployDefault.ECSCanary10Percent5Minutes"))
    ledger.upsert(record(**SUCCEEDED))
    first = ledger.get("d-AAAAAAAAA")

    ledger.upsert(record("d-SECOND", **SUCCEEDED))  # the Lambda first, then the CLI
    ledger.record_start(replace(cli, deployment_id="d-SECOND"))
    second = ledger.get("d-SECOND")

    for found in (first, second):
        assert found is not None
        assert (found.kind, found.strategy, found.provenance.deployer, found.provenance.commit) == (
            DeploymentKind.ROLLBACK,
            "canary10",
            "alice",
            "abc123",
        )
        assert found.outcome is Outcome.SUCCEEDED


def test_record_start_alone_is_no_record_yet(ledger: DynamoLedger) -> None:
    ledger.record_start(record(provenance=Provenance("alice")))

    assert ledger.get("d-AAAAAAAAA") is None
    assert ledger.get("d-UNKNOWN") is None


class SmallPages:
    """The DynamoDB client, answering queries two items a page (to see every page read)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.queries = 0

    def query(self, **request: Any) -> Any:
        self.queries += 1
        return self.client.query(**request, Limit=2)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_query_reads_every_page_newest_first(dynamodb: Any) -> None:
    pages = SmallPages(dynamodb)
    ledger = DynamoLedger(pages, TABLE)
    for hour in range(5):
        created = T0 + timedelta(hours=hour)
        ledger.upsert(record(f"d-{hour}", created=created, service=f"svc-{hour % 2}"))
    ledger.upsert(record("d-prod", created=T0 + timedelta(hours=3), environment="prod"))
    ledger.record_start(record("d-cli-only"))  # not in the index until the Lambda writes it

    everything = ledger.query("dev", T0)
    since = ledger.query("dev", T0 + timedelta(hours=2))
    one_service = ledger.query("dev", T0, service="svc-0")

    assert [r.deployment_id for r in everything] == ["d-4", "d-3", "d-2", "d-1", "d-0"]
    assert pages.queries >= 3
    assert [r.deployment_id for r in since] == ["d-4", "d-3", "d-2"]
    assert [r.deployment_id for r in one_service] == ["d-4", "d-2", "d-0"]


def test_a_missing_table_is_one_line_naming_it_exit_2() -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        ledger = DynamoLedger(boto3.client("dynamodb", region_name="ap-northeast-2"), TABLE)
        for attempt in (
            lambda: ledger.query("dev", T0),
            lambda: ledger.upsert(record()),
            lambda: ledger.get("d-1"),
        ):
            with pytest.raises(LedgerTableMissingError) as caught:
                attempt()
            assert caught.value.exit_code == 2
            assert str(caught.value) == (
                "ledger table doa-market-dev-deployments does not exist in this account and region; "
                "create it with template.yaml (sam deploy: LedgerTable), or remove ledger_table from "
                "services.yaml"
            )


def test_a_table_without_its_index_is_one_line_exit_2() -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-northeast-2")
        request = create_table_request(TABLE)
        del request["GlobalSecondaryIndexes"]
        request["AttributeDefinitions"] = request["AttributeDefinitions"][:1]
        client.create_table(**request)
        with pytest.raises(LedgerTableMissingError) as caught:
            DynamoLedger(client, TABLE).query("dev", T0)

    assert caught.value.exit_code == 2
    assert str(caught.value).startswith("ledger table doa-market-dev-deployments has no index byEnvironment")


def test_access_denied_is_an_aws_error_exit_4() -> None:
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("dynamodb", region_name="ap-northeast-2")
    with Stubber(client) as stub:
        stub.add_client_error("query", "AccessDeniedException", "not authorized to perform dynamodb:Query")
        with pytest.raises(AwsError) as caught:
            DynamoLedger(client, TABLE).query("dev", T0)

    assert caught.value.exit_code == 4
    assert str(caught.value) == (
        "reading the ledger of dev: access denied (not authorized to perform dynamodb:Query); "
        "see the README's IAM permissions"
    )


def test_write_answers_the_row_as_it_stands_with_the_clis_attributes(ledger: DynamoLedger) -> None:
    ledger.record_start(record(kind=DeploymentKind.ROLLBACK, provenance=Provenance("alice", "abc123")))

    written = ledger.write(record(**SUCCEEDED))
    again = ledger.write(record(**SUCCEEDED))

    assert written.first_terminal is True and written.row is not None
    assert (written.row.kind, written.row.provenance.deployer) == (DeploymentKind.ROLLBACK, "alice")
    assert written.row.outcome is Outcome.SUCCEEDED
    assert (again.first_terminal, again.row) == (False, written.row)


FAILED_EARLY = {"outcome": Outcome.FAILED, "status": "Failed", "completed": T0 + timedelta(minutes=6)}


@pytest.mark.parametrize(
    ("row", "links"),
    [
        (FAILED_EARLY, True),  # written before CodeDeploy named its rollback
        ({**FAILED_EARLY, "outcome": Outcome.STOPPED, "status": "Stopped"}, True),
        ({**FAILED_EARLY, "outcome": Outcome.ROLLED_BACK, "rollback_deployment_id": "d-OTHER"}, False),
        # failed, but naming its rollback already: another rollback never takes its place (breaker)
        ({**FAILED_EARLY, "rollback_deployment_id": "d-OTHER"}, False),
        (SUCCEEDED, False),
        ({}, False),  # in progress: its own terminal write will read the rollback
    ],
)
def test_a_rollback_deployment_links_the_row_it_rolled_back_only_when_that_row_could_not_know(
    ledger: DynamoLedger, dynamodb: Any, row: dict[str, Any], links: bool
) -> None:
    ledger.upsert(record(**row))
    before = raw(dynamodb)

    assert ledger.link_rollback("d-AAAAAAAAA", "d-ROLLBACK") is links

    after = raw(dynamodb)
    if links:
        assert after == {**before, "outcome": "rolled back", "rollbackDeploymentId": "d-ROLLBACK"}
    else:
        assert after == before


def test_linking_a_rollback_to_no_row_writes_none(ledger: DynamoLedger, dynamodb: Any) -> None:
    assert ledger.link_rollback("d-UNKNOWN", "d-ROLLBACK") is False
    assert dynamodb.scan(TableName=TABLE)["Items"] == []


def test_the_cli_fills_in_what_the_engines_answer_lacks_and_nothing_it_has(
    ledger: DynamoLedger, dynamodb: Any
) -> None:
    cli = record(
        kind=DeploymentKind.ROLLBACK,
        rollback_of="d-LIVE",
        image="product:0.9.0",
        task_definition="arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product:7",
    )
    ledger.upsert(record(image="product:1.0.0", task_definition=None))  # the engine knows the image only
    ledger.record_start(cli)

    row = raw(dynamodb)
    assert (row["kind"], row["rollbackOf"], row["image"], row["taskDefinition"]) == (
        "rollback",
        "d-LIVE",
        "product:1.0.0",
        "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product:7",
    )


def test_who_of_the_watch_stopped_it_is_kept_whatever_the_lambda_writes_and_the_first_stop_wins(
    ledger: DynamoLedger,
) -> None:
    """The CLI's `stoppedBy` (the engines' stops carry no reason): written while the row runs or once
    it is terminal, never overwritten by the Lambda's writes nor by a second stop."""
    ledger.upsert(record())  # in progress
    ledger.record_stop("d-AAAAAAAAA", "green probe: 3 of the last 10 answers were wrong")
    ledger.record_stop("d-AAAAAAAAA", "alarm product-service-5xx-errors")  # a second watcher, later
    ledger.upsert(record(**ROLLED_BACK))
    first = ledger.get("d-AAAAAAAAA")

    ledger.upsert(record("d-SECOND", **ROLLED_BACK))  # the Lambda's terminal row first
    ledger.record_stop("d-SECOND", "alarm product-service-5xx-errors")
    second = ledger.get("d-SECOND")

    assert first is not None and second is not None
    assert first.stopped_by == "green probe: 3 of the last 10 answers were wrong"
    assert first.outcome is Outcome.ROLLED_BACK
    assert second.stopped_by == "alarm product-service-5xx-errors" and second.outcome is Outcome.ROLLED_BACK
    assert ledger.stopped_by("d-SECOND") == "alarm product-service-5xx-errors"
    ledger.record_stop("d-FOURTH", "alarm product-service-5xx-errors")  # before the Lambda's first write
    assert (
        ledger.get("d-FOURTH") is None and ledger.stopped_by("d-FOURTH") == "alarm product-service-5xx-errors"
    )
    assert ledger.get("d-THIRD") is None and ledger.stopped_by("d-THIRD") is None
    ledger.upsert(record("d-THIRD", **SUCCEEDED))
    found = ledger.get("d-THIRD")
    assert found is not None and found.stopped_by is None  # nobody stopped it

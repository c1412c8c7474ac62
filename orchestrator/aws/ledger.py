"""The deployment ledger: one DynamoDB row per deployment, written by the ledger Lambda
(``hooks/ledger.py``, from CodeDeploy's and ECS's state-change events) and by the CLI after it
starts a deployment (``record_start``: who ran it, from which commit, which strategy), read by
``history`` and ``dora``.

The row is a ``DeploymentRecord`` as a DynamoDB item: camelCase attribute names, times as ISO-8601
UTC strings of fixed width (``2026-11-30T04:33:03.123Z``, so they sort as text: the index's range
key), provenance flat (``deployer``, ``commit``, ``commitTime``, ``provenanceSource``). Table
(template.yaml ``LedgerTable``): partition key ``deploymentId`` (S); global secondary index
``byEnvironment``: ``environment`` (S) + ``created`` (S), every attribute projected.

Two writers share a row, and each writes only its own attributes with UpdateItem SET, so neither
erases the other's: the CLI owns ``kind``, ``strategy`` and the provenance (the Lambda sets them only
where the CLI has not: ``if_not_exists``); the Lambda owns the rest (what the engine's API says),
which the CLI only fills in where the row has none (the image, the task definition: the Lambda reads
them from ECS's service revision, which may fail; the deployment a ``bluegreen rollback`` rolls back,
which no engine names).

The Lambda's writes (``upsert``) are conditional on the row not being terminal yet (``stateRank``:
in progress 1 < terminal 2), so:
- a replayed event, or one delivered late (EventBridge delivers at least once, in no set order),
  never overwrites a terminal row; the first terminal write wins (one exception, ``link_rollback``:
  CodeDeploy's rollback deployment names the failed one it rolled back);
- exactly one write makes a row terminal, and only that one answers True (the Lambda then publishes
  the one-line outcome and the DORA metrics once). The write carries a token (``terminalWrite``);
  when botocore retries an UpdateItem whose first attempt was applied but not answered, the
  condition fails on our own row: ``ReturnValuesOnConditionCheckFailure=ALL_OLD`` shows the token
  and the retry still answers True.

Errors: a missing table is ``LedgerTableMissingError`` (exit 2, one line naming the table and how to
create it); anything else goes through the caller's ``CallPolicy`` (the CLI's: one-line AwsError,
exit 4; the Lambda's: ``hooks.clients.aws_call``, reads retried within its deadline).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol, TypeVar

from orchestrator.aws.clients import CallPolicy, cli_call, error_code
from orchestrator.errors import BadInputError
from orchestrator.insight.outcome import Outcome
from orchestrator.insight.records import DeploymentKind, DeploymentRecord, Provenance

T = TypeVar("T")

INDEX = "byEnvironment"
IN_PROGRESS_RANK = 1
TERMINAL_RANK = 2
RANK = "stateRank"
_MISSING_INDEX_CODES = ("ValidationException", "ResourceNotFoundException")
TOKEN = "terminalWrite"


class LedgerTableMissingError(BadInputError):
    """The environment's ledger table (services.yaml ``ledger_table``) does not exist, or lacks its index."""

    kind = "ledger-table"


class LedgerApi(Protocol):
    """The ledger as the CLI and the Lambda use it."""

    def record_start(self, record: DeploymentRecord) -> None: ...

    def upsert(self, record: DeploymentRecord) -> bool: ...

    def query(
        self, environment: str, since: datetime, service: str | None = None
    ) -> list[DeploymentRecord]: ...

    def get(self, deployment_id: str) -> DeploymentRecord | None: ...

    def record_stop(self, deployment_id: str, stopped_by: str) -> None: ...


class DynamoDbApi(Protocol):
    """The DynamoDB operations the ledger calls (keyword arguments and answers as in boto3's client)."""

    def update_item(self, **request: Any) -> Mapping[str, Any]: ...

    def get_item(self, **request: Any) -> Mapping[str, Any]: ...

    def query(self, **request: Any) -> Mapping[str, Any]: ...


# --- the row (pure) ---------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    """A time as the ledger stores it: UTC, milliseconds, ``Z`` (fixed width: sorts as text)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str | None) -> datetime | None:
    """The inverse of ``iso`` (None for a missing or unreadable value)."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def rank(outcome: Outcome) -> int:
    """In progress < terminal: a write may only move a row forward."""
    return IN_PROGRESS_RANK if outcome is Outcome.IN_PROGRESS else TERMINAL_RANK


def engine_attributes(record: DeploymentRecord) -> dict[str, str]:
    """The attributes the Lambda owns (what the engine's API says), None values left out."""
    values = {
        "engine": record.engine,
        "service": record.service,
        "environment": record.environment,
        "status": record.status,
        "outcome": record.outcome.value,
        "created": iso(record.created) if record.created else None,
        "completed": iso(record.completed) if record.completed else None,
        "rolledBackBy": record.rolled_back_by,
        "rollbackDeploymentId": record.rollback_deployment_id,
        "rollbackOf": record.rollback_of,
        "image": record.image,
        "taskDefinition": record.task_definition,
    }
    return {name: value for name, value in values.items() if value}


def cli_attributes(record: DeploymentRecord) -> dict[str, str]:
    """The attributes the CLI owns (kind, strategy, provenance, which of its watch's signs stopped
    it), None values left out."""
    provenance = record.provenance
    values = {
        "kind": record.kind.value,
        "strategy": record.strategy,
        "deployer": provenance.deployer,
        "commit": provenance.commit,
        "commitTime": iso(provenance.commit_time) if provenance.commit_time else None,
        "provenanceSource": provenance.source,
        "stoppedBy": record.stopped_by,
    }
    return {name: value for name, value in values.items() if value}


def known_facts(record: DeploymentRecord) -> dict[str, str]:
    """Engine attributes the CLI knows at start too (None values left out)."""
    values = {
        "rollbackOf": record.rollback_of,
        "image": record.image,
        "taskDefinition": record.task_definition,
    }
    return {name: value for name, value in values.items() if value}


def record_of_item(item: Mapping[str, str]) -> DeploymentRecord | None:
    """A row (plain strings) as a record; None for a row the Lambda has not written yet (only the
    CLI's attributes) or one this code cannot read."""
    try:
        return DeploymentRecord(
            deployment_id=item["deploymentId"],
            engine=item["engine"],
            service=item["service"],
            environment=item["environment"],
            status=item["status"],
            outcome=Outcome(item["outcome"]),
            kind=DeploymentKind(item.get("kind", DeploymentKind.DEPLOY.value)),
            strategy=item.get("strategy"),
            created=parse_time(item.get("created")),
            completed=parse_time(item.get("completed")),
            rolled_back_by=item.get("rolledBackBy"),
            rollback_deployment_id=item.get("rollbackDeploymentId"),
            rollback_of=item.get("rollbackOf"),
            image=item.get("image"),
            task_definition=item.get("taskDefinition"),
            provenance=Provenance(
                deployer=item.get("deployer"),
                commit=item.get("commit"),
                commit_time=parse_time(item.get("commitTime")),
                source=item.get("provenanceSource"),
            ),
            stopped_by=item.get("stoppedBy"),
        )
    except (KeyError, ValueError):
        return None


def plain(item: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """A DynamoDB item (attribute values ``{"S": ...}`` / ``{"N": ...}``) as plain strings."""
    return {name: next(iter(value.values())) for name, value in item.items() if value}


def update_request(
    attributes: Mapping[str, str], fill_in: Mapping[str, str], extra: Mapping[str, Mapping[str, str]]
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """UpdateItem's ``SET`` expression, names and values: ``attributes`` set, ``fill_in`` set only
    where absent (``if_not_exists``), ``extra`` set to typed values (``{"N": "2"}``). Every name goes
    through ``#aN`` (COMMIT, STATUS ... are DynamoDB reserved words)."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    clauses: list[str] = []
    typed = [(k, {"S": v}, False) for k, v in attributes.items()]
    typed += [(k, {"S": v}, True) for k, v in fill_in.items()]
    typed += [(k, dict(v), False) for k, v in extra.items()]
    for number, (name, value, only_if_absent) in enumerate(typed):
        names[f"#a{number}"], values[f":v{number}"] = name, value
        target = f"if_not_exists(#a{number}, :v{number})" if only_if_absent else f":v{number}"
        clauses.append(f"#a{number} = {target}")
    return "SET " + ", ".join(clauses), names, values


def create_table_request(table: str) -> dict[str, Any]:
    """CreateTable's request for a ledger table, as template.yaml's LedgerTable declares it (the
    sandbox makes its table with it; tests/hooks/test_template_ledger.py keeps the two equal)."""
    return {
        "TableName": table,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "deploymentId", "AttributeType": "S"},
            {"AttributeName": "environment", "AttributeType": "S"},
            {"AttributeName": "created", "AttributeType": "S"},
        ],
        "KeySchema": [{"AttributeName": "deploymentId", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": INDEX,
                "KeySchema": [
                    {"AttributeName": "environment", "KeyType": "HASH"},
                    {"AttributeName": "created", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }


# --- the table --------------------------------------------------------------------------------


class Written(NamedTuple):
    """What an upsert did: whether it made the row terminal, and the row after it (None when the
    row does not read as a record)."""

    first_terminal: bool
    row: DeploymentRecord | None


class _Refused:
    """UpdateItem's condition failed; ``old`` is the row as it stood (ALL_OLD)."""

    def __init__(self, old: Mapping[str, Any] | None) -> None:
        self.old = plain(old or {})


class DynamoLedger:
    """The ledger in one DynamoDB table (``client``: a boto3/botocore DynamoDB client)."""

    def __init__(self, client: DynamoDbApi, table: str, call: CallPolicy = cli_call) -> None:
        self.client = client
        self.table = table
        self.call = call

    def record_start(self, record: DeploymentRecord) -> None:
        """The CLI's attributes (kind, strategy, provenance), whatever the Lambda wrote already; and
        what the CLI knows that the engine's answer may lack (the deployment a ``bluegreen rollback``
        rolls back, the image, the task definition: ECS's service deployment names neither), only
        where the row has none."""
        expression, names, values = update_request(cli_attributes(record), known_facts(record), {})
        self._update(record.deployment_id, expression, names, values, "recording the deployment's start")

    def record_stop(self, deployment_id: str, stopped_by: str) -> None:
        """Who of bluegreen's watch stopped the deployment (``records.stopped_by_watch``): the engines
        record only that a stop was asked. Set where the row has none (the first stop is the one that
        acted); the row may be terminal already (the attribute is the CLI's, not the engine's view)."""
        expression, names, values = update_request({}, {"stoppedBy": stopped_by}, {})
        self._update(deployment_id, expression, names, values, f"recording who stopped {deployment_id}")

    def upsert(self, record: DeploymentRecord) -> bool:
        """The engine's view of a deployment, unless its row is terminal already; True when this
        write made the row terminal (the caller publishes then, once)."""
        return self.write(record).first_terminal

    def write(self, record: DeploymentRecord) -> Written:
        """``upsert``, also answering the row as it stands after the write (the CLI's attributes
        included: the notification names who deployed, the metrics count by kind)."""
        terminal = rank(record.outcome) == TERMINAL_RANK
        token = uuid.uuid4().hex
        extra: dict[str, Mapping[str, str]] = {RANK: {"N": str(rank(record.outcome))}}
        if terminal:
            extra[TOKEN] = {"S": token}
        expression, names, values = update_request(engine_attributes(record), cli_attributes(record), extra)
        names["#rank"] = RANK
        values[":terminal"] = {"N": str(TERMINAL_RANK)}
        answer = self._update(
            record.deployment_id,
            expression,
            names,
            values,
            f"writing deployment {record.deployment_id}",
            condition="attribute_not_exists(#rank) OR #rank < :terminal",
        )
        if isinstance(answer, _Refused):  # terminal already: by another write, or by this one retried
            ours = terminal and answer.old.get(TOKEN) == token
            return Written(ours, record_of_item(answer.old))
        return Written(terminal, record_of_item(plain(answer.get("Attributes") or {})))

    def link_rollback(self, deployment_id: str, rollback_id: str) -> bool:
        """CodeDeploy's rollback deployment ``rollback_id`` names ``deployment_id`` as the one it
        rolled back: that row, terminal as failed or stopped and naming no rollback, becomes rolled
        back and names it (CodeDeploy may answer a failed deployment before it names its rollback,
        so its first terminal write can come too early to know). True when the row changed; nothing
        else ever changes a terminal row."""
        expression = "SET #outcome = :rolledBack, #rollback = :rollback"
        names = {"#outcome": "outcome", "#rollback": "rollbackDeploymentId", "#rank": RANK}
        values = {
            ":rolledBack": {"S": Outcome.ROLLED_BACK.value},
            ":rollback": {"S": rollback_id},
            ":failed": {"S": Outcome.FAILED.value},
            ":stopped": {"S": Outcome.STOPPED.value},
            ":terminal": {"N": str(TERMINAL_RANK)},
        }
        condition = (
            "#rank = :terminal AND #outcome IN (:failed, :stopped) AND attribute_not_exists(#rollback)"
        )
        answer = self._update(
            deployment_id, expression, names, values, f"linking rollback {rollback_id}", condition=condition
        )
        return not isinstance(answer, _Refused)

    def get(self, deployment_id: str) -> DeploymentRecord | None:
        """The row of a deployment (None when the ledger has none, or only the CLI's part of it)."""
        request = {
            "TableName": self.table,
            "Key": {"deploymentId": {"S": deployment_id}},
            "ConsistentRead": True,  # a row just written reads as written
        }
        answer = self._call(f"reading deployment {deployment_id}", lambda: self.client.get_item(**request))
        item = answer.get("Item") if isinstance(answer, Mapping) else None
        return record_of_item(plain(item)) if item else None

    def stopped_by(self, deployment_id: str) -> str | None:
        """The row's ``stoppedBy`` alone (None: no row, or nobody recorded a stop), whether or not the
        Lambda has written its part of the row (``get`` needs it)."""
        request = {
            "TableName": self.table,
            "Key": {"deploymentId": {"S": deployment_id}},
            "ProjectionExpression": "#s",
            "ExpressionAttributeNames": {"#s": "stoppedBy"},
            "ConsistentRead": True,
        }
        answer = self._call(f"reading deployment {deployment_id}", lambda: self.client.get_item(**request))
        item = answer.get("Item") if isinstance(answer, Mapping) else None
        return plain(item).get("stoppedBy") if item else None

    def query(self, environment: str, since: datetime, service: str | None = None) -> list[DeploymentRecord]:
        """The environment's deployments created at or after ``since`` (of one service when given),
        newest first, every page (the byEnvironment index, ``created`` descending)."""
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": INDEX,
            "KeyConditionExpression": "#env = :env AND #created >= :since",
            "ExpressionAttributeNames": {"#env": "environment", "#created": "created"},
            "ExpressionAttributeValues": {":env": {"S": environment}, ":since": {"S": iso(since)}},
            "ScanIndexForward": False,
        }
        if service is not None:
            request["FilterExpression"] = "#service = :service"
            request["ExpressionAttributeNames"]["#service"] = "service"
            request["ExpressionAttributeValues"][":service"] = {"S": service}
        found: list[DeploymentRecord] = []
        while True:
            page = self._call(f"reading the ledger of {environment}", lambda: self.client.query(**request))
            for item in page.get("Items", []):
                record = record_of_item(plain(item))
                if record is not None:
                    found.append(record)
            if not page.get("LastEvaluatedKey"):
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _update(
        self,
        deployment_id: str,
        expression: str,
        names: dict[str, str],
        values: dict[str, Any],
        what: str,
        condition: str | None = None,
    ) -> Any:
        request: dict[str, Any] = {
            "TableName": self.table,
            "Key": {"deploymentId": {"S": deployment_id}},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if condition is not None:
            request["ConditionExpression"] = condition
            request["ReturnValues"] = "ALL_NEW"
            request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return self._call(what, lambda: self.client.update_item(**request))

    def _call(self, what: str, call: Callable[[], T]) -> T | Any:
        return self.call(what, lambda: self._guarded(call))

    def _guarded(self, call: Callable[[], T]) -> T | _Refused:
        """The call, with the answers the ledger handles itself taken out of botocore's errors."""
        from botocore.exceptions import ClientError

        try:
            return call()
        except ClientError as err:
            code = error_code(err)
            if code == "ConditionalCheckFailedException":
                old: Mapping[str, Any] | None = err.response.get("Item")  # type: ignore[assignment]
                return _Refused(old)
            message = str(err.response.get("Error", {}).get("Message", ""))
            # A missing index: DynamoDB answers ValidationException "The table does not have the
            # specified index: byEnvironment" (moto: ResourceNotFoundException "Invalid index: ...").
            no_index = "index" in message.lower() and code in _MISSING_INDEX_CODES
            if no_index or code == "ResourceNotFoundException":
                raise LedgerTableMissingError(self._missing(no_index)) from None
            raise

    def _missing(self, no_index: bool) -> str:
        lacks = f"has no index {INDEX}" if no_index else "does not exist"
        return (
            f"ledger table {self.table} {lacks} in this account and region; create it with "
            "template.yaml (sam deploy: LedgerTable), or remove ledger_table from services.yaml"
        )

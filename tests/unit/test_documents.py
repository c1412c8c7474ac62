"""The --output json documents' keys, in the order they are printed: the contract CI users parse.

The orders below are the ones the builders printed before the documents became typed models
(commands/follow.py, deploy.py, rollback.py, status.py, stop.py and failure.py at 60c9c63), written
out here on purpose: a field moved in ``orchestrator.documents`` must fail a test, not reorder a
document silently.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from orchestrator import documents
from orchestrator.documents import camel, to_json, watch_event
from orchestrator.watching.snapshots import Event, EventKind

HEAD = [
    "deploymentId",
    "service",
    "environment",
    "strategy",
    "deploymentConfigName",
    "status",
    "outcome",
    "until",
    "reached",
    "rolledBack",
    "rollbackDeploymentId",
    "error",
    "durationSeconds",
    "expectedSeconds",
    "timeoutSeconds",
    "trafficWeights",
    "lifecycleEvents",
    "apiCalls",
    "watchCalls",
    "maxCallsPerMinute",
    "callsPerMinuteLimit",
    "polls",
    "events",
    "engine",
    "stoppedOnAlarm",
    "greenProbe",
]
CREATED_HEAD = [
    "deploymentId",
    "service",
    "environment",
    "strategy",
    "deploymentConfigName",
    "status",
    "outcome",
    "rolledBack",
    "rollbackDeploymentId",
    "durationSeconds",
    "expectedSeconds",
    "timeoutSeconds",
    "apiCalls",
    "events",
    "waitsAtReady",
    "engine",
]
DEPLOY_FACTS = ["taskDefinitionArn", "requestToken", "forced", "guardrailViolations", "createAttempts"]
ROLLBACK_FACTS = ["taskDefinitionArn", "rollbackTo", "rollbackFrom"]


@pytest.mark.parametrize(
    ("document", "keys"),
    [
        (documents.WatchReport, [*HEAD, "exitCode", "hookFailure", "rootCause"]),
        (documents.DeployReport, [*HEAD, *DEPLOY_FACTS, "exitCode", "hookFailure", "rootCause"]),
        (documents.RollbackReport, [*HEAD, *ROLLBACK_FACTS, "exitCode", "hookFailure", "rootCause"]),
        (documents.DeployCreated, [*CREATED_HEAD, *DEPLOY_FACTS, "exitCode"]),
        (documents.RollbackCreated, [*CREATED_HEAD, *ROLLBACK_FACTS, "exitCode"]),
        (
            documents.StatusDocument,
            [
                "deploymentId",
                "service",
                "environment",
                "application",
                "deploymentGroup",
                "strategy",
                "deploymentConfigName",
                "status",
                "rolledBack",
                "rollbackDeploymentId",
                "rollbackOf",
                "error",
                "description",
                "createTime",
                "completeTime",
                "durationSeconds",
                "trafficWeights",
                "lifecycleEvents",
                "apiCalls",
                "engine",
                "hookFailure",
            ],
        ),
        (
            documents.StopDocument,
            ["deploymentId", "stopStatus", "statusMessage", "rollback", "rollbackDeploymentId", "apiCalls"],
        ),
        (documents.PromoteDocument, ["deploymentId", "promoted", "apiCalls"]),
        (
            documents.ErrorDocument,
            [
                "deploymentId",
                "service",
                "environment",
                "strategy",
                "status",
                "activeDeploymentId",
                "rollbackDeploymentId",
                "outcome",
                "error",
                "errorKind",
                "exitCode",
            ],
        ),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else "",
)
def test_documents_print_their_keys_in_the_published_order(document: type, keys: list[str]) -> None:
    assert [camel(field.name) for field in dataclasses.fields(document)] == keys


@pytest.mark.parametrize(
    ("at", "printed"),
    [(0.0, 0.0), (1.26, 1.3), (59.94, 59.9), (125.0, 125.0)],
)
def test_a_watch_event_says_when_to_the_tenth_of_a_second(at: float, printed: float) -> None:
    event = Event(at, EventKind.TRAFFIC, "traffic", "blue 100% / green 0%", "blue 90% / green 10%")
    assert to_json(watch_event(event)) == {
        "at": printed,
        "kind": "traffic",
        "subject": "traffic",
        "from": "blue 100% / green 0%",
        "to": "blue 90% / green 10%",
    }


def test_a_document_is_printed_in_its_key_order() -> None:
    from orchestrator.commands.result import dumps

    document = documents.StopDocument(
        deployment_id="d-1",
        stop_status="Pending",
        status_message="Stopping",
        rollback=True,
        rollback_deployment_id="d-2",
        api_calls=2,
    )
    printed = dumps(to_json(document))
    assert list(json.loads(printed)) == [camel(field.name) for field in dataclasses.fields(document)]
    assert printed.startswith('{\n  "deploymentId": "d-1",\n  "stopStatus": "Pending",\n')

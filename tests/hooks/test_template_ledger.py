"""template.yaml's deployment ledger: the table the code reads (key, index, as create_table_request
makes it) under the catalog's name, the topic the catalog names, one rule on both engines' events
targeting the ledger function with a dead-letter queue, and a role that may do exactly what the
function does, on the template's own resources."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hooks.ledger import NAMESPACE, SERVICE
from orchestrator.aws.ledger import create_table_request
from orchestrator.catalog import load_catalog
from orchestrator.vocabulary import (
    CODEDEPLOY_DEPLOYMENT_STATE_CHANGE,
    CODEDEPLOY_EVENT_SOURCE,
    ECS_DEPLOYMENT_STATE_CHANGE,
    ECS_EVENT_SOURCE,
)
from tests.hooks.test_template import _actions, _statements, load_template, translate

# What hooks/ledger.py calls, and nothing more (logs: its own log group; sqs: Lambda's OnFailure
# destination, sent with the function's role).
LEDGER_ACTIONS = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "codedeploy:BatchGetDeployments",
    "ecs:ListServiceDeployments",
    "ecs:DescribeServiceDeployments",
    "ecs:DescribeServiceRevisions",
    "dynamodb:UpdateItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "sns:Publish",
    "sqs:SendMessage",
}


@pytest.fixture(scope="module")
def resources(repo_root: Path) -> dict[str, Any]:
    found: dict[str, Any] = load_template(repo_root)["Resources"]
    return found


def test_the_table_is_the_one_the_code_reads(resources: dict[str, Any]) -> None:
    properties = resources["LedgerTable"]["Properties"]
    expected = create_table_request("unused")

    for key in ("BillingMode", "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes"):
        assert properties[key] == expected[key], key
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert resources["LedgerTable"]["DeletionPolicy"] == "Retain"


def test_table_and_topic_have_the_names_the_catalog_gives_them(
    repo_root: Path, resources: dict[str, Any]
) -> None:
    project = load_template(repo_root)["Parameters"]["Project"]["Default"]
    catalog = load_catalog(repo_root / "services.yaml")
    table = resources["LedgerTable"]["Properties"]["TableName"]["Fn::Sub"]
    topic = resources["NotificationTopic"]["Properties"]["TopicName"]["Fn::Sub"]
    for environment in catalog.environments:
        for service in catalog.services:
            settings = catalog.resolve(service, environment).settings

            def named(pattern: str, env: str = environment) -> str:
                return pattern.replace("${Project}", project).replace("${Environment}", env)

            assert settings.ledger_table == named(table), (service, environment)
            assert (settings.notification_topic_arn or "").rsplit(":", 1)[-1] == named(topic)


def test_one_rule_sends_both_engines_state_changes_to_the_ledger_function(resources: dict[str, Any]) -> None:
    rule = resources["LedgerRule"]["Properties"]
    [target] = rule["Targets"]

    assert rule["EventPattern"] == {
        "$or": [
            {"source": [CODEDEPLOY_EVENT_SOURCE], "detail-type": [CODEDEPLOY_DEPLOYMENT_STATE_CHANGE]},
            {"source": [ECS_EVENT_SOURCE], "detail-type": [ECS_DEPLOYMENT_STATE_CHANGE]},
        ]
    }
    assert target["Arn"] == {"Fn::GetAtt": ["LedgerFunction", "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["LedgerDeadLetterQueue", "Arn"]}}
    permission = resources["LedgerRulePermission"]["Properties"]
    assert (permission["Principal"], permission["SourceArn"]) == (
        "events.amazonaws.com",
        {"Fn::GetAtt": ["LedgerRule", "Arn"]},
    )
    [statement] = resources["LedgerDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["LedgerRule", "Arn"]}}}


def test_the_function_runs_the_ledger_handler_from_the_hooks_package(resources: dict[str, Any]) -> None:
    properties = resources["LedgerFunction"]["Properties"]

    assert properties["Handler"] == "hooks.ledger.handler"
    assert "CodeUri" not in properties  # the Globals' build/lambda, as the hooks
    assert properties["Environment"]["Variables"] == {
        "POWERTOOLS_SERVICE_NAME": SERVICE,
        "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
    }
    on_failure = properties["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["LedgerDeadLetterQueue", "Arn"]}}


def test_the_role_may_do_exactly_what_the_function_does_on_the_templates_resources(
    resources: dict[str, Any],
) -> None:
    statements = _statements({"LedgerRole": resources["LedgerRole"]}, conditional=False)
    granted = {action: statement["Resource"] for statement in statements for action in _actions(statement)}

    assert set(granted) == LEDGER_ACTIONS
    assert granted["dynamodb:UpdateItem"] == [
        {"Fn::GetAtt": ["LedgerTable", "Arn"]},
        {"Fn::Sub": "${LedgerTable.Arn}/index/byEnvironment"},
    ]
    assert granted["sns:Publish"] == {"Ref": "NotificationTopic"}
    assert granted["sqs:SendMessage"] == {"Fn::GetAtt": ["LedgerDeadLetterQueue", "Arn"]}
    assert str(granted["codedeploy:BatchGetDeployments"]).endswith(
        ":deploymentgroup:${Project}-${Environment}/*'}"
    )


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_sam_translates_the_ledger(repo_root: Path, environment: str) -> None:
    resources = translate(repo_root, environment)["Resources"]

    function = resources["LedgerFunction"]["Properties"]
    assert function["Handler"] == "hooks.ledger.handler"
    assert function["Role"] == {"Fn::GetAtt": ["LedgerRole", "Arn"]}
    invoke_configs = [r for r in resources.values() if r["Type"] == "AWS::Lambda::EventInvokeConfig"]
    [ledger_config] = [
        c for c in invoke_configs if c["Properties"]["FunctionName"] == {"Ref": "LedgerFunction"}
    ]
    assert ledger_config["Properties"]["MaximumRetryAttempts"] == 2

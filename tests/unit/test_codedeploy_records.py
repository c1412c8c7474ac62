"""insight.codedeploy_records: a deploymentInfo -> DeploymentRecord, as tables of CodeDeploy's answers."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

import botocore.session
import pytest

from orchestrator.catalog import Catalog
from orchestrator.engines.base import DeployInputs
from orchestrator.engines.codedeploy_plan import _description
from orchestrator.insight import codedeploy_records as records
from orchestrator.insight.codedeploy_records import (
    ended_by,
    read_appspec,
    record_from_deployment,
)
from orchestrator.insight.outcome import Outcome
from orchestrator.insight.records import DeploymentKind
from orchestrator.strategies import parse_strategy

CREATED = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
COMPLETED = datetime(2026, 11, 30, 4, 9, 30, tzinfo=UTC)
ALARM_MESSAGE = (
    "One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, "
    "and the affected deployments have been stopped. Activated alarms: product-service-5xx"
)
APPSPEC = """version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product-service:7
        LoadBalancerInfo:
          ContainerName: app
          ContainerPort: 8080
Hooks:
  - AfterAllowTestTraffic: bluegreen-dev-after-allow-test-traffic
  - AfterAllowTraffic: bluegreen-dev-after-allow-traffic
"""


@cache
def enum(shape: str) -> set[str]:
    model = botocore.session.get_session().get_service_model("codedeploy")
    return set(model.shape_for(shape).enum)


def info(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "deploymentId": "d-AAAAAAAAA",
        "applicationName": "doa-market-dev",
        "deploymentGroupName": "product-service",
        "deploymentConfigName": "CodeDeployDefault.ECSCanary10Percent5Minutes",
        "status": "Succeeded",
        "createTime": CREATED,
        "completeTime": COMPLETED,
        "creator": "user",
        "description": "bg:0123456789ab; bluegreen deploy product-service canary10",
    }
    base.update(overrides)
    return base


ROLLED = {"rollbackDeploymentId": "d-RRRRRRRRR", "rollbackMessage": "rolled back"}
HOOK_FAILED = {
    "code": "HOOK_EXECUTION_FAILURE",
    "message": "The deployment failed because a lifecycle event hook failed (AfterAllowTestTraffic): x",
}

OUTCOMES = [
    # overrides, outcome, kind, rolled back by
    pytest.param({}, Outcome.SUCCEEDED, DeploymentKind.DEPLOY, None, id="succeeded"),
    pytest.param(
        {"status": "Failed", "errorInformation": HOOK_FAILED, "rollbackInfo": ROLLED},
        Outcome.ROLLED_BACK,
        DeploymentKind.DEPLOY,
        "AfterAllowTestTraffic hook",
        id="hook-failed-rolled-back",
    ),
    pytest.param(
        {"status": "Failed", "errorInformation": HOOK_FAILED},
        Outcome.FAILED,
        DeploymentKind.DEPLOY,
        "AfterAllowTestTraffic hook",
        id="hook-failed-no-rollback",
    ),
    pytest.param(
        {
            "status": "Stopped",
            "errorInformation": {"code": "ALARM_ACTIVE", "message": ALARM_MESSAGE},
            "rollbackInfo": ROLLED,
        },
        Outcome.ROLLED_BACK,
        DeploymentKind.DEPLOY,
        "alarm product-service-5xx",
        id="alarm-rolled-back",
    ),
    pytest.param(
        {"status": "Stopped", "errorInformation": {"code": "MANUAL_STOP", "message": "A user stopped it."}},
        Outcome.STOPPED,
        DeploymentKind.DEPLOY,
        "stop",
        id="stopped",
    ),
    pytest.param(
        {"status": "Stopped", "errorInformation": {"code": "TIMEOUT", "message": "timed out"}},
        Outcome.STOPPED,
        DeploymentKind.DEPLOY,
        "timeout",
        id="ready-timeout",
    ),
    pytest.param(
        {"status": "InProgress", "completeTime": None},
        Outcome.IN_PROGRESS,
        DeploymentKind.DEPLOY,
        None,
        id="running",
    ),
    pytest.param({"status": "Ready"}, Outcome.IN_PROGRESS, DeploymentKind.DEPLOY, None, id="ready"),
    pytest.param(
        {
            "creator": "codeDeployRollback",
            "description": "Rollback of deployment d-AAAAAAAAA",
            "rollbackInfo": {"rollbackTriggeringDeploymentId": "d-TTTTTTTTT"},
        },
        Outcome.SUCCEEDED,
        DeploymentKind.AUTO_ROLLBACK,
        None,
        id="auto-rollback",
    ),
    pytest.param(
        {"creator": "user", "rollbackInfo": {"rollbackTriggeringDeploymentId": "d-TTTTTTTTT"}},
        Outcome.SUCCEEDED,
        DeploymentKind.AUTO_ROLLBACK,
        None,
        id="auto-rollback-by-its-link-back",  # breaker: the creator alone decided it
    ),
    pytest.param(
        {"errorInformation": {"code": "ALARM_ACTIVE", "message": "Activated alarms: a-5xx"}},
        Outcome.SUCCEEDED,
        DeploymentKind.DEPLOY,
        None,
        id="a-success-was-ended-by-nothing",  # breaker: errorInformation on a success named an alarm
    ),
    pytest.param(
        {"creator": "codeDeployRollback", "description": None},
        Outcome.SUCCEEDED,
        DeploymentKind.AUTO_ROLLBACK,
        None,
        id="auto-rollback-by-creator",
    ),
    pytest.param(
        {"description": "bg:0123456789ab; bluegreen rollback product-service canary10"},
        Outcome.SUCCEEDED,
        DeploymentKind.ROLLBACK,
        None,
        id="bluegreen-rollback",
    ),
]


@pytest.mark.parametrize(("overrides", "outcome", "kind", "ended"), OUTCOMES)
def test_outcome_kind_and_what_ended_it(
    overrides: dict[str, Any], outcome: Outcome, kind: DeploymentKind, ended: str | None
) -> None:
    record = record_from_deployment(info(**overrides), "product-service", "dev")
    assert (record.outcome, record.kind, record.rolled_back_by) == (outcome, kind, ended)
    assert record.status == info(**overrides)["status"]


def test_the_record_carries_the_deployment() -> None:
    record = record_from_deployment(
        info(status="Failed", errorInformation=HOOK_FAILED, rollbackInfo=ROLLED), "product-service", "dev"
    )
    assert record.deployment_id == "d-AAAAAAAAA"
    assert (record.engine, record.service, record.environment) == ("codedeploy", "product-service", "dev")
    assert record.strategy == "canary10"
    assert (record.created, record.completed, record.duration_seconds) == (CREATED, COMPLETED, 570.0)
    assert record.rollback_deployment_id == "d-RRRRRRRRR"
    assert record.rollback_of is None
    assert record.task_definition is None  # GetDeployment leaves the AppSpec's content out


def test_the_auto_rollback_names_what_it_rolled_back() -> None:
    record = record_from_deployment(
        info(creator="codeDeployRollback", rollbackInfo={"rollbackTriggeringDeploymentId": "d-TTTTTTTTT"}),
        "product-service",
        "dev",
    )
    assert record.rollback_of == "d-TTTTTTTTT"


@pytest.mark.parametrize(
    ("config", "strategy"),
    [
        ("CodeDeployDefault.ECSAllAtOnce", "all-at-once"),
        ("bluegreen.ECSLinear20PercentEvery2Minutes", "linear:20:2"),
        ("someone-elses-config", "someone-elses-config"),
        (None, None),
    ],
)
def test_strategy_is_bluegreens_name_when_it_reads_as_one(config: str | None, strategy: str | None) -> None:
    assert records.strategy_name(config) == strategy


def test_task_definition_from_the_appspec_when_present() -> None:
    revision = {"revisionType": "AppSpecContent", "appSpecContent": {"content": APPSPEC, "sha256": "x"}}
    record = record_from_deployment(info(revision=revision), "product-service", "dev")
    assert (
        record.task_definition == "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product-service:7"
    )


@pytest.mark.parametrize(
    ("content", "task_definition", "hooks"),
    [
        (
            APPSPEC,
            "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product-service:7",
            {
                "AfterAllowTestTraffic": "bluegreen-dev-after-allow-test-traffic",
                "AfterAllowTraffic": "bluegreen-dev-after-allow-traffic",
            },
        ),
        ('{"Resources": [{"TargetService": {"Properties": {"TaskDefinition": "td:1"}}}]}', "td:1", {}),
        ("", None, {}),
        (None, None, {}),
        ("[: not yaml", None, {}),
        ("just text", None, {}),
        ("Resources: 3\nHooks: {a: b}", None, {}),
        ("x" * (records.MAX_APPSPEC_CHARS + 1), None, {}),
    ],
)
def test_read_appspec(content: str | None, task_definition: str | None, hooks: dict[str, str]) -> None:
    facts = read_appspec(content)
    assert (facts.task_definition, dict(facts.hooks)) == (task_definition, hooks)
    assert facts.container == ("app" if content == APPSPEC else None)


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        ("ALARM_ACTIVE", ALARM_MESSAGE, "alarm product-service-5xx"),
        ("ALARM_ACTIVE", "Activated alarms: a-5xx, a-latency", "alarms a-5xx, a-latency"),
        ("ALARM_ACTIVE", "stopped on an alarm", "alarm"),
        ("HOOK_EXECUTION_FAILURE", "lifecycle event hook failed (BeforeInstall)", "BeforeInstall hook"),
        ("HOOK_EXECUTION_FAILURE", "AfterAllowTraffic failed", "AfterAllowTraffic hook"),
        ("HOOK_EXECUTION_FAILURE", "a hook failed", "hook"),
        ("HEALTH_CONSTRAINTS", "AfterInstall hook failed", "AfterInstall hook"),
        ("HEALTH_CONSTRAINTS", "too many failed", "health constraints"),
        ("MANUAL_STOP", "", "stop"),
        ("TIMEOUT", None, "timeout"),
        ("ECS_UPDATE_ERROR", "x", "ECS update error"),
        ("NO_INSTANCES", "x", "no instances"),
        (None, "x", None),
    ],
)
def test_ended_by(code: str | None, message: str | None, expected: str | None) -> None:
    assert ended_by(code, message) == expected


def test_every_error_code_reads_as_words() -> None:
    for code in enum("ErrorCode"):
        words = ended_by(code, "")
        assert words and "_" not in words, code


def test_codes_and_creators_are_codedeploys() -> None:
    used = {
        records.ALARM_ACTIVE,
        records.HOOK_EXECUTION_FAILURE,
        records.HEALTH_CONSTRAINTS,
        records.MANUAL_STOP,
        records.TIMEOUT,
        *records._ENDED_BY,
    }
    assert used <= enum("ErrorCode")
    assert enum("DeploymentCreator") >= records.ROLLBACK_CREATORS


def test_the_rollback_mark_is_what_bluegreen_rollback_writes(real_catalog: Catalog) -> None:
    service = real_catalog.resolve("product-service", "dev")
    inputs = DeployInputs(service=service, strategy=parse_strategy("canary10"), reason="rollback")
    assert records.BLUEGREEN_ROLLBACK_MARK in _description(inputs, [])
    assert records.BLUEGREEN_ROLLBACK_MARK not in _description(
        DeployInputs(service, parse_strategy("canary10")), []
    )


def test_times_from_a_ledger_row_or_raw_json() -> None:
    assert records.as_time("2026-11-30T04:00:00+00:00") == CREATED
    assert records.as_time("2026-11-30T04:00:00") == CREATED
    assert records.as_time(CREATED.timestamp()) == CREATED
    assert records.as_time("yesterday") is None


def test_provenance_from_the_note_deploy_writes() -> None:
    from orchestrator.insight.provenance import description_note
    from orchestrator.insight.records import Provenance

    written = Provenance("alice", "0123456789abcdef", datetime(2026, 11, 29, 10, 0, tzinfo=UTC), "git")
    description = f"bg:0123456789ab; {description_note(written)}; bluegreen deploy product-service canary10"
    record = record_from_deployment(info(description=description), "product-service", "dev")
    assert (record.provenance.deployer, record.provenance.commit) == ("alice", "0123456789ab")
    assert record.provenance.commit_time == written.commit_time
    assert record_from_deployment(info(), "product-service", "dev").provenance == Provenance()

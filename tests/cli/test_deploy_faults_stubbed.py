"""Throttling, lost races and clean-up around CreateDeployment, against botocore Stubber.

A Stubber answers each call once (botocore's own retries do not run), so every retry seen here
is bluegreen's.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import ANY

from orchestrator.engines.codedeploy_plan import THROTTLED_CREATE_ATTEMPTS, create_exactly_once
from orchestrator.errors import ActiveDeploymentError, AwsError
from tests.support.cli import StubbedClients, run_cli, shown

APP, GROUP = "doa-market-dev", "product-service"
TOKEN = "0123456789ab"
REQUEST = {
    "applicationName": APP,
    "deploymentGroupName": GROUP,
    "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
    "description": f"bg:{TOKEN}; bluegreen deploy product-service all-at-once",
    "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": "x", "sha256": "y"}},
}
TASKDEF_ARN = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product-service:7"
GROUP_INFO = {
    "deploymentGroupInfo": {
        "applicationName": APP,
        "deploymentGroupName": GROUP,
        "alarmConfiguration": {"enabled": True, "alarms": [{"name": "product-service-5xx-errors"}]},
        "blueGreenDeploymentConfiguration": {
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": "TERMINATE",
                "terminationWaitTimeInMinutes": 0,
            }
        },
    }
}


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> StubbedClients:
    clients = StubbedClients()
    monkeypatch.setattr("orchestrator.commands.session.Session.clients", lambda self, region=None: clients)
    # No real waiting between attempts.
    monkeypatch.setattr("orchestrator.engines.codedeploy_plan.backoff_seconds", lambda attempt: 0.0)
    monkeypatch.setattr("orchestrator.aws.clients.backoff_seconds", lambda attempt: 0.0)
    monkeypatch.setattr("orchestrator.watching.loop.backoff_seconds", lambda attempt, cap=0.0: 0.0)
    return clients


class Cleanup:
    """Counts on_nothing_created calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


def _create(stubbed: StubbedClients, cleanup: Cleanup) -> tuple[str, int, bool]:
    client = stubbed.client("codedeploy")
    return create_exactly_once(
        client, client, dict(REQUEST), TOKEN, sleep=lambda _: None, on_nothing_created=cleanup
    )


def test_throttled_create_is_sent_again_without_a_search(stubbed: StubbedClients) -> None:
    cd = stubbed.stubbers["codedeploy"]
    for _ in range(3):
        cd.add_client_error("create_deployment", "ThrottlingException", "Rate exceeded", 400)
    cd.add_response("create_deployment", {"deploymentId": "d-FOURTH001"}, REQUEST)
    cleanup = Cleanup()
    assert _create(stubbed, cleanup) == ("d-FOURTH001", 4, False)
    stubbed.assert_no_pending()
    assert stubbed.counter.calls["codedeploy:ListDeployments"] == 0 and cleanup.calls == 0


def test_create_throttled_every_time_ends_in_one_line_and_cleans_up(stubbed: StubbedClients) -> None:
    cd = stubbed.stubbers["codedeploy"]
    for _ in range(THROTTLED_CREATE_ATTEMPTS):
        cd.add_client_error("create_deployment", "ThrottlingException", "Rate exceeded", 400)
    cleanup = Cleanup()
    with pytest.raises(AwsError, match="throttled by AWS after retries"):
        _create(stubbed, cleanup)
    stubbed.assert_no_pending()
    assert cleanup.calls == 1


def test_lost_race_names_the_active_deployment_and_cleans_up(stubbed: StubbedClients) -> None:
    cd = stubbed.stubbers["codedeploy"]
    cd.add_client_error("create_deployment", "DeploymentLimitExceededException", "busy", 400)
    cd.add_response(
        "list_deployments",
        {"deployments": ["d-WINNER001"]},
        {"applicationName": APP, "deploymentGroupName": GROUP, "includeOnlyStatuses": ANY},
    )
    cleanup = Cleanup()
    with pytest.raises(ActiveDeploymentError) as raised:
        _create(stubbed, cleanup)
    assert str(raised.value) == (
        f"deployment group {APP}/{GROUP} already has an active deployment d-WINNER001; "
        "watch it with `bluegreen watch d-WINNER001` or stop it with `bluegreen stop d-WINNER001`"
    )
    assert raised.value.exit_code == 1 and raised.value.context["activeDeploymentId"] == "d-WINNER001"
    assert cleanup.calls == 1


def test_lost_race_whose_lookup_fails_is_still_one_clear_line(stubbed: StubbedClients) -> None:
    cd = stubbed.stubbers["codedeploy"]
    cd.add_client_error("create_deployment", "DeploymentLimitExceededException", "busy", 400)
    cd.add_client_error("list_deployments", "AccessDeniedException", "not allowed", 400)
    with pytest.raises(ActiveDeploymentError) as raised:
        _create(stubbed, Cleanup())
    message = str(raised.value)
    assert message.startswith(f"deployment group {APP}/{GROUP} already has an active deployment (")
    assert "access denied" in message and "\n" not in message


def test_ambiguous_failures_ruled_out_by_the_token_search_clean_up(stubbed: StubbedClients) -> None:
    cd = stubbed.stubbers["codedeploy"]
    for _ in range(3):
        cd.add_client_error("create_deployment", "InternalFailure", "oops", 500)
        cd.add_response("list_deployments", {"deployments": []})
    cleanup = Cleanup()
    with pytest.raises(AwsError, match="no deployment was created"):
        _create(stubbed, cleanup)
    stubbed.assert_no_pending()
    assert cleanup.calls == 1


def test_no_clean_up_when_the_token_search_itself_failed(stubbed: StubbedClients) -> None:
    # Not sure whether the ambiguous attempt made a deployment: its task definition must stay.
    cd = stubbed.stubbers["codedeploy"]
    cd.add_client_error("create_deployment", "InternalFailure", "oops", 500)
    cd.add_client_error("list_deployments", "AccessDeniedException", "not allowed", 400)
    cleanup = Cleanup()
    with pytest.raises(AwsError, match="access denied"):
        _create(stubbed, cleanup)
    assert cleanup.calls == 0


def _stub_until_create(stubbed: StubbedClients) -> None:
    cd, ecs = stubbed.stubbers["codedeploy"], stubbed.stubbers["ecs"]
    cd.add_client_error("get_deployment_group", "ThrottlingException", "Rate exceeded", 400)
    cd.add_response("get_deployment_group", GROUP_INFO)
    cd.add_client_error("list_deployments", "ThrottlingException", "Rate exceeded", 400)
    cd.add_response("list_deployments", {"deployments": []})
    ecs.add_client_error("register_task_definition", "ThrottlingException", "Rate exceeded", 400)
    ecs.add_response("register_task_definition", {"taskDefinition": {"taskDefinitionArn": TASKDEF_ARN}})


def test_deploy_whose_create_is_throttled_out_deregisters_its_revision(stubbed: StubbedClients) -> None:
    _stub_until_create(stubbed)
    cd, ecs = stubbed.stubbers["codedeploy"], stubbed.stubbers["ecs"]
    for _ in range(THROTTLED_CREATE_ATTEMPTS):
        cd.add_client_error("create_deployment", "ThrottlingException", "Rate exceeded", 400)
    ecs.add_response("deregister_task_definition", {"taskDefinition": {}}, {"taskDefinition": TASKDEF_ARN})
    result = run_cli("deploy", "product-service", "--time-scale", "100000")
    assert result.code == 4, shown(result)
    assert result.stderr.strip().splitlines() == [
        f"error: CreateDeployment {APP}/{GROUP}: throttled by AWS after retries; try again in a minute"
    ]
    assert "deregistered product-service:7 (no deployment was created)" in result.stdout
    stubbed.assert_no_pending()


def test_a_failed_clean_up_does_not_hide_why_the_deploy_failed(stubbed: StubbedClients) -> None:
    _stub_until_create(stubbed)
    cd, ecs = stubbed.stubbers["codedeploy"], stubbed.stubbers["ecs"]
    for _ in range(THROTTLED_CREATE_ATTEMPTS):
        cd.add_client_error("create_deployment", "ThrottlingException", "Rate exceeded", 400)
    ecs.add_client_error("deregister_task_definition", "AccessDeniedException", "not allowed", 400)
    result = run_cli("deploy", "product-service", "--time-scale", "100000")
    assert result.code == 4, shown(result)
    assert result.stderr.strip().splitlines() == [
        f"error: CreateDeployment {APP}/{GROUP}: throttled by AWS after retries; try again in a minute"
    ]
    assert "product-service:7 left registered: deregistering it failed" in result.stdout
    stubbed.assert_no_pending()


def test_deploy_that_loses_the_race_exits_1_naming_the_winner(stubbed: StubbedClients) -> None:
    _stub_until_create(stubbed)
    cd, ecs = stubbed.stubbers["codedeploy"], stubbed.stubbers["ecs"]
    cd.add_client_error("create_deployment", "DeploymentLimitExceededException", "busy", 400)
    ecs.add_response("deregister_task_definition", {"taskDefinition": {}}, {"taskDefinition": TASKDEF_ARN})
    cd.add_response("list_deployments", {"deployments": ["d-WINNER001"]})
    result = run_cli("deploy", "product-service", "--time-scale", "100000")
    assert result.code == 1, shown(result)
    assert "already has an active deployment d-WINNER001" in result.stderr
    stubbed.assert_no_pending()


def _info(status: str) -> dict[str, Any]:
    return {"deploymentInfo": {"deploymentId": "d-STUBBED01", "status": status}}


def test_throttled_reads_everywhere_still_deploy_and_watch_to_the_end(stubbed: StubbedClients) -> None:
    _stub_until_create(stubbed)
    cd = stubbed.stubbers["codedeploy"]
    cd.add_client_error("create_deployment", "ThrottlingException", "Rate exceeded", 400)
    cd.add_response("create_deployment", {"deploymentId": "d-STUBBED01"})
    # The watch: a failed poll is data, the next one goes on.
    cd.add_client_error("get_deployment", "ThrottlingException", "Rate exceeded", 400)
    cd.add_response("get_deployment", _info("InProgress"))
    cd.add_response("list_deployment_targets", {"targetIds": ["t"]})
    cd.add_client_error("get_deployment_target", "ThrottlingException", "Rate exceeded", 400)
    cd.add_response("get_deployment", _info("InProgress"))
    cd.add_response("get_deployment_target", {"deploymentTarget": {"deploymentTargetType": "ECSTarget"}})
    cd.add_client_error("get_deployment", "InternalFailure", "oops", 500)
    cd.add_response("get_deployment", _info("Succeeded"))
    cd.add_response("get_deployment_target", {"deploymentTarget": {"deploymentTargetType": "ECSTarget"}})
    result = run_cli(
        "deploy", "product-service", "-o", "json", "--time-scale", "100000", "--timeout", "600000"
    )
    assert result.code == 0, shown(result)
    assert result.json()["createAttempts"] == 2 and result.json()["status"] == "Succeeded"
    stubbed.assert_no_pending()


def test_a_watch_gives_up_after_too_many_failed_polls_in_a_row(stubbed: StubbedClients) -> None:
    from orchestrator.watching.loop import WatchOptions

    cd = stubbed.stubbers["codedeploy"]
    limit = WatchOptions().max_failed_polls
    for _ in range(limit):
        cd.add_client_error("get_deployment", "ThrottlingException", "Rate exceeded", 400)
    result = run_cli("watch", "d-STUBBED01", "--time-scale", "100000")
    assert result.code == 4, shown(result)
    assert "throttled by AWS after retries" in result.stderr


def test_the_revision_is_registered_by_a_client_that_never_retries_on_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # RegisterTaskDefinition has no client token: botocore retrying an ambiguous failure (timeout,
    # 5xx) would register a second revision. Only bluegreen's own throttling retry may resend it.
    asked: list[tuple[str, bool]] = []

    class Recording(StubbedClients):
        def client(self, name: str, *, single_attempt: bool = False) -> Any:
            asked.append((name, single_attempt))
            return super().client(name, single_attempt=single_attempt)

    stubbed = Recording()
    monkeypatch.setattr("orchestrator.commands.session.Session.clients", lambda self, region=None: stubbed)
    monkeypatch.setattr("orchestrator.aws.clients.backoff_seconds", lambda attempt: 0.0)
    _stub_until_create(stubbed)
    stubbed.stubbers["codedeploy"].add_response("create_deployment", {"deploymentId": "d-STUBBED01"})
    result = run_cli("deploy", "product-service", "--no-wait")
    assert result.code == 0, shown(result)
    assert [single for name, single in asked if name == "ecs"] == [True]
    stubbed.assert_no_pending()


def test_a_task_definition_arn_that_does_not_exist_is_bad_input_before_any_write(
    stubbed: StubbedClients,
) -> None:
    # Well-formed but unknown to ECS: refused after one read, not by a deployment that fails later.
    ecs = stubbed.stubbers["ecs"]
    ecs.add_client_error(
        "describe_task_definition", "ClientException", "Unable to describe task definition.", 400
    )
    result = run_cli("deploy", "product-service", "--task-definition", TASKDEF_ARN)
    assert result.code == 2, shown(result)
    assert result.stderr.strip().splitlines() == [f"error: task definition {TASKDEF_ARN} not found"]
    writes = [
        op for op in stubbed.counter.calls if not op.split(":")[1].startswith(("Get", "List", "Describe"))
    ]
    assert writes == []
    stubbed.assert_no_pending()

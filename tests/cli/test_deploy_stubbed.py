"""Deploy, watch, stop, promote and rollback against botocore Stubber: the exact requests, in order."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.stub import ANY

from orchestrator.aws import codedeploy as codedeploy_api
from orchestrator.commands.rollback import previous_revision, task_definition_of
from orchestrator.engines.codedeploy_plan import create_exactly_once, refuse_if_active
from orchestrator.errors import ActiveDeploymentError, AwsError
from tests.support.cli import StubbedClients, run_cli, shown
from tests.support.deploy_stubs import ALL_DONE, GROUP_INFO, TASKDEF_ARN
from tests.support.deploy_stubs import stub_deploy_writes as _stub_deploy_writes
from tests.support.deploy_stubs import target_response as _target
from tests.support.schema import document_kind

APP, GROUP = "doa-market-dev", "product-service"
T0 = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
REQUEST = {
    "applicationName": APP,
    "deploymentGroupName": GROUP,
    "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
    "description": "bg:0123456789ab; bluegreen deploy product-service all-at-once",
    "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": "x", "sha256": "y"}},
}


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> StubbedClients:
    clients = StubbedClients()
    monkeypatch.setattr("orchestrator.commands.session.Session.clients", lambda self, region=None: clients)
    return clients


def _no_sleep(_: float) -> None:
    return None


def test_ambiguous_create_is_found_by_its_token_and_not_repeated(stubbed: StubbedClients) -> None:
    cd = stubbed.stubbers["codedeploy"]
    cd.add_client_error("create_deployment", "InternalFailure", "lost", 500, expected_params=REQUEST)
    cd.add_response(
        "list_deployments",
        {"deployments": ["d-OTHER0001", "d-OURS00001"]},
        {"applicationName": APP, "deploymentGroupName": GROUP, "createTimeRange": {"start": ANY}},
    )
    cd.add_response(
        "batch_get_deployments",
        {
            "deploymentsInfo": [
                {"deploymentId": "d-OTHER0001", "description": "bg:ffffffffffff; someone else"},
                {"deploymentId": "d-OURS00001", "description": REQUEST["description"]},
            ]
        },
        {"deploymentIds": ["d-OTHER0001", "d-OURS00001"]},
    )
    client = stubbed.client("codedeploy")
    deployment_id, attempts, recovered = create_exactly_once(
        client, client, dict(REQUEST), "0123456789ab", sleep=_no_sleep
    )
    assert (deployment_id, attempts, recovered) == ("d-OURS00001", 1, True)
    stubbed.assert_no_pending()
    assert stubbed.counter.calls["codedeploy:CreateDeployment"] == 1


def test_ambiguous_create_not_found_is_tried_again_once(stubbed: StubbedClients) -> None:
    cd = stubbed.stubbers["codedeploy"]
    cd.add_client_error("create_deployment", "ServiceUnavailable", "try later", 503)
    cd.add_response("list_deployments", {"deployments": []})
    cd.add_response("create_deployment", {"deploymentId": "d-SECOND001"}, REQUEST)
    client = stubbed.client("codedeploy")
    assert create_exactly_once(client, client, dict(REQUEST), "0123456789ab", sleep=_no_sleep) == (
        "d-SECOND001",
        2,
        False,
    )
    stubbed.assert_no_pending()


def test_retry_refused_as_busy_finds_the_deployment_the_lost_attempt_made(stubbed: StubbedClients) -> None:
    # Attempt 1 times out but creates d-OURS00001, which the search does not list yet; attempt 2
    # is refused because the group is busy with it: look for our token once more, don't fail.
    cd = stubbed.stubbers["codedeploy"]
    cd.add_client_error("create_deployment", "ServiceUnavailable", "try later", 503)
    cd.add_response("list_deployments", {"deployments": []})
    cd.add_client_error("create_deployment", "DeploymentLimitExceededException", "busy", 400)
    cd.add_response("list_deployments", {"deployments": ["d-OURS00001"]})
    cd.add_response(
        "batch_get_deployments",
        {"deploymentsInfo": [{"deploymentId": "d-OURS00001", "description": REQUEST["description"]}]},
    )
    client = stubbed.client("codedeploy")
    assert create_exactly_once(client, client, dict(REQUEST), "0123456789ab", sleep=_no_sleep) == (
        "d-OURS00001",
        2,
        True,
    )
    stubbed.assert_no_pending()


def test_first_attempt_refused_as_busy_is_not_searched(stubbed: StubbedClients) -> None:
    # A lost race for the group (no earlier ambiguous attempt): the documented refusal, naming
    # the deployment that won, found among the group's active ones (not by our token).
    cd = stubbed.stubbers["codedeploy"]
    cd.add_client_error("create_deployment", "DeploymentLimitExceededException", "busy", 400)
    cd.add_response(
        "list_deployments",
        {"deployments": ["d-WINNER001"]},
        {"applicationName": APP, "deploymentGroupName": GROUP, "includeOnlyStatuses": ANY},
    )
    client = stubbed.client("codedeploy")
    with pytest.raises(ActiveDeploymentError, match="already has an active deployment d-WINNER001"):
        create_exactly_once(client, client, dict(REQUEST), "0123456789ab", sleep=_no_sleep)
    stubbed.assert_no_pending()


def test_unambiguous_create_error_is_not_retried(stubbed: StubbedClients) -> None:
    cd = stubbed.stubbers["codedeploy"]
    cd.add_client_error("create_deployment", "InvalidRoleException", "role", 400)
    client = stubbed.client("codedeploy")
    with pytest.raises(AwsError, match="InvalidRoleException"):
        create_exactly_once(client, client, dict(REQUEST), "0123456789ab", sleep=_no_sleep)
    stubbed.assert_no_pending()


CONFIG_REQUEST = {
    "deploymentConfigName": "bluegreen.ECSCanary20Percent2Minutes",
    "computePlatform": "ECS",
    "trafficRoutingConfig": {
        "type": "TimeBasedCanary",
        "timeBasedCanary": {"canaryPercentage": 20, "canaryInterval": 2},
    },
}


@pytest.mark.parametrize(
    ("get_error", "create_error", "expected"),
    [
        pytest.param(None, None, "existing", id="exists"),
        pytest.param("DeploymentConfigDoesNotExistException", None, "created", id="missing-created"),
        pytest.param(
            "DeploymentConfigDoesNotExistException",
            "DeploymentConfigAlreadyExistsException",
            "existing",
            id="created-concurrently",
        ),
    ],
)
def test_ensure_deployment_config_is_idempotent(
    stubbed: StubbedClients, get_error: str | None, create_error: str | None, expected: str
) -> None:
    cd = stubbed.stubbers["codedeploy"]
    name = {"deploymentConfigName": CONFIG_REQUEST["deploymentConfigName"]}
    if get_error:
        cd.add_client_error("get_deployment_config", get_error, "no", 400, expected_params=name)
        if create_error:
            cd.add_client_error(
                "create_deployment_config", create_error, "race", 400, expected_params=CONFIG_REQUEST
            )
        else:
            cd.add_response("create_deployment_config", {"deploymentConfigId": "c-1"}, CONFIG_REQUEST)
    else:
        cd.add_response(
            "get_deployment_config", {"deploymentConfigInfo": {"deploymentConfigName": "x"}}, name
        )
    assert codedeploy_api.ensure_deployment_config(stubbed.client("codedeploy"), CONFIG_REQUEST) == expected
    stubbed.assert_no_pending()


def test_active_deployment_is_refused_with_its_id_and_the_watch_command(stubbed: StubbedClients) -> None:
    stubbed.stubbers["codedeploy"].add_response(
        "list_deployments",
        {"deployments": ["d-BUSY00001"]},
        {
            "applicationName": APP,
            "deploymentGroupName": GROUP,
            "includeOnlyStatuses": ["Created", "Queued", "InProgress", "Baking", "Ready"],
        },
    )
    with pytest.raises(
        ActiveDeploymentError, match=r"d-BUSY00001; watch it with `bluegreen watch d-BUSY00001`"
    ):
        refuse_if_active(stubbed.client("codedeploy"), APP, GROUP)


# --- whole commands ----------------------------------------------------------------------------------


def test_deploy_json_success(stubbed: StubbedClients) -> None:
    _stub_deploy_writes(stubbed, "d-STUBBED01")
    cd = stubbed.stubbers["codedeploy"]
    cd.add_response(
        "get_deployment", {"deploymentInfo": {"deploymentId": "d-STUBBED01", "status": "InProgress"}}
    )
    cd.add_response("list_deployment_targets", {"targetIds": ["doa-market-cluster:product-service"]})
    cd.add_response("get_deployment_target", _target({"BeforeInstall": "InProgress"}, (100, 0)))
    cd.add_response(
        "get_deployment", {"deploymentInfo": {"deploymentId": "d-STUBBED01", "status": "Succeeded"}}
    )
    cd.add_response("get_deployment_target", _target(ALL_DONE, (0, 100)))
    # --timeout: the default (expected duration + margin) is ~7 ms of real time at this scale.
    result = run_cli(
        "deploy", "product-service", "--output", "json", "--time-scale", "100000", "--timeout", "600000"
    )
    assert result.code == 0, shown(result)
    document = result.json()
    assert {k: document[k] for k in ("deploymentId", "service", "environment", "strategy", "status")} == {
        "deploymentId": "d-STUBBED01",
        "service": "product-service",
        "environment": "dev",
        "strategy": "all-at-once",
        "status": "Succeeded",
    }
    assert document["rolledBack"] is False and document["rollbackDeploymentId"] is None
    assert document["apiCalls"] == 9
    assert document["taskDefinitionArn"] == TASKDEF_ARN
    assert {"durationSeconds", "events", "maxCallsPerMinute"} <= set(document)
    assert [e["to"] for e in document["events"] if e["kind"] == "status"] == ["InProgress", "Succeeded"]
    assert result.stderr == ""
    stubbed.assert_no_pending()


def test_deploys_watch_records_its_stops_in_the_services_ledger_table(
    stubbed: StubbedClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watch deploy starts writes which sign stopped the deployment to the catalog's ledger table
    (`why` reads it back there): the subject deploy hands to the watch names that table."""
    from orchestrator.commands import deploy

    watched: list[Any] = []
    real = deploy.follow_created

    def follow_created(session: Any, engine: Any, clients: Any, subject: Any, flags: Any) -> Any:
        watched.append(subject)
        return real(session, engine, clients, subject, flags)

    monkeypatch.setattr(deploy, "follow_created", follow_created)
    _stub_deploy_writes(stubbed, "d-STUBBED01")
    cd = stubbed.stubbers["codedeploy"]
    cd.add_response(
        "get_deployment", {"deploymentInfo": {"deploymentId": "d-STUBBED01", "status": "Succeeded"}}
    )
    cd.add_response("list_deployment_targets", {"targetIds": ["doa-market-cluster:product-service"]})
    cd.add_response("get_deployment_target", _target(ALL_DONE, (0, 100)))
    result = run_cli(
        "deploy", "product-service", "--output", "json", "--time-scale", "100000", "--timeout", "600000"
    )
    assert result.code == 0, shown(result)
    assert [s.ledger_table for s in watched] == ["doa-market-dev-deployments"]


def test_deploy_failed_and_rolled_back_exits_1(stubbed: StubbedClients) -> None:
    _stub_deploy_writes(stubbed, "d-STUBBED02")
    cd = stubbed.stubbers["codedeploy"]
    failed = {
        "deploymentId": "d-STUBBED02",
        "status": "Failed",
        "rollbackInfo": {"rollbackDeploymentId": "d-ROLLBACK1"},
        "errorInformation": {
            "code": "HOOK_EXECUTION_FAILURE",
            "message": "AfterAllowTestTraffic hook failed",
        },
    }
    cd.add_response("get_deployment", {"deploymentInfo": failed})
    cd.add_response("list_deployment_targets", {"targetIds": ["t"]})
    cd.add_response("get_deployment_target", _target({"AfterAllowTestTraffic": "Failed"}, (100, 0)))
    result = run_cli("deploy", "product-service", "--time-scale", "100000")
    assert result.code == 1, shown(result)
    assert "rolled back in" in result.stdout and "rollback d-ROLLBACK1" in result.stdout
    assert result.stderr.strip() == (
        "error: deployment d-STUBBED02 Failed: HOOK_EXECUTION_FAILURE: AfterAllowTestTraffic hook failed; "
        "rolled back by d-ROLLBACK1; details: `bluegreen status d-STUBBED02`"
    )


def test_deploy_refused_when_group_busy_makes_no_write(stubbed: StubbedClients) -> None:
    cd = stubbed.stubbers["codedeploy"]
    cd.add_response("get_deployment_group", GROUP_INFO)
    cd.add_response("list_deployments", {"deployments": ["d-BUSY00001"]})
    result = run_cli("deploy", "product-service")
    assert result.code == 1, shown(result)
    assert "already has an active deployment d-BUSY00001" in result.stderr
    assert "bluegreen watch d-BUSY00001" in result.stderr
    assert set(stubbed.counter.calls) == {"codedeploy:GetDeploymentGroup", "codedeploy:ListDeployments"}


def test_prod_guardrail_with_group_alarms_off_refuses_after_reads_only(stubbed: StubbedClients) -> None:
    info = {
        "deploymentGroupInfo": {**GROUP_INFO["deploymentGroupInfo"], "alarmConfiguration": {"enabled": False}}
    }
    stubbed.stubbers["codedeploy"].add_response("get_deployment_group", info)
    result = run_cli("deploy", "product-service", "--env", "prod")
    assert result.code == 2, shown(result)
    assert result.stderr.startswith("error: refused by prod guardrails for product-service")
    assert set(stubbed.counter.calls) == {"codedeploy:GetDeploymentGroup"}


def test_no_wait_prints_the_document_once_created(stubbed: StubbedClients) -> None:
    _stub_deploy_writes(stubbed, "d-NOWAIT001")
    result = run_cli("deploy", "product-service", "--no-wait", "-o", "json")
    assert result.code == 0, shown(result)
    document = result.json()
    assert document["deploymentId"] == "d-NOWAIT001" and document["status"] == "Created"
    stubbed.assert_no_pending()


def test_timeout_exits_3_and_says_how_to_reattach(stubbed: StubbedClients) -> None:
    _stub_deploy_writes(stubbed, "d-SLOW00001")
    cd = stubbed.stubbers["codedeploy"]
    running = {"deploymentInfo": {"deploymentId": "d-SLOW00001", "status": "InProgress"}}
    cd.add_response("get_deployment", running)
    cd.add_response("list_deployment_targets", {"targetIds": ["t"]})
    cd.add_response("get_deployment_target", _target({"Install": "InProgress"}, (100, 0)))
    for _ in range(40):
        cd.add_response("get_deployment", running)
        cd.add_response("get_deployment_target", _target({"Install": "InProgress"}, (100, 0)))
    # --timeout 0.5 minutes at time scale 300 is 0.1 s of real time.
    result = run_cli("deploy", "product-service", "--timeout", "0.5", "--time-scale", "300")
    assert result.code == 3, shown(result)
    assert "still running in" in result.stdout
    assert "deployment d-SLOW00001 still InProgress after the 0.5-minute timeout" in result.stderr
    assert "`bluegreen watch d-SLOW00001`" in result.stderr


def test_interrupt_leaves_deployment_running_and_exits_130(
    stubbed: StubbedClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.watching import loop as watcher

    def interrupted(self: Any, options: Any) -> Any:
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
    result = run_cli("watch", "d-RUNNING01")
    assert result.code == 130, shown(result)
    assert "keeps running in CodeDeploy" in result.stderr
    assert (
        "`bluegreen watch d-RUNNING01`" in result.stderr and "`bluegreen stop d-RUNNING01`" in result.stderr
    )
    assert "StopDeployment" not in str(stubbed.counter.calls)


def test_rollback_on_interrupt_stops_with_rollback_and_waits_for_it(
    stubbed: StubbedClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.watching import loop as watcher

    def interrupted(self: Any, options: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(watcher.Watcher, "run", interrupted)
    cd = stubbed.stubbers["codedeploy"]
    info = {
        "deploymentId": "d-RUNNING02",
        "status": "InProgress",
        "applicationName": APP,
        "deploymentGroupName": GROUP,
        "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
    }
    cd.add_response("get_deployment", {"deploymentInfo": info})
    cd.add_response(
        "stop_deployment",
        {"status": "Pending", "statusMessage": "stopping"},
        {"deploymentId": "d-RUNNING02", "autoRollbackEnabled": True},
    )
    cd.add_response("get_deployment", {"deploymentInfo": info})
    stopped = {**info, "status": "Stopped", "rollbackInfo": {"rollbackDeploymentId": "d-ROLLBACK2"}}
    cd.add_response("get_deployment", {"deploymentInfo": stopped})
    result = run_cli("watch", "d-RUNNING02", "--rollback-on-interrupt", "--time-scale", "1000")
    assert result.code == 130, shown(result)
    assert "rollback deployment d-ROLLBACK2 started" in result.stderr
    stubbed.assert_no_pending()


def test_stop_with_rollback(stubbed: StubbedClients) -> None:
    cd = stubbed.stubbers["codedeploy"]
    cd.add_response(
        "stop_deployment",
        {"status": "Pending", "statusMessage": "Stopping"},
        {"deploymentId": "d-TOSTOP001", "autoRollbackEnabled": True},
    )
    cd.add_response(
        "get_deployment",
        {"deploymentInfo": {"status": "Stopped", "rollbackInfo": {"rollbackDeploymentId": "d-ROLLBACK3"}}},
    )
    result = run_cli("stop", "d-TOSTOP001")
    assert result.code == 0, shown(result)
    assert result.stdout == (
        "stop requested for d-TOSTOP001: Pending Stopping\n"
        "rollback deployment d-ROLLBACK3 started; follow it with `bluegreen watch d-ROLLBACK3`\n"
    )


def test_stop_without_rollback(stubbed: StubbedClients) -> None:
    stubbed.stubbers["codedeploy"].add_response(
        "stop_deployment",
        {"status": "Succeeded"},
        {"deploymentId": "d-TOSTOP002", "autoRollbackEnabled": False},
    )
    result = run_cli("stop", "d-TOSTOP002", "--no-rollback", "-o", "json")
    assert result.code == 0, shown(result)
    assert result.json()["rollback"] is False


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        pytest.param(None, 0, "promoted d-READY0001", id="ready"),
        pytest.param("DeploymentIsNotInReadyStateException", 2, "is not waiting at Ready", id="not-ready"),
        pytest.param("DeploymentAlreadyCompletedException", 2, "already finished", id="finished"),
    ],
)
def test_promote(stubbed: StubbedClients, error: str | None, code: int, message: str) -> None:
    cd = stubbed.stubbers["codedeploy"]
    params = {"deploymentId": "d-READY0001", "deploymentWaitType": "READY_WAIT"}
    if error:
        cd.add_client_error("continue_deployment", error, "no", 400, expected_params=params)
    else:
        cd.add_response("continue_deployment", {}, params)
    result = run_cli("promote", "d-READY0001")
    assert result.code == code, shown(result)
    assert message in result.stdout + result.stderr


def _succeeded(deployment_id: str, minutes: int, sha: str, arn: str) -> dict[str, Any]:
    content = (
        "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n"
        f"        TaskDefinition: {arn}\n"
    )
    return {
        "deploymentId": deployment_id,
        "createTime": T0 + dt.timedelta(minutes=minutes),
        "status": "Succeeded",
        "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": content, "sha256": sha}},
    }


@pytest.mark.parametrize(
    ("history", "live", "target"),
    [
        pytest.param([("d-1", 1, "a"), ("d-2", 2, "b")], "d-2", "d-1", id="previous"),
        pytest.param(
            [("d-2", 2, "b"), ("d-1", 1, "a"), ("d-3", 3, "b")], "d-3", "d-1", id="skips-same-revision"
        ),
        pytest.param([("d-1", 1, "a"), ("d-2", 2, "b"), ("d-3", 3, "c")], "d-3", "d-2", id="newest-older"),
    ],
)
def test_previous_revision(history: list[tuple[str, int, str]], live: str, target: str) -> None:
    infos = [_succeeded(i, m, s, f"arn:{s}") for i, m, s in history]
    got_live, got_target = previous_revision(infos)
    assert (got_live["deploymentId"], got_target["deploymentId"]) == (live, target)


def test_previous_revision_compares_task_definitions_not_appspec_bytes() -> None:
    # d-3 is CodeDeploy's automatic rollback of a failed deployment: it restored d-2's task
    # definition with an AppSpec of its own (another sha256). Going back means d-1's revision.
    infos = [
        _succeeded("d-1", 1, "sha-1", "arn:task:1"),
        _succeeded("d-2", 2, "sha-2", "arn:task:2"),
        _succeeded("d-3", 3, "sha-rollback", "arn:task:2"),
    ]
    got_live, got_target = previous_revision(infos)
    assert (got_live["deploymentId"], got_target["deploymentId"]) == ("d-3", "d-1")


def test_previous_revision_needs_an_older_distinct_one() -> None:
    from orchestrator.errors import BadInputError

    with pytest.raises(BadInputError, match="nothing to roll back to"):
        previous_revision([_succeeded("d-1", 1, "a", "arn:a"), _succeeded("d-2", 2, "a", "arn:a")])


def _rollback(deployment_id: str, minutes: int, task: str) -> dict[str, Any]:
    info = _succeeded(deployment_id, minutes, f"sha-{deployment_id}", f"arn:task:{task}")
    return {**info, "description": "bg:0123456789ab; bluegreen rollback product-service all-at-once"}


# d-1 runs task 1, d-2 task 2 (the bad release); R1 is `bluegreen rollback` from d-2 back to task 1.
HISTORY = [_succeeded("d-1", 1, "s1", "arn:task:1"), _succeeded("d-2", 2, "s2", "arn:task:2")]


@pytest.mark.parametrize(
    ("history", "to", "outcome"),
    [
        pytest.param(HISTORY, None, "d-2 -> d-1", id="first-rollback"),
        # A second rollback would undo the first: refused, with both choices spelled out.
        pytest.param(
            [*HISTORY, _rollback("d-R1", 3, "1")],
            None,
            "refused: live d-R1 is a bluegreen rollback away from d-2; redeploy with --to d-2",
            id="ping-pong-refused",
        ),
        pytest.param(
            [_succeeded("d-0", 0, "s0", "arn:task:0"), *HISTORY, _rollback("d-R1", 3, "1")],
            None,
            "refused: live d-R1 is a bluegreen rollback away from d-2; go further back with --to d-0",
            id="ping-pong-refused-names-the-older-one",
        ),
        # "further back" names an older *revision*: not d-2, a second deployment of the same task 2.
        pytest.param(
            [
                _succeeded("d-0", 0, "s0", "arn:task:0"),
                *HISTORY,
                _succeeded("d-2b", 3, "s2b", "arn:task:2"),
                _rollback("d-R1", 4, "1"),
            ],
            None,
            "refused: live d-R1 is a bluegreen rollback away from d-2b; go further back with --to d-0",
            id="further-back-skips-a-redeploy-of-the-same-revision",
        ),
        pytest.param([*HISTORY, _rollback("d-R1", 3, "1")], "d-2", "d-R1 -> d-2", id="explicit-to-allows-it"),
        # CodeDeploy's own automatic rollback is not a bluegreen rollback: no ping-pong check.
        pytest.param(
            [*HISTORY, _succeeded("d-A", 3, "sha-auto", "arn:task:1")], None, "d-A -> d-2", id="auto-rollback"
        ),
        # A new release after the rollback: rolling it back is not ping-pong.
        pytest.param(
            [*HISTORY, _rollback("d-R1", 3, "1"), _succeeded("d-3", 4, "s3", "arn:task:3")],
            None,
            "d-3 -> d-R1",
            id="new-release-after-rollback",
        ),
        pytest.param(
            HISTORY, "d-2", "refused: --to d-2: its revision (arn:task:2) is the live one", id="to-live"
        ),
        pytest.param(
            HISTORY, "d-NOPE00000", "refused: --to d-NOPE00000: not a successful deployment", id="to-unknown"
        ),
    ],
)
def test_rollback_target_and_ping_pong(history: list[dict[str, Any]], to: str | None, outcome: str) -> None:
    from orchestrator.errors import BadInputError

    if not outcome.startswith("refused"):
        live, target = previous_revision(history, to, "product-service")
        assert f"{live['deploymentId']} -> {target['deploymentId']}" == outcome
        return
    with pytest.raises(BadInputError) as raised:
        previous_revision(history, to, "product-service")
    message = str(raised.value)
    for part in outcome.removeprefix("refused: ").split("; "):
        if part.startswith("live "):
            live_id, _, rest = part.removeprefix("live ").partition(" is ")
            assert f"the live deployment {live_id} is {rest.split(' from ')[0]}" in message
            assert f"the revision of {rest.split(' from ')[1]}" in message
        elif part.startswith(("redeploy with", "go further back with")):
            assert f"`bluegreen rollback product-service {part.split(' with ')[1]}`" in message
        else:
            assert part in message
    assert "\n" not in message


def test_task_definition_of_appspec() -> None:
    assert task_definition_of(
        _succeeded("d-1", 1, "a", TASKDEF_ARN)["revision"]["appSpecContent"]["content"]
    ) == (TASKDEF_ARN)


def test_rollback_redeploys_the_previous_revision_verbatim(stubbed: StubbedClients) -> None:
    cd = stubbed.stubbers["codedeploy"]
    old_arn = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/product-service:5"
    older = _succeeded("d-OLD000001", 1, "aaa", old_arn)
    live = _succeeded("d-LIVE00001", 2, "bbb", TASKDEF_ARN)
    cd.add_response(
        "list_deployments",
        {"deployments": ["d-OLD000001", "d-LIVE00001"]},
        {"applicationName": APP, "deploymentGroupName": GROUP, "includeOnlyStatuses": ["Succeeded"]},
    )
    cd.add_response("batch_get_deployments", {"deploymentsInfo": [older, live]})
    # The AppSpec is read by sha256 (AWS's deployment info never carries its content).
    for info in (older, live):
        appspec = info["revision"]["appSpecContent"]
        cd.add_response(
            "get_application_revision",
            {"applicationName": APP, "revision": info["revision"]},
            {
                "applicationName": APP,
                "revision": {
                    "revisionType": "AppSpecContent",
                    "appSpecContent": {"sha256": appspec["sha256"]},
                },
            },
        )
    cd.add_response("get_deployment_group", GROUP_INFO)
    cd.add_response("list_deployments", {"deployments": []})
    cd.add_response(
        "create_deployment",
        {"deploymentId": "d-ROLLBACK4"},
        {
            "applicationName": APP,
            "deploymentGroupName": GROUP,
            "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
            "description": ANY,
            "revision": {
                "revisionType": "AppSpecContent",
                "appSpecContent": {"content": older["revision"]["appSpecContent"]["content"], "sha256": ANY},
            },
            "autoRollbackConfiguration": ANY,
        },
    )
    result = run_cli("rollback", "product-service", "--no-wait", "-o", "json")
    assert result.code == 0, shown(result)
    document = result.json()
    assert document["deploymentId"] == "d-ROLLBACK4"
    assert document_kind(document) == "RollbackCreated"  # against `bluegreen schema`
    assert (document["rollbackTo"], document["rollbackFrom"]) == ("d-OLD000001", "d-LIVE00001")
    assert document["taskDefinitionArn"] == old_arn
    assert "ecs:RegisterTaskDefinition" not in stubbed.counter.calls
    stubbed.assert_no_pending()


def test_default_timeout_covers_the_groups_real_waits(stubbed: StubbedClients) -> None:
    # The catalog says dev has no termination wait; the group in AWS waits 60 minutes before
    # terminating the original task set, and up to 30 at Ready. The deployment stays InProgress
    # through the termination wait, so the default --timeout must outlast it; the Ready wait
    # costs nothing because deploy continues the deployment itself as soon as it is Ready.
    group = {
        "deploymentGroupInfo": {
            **GROUP_INFO["deploymentGroupInfo"],
            "blueGreenDeploymentConfiguration": {
                "deploymentReadyOption": {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 30},
                "terminateBlueInstancesOnDeploymentSuccess": {
                    "action": "TERMINATE",
                    "terminationWaitTimeInMinutes": 60,
                },
            },
        }
    }
    _stub_deploy_writes(stubbed, "d-WAITS0001", group)
    result = run_cli("deploy", "product-service", "--no-wait", "-o", "json")
    assert result.code == 0, shown(result)
    document = result.json()
    waits = 60 * 60
    assert waits < document["expectedSeconds"] < waits + 30 * 60
    assert document["timeoutSeconds"] >= document["expectedSeconds"] + 300
    assert document["waitsAtReady"] is True  # --no-wait: nobody continues it but `bluegreen promote`
    stubbed.assert_no_pending()


def test_deploy_sends_what_render_writes_with_its_sha256(stubbed: StubbedClients) -> None:
    import hashlib

    rendered = run_cli("render", "product-service", "--task-definition", TASKDEF_ARN, "--out", "-")
    assert rendered.code == 0, shown(rendered)
    content = rendered.stdout
    assert f"TaskDefinition: {TASKDEF_ARN}" in content
    cd, ecs = stubbed.stubbers["codedeploy"], stubbed.stubbers["ecs"]
    cd.add_response("get_deployment_group", GROUP_INFO)
    cd.add_response("list_deployments", {"deployments": []})
    ecs.add_response("register_task_definition", {"taskDefinition": {"taskDefinitionArn": TASKDEF_ARN}})
    revision = {
        "revisionType": "AppSpecContent",
        "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()},
    }
    cd.add_response(
        "create_deployment",
        {"deploymentId": "d-RENDERED1"},
        {
            "applicationName": APP,
            "deploymentGroupName": GROUP,
            "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
            "description": ANY,
            "revision": revision,
            "autoRollbackConfiguration": ANY,
        },
    )
    result = run_cli("deploy", "product-service", "--no-wait", "-o", "json")
    assert result.code == 0, shown(result)
    stubbed.assert_no_pending()


def test_watching_a_finished_deployment_says_it_had_already_ended(stubbed: StubbedClients) -> None:
    done = {
        "deploymentId": "d-FINISHED1",
        "status": "Succeeded",
        "applicationName": APP,
        "deploymentGroupName": GROUP,
        "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
    }
    cd = stubbed.stubbers["codedeploy"]
    cd.add_response("get_deployment", {"deploymentInfo": done})
    cd.add_response("get_deployment", {"deploymentInfo": done})
    cd.add_response("list_deployment_targets", {"targetIds": ["t"]})
    cd.add_response("get_deployment_target", _target(ALL_DONE, (0, 100)))
    result = run_cli("watch", "d-FINISHED1")
    assert result.code == 0, shown(result)
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("already succeeded  d-FINISHED1"), last
    assert " in 0s" not in result.stdout


def test_interrupt_before_the_deployment_id_is_known_points_at_the_group(
    stubbed: StubbedClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr("orchestrator.engines.codedeploy_plan.apply_plan", interrupted)
    stubbed.stubbers["codedeploy"].add_response("get_deployment_group", GROUP_INFO)
    result = run_cli("deploy", "product-service", "-o", "json")
    assert result.code == 130, shown(result)
    assert "`bluegreen status product-service --env dev`" in result.stderr
    document = result.json()
    assert (document["errorKind"], document["service"], document["deploymentId"]) == (
        "interrupted",
        "product-service",
        None,
    )

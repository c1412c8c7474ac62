"""`bluegreen migrate` against in-memory CodeDeploy, ECS and ELBv2 (tests/support/fakes_native.py):
the dry run writes nothing, --apply refuses while anything is in flight, switches the service, and
a second --apply is a no-op."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.catalog import load_catalog
from tests.support.cli import run_cli, shown
from tests.support.fakes_native import MigrationClients, codedeploy_service, writes

REPO = Path(__file__).resolve().parents[2]
SERVICE = "product-service"
HOOK_ROLE = "arn:aws:iam::123456789012:role/doa-market-dev-ecs-hook-invoke"
INFRA_ROLE = "arn:aws:iam::123456789012:role/doa-market-dev-ecs-infrastructure"


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> MigrationClients:
    fakes = MigrationClients()
    monkeypatch.setattr("orchestrator.commands.session.Session.clients", lambda self, region=None: fakes)
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(REPO / "services.yaml"))
    return fakes


def _seed(clients: MigrationClients, **group: object) -> dict[str, str]:
    return codedeploy_service(clients, load_catalog(REPO / "services.yaml").resolve(SERVICE, "dev"), **group)


def test_dry_run_prints_the_native_request_and_writes_nothing(clients: MigrationClients) -> None:
    arns = _seed(clients)
    result = run_cli("migrate", SERVICE)
    assert result.code == 0, shown(result)
    out = result.stdout
    assert out.startswith(
        "migrate product-service (dev): CodeDeploy doa-market-dev/product-service -> Amazon ECS "
        "(dry run, nothing written)\n"
    )
    assert "CodeDeployDefault.ECSCanary10Percent5Minutes -> strategy CANARY 10%, rest after 5 min" in out
    assert "terminationWaitTimeInMinutes" in out and "-> bakeTimeInMinutes 5" in out
    assert f"  production  {arns['production']}\n" in out and f"  test        {arns['test']}\n" in out
    assert '"type": "ECS"' in out
    assert out.rstrip().endswith("next: bluegreen migrate product-service --env dev --apply")
    assert writes(clients) == 0


def test_dry_run_json_is_the_update_service_request(clients: MigrationClients) -> None:
    arns = _seed(clients)
    document = run_cli("migrate", SERVICE, "-o", "json").json()  # checked against `bluegreen schema`
    assert (document["applied"], document["alreadyNative"], document["deploymentController"]) == (
        False,
        False,
        "CODE_DEPLOY",
    )
    request = document["updateService"]
    assert request["deploymentController"] == {"type": "ECS"}
    assert request["taskDefinition"] == arns["task_definition"]  # what runs now: nothing new ships
    assert request["deploymentConfiguration"]["strategy"] == "CANARY"
    assert request["deploymentConfiguration"]["bakeTimeInMinutes"] == 5
    assert request["deploymentConfiguration"]["alarms"]["rollback"] is True
    advanced = request["loadBalancers"][0]["advancedConfiguration"]
    assert request["loadBalancers"][0]["targetGroupArn"] == arns["blue"]
    assert advanced["alternateTargetGroupArn"] == arns["green"]
    assert advanced["productionListenerRule"] == "<production listener rule: created by --apply>"
    assert advanced["roleArn"] == INFRA_ROLE
    assert [rule["ListenerArn"] for rule in document["createRules"]] == [arns["production"], arns["test"]]
    assert document["untranslated"] == 0
    assert writes(clients) == 0


def test_settings_that_do_not_translate_are_named_with_the_reason(clients: MigrationClients) -> None:
    _seed(
        clients,
        autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_STOP_ON_REQUEST"]},
        triggerConfigurations=[
            {"triggerName": "ops", "triggerTargetArn": "arn:aws:sns:ap-northeast-2:1:ops"}
        ],
        blueGreenDeploymentConfiguration={
            "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 30},
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": "KEEP_ALIVE",
                "terminationWaitTimeInMinutes": 0,
            },
        },
    )
    result = run_cli("migrate", SERVICE)
    assert result.code == 0, shown(result)
    untranslated = result.stdout.split("does not translate:\n")[1].split("listener rules")[0]
    assert [line.split()[0] for line in untranslated.splitlines()] == [
        "terminateBlueInstancesOnDeploymentSuccess.action",
        "deploymentReadyOption.waitTimeInMinutes",
        "autoRollback",
        "autoRollback",
        "triggerConfigurations[ops]",
    ]
    stop_on_request = next(line for line in untranslated.splitlines() if "DEPLOYMENT_STOP_ON_REQUEST" in line)
    assert stop_on_request.split(maxsplit=3)[-1].startswith(
        "true: ECS has no such setting (StopServiceDeployment always rolls back"
    )
    assert "ECS service deployments have no triggers" in untranslated
    assert "CodeDeploy ignores waitTimeInMinutes with CONTINUE_DEPLOYMENT" in untranslated
    assert writes(clients) == 0


def test_apply_refuses_while_a_codedeploy_deployment_is_in_flight(clients: MigrationClients) -> None:
    _seed(clients)
    clients.codedeploy.deployments["d-INFLIGHT1"] = {
        "applicationName": "doa-market-dev",
        "deploymentGroupName": SERVICE,
        "status": "InProgress",
    }
    result = run_cli("migrate", SERVICE, "--apply")
    assert result.code == 2, shown(result)
    assert result.stderr.strip().splitlines() == [
        "error: product-service (dev): not switched: CodeDeploy deployment d-INFLIGHT1 of "
        "doa-market-dev/product-service is in flight; run migrate again when it has finished "
        "(nothing was written)"
    ]
    assert writes(clients) == 0
    document = run_cli("migrate", SERVICE, "--apply", "-o", "json").json()
    assert (document["exitCode"], document["activeDeploymentId"]) == (2, "d-INFLIGHT1")


def test_apply_refuses_while_an_ecs_service_deployment_is_in_flight(clients: MigrationClients) -> None:
    arns = _seed(clients)
    key = ("doa-market-cluster", SERVICE)
    clients.ecs.services[key]["deploymentController"] = {"type": "ECS"}  # native, another config
    arn = clients.ecs.add_service_deployment(*key, arns["task_definition"], status="IN_PROGRESS")
    result = run_cli("migrate", SERVICE, "--apply")
    assert result.code == 2, shown(result)
    assert f"not switched: ECS service deployment {arn} is IN_PROGRESS;" in result.stderr
    assert writes(clients) == 0


def test_apply_switches_the_service_and_a_second_apply_is_a_no_op(clients: MigrationClients) -> None:
    arns = _seed(clients)
    result = run_cli("migrate", SERVICE, "--apply", "-o", "json")
    assert result.code == 0, shown(result)
    document = result.json()
    assert document["applied"] is True and len(document["createdRuleArns"]) == 2
    assert clients.counter.calls["elastic-load-balancing-v2:CreateRule"] == 2
    assert clients.counter.calls["ecs:UpdateService"] == 1
    (operation, sent), *_ = clients.ecs.requests
    assert operation == "UpdateService" and sent["deploymentController"] == {"type": "ECS"}
    production_rule, test_rule = document["createdRuleArns"]
    advanced = sent["loadBalancers"][0]["advancedConfiguration"]
    assert (advanced["productionListenerRule"], advanced["testListenerRule"]) == (production_rule, test_rule)
    rule = clients.elbv2.rules[arns["production"]][-1]
    assert rule["Priority"] == "1"
    assert rule["Conditions"] == [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}]
    assert rule["Actions"][0]["ForwardConfig"]["TargetGroups"] == [
        {"TargetGroupArn": arns["blue"], "Weight": 100},
        {"TargetGroupArn": arns["green"], "Weight": 0},
    ]
    assert document["serviceDeploymentArn"]  # ECS starts a blue/green deployment of what runs
    assert "set `engine: ecs` for product-service in the catalog" in document["nextStep"]
    assert "--engine ecs" in document["nextStep"]
    before = writes(clients)

    again = run_cli("migrate", SERVICE, "--apply")

    assert again.code == 0, shown(again)
    assert again.stdout.startswith(
        "product-service (dev) already runs Amazon ECS's own deployments with this configuration; "
        "nothing to do\n"
    )
    assert writes(clients) == before


def test_apply_text_says_the_next_step(clients: MigrationClients) -> None:
    _seed(clients)
    result = run_cli("migrate", SERVICE, "--apply")
    assert result.code == 0, shown(result)
    assert "(switched)" in result.stdout.splitlines()[0]
    assert "listener rules created:" in result.stdout
    assert "next: set `engine: ecs` for product-service in the catalog " in result.stdout
    assert "or deploy with `--engine ecs`" in result.stdout


def test_existing_listener_rules_are_reused(clients: MigrationClients) -> None:
    arns = _seed(clients)
    forward = {
        "Type": "forward",
        "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": arns["blue"], "Weight": 100}]},
    }
    for role in ("production", "test"):
        clients.elbv2.create_rule(ListenerArn=arns[role], Priority=1, Conditions=[], Actions=[forward])
    before = writes(clients)
    document = run_cli("migrate", SERVICE, "--apply", "-o", "json").json()
    assert document["createRules"] == [] and document["createdRuleArns"] == []
    assert writes(clients) == before + 1  # UpdateService only


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("migrate", "nope-service"), "services.yaml: no service 'nope-service'; defined: "),
        (("migrate", SERVICE, "--env", "qa"), "services.yaml: no environment 'qa'; defined: dev, prod"),
    ],
)
def test_bad_names_are_one_line_and_call_nothing(
    clients: MigrationClients, args: tuple[str, ...], message: str
) -> None:
    result = run_cli(*args)
    assert result.code == 2, shown(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}")
    assert sum(clients.counter.calls.values()) == 0


def test_missing_deployment_group_is_bad_input(clients: MigrationClients) -> None:
    _seed(clients)
    clients.codedeploy.groups["doa-market-dev"].pop(SERVICE)
    result = run_cli("migrate", SERVICE)
    assert result.code == 2, shown(result)
    assert "CodeDeploy deployment group doa-market-dev/product-service does not exist" in result.stderr


def test_help_shows_migrate_with_an_example() -> None:
    assert "  migrate " in run_cli("--help").stdout
    result = run_cli("migrate", "--help")
    assert result.code == 0
    assert "bluegreen migrate product-service --apply" in result.stdout
    assert "Exit codes:" in result.stdout


def test_a_native_service_without_a_group_has_nothing_to_migrate(clients: MigrationClients) -> None:
    _seed(clients)
    clients.codedeploy.groups["doa-market-dev"].pop(SERVICE)
    clients.ecs.services[("doa-market-cluster", SERVICE)]["deploymentController"] = {"type": "ECS"}
    result = run_cli("migrate", SERVICE, "--apply")
    assert result.code == 2, shown(result)
    assert result.stderr.strip() == (
        "error: product-service (dev) already runs Amazon ECS's own deployments and has no CodeDeploy "
        "deployment group doa-market-dev/product-service to translate; nothing to migrate"
    )
    assert writes(clients) == 0


def test_an_external_controller_is_refused(clients: MigrationClients) -> None:
    _seed(clients)
    clients.ecs.services[("doa-market-cluster", SERVICE)]["deploymentController"] = {"type": "EXTERNAL"}
    result = run_cli("migrate", SERVICE, "--apply")
    assert result.code == 2, shown(result)
    assert "uses the EXTERNAL deployment controller" in result.stderr
    assert writes(clients) == 0


def test_missing_ecs_service_is_bad_input(clients: MigrationClients) -> None:
    result = run_cli("migrate", SERVICE)
    assert result.code == 2, shown(result)
    assert "ECS service product-service not found in cluster doa-market-cluster" in result.stderr


def test_apply_refuses_when_something_essential_does_not_translate(clients: MigrationClients) -> None:
    # A termination wait past ECS's bake time limit blocks the switch: the dry run says why, --apply
    # refuses (exit 2, one line) and writes nothing.
    _seed(
        clients,
        blueGreenDeploymentConfiguration={
            "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": "TERMINATE",
                "terminationWaitTimeInMinutes": 2880,
            },
        },
    )
    dry = run_cli("migrate", SERVICE)
    assert dry.code == 0, shown(dry)
    assert "--apply would refuse now: deployment.termination_wait_minutes: bake time 2880" in dry.stdout

    result = run_cli("migrate", SERVICE, "--apply")

    assert result.code == 2, shown(result)
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: product-service (dev): not switched: deployment.termination_wait_minutes")
    assert writes(clients) == 0


def test_apply_refuses_while_in_flight_when_no_controller_is_named(clients: MigrationClients) -> None:
    # DescribeServices may name no deploymentController for ECS's own, the default one (botocore:
    # Service.deploymentController is optional; the ECS engine reads it so too): the in-flight
    # check must still look, or UpdateService silently replaces the running service deployment.
    arns = _seed(clients)
    key = ("doa-market-cluster", SERVICE)
    clients.ecs.services[key].pop("deploymentController", None)
    arn = clients.ecs.add_service_deployment(*key, arns["task_definition"], status="IN_PROGRESS")
    result = run_cli("migrate", SERVICE, "--apply")
    assert result.code == 2, shown(result)
    assert f"not switched: ECS service deployment {arn} is IN_PROGRESS;" in result.stderr
    assert writes(clients) == 0

"""`orchestrator.fleet.export`: the fleet plan as an ASL state machine and the template that runs it
(pure: plans built by hand, no AWS). The sandbox proves the machine executes
(tests/sandbox/test_fleet_run_e2e.py); here its shape, the structural checks and the role."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.catalog import load_catalog
from orchestrator.files.taskdef import load_task_definition
from orchestrator.fleet import export
from orchestrator.fleet.plan import FleetPlan, FleetService, Wave

REPO = Path(__file__).resolve().parents[2]
ARN = "arn:aws:lambda:ap-northeast-2:123456789012:function:bluegreen-dev-fleet-step"


def plan(*waves: list[str], max_parallel: int = 2, strategy: str | None = "all-at-once") -> FleetPlan:
    made = tuple(
        Wave(number, tuple(FleetService(name, "codedeploy", None, 100.0) for name in names), 100.0)
        for number, names in enumerate(waves, start=1)
    )
    return FleetPlan("dev", strategy, max_parallel, made, 100.0 * len(made))


OPTIONS = export.ExportOptions(function_arn=ARN, poll_seconds=30, queue_wait_seconds=600)
TWO_WAVES = plan(["product-service", "inventory-service"], ["order-service"])


def test_waves_run_in_order_each_a_map_capped_at_max_parallel() -> None:
    definition = export.state_machine(TWO_WAVES, OPTIONS)
    states = definition["States"]

    assert definition["StartAt"] == "Record run"
    assert states["Record run"]["Next"] == "Wave 1"
    assert states["Wave 1"]["Next"] == "Wave 1 deploy"
    assert states["Wave 1 deploy"]["Next"] == "Wave 2"
    assert states["Wave 2 deploy"]["Next"] == "Fleet deployed"
    assert [s["service"] for s in states["Wave 1"]["Result"]["services"]] == [
        "product-service",
        "inventory-service",
    ]
    assert {states[f"Wave {n} deploy"]["MaxConcurrency"] for n in (1, 2)} == {2}
    assert states["Wave 1"]["Result"]["services"][0]["strategy"] == "all-at-once"
    json.dumps(definition)  # JSON as it is


def test_the_run_is_recorded_first_as_fleet_deploy_records_it() -> None:
    from orchestrator.commands.fleet import FleetDeployOptions, _record

    for stop in (True, False):
        options = export.ExportOptions(function_arn=ARN, stop_on_failure=stop)
        record = export.state_machine(TWO_WAVES, options)["States"]["Record run"]
        payload = record["Parameters"]["Payload"]
        written = _record("fr-20261130t0800z-3f9a", TWO_WAVES, FleetDeployOptions(stop_on_failure=stop))
        del written["runId"]  # the Lambda adds it (the execution's name)

        assert (payload["action"], payload["fleet_run.$"]) == ("record", "$$.Execution.Name")
        assert payload["record"] == written
        assert "Catch" not in record  # a run that cannot be recorded starts nothing


def test_a_service_starts_then_polls_until_its_status_ends() -> None:
    processor = export.state_machine(TWO_WAVES, OPTIONS)["States"]["Wave 1 deploy"]["ItemProcessor"]
    states = processor["States"]

    assert processor["StartAt"] == "Start"
    assert states["Start"]["Parameters"] == {
        "FunctionName": ARN,
        "Payload": {
            "action": "start",
            "service.$": "$.service",
            "environment.$": "$.environment",
            "fleet_run.$": "$.fleet_run",
            "image.$": "$.image",
            "strategy.$": "$.strategy",
            "wave_started.$": "$.wave_started",
            "queue_wait_seconds.$": "$.queue_wait_seconds",
        },
    }
    assert states["Wait"] == {"Type": "Wait", "Seconds": 30, "Next": "Poll"}
    choices = states["Status?"]["Choices"]
    assert [c.get("Next") for c in choices] == ["Deployed", "Deployment failed"]
    assert states["Status?"]["Default"] == "Wait"
    assert states["Deployment failed"]["Error"] == export.DEPLOYMENT_FAILED
    # Start is retried only when the invocation was throttled (the function never ran)
    assert states["Start"]["Retry"][0]["ErrorEquals"] == ["Lambda.TooManyRequestsException"]


def test_the_fleet_run_id_is_the_execution_name() -> None:
    selector = export.state_machine(TWO_WAVES, OPTIONS)["States"]["Wave 2 deploy"]["ItemSelector"]

    assert selector["fleet_run.$"] == "$$.Execution.Name"
    assert selector["environment"] == "dev"
    assert selector["queue_wait_seconds"] == 600


def test_stop_on_failure_stops_the_wave_then_fails_without_a_later_wave() -> None:
    states = export.state_machine(TWO_WAVES, OPTIONS)["States"]
    catch = states["Wave 1 deploy"]["Catch"]

    assert catch == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Wave 1 stop"}]
    stop = states["Wave 1 stop"]
    assert stop["Type"] == "Map" and stop["Next"] == "Fleet failed"
    assert stop["ItemProcessor"]["States"]["Stop"]["Parameters"]["Payload"]["action"] == "stop"
    assert states["Fleet failed"] == {
        "Type": "Fail",
        "Comment": states["Fleet failed"]["Comment"],
        "Error": export.FLEET_FAILED,
        "CausePath": "$.failure.Cause",
    }


def test_without_stop_on_failure_a_failure_goes_straight_to_fleet_failed() -> None:
    options = export.ExportOptions(function_arn=ARN, stop_on_failure=False)
    states = export.state_machine(TWO_WAVES, options)["States"]

    assert states["Wave 1 deploy"]["Catch"][0]["Next"] == "Fleet failed"
    assert not [name for name in states if name.endswith(" stop")]


@pytest.mark.parametrize(
    ("expected", "max_parallel", "queue", "timeout"),
    [
        (100.0, 4, 600, 3600),  # at least an hour
        (3000.0, 4, 600, 3 * 3000 + 2 * 630),  # 3 x expected + each wave's queue bound and a poll
        (1e9, 4, 600, export.MAX_EXECUTION_SECONDS),  # a standard workflow runs at most a year
    ],
)
def test_the_execution_is_bounded(expected: float, max_parallel: int, queue: int, timeout: int) -> None:
    made = FleetPlan("dev", None, max_parallel, TWO_WAVES.waves, expected)
    options = export.ExportOptions(function_arn=ARN, queue_wait_seconds=queue)

    assert export.state_machine(made, options)["TimeoutSeconds"] == timeout


def test_the_exported_machine_has_no_structural_problem() -> None:
    for made in (TWO_WAVES, plan(["a"]), plan(["a", "b", "c"], ["d"], ["e", "f"], max_parallel=1)):
        for stop in (True, False):
            options = export.ExportOptions(function_arn=ARN, stop_on_failure=stop)
            assert export.problems(export.state_machine(made, options)) == []


def _broken(change: str) -> dict[str, Any]:
    definition = copy.deepcopy(export.state_machine(TWO_WAVES, OPTIONS))
    states = definition["States"]
    processor = states["Wave 1 deploy"]["ItemProcessor"]["States"]
    if change == "next":
        states["Wave 1"]["Next"] = "Wave one deploy"
    elif change == "unreachable":
        states["Orphan"] = {"Type": "Succeed"}
    elif change == "catch":
        states["Wave 2 deploy"]["Catch"][0]["Next"] = "Nowhere"
    elif change == "concurrency":
        del states["Wave 2 deploy"]["MaxConcurrency"]
    elif change == "choice":
        processor["Status?"]["Choices"][1]["Next"] = "Deployment broke"
    elif change == "end":
        del processor["Poll"]["Next"]
    elif change == "record":
        states["Record run"]["Next"] = "Wave 9"
    elif change == "start":
        definition["StartAt"] = "Wave 0"
        del states["Record run"]
    return definition


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ("next", "Wave 1: target 'Wave one deploy' is not a state"),
        ("unreachable", "Orphan: not reachable from StartAt"),
        ("record", "Record run: target 'Wave 9' is not a state"),
        ("catch", "Wave 2 deploy: target 'Nowhere' is not a state"),
        ("concurrency", "Wave 2 deploy: MaxConcurrency not set"),
        ("choice", "Wave 1 deploy > Status?: target 'Deployment broke' is not a state"),
        ("end", "Wave 1 deploy > Poll: neither Next nor End"),
        ("start", "StartAt 'Wave 0' is not a state"),
    ],
)
def test_structural_checks_name_what_is_wrong(change: str, problem: str) -> None:
    assert problem in export.problems(_broken(change))


# --- the template -------------------------------------------------------------------------------


def _access(names: list[str], environment: str = "dev") -> list[export.ServiceAccess]:
    catalog = load_catalog(REPO / "services.yaml")
    services = [catalog.resolve(name, environment) for name in names]
    return [export.service_access(service, load_task_definition(service)) for service in services]


NAMES = ["product-service", "inventory-service", "order-service"]


def _template() -> dict[str, Any]:
    return export.template(TWO_WAVES, _access(NAMES), OPTIONS, export.TemplateOptions())


def _statements(template: dict[str, Any], role: str) -> dict[str, dict[str, Any]]:
    policy = template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]
    return {statement["Sid"]: statement for statement in policy["Statement"]}


def _subs(resources: list[Any]) -> list[str]:
    return [r["Fn::Sub"] if isinstance(r, dict) and "Fn::Sub" in r else r for r in resources]


def test_the_step_role_names_only_the_plans_deployment_groups_and_services() -> None:
    statements = _statements(_template(), "FleetStepRole")
    prefix = "arn:${AWS::Partition}:codedeploy:ap-northeast-2:${AWS::AccountId}:deploymentgroup:"

    # dev: inventory-service runs on Amazon ECS, the other two on CodeDeploy
    assert _subs(statements["DeployGroups"]["Resource"]) == [
        f"{prefix}doa-market-dev/product-service",
        f"{prefix}doa-market-dev/order-service",
    ]
    ecs = "arn:${AWS::Partition}:ecs:ap-northeast-2:${AWS::AccountId}:"
    assert _subs(statements["UpdateServices"]["Resource"]) == [
        f"{ecs}service/doa-market-cluster/inventory-service"
    ]
    assert _subs(statements["ServiceDeployments"]["Resource"]) == [
        f"{ecs}service-deployment/doa-market-cluster/inventory-service/*"
    ]
    assert sorted(_subs(statements["TagOwnRevisions"]["Resource"])) == sorted(
        f"{ecs}task-definition/{name}:*" for name in NAMES
    )


def test_roles_are_passed_only_to_their_service_and_only_those_the_plan_names() -> None:
    statements = _statements(_template(), "FleetStepRole")

    tasks = statements["PassTaskRoles"]
    assert tasks["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert all(":role/" in role for role in tasks["Resource"])
    services = statements["PassServiceRoles"]
    assert services["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs.amazonaws.com"}}
    assert sorted(services["Resource"]) == [
        "arn:aws:iam::123456789012:role/doa-market-dev-ecs-hook-invoke",
        "arn:aws:iam::123456789012:role/doa-market-dev-ecs-infrastructure",
    ]


def test_no_write_on_every_resource_except_those_aws_leaves_no_choice_about() -> None:
    reads = ("Describe", "List", "Get", "BatchGet")
    # RegisterTaskDefinition, DeregisterTaskDefinition: no resource-level permissions (ECS's
    # service authorization reference); the revisions' tags are held to the plan's families.
    unscoped_writes = {"ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition"}
    for statement in _statements(_template(), "FleetStepRole").values():
        if statement["Resource"] != ["*"]:
            continue
        writes = [a for a in statement["Action"] if not a.split(":", 1)[1].startswith(reads)]
        assert set(writes) <= unscoped_writes, statement["Sid"]


def test_a_codedeploy_only_plan_grants_nothing_on_ecs_services_deployments() -> None:
    only = export.template(
        plan(["product-service"]), _access(["product-service"]), OPTIONS, export.TemplateOptions()
    )
    statements = _statements(only, "FleetStepRole")

    assert "UpdateServices" not in statements and "PassServiceRoles" not in statements


def test_the_state_machine_may_invoke_only_the_fleet_step_function() -> None:
    template = _template()
    statements = _statements(template, "FleetStateMachineRole")
    machine = template["Resources"]["FleetStateMachine"]["Properties"]

    assert list(statements) == ["InvokeFleetStep"]
    assert statements["InvokeFleetStep"]["Action"] == "lambda:InvokeFunction"
    assert statements["InvokeFleetStep"]["Resource"][0] == {"Fn::GetAtt": ["FleetStepFunction", "Arn"]}
    assert machine["DefinitionSubstitutions"] == {
        "FleetStepArn": {"Fn::GetAtt": ["FleetStepFunction", "Arn"]}
    }
    start = machine["Definition"]["States"]["Wave 1 deploy"]["ItemProcessor"]["States"]["Start"]
    assert start["Parameters"]["FunctionName"] == "${FleetStepArn}"
    assert template["Resources"]["FleetStepFunction"]["Properties"]["Handler"] == "hooks.fleet_step.handler"


def test_the_template_is_cfn_lint_clean(tmp_path: Path) -> None:
    path = tmp_path / "fleet-dev.template.yaml"
    path.write_text(yaml.safe_dump(_template(), sort_keys=False), encoding="utf-8")
    run = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (run.returncode, run.stdout + run.stderr) == (0, "")

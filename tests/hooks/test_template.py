"""template.yaml: cfn-lint clean, transformed by the SAM translator offline, and consistent with the
catalog (function names), the code (handlers) and least privilege (no `*` on a write action)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orchestrator.catalog import load_catalog

# Actions that only read; they are the only ones allowed on Resource "*"...
READ_ONLY_PREFIXES = ("Describe", "List", "Get", "BatchGet")
# ...with one exception: reporting a hook's verdict supports no resource-level permissions, so "*" is
# the only grant under which a hook can report at all.
WRITES_ALLOWED_ON_EVERY_RESOURCE = {"codedeploy:PutLifecycleEventHookExecutionStatus"}
# Resource types per action, from AWS's service authorization reference ("Actions defined by AWS
# CodeDeploy / Amazon CloudWatch / Elastic Load Balancing V2"): None = no resource-level permissions,
# the statement must say "*" (an ARN there is never matched: AccessDenied); otherwise the statement
# must name ARNs of that type, not "*".
RESOURCE_TYPE = {
    "codedeploy:GetDeployment": ":deploymentgroup:",
    "codedeploy:GetDeploymentGroup": ":deploymentgroup:",
    "codedeploy:BatchGetDeploymentGroups": ":deploymentgroup:",
    "codedeploy:ListDeploymentGroups": ":application:",
    "codedeploy:ListApplications": None,
    "codedeploy:ListDeploymentTargets": None,
    "codedeploy:GetDeploymentTarget": None,
    "codedeploy:PutLifecycleEventHookExecutionStatus": None,
    "cloudwatch:DescribeAlarms": ":alarm:",
    "elasticloadbalancing:DescribeListeners": None,
    "elasticloadbalancing:DescribeTargetGroups": None,
    "elasticloadbalancing:DescribeTargetHealth": None,
    "lambda:InvokeFunction": "Function.Arn",  # function ARNs, here the template's own functions
}
HOOK_FUNCTIONS = {
    "BeforeInstall": "BeforeInstallFunction",
    "AfterInstall": "AfterInstallFunction",
    "AfterAllowTestTraffic": "AfterAllowTestTrafficFunction",
    "BeforeAllowTraffic": "BeforeAllowTrafficFunction",
    "AfterAllowTraffic": "AfterAllowTrafficFunction",
}


class NoManagedPolicies:
    """The translator's managed-policy loader, offline: the template names managed policies by ARN."""

    def load(self) -> dict[str, str]:
        return {}


def load_template(repo_root: Path) -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    document: dict[str, Any] = yaml_parse((repo_root / "template.yaml").read_text())
    return document


def translate(repo_root: Path, environment: str, **parameters: str) -> dict[str, Any]:
    """What CloudFormation would get after `sam package` (CodeUri becomes an S3 object) and the transform."""
    from samtranslator.translator.transform import transform

    document = load_template(repo_root)
    document["Globals"]["Function"]["CodeUri"] = "s3://bluegreen-artifacts/bluegreen-hooks.zip"
    values = {"Environment": environment, **parameters}
    output: dict[str, Any] = transform(document, values, NoManagedPolicies())
    return output


def test_cfn_lint_reports_nothing(repo_root: Path) -> None:
    run = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(repo_root / "template.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (run.returncode, run.stdout + run.stderr) == (0, "")


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_sam_translator_transforms_the_template(repo_root: Path, environment: str) -> None:
    resources = translate(repo_root, environment)["Resources"]

    functions = {name: r for name, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    assert set(functions) == {*HOOK_FUNCTIONS.values(), "AlarmAuditFunction"}
    for function in functions.values():
        props = function["Properties"]
        assert props["Runtime"] == "python3.12" and props["Architectures"] == ["arm64"]
    schedules = [r for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    assert [s["Properties"]["ScheduleExpression"] for s in schedules] == ["rate(1 hour)"]


def test_function_names_are_the_catalogs_hooks(repo_root: Path) -> None:
    resources = load_template(repo_root)["Resources"]
    catalog = load_catalog(repo_root / "services.yaml")
    for environment in catalog.environments:
        hooks = catalog.resolve("product-service", environment).settings.hooks
        for event, logical_id in HOOK_FUNCTIONS.items():
            template_name = resources[logical_id]["Properties"]["FunctionName"]["Fn::Sub"]
            assert template_name.replace("${Environment}", environment) == hooks[event]


def test_every_handler_exists(repo_root: Path) -> None:
    resources = load_template(repo_root)["Resources"]
    for resource in resources.values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        module, _, name = resource["Properties"]["Handler"].rpartition(".")
        assert callable(getattr(importlib.import_module(module), name))


def _statements(resources: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for resource in resources.values():
        for policy in resource.get("Properties", {}).get("Policies", []) or []:
            document = policy.get("PolicyDocument", policy)
            out.extend(document.get("Statement", []))
    return out


def test_no_write_action_on_every_resource(repo_root: Path) -> None:
    statements = _statements(translate(repo_root, "prod")["Resources"])
    assert statements
    for statement in statements:
        if statement["Resource"] != "*":
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        writes = [a for a in actions if not a.split(":", 1)[1].startswith(READ_ONLY_PREFIXES)]
        assert set(writes) <= WRITES_ALLOWED_ON_EVERY_RESOURCE, statement
        if writes:  # the exception stands alone, so nothing else rides on its "*"
            assert actions == writes, statement


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def _arns(resource: Any) -> list[str]:
    items = resource if isinstance(resource, list) else [resource]
    return [i if isinstance(i, str) else i.get("Fn::Sub") or ".".join(i["Fn::GetAtt"]) for i in items]


def test_every_action_is_granted_on_the_resources_iam_can_match(repo_root: Path) -> None:
    # A statement scoped to ARNs for an action without resource-level permissions is a silent
    # AccessDenied in AWS (for PutLifecycleEventHookExecutionStatus: a hook that never reports).
    resources = load_template(repo_root)["Resources"]
    seen = set()
    for statement in _statements(resources):
        for action in _actions(statement):
            assert action in RESOURCE_TYPE, f"{action}: add its resource type from the reference"
            seen.add(action)
            arn_part = RESOURCE_TYPE[action]
            if arn_part is None:
                assert statement["Resource"] == "*", (action, statement["Resource"])
            else:
                arns = _arns(statement["Resource"])
                assert arns and all(arn_part in arn for arn in arns), (action, arns)
    assert "codedeploy:PutLifecycleEventHookExecutionStatus" in seen


def test_every_hook_may_report_and_read_its_deployment(repo_root: Path) -> None:
    resources = load_template(repo_root)["Resources"]
    for logical_id in HOOK_FUNCTIONS.values():
        granted = {
            (action, str(statement["Resource"]))
            for statement in _statements({logical_id: resources[logical_id]})
            for action in _actions(statement)
        }
        assert ("codedeploy:PutLifecycleEventHookExecutionStatus", "*") in granted, logical_id
        [deployment_scope] = [r for a, r in granted if a == "codedeploy:GetDeployment"]
        assert deployment_scope.endswith(":deploymentgroup:${Project}-${Environment}/*'}"), deployment_scope


@pytest.mark.parametrize(("tracing", "xray"), [(None, False), ("Disabled", False), ("Active", True)])
def test_xray_permissions_only_when_tracing_is_on(repo_root: Path, tracing: str | None, xray: bool) -> None:
    resources = translate(repo_root, "prod", **({"Tracing": tracing} if tracing else {}))["Resources"]
    for logical_id in [*HOOK_FUNCTIONS.values(), "AlarmAuditFunction"]:
        managed = resources[f"{logical_id}Role"]["Properties"]["ManagedPolicyArns"]
        assert any("AWSXrayWriteOnlyAccess" in str(arn) for arn in managed) is xray, (logical_id, managed)
        assert ("TracingConfig" in resources[logical_id]["Properties"]) is xray


def test_outputs_carry_the_hook_function_arns(repo_root: Path) -> None:
    outputs = load_template(repo_root)["Outputs"]
    for logical_id in HOOK_FUNCTIONS.values():
        assert outputs[f"{logical_id}Arn"]["Value"] == {"Fn::GetAtt": [logical_id, "Arn"]}


def test_codedeploy_may_invoke_exactly_the_hooks(repo_root: Path) -> None:
    role = load_template(repo_root)["Resources"]["CodeDeployServiceRole"]["Properties"]
    [statement] = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "lambda:InvokeFunction"
    assert sorted(r["Fn::GetAtt"][0] for r in statement["Resource"]) == sorted(HOOK_FUNCTIONS.values())


def _smoke_worst_case_s(smoke: Any) -> float:
    """Real seconds the smoke checks may take at time scale 1: each check's warm-up window plus its
    attempts, each up to its request timeout (twice the latency budget, at least 1 s)."""
    return sum(
        smoke.warmup_seconds + smoke.max_attempts * max(2.0 * check.latency_budget_ms / 1000.0, 1.0)
        for check in smoke.checks
    )


def test_timeouts_fit_every_services_checks(repo_root: Path) -> None:
    # What the hook has for its checks is the timeout minus the reporting margin; 10 s of it are
    # kept for the AWS reads (GetDeployment, DescribeListeners, DescribeAlarms...).
    from hooks.timing import Deadline

    resources = load_template(repo_root)["Resources"]

    def check_time(logical_id: str) -> float:
        timeout = float(resources[logical_id]["Properties"]["Timeout"])
        deadline = Deadline.from_remaining(timeout * 1000.0, clock=lambda: 0.0)
        return deadline.remaining() - 10.0

    catalog = load_catalog(repo_root / "services.yaml")
    for environment in catalog.environments:
        for service in catalog.services:
            settings = catalog.resolve(service, environment).settings
            smoke = _smoke_worst_case_s(settings.smoke)
            bake = settings.deployment.bake_seconds
            assert smoke <= check_time("AfterAllowTestTrafficFunction"), (service, environment)
            assert smoke + bake <= check_time("AfterAllowTrafficFunction"), (service, environment, bake)

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
# ...with the exceptions AWS leaves no choice about: reporting a hook's verdict supports no
# resource-level permissions, so "*" is the only grant under which a hook can report at all; and
# X-Ray's two writes (granted only under the TracingOn condition).
WRITES_ALLOWED_ON_EVERY_RESOURCE = {"codedeploy:PutLifecycleEventHookExecutionStatus"}
# The opt-in drill's role (DrillRole, only with Drills Enabled outside prod) registers the task
# definition revision it deploys: RegisterTaskDefinition supports no resource-level permissions.
WRITES_ALLOWED_ON_EVERY_RESOURCE_FOR_DRILLS = {"ecs:RegisterTaskDefinition"}
WRITES_ALLOWED_ON_EVERY_RESOURCE_WHEN_TRACING = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# PutMetricData supports no resource-level permissions either; a condition key narrows it to one
# namespace (the canary analysis' verdict metric): allowed on "*" only under that condition.
WRITES_ALLOWED_ON_EVERY_RESOURCE_UNDER_CONDITION = {"cloudwatch:PutMetricData": "cloudwatch:namespace"}
# Resource types per action, from AWS's service authorization reference ("Actions defined by AWS
# CodeDeploy / Amazon CloudWatch / Elastic Load Balancing V2 / Amazon Elastic Container Service"):
# None = no resource-level permissions, the statement must say "*" (an ARN there is never matched:
# AccessDenied); otherwise the statement must name ARNs of that type, not "*".
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
    "elasticloadbalancing:DescribeLoadBalancers": None,
    "elasticloadbalancing:DescribeTargetGroups": None,
    "elasticloadbalancing:DescribeTargetHealth": None,
    "elasticloadbalancing:DescribeRules": None,
    "ecs:DescribeServices": ":service/",
    "ecs:DescribeServiceRevisions": ":service-revision/",
    "lambda:InvokeFunction": "Function.Arn",  # function ARNs, here the template's own functions
    "logs:CreateLogStream": "Logs.Arn",  # log-group ARNs, here each function's own
    "logs:PutLogEvents": "Logs.Arn",  # log-stream ARNs, matched by the log group's ARN ending in :*
    "xray:PutTraceSegments": None,
    "xray:PutTelemetryRecords": None,
    "xray:GetSamplingRules": None,
    "xray:GetSamplingTargets": None,
    # the ledger (template.yaml LedgerRole): BatchGetDeployments is authorized on deployment groups,
    # ListServiceDeployments on services, DescribeServiceDeployments on service deployments; the
    # table (and its index), the topic and the dead-letter queue are the template's own.
    "codedeploy:BatchGetDeployments": ":deploymentgroup:",
    "ecs:ListServiceDeployments": ":service/",
    "ecs:DescribeServiceDeployments": ":service-deployment/",
    "dynamodb:UpdateItem": "LedgerTable",
    "dynamodb:GetItem": "LedgerTable",
    "dynamodb:Query": "LedgerTable",
    "sns:Publish": "NotificationTopic",
    "sqs:SendMessage": "LedgerDeadLetterQueue.Arn",
    # the canary analysis (CanaryAnalysisRole, BeforeAllowTrafficCanaryAnalysis): ListDeployments and
    # StopDeployment on deployment groups, BatchGetDeploymentTargets on none, StopServiceDeployment on
    # service deployments, GetMetricData and PutMetricData on none (PutMetricData's namespace condition).
    "codedeploy:ListDeployments": ":deploymentgroup:",
    "codedeploy:StopDeployment": ":deploymentgroup:",
    "codedeploy:BatchGetDeploymentTargets": None,
    "ecs:StopServiceDeployment": ":service-deployment/",
    "cloudwatch:GetMetricData": None,
    "cloudwatch:PutMetricData": None,
    # the opt-in drill (DrillRole): what a deploy does. CreateDeployment on deployment groups, the
    # deployment configs on deploymentconfig, RegisterTaskDefinition and DescribeTaskDefinition on none,
    # UpdateService on services, PassRole on roles, SetAlarmState on alarms.
    "codedeploy:CreateDeployment": ":deploymentgroup:",
    "codedeploy:GetDeploymentConfig": ":deploymentconfig:",
    "codedeploy:CreateDeploymentConfig": ":deploymentconfig:",
    "ecs:RegisterTaskDefinition": None,
    "ecs:DescribeTaskDefinition": None,
    "ecs:UpdateService": ":service/",
    "iam:PassRole": ":role/",
    "cloudwatch:SetAlarmState": ":alarm:",
}
HOOK_FUNCTIONS = {
    "BeforeInstall": "BeforeInstallFunction",
    "AfterInstall": "AfterInstallFunction",
    "AfterAllowTestTraffic": "AfterAllowTestTrafficFunction",
    "BeforeAllowTraffic": "BeforeAllowTrafficFunction",
    "AfterAllowTraffic": "AfterAllowTrafficFunction",
}
FUNCTIONS = [
    *HOOK_FUNCTIONS.values(),
    "AlarmAuditFunction",
    "LedgerFunction",
    "CanaryAnalysisFunction",
    "DrillFunction",  # opt-in: Condition DrillsOn (the transform keeps it, with its condition)
]


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
    assert set(functions) == set(FUNCTIONS)
    for function in functions.values():
        props = function["Properties"]
        assert props["Runtime"] == "python3.12" and props["Architectures"] == ["arm64"]
    rules = [r for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    schedules = [r for r in rules if "ScheduleExpression" in r["Properties"]]  # the ledger's has a pattern
    assert sorted(s["Properties"]["ScheduleExpression"] for s in schedules) == [
        "cron(0 10 ? * TUE *)",  # the opt-in drill's (Condition DrillsOn)
        "rate(1 hour)",
        "rate(1 minute)",
    ]


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


def _statements(resources: dict[str, Any], conditional: bool | None = None) -> list[dict[str, Any]]:
    """Every policy statement; one under ``Fn::If`` counts as conditional (its true branch).
    ``conditional``: None = all, True/False = only those that are / are not conditional."""
    out = []
    for resource in resources.values():
        for policy in resource.get("Properties", {}).get("Policies", []) or []:
            document = policy.get("PolicyDocument", policy)
            for statement in document.get("Statement", []):
                is_if = "Fn::If" in statement
                if conditional is None or conditional is is_if:
                    out.append(statement["Fn::If"][1] if is_if else statement)
    return out


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def _writes(statement: dict[str, Any]) -> set[str]:
    return {a for a in _actions(statement) if not a.split(":", 1)[1].startswith(READ_ONLY_PREFIXES)}


def _arns(resource: Any) -> list[str]:
    items = resource if isinstance(resource, list) else [resource]
    return [
        i if isinstance(i, str) else i.get("Fn::Sub") or i.get("Ref") or ".".join(i["Fn::GetAtt"])
        for i in items
    ]


def test_no_write_action_on_every_resource(repo_root: Path) -> None:
    resources = translate(repo_root, "prod")["Resources"]
    always = _statements(resources, conditional=False)
    assert always
    for statement in always:
        if statement["Resource"] == "*":
            conditioned = {
                action
                for action, key in WRITES_ALLOWED_ON_EVERY_RESOURCE_UNDER_CONDITION.items()
                if key in (statement.get("Condition") or {}).get("StringEquals", {})
            }
            allowed = WRITES_ALLOWED_ON_EVERY_RESOURCE | conditioned
            if statement.get("Sid") == "RegisterTheRevision":
                allowed |= WRITES_ALLOWED_ON_EVERY_RESOURCE_FOR_DRILLS
            assert _writes(statement) <= allowed, statement
    for statement in _statements(resources, conditional=True):
        if statement["Resource"] == "*":
            assert _writes(statement) <= WRITES_ALLOWED_ON_EVERY_RESOURCE_WHEN_TRACING, statement


def test_no_managed_policy_on_the_functions_roles(repo_root: Path) -> None:
    # SAM's default role carries AWSLambdaBasicExecutionRole (logs writes on "*") and, with any
    # Tracing value, AWSXrayWriteOnlyAccess; each function has its own role instead.
    resources = translate(repo_root, "prod", Tracing="Active")["Resources"]
    for logical_id in FUNCTIONS:
        role = resources[logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
        assert role == logical_id.removesuffix("Function") + "Role"
        assert resources[role]["Properties"].get("ManagedPolicyArns") is None, role


def test_functions_write_only_their_own_log_group(repo_root: Path) -> None:
    resources = load_template(repo_root)["Resources"]
    for logical_id in FUNCTIONS:
        name = logical_id.removesuffix("Function")
        function_name = resources[logical_id]["Properties"]["FunctionName"]["Fn::Sub"]
        assert (
            resources[f"{name}Logs"]["Properties"]["LogGroupName"]["Fn::Sub"]
            == f"/aws/lambda/{function_name}"
        )
        [logs] = [s for s in _statements({name: resources[f"{name}Role"]}) if s.get("Sid") == "WriteOwnLogs"]
        assert logs["Resource"] == {"Fn::GetAtt": [f"{name}Logs", "Arn"]}


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
        role = resources[logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
        granted = {
            (action, str(statement["Resource"]))
            for statement in _statements({role: resources[role]}, conditional=False)
            for action in _actions(statement)
        }
        assert ("codedeploy:PutLifecycleEventHookExecutionStatus", "*") in granted, logical_id
        [deployment_scope] = [r for a, r in granted if a == "codedeploy:GetDeployment"]
        assert deployment_scope.endswith(":deploymentgroup:${Project}-${Environment}/*'}"), deployment_scope


@pytest.mark.parametrize(("tracing", "xray"), [(None, False), ("Disabled", False), ("Active", True)])
def test_tracing_config_only_when_tracing_is_on(repo_root: Path, tracing: str | None, xray: bool) -> None:
    resources = translate(repo_root, "prod", **({"Tracing": tracing} if tracing else {}))["Resources"]
    for logical_id in FUNCTIONS:
        assert ("TracingConfig" in resources[logical_id]["Properties"]) is xray
        role = resources[logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
        [trace] = _statements({role: resources[role]}, conditional=True)  # granted under TracingOn only
        assert trace["Sid"] == "Trace"
        [branch] = [
            s
            for s in resources[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            if "Fn::If" in s
        ]
        assert branch["Fn::If"][0] == "TracingOn" and branch["Fn::If"][2] == {"Ref": "AWS::NoValue"}


IAM_NAMES = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
}


def test_only_the_ecs_roles_have_iam_names(repo_root: Path) -> None:
    # The README's `sam deploy ... --capabilities CAPABILITY_NAMED_IAM`: the two roles Amazon ECS
    # native deployments assume have fixed names, because services.yaml carries their ARNs
    # (hook_role_arn, infrastructure_role_arn); every other IAM resource is named by CloudFormation.
    resources = translate(repo_root, "prod")["Resources"]
    named = [
        logical_id
        for logical_id, resource in resources.items()
        if IAM_NAMES.get(resource["Type"]) in resource.get("Properties", {})
    ]
    assert sorted(named) == ["EcsHookInvokeRole", "EcsInfrastructureRole"]


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


def test_deployment_group_scope_covers_every_catalog_application(repo_root: Path) -> None:
    # The hooks may read deployments only in deploymentgroup:${Project}-${Environment}/*: a catalog
    # service deployed by another application would have its hooks denied GetDeployment.
    project = load_template(repo_root)["Parameters"]["Project"]["Default"]
    catalog = load_catalog(repo_root / "services.yaml")
    for environment in catalog.environments:
        for service in catalog.services:
            application = catalog.resolve(service, environment).settings.application
            assert application == f"{project}-{environment}", (service, environment)

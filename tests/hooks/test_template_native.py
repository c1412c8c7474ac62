"""template.yaml's roles for Amazon ECS native deployments: the one ECS assumes to invoke the hooks
(exactly the five hook functions) and the load balancer infrastructure role (AWS's managed policy,
as AWS's guide attaches it), both trusted by ecs.amazonaws.com alone, named as services.yaml expects,
their ARNs in the outputs; and the reads the hooks make on ECS, in a role policy of their own per
hook (test_ecs_contract.py checks them against the calls)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.hooks.test_template import HOOK_FUNCTIONS, RESOURCE_TYPE, _actions, _arns, load_template, translate

ROLES = {
    "EcsHookInvokeRole": "${Project}-${Environment}-ecs-hook-invoke",
    "EcsInfrastructureRole": "${Project}-${Environment}-ecs-infrastructure",
}
INFRASTRUCTURE_POLICY = (
    "arn:${AWS::Partition}:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"
)


@pytest.fixture(scope="module")
def resources(repo_root: Path) -> dict[str, Any]:
    found: dict[str, Any] = load_template(repo_root)["Resources"]
    return found


@pytest.mark.parametrize("logical_id", sorted(ROLES))
def test_ecs_roles_are_trusted_by_ecs_alone_and_named_as_the_catalog_expects(
    resources: dict[str, Any], logical_id: str
) -> None:
    properties = resources[logical_id]["Properties"]

    assert properties["RoleName"] == {"Fn::Sub": ROLES[logical_id]}
    assert properties["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]


def test_ecs_may_invoke_exactly_the_hooks(resources: dict[str, Any]) -> None:
    properties = resources["EcsHookInvokeRole"]["Properties"]
    [policy] = properties["Policies"]
    [statement] = policy["PolicyDocument"]["Statement"]

    assert "ManagedPolicyArns" not in properties
    assert (statement["Effect"], statement["Action"]) == ("Allow", "lambda:InvokeFunction")
    assert sorted(r["Fn::GetAtt"] for r in statement["Resource"]) == sorted(
        [logical_id, "Arn"] for logical_id in HOOK_FUNCTIONS.values()
    )


def test_the_infrastructure_role_has_awss_managed_policy_and_nothing_else(resources: dict[str, Any]) -> None:
    properties = resources["EcsInfrastructureRole"]["Properties"]

    assert properties["ManagedPolicyArns"] == [{"Fn::Sub": INFRASTRUCTURE_POLICY}]
    assert "Policies" not in properties


def test_outputs_carry_the_ecs_role_arns(repo_root: Path) -> None:
    outputs = load_template(repo_root)["Outputs"]
    for logical_id in ROLES:
        assert outputs[f"{logical_id}Arn"]["Value"] == {"Fn::GetAtt": [logical_id, "Arn"]}


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_translated_roles_keep_their_names(repo_root: Path, environment: str) -> None:
    translated = translate(repo_root, environment)["Resources"]
    for logical_id, name in ROLES.items():
        assert translated[logical_id]["Properties"]["RoleName"] == {"Fn::Sub": name}


# The hooks' ECS reads: a role policy per hook that reads something on ECS (BeforeInstall reads nothing).
ECS_READS = {
    "AfterInstall": {"ecs:DescribeServices", "ecs:DescribeServiceRevisions"},
    "AfterAllowTestTraffic": {"ecs:DescribeServices", "elasticloadbalancing:DescribeRules"},
    "BeforeAllowTraffic": {"ecs:DescribeServices", "ecs:DescribeServiceRevisions"},
    "AfterAllowTraffic": {"ecs:DescribeServices", "elasticloadbalancing:DescribeRules"},
}


def test_each_hooks_ecs_reads_are_a_role_policy_of_its_own_role(resources: dict[str, Any]) -> None:
    policies = {
        n: r["Properties"]
        for n, r in resources.items()
        if r["Type"] == "AWS::IAM::RolePolicy" and n.endswith("EcsReads")
    }

    assert sorted(policies) == sorted(f"{event}EcsReads" for event in ECS_READS)
    for event, actions in ECS_READS.items():
        policy = policies[f"{event}EcsReads"]
        assert policy["RoleName"] == {"Ref": f"{event}Role"}
        statements = policy["PolicyDocument"]["Statement"]
        assert {a for s in statements for a in _actions(s)} == actions


def test_the_ecs_reads_are_granted_on_the_resources_iam_can_match(resources: dict[str, Any]) -> None:
    # As test_template.test_every_action_is_granted_on_the_resources_iam_can_match, for these policies.
    for event in ECS_READS:
        for statement in resources[f"{event}EcsReads"]["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            for action in _actions(statement):
                arn_part = RESOURCE_TYPE[action]
                if arn_part is None:
                    assert statement["Resource"] == "*", (action, statement)
                else:
                    arns = _arns(statement["Resource"])
                    assert arns and all(arn_part in arn for arn in arns), (action, arns)
                    assert all(
                        arn.startswith("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:")
                        for arn in arns
                    )


def test_the_ecs_judge_has_a_role_policy_of_its_own(resources: dict[str, Any]) -> None:
    # The canary judge in BeforeAllowTraffic (PRE_PRODUCTION_TRAFFIC_SHIFT): the deployment's start, the
    # production rule's weights, the metrics, and the verdict metric in its namespace only.
    policy = resources["BeforeAllowTrafficCanaryAnalysis"]["Properties"]
    statements = policy["PolicyDocument"]["Statement"]

    assert policy["RoleName"] == {"Ref": "BeforeAllowTrafficRole"}
    assert {a for s in statements for a in _actions(s)} == {
        "ecs:DescribeServiceDeployments",
        "elasticloadbalancing:DescribeRules",
        "cloudwatch:GetMetricData",
        "cloudwatch:PutMetricData",
    }
    for statement in statements:
        for action in _actions(statement):
            arn_part = RESOURCE_TYPE[action]
            if arn_part is None:
                assert statement["Resource"] == "*", (action, statement)
            else:
                assert all(arn_part in arn for arn in _arns(statement["Resource"])), (action, statement)
    [put] = [s for s in statements if "cloudwatch:PutMetricData" in _actions(s)]
    assert put["Condition"] == {"StringEquals": {"cloudwatch:namespace": "bluegreen/Analysis"}}

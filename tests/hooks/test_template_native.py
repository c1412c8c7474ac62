"""template.yaml's roles for Amazon ECS native deployments: the one ECS assumes to invoke the hooks
(exactly the five hook functions) and the load balancer infrastructure role (AWS's managed policy,
as AWS's guide attaches it), both trusted by ecs.amazonaws.com alone, named as services.yaml expects,
their ARNs in the outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.hooks.test_template import HOOK_FUNCTIONS, load_template, translate

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

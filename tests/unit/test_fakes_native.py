"""migrate's fakes (tests/support/fakes_native.py) take only the parameters AWS defines, answer in
AWS's shapes, and implement the client surfaces migrate uses."""

from __future__ import annotations

import inspect

import botocore.session
import pytest

from orchestrator.aws.codedeploy import CodeDeployApi
from orchestrator.aws.elbv2 import RuleWriterApi
from tests.support.fakes_native import MigrationCodeDeploy, MigrationEcs, MigrationElbv2

_MODELS = botocore.session.get_session()


@pytest.mark.parametrize(
    ("fake", "service", "methods"),
    [
        (
            MigrationCodeDeploy,
            "codedeploy",
            ["list_deployments", "get_deployment_config", "get_deployment_group"],
        ),
        (MigrationEcs, "ecs", ["update_service"]),
        (MigrationElbv2, "elbv2", ["create_rule"]),
    ],
)
def test_fakes_take_only_parameters_aws_defines(fake: type, service: str, methods: list[str]) -> None:
    model = _MODELS.get_service_model(service)
    operations = {
        model.operation_model(name).name: model.operation_model(name) for name in model.operation_names
    }
    for method in methods:
        operation = next(op for name, op in operations.items() if _snake(name) == method)
        named = [
            p.name
            for p in inspect.signature(getattr(fake, method)).parameters.values()
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self"
        ]
        assert set(named) <= set(operation.input_shape.members), f"{fake.__name__}.{method}"


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def test_fakes_implement_the_surfaces_migrate_uses() -> None:
    for method in ("list_deployments", "get_deployment_config", "get_deployment_group"):
        assert method in vars(CodeDeployApi) and hasattr(MigrationCodeDeploy, method)
    assert all(hasattr(MigrationElbv2, m) for m in vars(RuleWriterApi) if not m.startswith("_"))


def test_create_rule_refuses_a_priority_taken() -> None:
    fake = MigrationElbv2()
    listener = fake.add_listener(fake.add_load_balancer("alb"), 80)
    answer = fake.create_rule(ListenerArn=listener, Priority=1, Conditions=[], Actions=[])
    assert answer["Rules"][0]["RuleArn"] in [
        r["RuleArn"] for r in fake.describe_rules(ListenerArn=listener)["Rules"]
    ]
    with pytest.raises(Exception, match="PriorityInUse"):
        fake.create_rule(ListenerArn=listener, Priority=1, Conditions=[], Actions=[])

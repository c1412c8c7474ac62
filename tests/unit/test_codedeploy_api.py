"""CodeDeployApi (the client surface bluegreen uses) and FakeCodeDeploy pinned to botocore's model:
every method is a CodeDeploy operation, its named parameters are input members, the fake implements
each with the same parameters and answers only with output members."""

from __future__ import annotations

import inspect
from typing import Any

import botocore.session
import pytest

from orchestrator.aws.codedeploy import CodeDeployApi
from tests.support.fake_codedeploy import FakeCodeDeploy

MODEL = botocore.session.get_session().get_service_model("codedeploy")
METHODS = sorted(
    name for name, value in vars(CodeDeployApi).items() if callable(value) and not name.startswith("_")
)


def _operation(method: str) -> Any:
    pascal = "".join(part.capitalize() for part in method.split("_"))
    return MODEL.operation_model(pascal)


def _named(function: Any) -> list[str]:
    return [
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.name != "self" and p.kind is not inspect.Parameter.VAR_KEYWORD
    ]


@pytest.mark.parametrize("method", METHODS)
def test_protocol_methods_are_operations_with_their_input_members(method: str) -> None:
    members = set(_operation(method).input_shape.members)
    assert set(_named(getattr(CodeDeployApi, method))) <= members


@pytest.mark.parametrize("method", METHODS)
def test_the_fake_implements_each_method_with_the_same_parameters(method: str) -> None:
    assert _named(getattr(FakeCodeDeploy, method)) == _named(getattr(CodeDeployApi, method))


def test_the_fake_answers_only_with_output_members() -> None:
    fake = FakeCodeDeploy()
    fake.add_group("app", "group")
    content = "version: 0.0\n"
    created = fake.create_deployment(
        applicationName="app",
        deploymentGroupName="group",
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": content}},
    )
    deployment_id = created["deploymentId"]
    fake.set_state(deployment_id, "Ready", {"BeforeInstall": "Succeeded"}, green=0.0)
    info = fake.get_deployment(deploymentId=deployment_id)
    revision = info["deploymentInfo"]["revision"]
    answers = {
        "create_deployment": created,
        "get_deployment": info,
        "batch_get_deployments": fake.batch_get_deployments(deploymentIds=[deployment_id]),
        "list_deployments": fake.list_deployments(applicationName="app", deploymentGroupName="group"),
        "get_deployment_group": fake.get_deployment_group(applicationName="app", deploymentGroupName="group"),
        "get_application_revision": fake.get_application_revision(applicationName="app", revision=revision),
        "list_deployment_targets": fake.list_deployment_targets(deploymentId=deployment_id),
        "get_deployment_target": fake.get_deployment_target(deploymentId=deployment_id, targetId="t"),
        "batch_get_deployment_targets": fake.batch_get_deployment_targets(
            deploymentId=deployment_id, targetIds=["t"]
        ),
        "continue_deployment": fake.continue_deployment(
            deploymentId=deployment_id, deploymentWaitType="READY_WAIT"
        ),
        "stop_deployment": fake.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True),
        "create_deployment_config": fake.create_deployment_config(deploymentConfigName="c"),
        "get_deployment_config": fake.get_deployment_config(deploymentConfigName="c"),
    }
    assert set(answers) == set(METHODS)
    for method, answer in answers.items():
        output = _operation(method).output_shape
        assert set(answer) <= set(output.members if output is not None else ()), method
    # GetDeployment's revision leaves the AppSpec's content out, as AWS does
    assert "content" not in revision["appSpecContent"]
    deployment_members = set(MODEL.shape_for("DeploymentInfo").members)
    assert set(info["deploymentInfo"]) <= deployment_members

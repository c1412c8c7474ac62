"""The ECS adapter's decisions over what ECS answers (orchestrator.aws.ecs), on FakeEcs: which task
definition a CODE_DEPLOY service runs, and which answers are bad input rather than AWS errors."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.aws import ecs as ecs_api
from orchestrator.errors import AwsError, BadInputError
from tests.support.fakes import FakeEcs, client_error

CLUSTER, SERVICE = "doa-market-cluster", "product-service"


def ecs_with(service: dict[str, Any] | None) -> FakeEcs:
    fake = FakeEcs()
    if service is not None:
        fake.services[(CLUSTER, SERVICE)] = {"serviceName": SERVICE, "status": "ACTIVE", **service}
    return fake


def arn(revision: int) -> str:
    return f"arn:aws:ecs:ap-northeast-2:123456789012:task-definition/{SERVICE}:{revision}"


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        # CODE_DEPLOY: the service keeps the definition it was created with; the PRIMARY task set runs now
        (
            {
                "taskDefinition": arn(1),
                "taskSets": [
                    {"status": "ACTIVE", "taskDefinition": arn(3)},
                    {"status": "PRIMARY", "taskDefinition": arn(2)},
                ],
            },
            arn(2),
        ),
        ({"taskDefinition": arn(4), "taskSets": []}, arn(4)),  # the ECS controller: no task sets
        ({"taskDefinition": arn(5)}, arn(5)),
    ],
)
def test_the_running_task_definition_is_the_primary_task_sets(service: dict[str, Any], expected: str) -> None:
    assert ecs_api.current_task_definition_arn(ecs_with(service), CLUSTER, SERVICE) == expected


@pytest.mark.parametrize(
    ("service", "message"),
    [
        (None, f"ECS service {SERVICE} not found in cluster {CLUSTER}"),  # DescribeServices: a failure
        (
            {"status": "INACTIVE", "taskDefinition": arn(1)},
            f"ECS service {SERVICE} not found in cluster {CLUSTER}",
        ),
        ({"taskSets": []}, f"ECS service {SERVICE} in cluster {CLUSTER} has no task definition"),
    ],
)
def test_a_service_without_a_task_definition_is_bad_input(
    service: dict[str, Any] | None, message: str
) -> None:
    with pytest.raises(BadInputError, match=f"^{message}$"):
        ecs_api.current_task_definition_arn(ecs_with(service), CLUSTER, SERVICE)


def test_an_unknown_task_definition_is_bad_input_and_a_registered_one_is_read_back() -> None:
    fake = FakeEcs()
    registered = ecs_api.register_task_definition_once(fake, {"family": SERVICE, "containerDefinitions": []})

    assert registered == arn(1)
    assert ecs_api.describe_task_definition(fake, registered)["family"] == SERVICE
    with pytest.raises(BadInputError, match=f"^task definition {arn(9)} not found$"):
        ecs_api.describe_task_definition(fake, arn(9))


def test_register_retries_throttling_but_not_an_ambiguous_failure() -> None:
    fake, slept = FakeEcs(), []
    answers = [client_error("RegisterTaskDefinition", "ThrottlingException", "slow down")]
    real = fake.register_task_definition

    def register(**request: Any) -> dict[str, Any]:
        if answers:
            raise answers.pop(0)
        return real(**request)

    fake.register_task_definition = register  # type: ignore[method-assign]
    assert ecs_api.register_task_definition_once(fake, {"family": SERVICE}, sleep=slept.append) == arn(1)
    assert len(slept) == 1

    answers.append(client_error("RegisterTaskDefinition", "InternalFailure", "boom", 500))
    with pytest.raises(AwsError, match="not retried: it may have registered a revision"):
        ecs_api.register_task_definition_once(fake, {"family": SERVICE}, sleep=slept.append)
    assert len(slept) == 1 and len(fake.task_definitions) == 1

"""Thin ECS adapters: register (and deregister) a task definition revision, read a service's current one.

``EcsApi`` is the client surface they use (a boto3 ECS client, or ``tests.support.fakes.FakeEcs``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from orchestrator.aws.clients import aws_errors, describe_aws_error, is_ambiguous, retry_throttled
from orchestrator.errors import AwsError, BadInputError

# RegisterTaskDefinition has no client token: each call that AWS applies is a new revision.
# Throttled calls were not applied and are sent again; an ambiguous one never is.
REGISTER_ATTEMPTS = 10


class EcsApi(Protocol):
    """The ECS operations bluegreen calls (keyword arguments and answers as in boto3)."""

    def register_task_definition(self, **request: Any) -> Mapping[str, Any]: ...

    def deregister_task_definition(self, **request: Any) -> object: ...

    def describe_services(self, **request: Any) -> Mapping[str, Any]: ...

    def describe_task_definition(self, **request: Any) -> Mapping[str, Any]: ...


def register_task_definition_once(
    client: EcsApi, request: dict[str, Any], *, sleep: Callable[[float], None] = time.sleep
) -> str:
    """RegisterTaskDefinition through a client that does not retry: throttling is retried here,
    an ambiguous failure (timeout, dropped connection, 5xx) is not, because a second call would
    register a second revision; the error says where to look for the one the first may have made.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    family = request.get("family")

    def once() -> str:
        try:
            response = client.register_task_definition(**request)
        except (BotoCoreError, ClientError) as err:
            action = f"RegisterTaskDefinition {family}"
            if is_ambiguous(err):
                raise AwsError(
                    f"{describe_aws_error(err, action)}; not retried: it may have registered a revision "
                    f"(`aws ecs list-task-definitions --family-prefix {family} --sort DESC` shows it)"
                ) from err
            raise AwsError(describe_aws_error(err, action)) from err
        return str(response["taskDefinition"]["taskDefinitionArn"])

    return retry_throttled(once, attempts=REGISTER_ATTEMPTS, sleep=sleep)


def deregister_task_definition(client: EcsApi, arn: str) -> None:
    """DeregisterTaskDefinition (the revision becomes INACTIVE; tasks already running keep it)."""
    with aws_errors(f"DeregisterTaskDefinition {arn}"):
        client.deregister_task_definition(taskDefinition=arn)


def current_task_definition_arn(client: EcsApi, cluster: str, service: str) -> str:
    """The task definition the ECS service runs now (its PRIMARY task set's for CODE_DEPLOY)."""
    with aws_errors(f"DescribeServices {cluster}/{service}"):
        response = client.describe_services(cluster=cluster, services=[service])
    services = response.get("services", [])
    if not services or services[0].get("status") == "INACTIVE":
        raise BadInputError(f"ECS service {service} not found in cluster {cluster}")
    found = services[0]
    # With the CODE_DEPLOY controller the service's taskDefinition is the one it was created with;
    # the PRIMARY task set says what runs now.
    for task_set in found.get("taskSets", []):
        if task_set.get("status") == "PRIMARY" and task_set.get("taskDefinition"):
            return str(task_set["taskDefinition"])
    if not found.get("taskDefinition"):
        raise BadInputError(f"ECS service {service} in cluster {cluster} has no task definition")
    return str(found["taskDefinition"])


def describe_task_definition(client: EcsApi, arn: str) -> dict[str, Any]:
    """DescribeTaskDefinition's taskDefinition (the registered document, with read-only fields)."""
    from botocore.exceptions import ClientError

    with aws_errors(f"DescribeTaskDefinition {arn}"):
        try:
            response = client.describe_task_definition(taskDefinition=arn)
        except ClientError as err:
            if "ClientException" in str(err) and "Unable to describe" in str(err):
                raise BadInputError(f"task definition {arn} not found") from None
            raise
    return dict(response["taskDefinition"])

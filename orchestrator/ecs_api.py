"""Thin ECS adapters: register a task definition revision, read a service's current one."""

from __future__ import annotations

from typing import Any

from orchestrator.aws import aws_errors
from orchestrator.errors import BadInputError


def register_task_definition(client: Any, request: dict[str, Any]) -> str:
    """RegisterTaskDefinition; the new revision's ARN."""
    with aws_errors(f"RegisterTaskDefinition {request.get('family')}"):
        response = client.register_task_definition(**request)
    return str(response["taskDefinition"]["taskDefinitionArn"])


def current_task_definition_arn(client: Any, cluster: str, service: str) -> str:
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


def describe_task_definition(client: Any, arn: str) -> dict[str, Any]:
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

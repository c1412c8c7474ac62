"""Thin ECS adapters: register (and deregister) a task definition revision, read a service's current one,
and Amazon ECS's native deployments (UpdateService, the service-deployment operations, service revisions).

``EcsApi`` is the client surface they use (a boto3 ECS client, or ``tests.support.fakes.FakeEcs``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from orchestrator.aws.clients import (
    aws_errors,
    chunked,
    describe_aws_error,
    error_code,
    is_ambiguous,
    retry_throttled,
)
from orchestrator.errors import AwsError, BadInputError

# RegisterTaskDefinition has no client token: each call that AWS applies is a new revision.
# Throttled calls were not applied and are sent again; an ambiguous one never is.
REGISTER_ATTEMPTS = 10
# DescribeServiceDeployments and DescribeServiceRevisions: "You can specify a maximum of 20 ARNs"
# (botocore's ECS model, serviceDeploymentArns / serviceRevisionArns).
DESCRIBE_ARNS_LIMIT = 20
# ListServiceDeployments: maxResults "can be between 1 and 100" (20 when not given).
LIST_PAGE_SIZE = 100
# ListTasks: maxResults "can be between 1 and 100"; DescribeTasks: "A list of up to 100 task IDs or
# full ARN entries" (botocore's ECS model documentation).
TASKS_PAGE_SIZE = 100
DESCRIBE_TASKS_LIMIT = 100
# DescribeServiceDeployments' failures[].reason for an ARN ECS does not know (as for DescribeServices).
MISSING = "MISSING"
# The errors that say a service deployment's ARN names nothing (botocore's ECS model: the
# operations' errors; ECS answers InvalidParameterException for an ARN it cannot parse).
_NO_DEPLOYMENT = ("ServiceDeploymentNotFoundException", "InvalidParameterException")


class EcsApi(Protocol):
    """The ECS operations bluegreen calls (keyword arguments and answers as in boto3)."""

    def register_task_definition(self, **request: Any) -> Mapping[str, Any]: ...

    def deregister_task_definition(self, **request: Any) -> object: ...

    def describe_services(self, **request: Any) -> Mapping[str, Any]: ...

    def describe_task_definition(self, **request: Any) -> Mapping[str, Any]: ...

    def update_service(self, **request: Any) -> Mapping[str, Any]: ...

    def list_service_deployments(self, **request: Any) -> Mapping[str, Any]: ...

    def describe_service_deployments(self, **request: Any) -> Mapping[str, Any]: ...

    def stop_service_deployment(self, **request: Any) -> Mapping[str, Any]: ...

    def continue_service_deployment(self, **request: Any) -> Mapping[str, Any]: ...

    def describe_service_revisions(self, **request: Any) -> Mapping[str, Any]: ...

    def list_tasks(self, **request: Any) -> Mapping[str, Any]: ...

    def describe_tasks(self, **request: Any) -> Mapping[str, Any]: ...


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


def task_definition_tags(client: EcsApi, arn: str) -> dict[str, str]:
    """A task definition's tags as a dict: DescribeTaskDefinition(include=["TAGS"]) ("If TAGS is
    specified, the tags are included in the response. If this field is omitted, tags aren't included
    in the response": botocore's ECS model). BadInputError when ECS does not know it."""
    from botocore.exceptions import ClientError

    with aws_errors(f"DescribeTaskDefinition {arn}"):
        try:
            response = client.describe_task_definition(taskDefinition=arn, include=["TAGS"])
        except ClientError as err:
            if "ClientException" in str(err) and "Unable to describe" in str(err):
                raise BadInputError(f"task definition {arn} not found") from None
            raise
    return {str(tag.get("key")): str(tag.get("value") or "") for tag in response.get("tags") or []}


# --- Amazon ECS's native deployments ---------------------------------------------------------------


class AmbiguousUpdateError(Exception):
    """UpdateService failed in a way that may still have started a service deployment."""


def describe_service(client: EcsApi, cluster: str, service: str) -> dict[str, Any]:
    """DescribeServices' service; BadInputError when the cluster has no such active service."""
    with aws_errors(f"DescribeServices {cluster}/{service}"):
        response = client.describe_services(cluster=cluster, services=[service])
    services = response.get("services", [])
    if not services or services[0].get("status") == "INACTIVE":
        raise BadInputError(f"ECS service {service} not found in cluster {cluster}")
    return dict(services[0])


def deployment_controller(client: EcsApi, cluster: str, service: str) -> str:
    """The service's deploymentController type (ECS when DescribeServices names none: AWS's default)."""
    found = describe_service(client, cluster, service)
    return str((found.get("deploymentController") or {}).get("type") or "ECS")


def update_service_once(client: EcsApi, request: dict[str, Any]) -> dict[str, Any]:
    """One UpdateService attempt (the client must not retry); its ``service``.

    UpdateService has no client token and a second one replaces the deployment the first started,
    so an ambiguous failure (timeout, dropped connection, 5xx) raises AmbiguousUpdateError for the
    caller to look before it tries again; anything else is AwsError or BadInputError.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    cluster, service = request.get("cluster"), request.get("service")
    action = f"UpdateService {cluster}/{service}"
    try:
        return dict(client.update_service(**request)["service"])
    except (BotoCoreError, ClientError) as err:
        if is_ambiguous(err):
            raise AmbiguousUpdateError(describe_aws_error(err, action)) from err
        if error_code(err) in (
            "ServiceNotFoundException",
            "ServiceNotActiveException",
            "ClusterNotFoundException",
        ):
            raise BadInputError(
                f"ECS service {service} not found (or not active) in cluster {cluster}"
            ) from None
        raise AwsError(describe_aws_error(err, action)) from err


def list_service_deployments(
    client: EcsApi,
    cluster: str,
    service: str,
    statuses: Sequence[str] | None = None,
    created_after: datetime | None = None,
) -> list[dict[str, Any]]:
    """ListServiceDeployments' briefs of a service (every page, 100 a page), by status and creation."""
    request: dict[str, Any] = {"cluster": cluster, "service": service, "maxResults": LIST_PAGE_SIZE}
    if statuses:
        request["status"] = list(statuses)
    if created_after is not None:
        request["createdAt"] = {"after": created_after}
    found: list[dict[str, Any]] = []
    with aws_errors(f"ListServiceDeployments {cluster}/{service}"):
        while True:
            page = client.list_service_deployments(**request)
            found.extend(dict(brief) for brief in page.get("serviceDeployments", []))
            if not page.get("nextToken"):
                return found
            request["nextToken"] = page["nextToken"]


def describe_service_deployments(
    client: EcsApi, arns: Sequence[str], *, strict: bool = False
) -> list[dict[str, Any]]:
    """DescribeServiceDeployments for any number of ARNs (20 a call); unknown ones are left out, or
    with ``strict`` each failure is an error: BadInputError for one ECS does not know (MISSING),
    AwsError for any other reason (e.g. AccessDenied: it exists, this caller may not read it)."""
    found: list[dict[str, Any]] = []
    for batch in chunked(list(arns), DESCRIBE_ARNS_LIMIT):
        with aws_errors("DescribeServiceDeployments"):
            response = client.describe_service_deployments(serviceDeploymentArns=batch)
        found.extend(dict(sd) for sd in response.get("serviceDeployments", []))
        if strict:
            _raise_failure(response.get("failures") or [])
    return found


def _raise_failure(failures: Sequence[Mapping[str, Any]]) -> None:
    """The first of DescribeServiceDeployments' failures as an error (none: nothing)."""
    if not failures:
        return
    arn, reason = str(failures[0].get("arn") or ""), str(failures[0].get("reason") or MISSING)
    if reason == MISSING:
        raise BadInputError(f"no service deployment {arn} in this account and region")
    detail = str(failures[0].get("detail") or "").strip()
    raise AwsError(f"DescribeServiceDeployments {arn}: {reason}" + (f" ({detail})" if detail else ""))


def describe_service_deployment(client: EcsApi, arn: str) -> dict[str, Any]:
    """One service deployment; BadInputError when ECS does not know it (an ARN of another account
    or region reads the same: ECS answers from this one), AwsError when ECS says it may not tell."""
    from botocore.exceptions import ClientError

    _same_region(client, arn)
    with aws_errors(f"DescribeServiceDeployments {arn}"):
        try:
            response = client.describe_service_deployments(serviceDeploymentArns=[arn])
        except ClientError as err:
            if error_code(err) in _NO_DEPLOYMENT:
                raise BadInputError(f"no service deployment {arn} in this account and region") from None
            raise
    found = response.get("serviceDeployments", [])
    if found:
        return dict(found[0])
    failures = response.get("failures") or []
    reason = str(failures[0].get("reason") or MISSING) if failures else MISSING
    if reason != MISSING:  # e.g. AccessDenied: the ARN exists, this caller may not read it
        detail = str(failures[0].get("detail") or "").strip()
        raise AwsError(f"DescribeServiceDeployments {arn}: {reason}" + (f" ({detail})" if detail else ""))
    raise BadInputError(f"no service deployment {arn} in this account and region")


def _same_region(client: EcsApi, arn: str) -> None:
    """BadInputError naming the region when the ARN's is not the client's (ECS would only say the
    deployment is missing)."""
    parts = arn.split(":")
    region = getattr(getattr(client, "meta", None), "region_name", None)
    if len(parts) >= 6 and parts[0] == "arn" and region and parts[3] and parts[3] != region:
        raise BadInputError(
            f"service deployment {arn} is in region {parts[3]}, not {region}; run with --region {parts[3]}"
        )


def stop_service_deployment(client: EcsApi, arn: str, stop_type: str) -> str:
    """StopServiceDeployment (``stop_type`` ROLLBACK: the only one AWS documents as valid)."""
    from botocore.exceptions import ClientError

    with aws_errors(f"StopServiceDeployment {arn}"):
        try:
            response = client.stop_service_deployment(serviceDeploymentArn=arn, stopType=stop_type)
        except ClientError as err:
            if error_code(err) in _NO_DEPLOYMENT:
                raise BadInputError(f"no service deployment {arn} in this account and region") from None
            if error_code(err) == "ConflictException":
                raise BadInputError(
                    f"service deployment {arn} cannot be stopped now: {_message(err)}"
                ) from None
            raise
    return str(response.get("serviceDeploymentArn") or arn)


def continue_service_deployment(client: EcsApi, arn: str, hook_id: str, action: str) -> None:
    """ContinueServiceDeployment: release the PAUSE hook ``hook_id`` (CONTINUE or ROLLBACK)."""
    from botocore.exceptions import ClientError

    with aws_errors(f"ContinueServiceDeployment {arn}"):
        try:
            client.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook_id, action=action)
        except ClientError as err:
            if error_code(err) in _NO_DEPLOYMENT:
                raise BadInputError(
                    f"service deployment {arn}: no hook {hook_id} is waiting ({_message(err)})"
                ) from None
            raise


def describe_service_revisions(client: EcsApi, arns: Sequence[str]) -> list[dict[str, Any]]:
    """DescribeServiceRevisions for any number of ARNs (20 a call; each distinct ARN asked once)."""
    found: list[dict[str, Any]] = []
    for batch in chunked(sorted(set(arns)), DESCRIBE_ARNS_LIMIT):
        with aws_errors("DescribeServiceRevisions"):
            response = client.describe_service_revisions(serviceRevisionArns=batch)
        found.extend(dict(revision) for revision in response.get("serviceRevisions", []))
    return found


def _message(err: Any) -> str:
    return str(err.response.get("Error", {}).get("Message", "")).strip() or error_code(err)


# --- tasks and service events (what `why` and `timeline` read after the fact) --------------------


def list_task_arns(
    client: EcsApi, cluster: str, service: str, desired_status: str, *, max_pages: int
) -> tuple[list[str], bool]:
    """ListTasks of a service by desired status (100 a page, at most ``max_pages`` pages); the ARNs
    and whether more were left unread. ``serviceName`` and ``desiredStatus`` filter together
    (``startedBy`` "must be the only filter that you use", botocore's ListTasks documentation)."""
    request: dict[str, Any] = {
        "cluster": cluster,
        "serviceName": service,
        "desiredStatus": desired_status,
        "maxResults": TASKS_PAGE_SIZE,
    }
    found: list[str] = []
    with aws_errors(f"ListTasks {cluster}/{service}"):
        for _ in range(max_pages):
            page = client.list_tasks(**request)
            found.extend(str(arn) for arn in page.get("taskArns", []))
            if not page.get("nextToken"):
                return found, False
            request["nextToken"] = page["nextToken"]
    return found, True


def describe_tasks(client: EcsApi, cluster: str, arns: Sequence[str]) -> list[dict[str, Any]]:
    """DescribeTasks for any number of task ARNs (100 a call); unknown ones are left out."""
    found: list[dict[str, Any]] = []
    for batch in chunked(list(arns), DESCRIBE_TASKS_LIMIT):
        with aws_errors(f"DescribeTasks {cluster}"):
            response = client.describe_tasks(cluster=cluster, tasks=batch)
        found.extend(dict(task) for task in response.get("tasks", []))
    return found


def service_events(client: EcsApi, cluster: str, service: str) -> list[dict[str, Any]]:
    """DescribeServices' ``events`` of a service: "A maximum of 100 of the latest events" (botocore's
    Service documentation), newest first as ECS lists them."""
    return [dict(event) for event in describe_service(client, cluster, service).get("events") or []]

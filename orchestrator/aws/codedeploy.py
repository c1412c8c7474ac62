"""Thin CodeDeploy adapters: one function per call, each takes a client and returns plain data.

Every botocore error becomes a typed bluegreen error here (AwsError, or BadInputError when the
thing named does not exist), so callers never see ClientError. The one exception is
``create_deployment_once``: an ambiguous failure (timeout, dropped connection, 5xx) is raised as
``AmbiguousCallError`` so the caller can look for the deployment before trying again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from orchestrator.aws.clients import aws_errors, chunked, describe_aws_error, error_code, is_ambiguous
from orchestrator.errors import AwsError, BadInputError
from orchestrator.vocabulary import DeploymentStatus, DeploymentWaitType

# CodeDeploy's DeploymentStatus values that still hold the deployment group (a second deployment
# would be refused by CodeDeploy, or worse, queued behind it).
ACTIVE_STATUSES = tuple(status.value for status in DeploymentStatus.active())

# BatchGetDeployments accepts at most 25 ids per call, BatchGetDeploymentTargets 25 targets
# (botocore's CodeDeploy model: BatchGetDeploymentsInput.deploymentIds and
# BatchGetDeploymentTargetsInput.targetIds, "The maximum number ... you can specify is 25").
_BATCH_SIZE = 25
_TARGET_BATCH_SIZE = 25


class CodeDeployApi(Protocol):
    """The CodeDeploy client surface bluegreen uses (a boto3 client, or a fake in tests)."""

    def get_deployment(self, *, deploymentId: str) -> dict[str, Any]: ...

    def batch_get_deployments(self, *, deploymentIds: list[str]) -> dict[str, Any]: ...

    def list_deployments(self, **kwargs: Any) -> dict[str, Any]: ...

    def get_deployment_group(self, *, applicationName: str, deploymentGroupName: str) -> dict[str, Any]: ...

    def get_deployment_config(self, *, deploymentConfigName: str) -> dict[str, Any]: ...

    def create_deployment_config(self, **kwargs: Any) -> dict[str, Any]: ...

    def create_deployment(self, **kwargs: Any) -> dict[str, Any]: ...

    def get_application_revision(
        self, *, applicationName: str, revision: dict[str, Any]
    ) -> dict[str, Any]: ...

    def list_deployment_targets(self, **kwargs: Any) -> dict[str, Any]: ...

    def get_deployment_target(self, *, deploymentId: str, targetId: str) -> dict[str, Any]: ...

    def batch_get_deployment_targets(self, *, deploymentId: str, targetIds: list[str]) -> dict[str, Any]: ...

    def stop_deployment(self, *, deploymentId: str, autoRollbackEnabled: bool) -> dict[str, Any]: ...

    def continue_deployment(self, *, deploymentId: str, deploymentWaitType: str) -> dict[str, Any]: ...


class AmbiguousCallError(Exception):
    """A non-idempotent call failed in a way that may still have taken effect."""


def _missing(err: Exception, codes: Iterable[str]) -> bool:
    return error_code(err) in set(codes)


def get_deployment(client: CodeDeployApi, deployment_id: str) -> dict[str, Any]:
    """GetDeployment's deploymentInfo; BadInputError when the id is unknown."""
    from botocore.exceptions import ClientError

    with aws_errors(f"GetDeployment {deployment_id}"):
        try:
            return dict(client.get_deployment(deploymentId=deployment_id)["deploymentInfo"])
        except ClientError as err:
            if _missing(err, ("DeploymentDoesNotExistException", "InvalidDeploymentIdException")):
                raise BadInputError(f"no deployment {deployment_id} in this account and region") from None
            raise


def batch_get_deployments(client: CodeDeployApi, deployment_ids: Sequence[str]) -> list[dict[str, Any]]:
    """deploymentsInfo for any number of ids (in chunks of 25)."""
    out: list[dict[str, Any]] = []
    for chunk in chunked(deployment_ids, _BATCH_SIZE):
        with aws_errors("BatchGetDeployments"):
            out.extend(client.batch_get_deployments(deploymentIds=chunk).get("deploymentsInfo", []))
    return out


def list_deployments(
    client: CodeDeployApi,
    application: str,
    deployment_group: str,
    statuses: Sequence[str] | None = None,
    created_after: datetime | None = None,
) -> list[str]:
    """Deployment ids of a deployment group (every page), optionally by status and creation time."""
    from botocore.exceptions import ClientError

    kwargs: dict[str, Any] = {"applicationName": application, "deploymentGroupName": deployment_group}
    if statuses:
        kwargs["includeOnlyStatuses"] = list(statuses)
    if created_after is not None:
        kwargs["createTimeRange"] = {"start": created_after}
    ids: list[str] = []
    with aws_errors(f"ListDeployments {application}/{deployment_group}"):
        try:
            while True:
                page = client.list_deployments(**kwargs)
                ids.extend(page.get("deployments", []))
                token = page.get("nextToken")
                if not token:
                    return ids
                kwargs["nextToken"] = token
        except ClientError as err:
            if _missing(err, ("ApplicationDoesNotExistException", "DeploymentGroupDoesNotExistException")):
                raise BadInputError(_group_missing(application, deployment_group)) from None
            raise


def _group_missing(application: str, deployment_group: str) -> str:
    return (
        f"CodeDeploy deployment group {application}/{deployment_group} does not exist in this account "
        "and region; create it in the stack that owns the service's load balancer and ECS service "
        "(template.yaml creates only the application), or check --env/--region"
    )


def active_deployments(client: CodeDeployApi, application: str, deployment_group: str) -> list[str]:
    """Ids of the group's deployments that are not finished yet."""
    return list_deployments(client, application, deployment_group, statuses=ACTIVE_STATUSES)


def get_deployment_group(client: CodeDeployApi, application: str, deployment_group: str) -> dict[str, Any]:
    """GetDeploymentGroup's deploymentGroupInfo; BadInputError when it does not exist."""
    from botocore.exceptions import ClientError

    with aws_errors(f"GetDeploymentGroup {application}/{deployment_group}"):
        try:
            response = client.get_deployment_group(
                applicationName=application, deploymentGroupName=deployment_group
            )
        except ClientError as err:
            if _missing(err, ("ApplicationDoesNotExistException", "DeploymentGroupDoesNotExistException")):
                raise BadInputError(_group_missing(application, deployment_group)) from None
            raise
    return dict(response["deploymentGroupInfo"])


def get_deployment_config(client: CodeDeployApi, name: str) -> dict[str, Any] | None:
    """GetDeploymentConfig's deploymentConfigInfo, or None when no config has that name."""
    from botocore.exceptions import ClientError

    with aws_errors(f"GetDeploymentConfig {name}"):
        try:
            return dict(client.get_deployment_config(deploymentConfigName=name)["deploymentConfigInfo"])
        except ClientError as err:
            if _missing(err, ("DeploymentConfigDoesNotExistException",)):
                return None
            raise


def ensure_deployment_config(client: CodeDeployApi, request: dict[str, Any]) -> str:
    """Create a custom deployment config unless it exists; "existing" or "created".

    Idempotent: the name encodes the whole config, so an AlreadyExists from a concurrent run
    means the same config is there.
    """
    from botocore.exceptions import ClientError

    name = request["deploymentConfigName"]
    if get_deployment_config(client, name) is not None:
        return "existing"
    with aws_errors(f"CreateDeploymentConfig {name}"):
        try:
            client.create_deployment_config(**request)
        except ClientError as err:
            if _missing(err, ("DeploymentConfigAlreadyExistsException",)):
                return "existing"
            raise
    return "created"


def create_deployment_once(client: CodeDeployApi, request: dict[str, Any]) -> str:
    """One CreateDeployment attempt (the client must not retry); the new deployment id.

    Raises AmbiguousCallError when the call may have created a deployment anyway, AwsError or
    BadInputError otherwise.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    action = f"CreateDeployment {request.get('applicationName')}/{request.get('deploymentGroupName')}"
    try:
        return str(client.create_deployment(**request)["deploymentId"])
    except (BotoCoreError, ClientError) as err:
        if is_ambiguous(err):
            raise AmbiguousCallError(describe_aws_error(err, action)) from err
        code = error_code(err)
        if code in ("ApplicationDoesNotExistException", "DeploymentGroupDoesNotExistException"):
            raise BadInputError(
                _group_missing(request["applicationName"], request["deploymentGroupName"])
            ) from None
        if code == "DeploymentConfigDoesNotExistException":
            raise BadInputError(
                f"{action}: deployment config {request.get('deploymentConfigName')} missing"
            ) from None
        raise AwsError(describe_aws_error(err, action)) from err


def find_deployment_by_token(
    client: CodeDeployApi, application: str, deployment_group: str, token: str, created_after: datetime | None
) -> str | None:
    """The group's deployment whose description carries ``token`` (our request token), if any."""
    ids = list_deployments(client, application, deployment_group, created_after=created_after)
    for info in batch_get_deployments(client, ids):
        if token in str(info.get("description", "")):
            return str(info["deploymentId"])
    return None


def appspec_content(client: CodeDeployApi, application: str, revision: dict[str, Any]) -> str | None:
    """The AppSpec text of a deployment's AppSpecContent revision, by its sha256 (None when the
    application has no such revision registered).

    GetDeployment and BatchGetDeployments never return the content ("The content property of the
    appSpecContent object in the returned revision is always null. Use GetApplicationRevision and the
    sha256 property": botocore's GetDeployment documentation); GetApplicationRevision does.
    """
    from botocore.exceptions import ClientError

    digest = str((revision.get("appSpecContent") or {}).get("sha256") or "")
    with aws_errors(f"GetApplicationRevision {application} {digest[:12]}"):
        try:
            response = client.get_application_revision(
                applicationName=application,
                revision={"revisionType": "AppSpecContent", "appSpecContent": {"sha256": digest}},
            )
        except ClientError as err:
            if _missing(err, ("RevisionDoesNotExistException",)):
                return None
            raise
    return ((response.get("revision") or {}).get("appSpecContent") or {}).get("content")


def list_deployment_targets(client: CodeDeployApi, deployment_id: str) -> list[str]:
    """Target ids of a deployment (an ECS deployment has one: cluster:service); none before it
    starts (CodeDeploy answers DeploymentNotStartedException while it is Created or Queued)."""
    from botocore.exceptions import ClientError

    ids: list[str] = []
    kwargs: dict[str, Any] = {"deploymentId": deployment_id}
    with aws_errors(f"ListDeploymentTargets {deployment_id}"):
        while True:
            try:
                page = client.list_deployment_targets(**kwargs)
            except ClientError as err:
                if _missing(err, ("DeploymentNotStartedException",)):
                    return ids
                raise
            ids.extend(page.get("targetIds", []))
            token = page.get("nextToken")
            if not token:
                return ids
            kwargs["nextToken"] = token


def get_deployment_target(client: CodeDeployApi, deployment_id: str, target_id: str) -> dict[str, Any]:
    """GetDeploymentTarget's deploymentTarget (ecsTarget for ECS)."""
    with aws_errors(f"GetDeploymentTarget {deployment_id}"):
        response = client.get_deployment_target(deploymentId=deployment_id, targetId=target_id)
    return dict(response.get("deploymentTarget", {}))


def deployment_targets(client: CodeDeployApi, deployment_id: str) -> list[dict[str, Any]]:
    """Every target of a deployment as BatchGetDeploymentTargets answers (an ECS deployment has one:
    its ecsTarget with lifecycle events, their times and diagnostics); none before it starts."""
    ids = list_deployment_targets(client, deployment_id)
    out: list[dict[str, Any]] = []
    for chunk in chunked(ids, _TARGET_BATCH_SIZE):
        with aws_errors(f"BatchGetDeploymentTargets {deployment_id}"):
            response = client.batch_get_deployment_targets(deploymentId=deployment_id, targetIds=chunk)
        out.extend(dict(target) for target in response.get("deploymentTargets", []))
    return out


def stop_deployment(client: CodeDeployApi, deployment_id: str, rollback: bool) -> dict[str, Any]:
    """StopDeployment; ``rollback`` asks CodeDeploy to roll back to the original task set."""
    from botocore.exceptions import ClientError

    with aws_errors(f"StopDeployment {deployment_id}"):
        try:
            response = client.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=rollback)
        except ClientError as err:
            if _missing(err, ("DeploymentAlreadyCompletedException",)):
                raise BadInputError(
                    f"deployment {deployment_id} has already finished; nothing to stop"
                ) from None
            if _missing(err, ("DeploymentDoesNotExistException", "InvalidDeploymentIdException")):
                raise BadInputError(f"no deployment {deployment_id} in this account and region") from None
            raise
    return {"status": response.get("status"), "statusMessage": response.get("statusMessage")}


def continue_deployment(client: CodeDeployApi, deployment_id: str) -> None:
    """ContinueDeployment: shift production traffic after a deployment stopped at Ready."""
    from botocore.exceptions import ClientError

    with aws_errors(f"ContinueDeployment {deployment_id}"):
        try:
            client.continue_deployment(
                deploymentId=deployment_id, deploymentWaitType=DeploymentWaitType.READY_WAIT.value
            )
        except ClientError as err:
            if _missing(err, ("DeploymentAlreadyCompletedException",)):
                raise BadInputError(
                    f"deployment {deployment_id} has already finished; nothing to promote"
                ) from None
            if _missing(err, ("DeploymentIsNotInReadyStateException",)):
                raise BadInputError(
                    f"deployment {deployment_id} is not waiting at Ready; promote works only after the "
                    "replacement task set is ready and before traffic shifts"
                ) from None
            if _missing(err, ("DeploymentDoesNotExistException", "InvalidDeploymentIdException")):
                raise BadInputError(f"no deployment {deployment_id} in this account and region") from None
            raise

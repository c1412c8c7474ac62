"""Operations on deployments, their targets and hook executions."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable

from sandbox.codedeploy import defaults, paging, render
from sandbox.codedeploy.api_resources import ApiContext, Params, get_app, get_config, get_group, paged
from sandbox.codedeploy.appspec import parse_appspec, sha256_of
from sandbox.codedeploy.errors import ApiError
from sandbox.codedeploy.model import (
    TARGET_STATUS_FOR,
    Deployment,
    DeploymentStatus,
    HookStatusReport,
    LifecycleEventStatus,
    new_deployment_id,
)

DEPLOYMENT_ID = re.compile(r"^d-[A-Z0-9]{9}$")
# A nextToken belongs to the filters it was issued for (sandbox/codedeploy/paging.py).
_LIST_DEPLOYMENTS_FILTERS = (
    "applicationName",
    "deploymentGroupName",
    "externalId",
    "includeOnlyStatuses",
    "createTimeRange",
)


def get_deployment(ctx: ApiContext, deployment_id: str | None) -> Deployment:
    if not deployment_id:
        raise ApiError("DeploymentIdRequiredException", "At least one deployment ID must be specified.")
    if not DEPLOYMENT_ID.match(deployment_id):
        raise ApiError("InvalidDeploymentIdException", f"The deployment ID {deployment_id} is not valid.")
    dep = ctx.store.deployments.get(deployment_id)
    if dep is None:
        raise ApiError(
            "DeploymentDoesNotExistException", f"The deployment {deployment_id} could not be found."
        )
    return dep


def _revision(revision: Params | None) -> tuple[Params, str]:
    """The stored revision (sha256 filled in) and its AppSpec text."""
    if not revision:
        raise ApiError("RevisionRequiredException", "The revision ID was not specified.")
    if revision.get("revisionType") != "AppSpecContent" or not (revision.get("appSpecContent") or {}).get(
        "content"
    ):
        raise ApiError(
            "InvalidRevisionException",
            "ECS and Lambda deployments take an AppSpecContent revision with content.",
        )
    content = revision["appSpecContent"]["content"]
    digest = sha256_of(content)
    given = revision["appSpecContent"].get("sha256")
    if given and given != digest:
        raise ApiError("InvalidRevisionException", "The AppSpec content's sha256 does not match its content.")
    return {
        "revisionType": "AppSpecContent",
        "appSpecContent": {"content": content, "sha256": digest},
    }, content


def create_deployment(ctx: ApiContext, p: Params) -> Params:
    app = get_app(ctx, p["applicationName"])
    if not p.get("deploymentGroupName"):
        raise ApiError("DeploymentGroupNameRequiredException", "The deployment group name was not specified.")
    group = get_group(ctx, app.name, p["deploymentGroupName"])
    if app.compute_platform not in ("ECS", "Lambda"):
        raise ApiError(
            "InvalidComputePlatformException", "The emulator deploys the ECS and Lambda compute platforms."
        )
    config_name = p.get("deploymentConfigName") or group.config_name
    get_config(ctx, config_name, app.compute_platform)
    revision, content = _revision(p.get("revision"))
    appspec = parse_appspec(content, app.compute_platform)
    description = p.get("description", "")
    if len(description) > 1024:
        raise ApiError("DescriptionTooLongException", "The description is too long.")
    snapshot = copy.deepcopy(group.spec)
    override = p.get("overrideAlarmConfiguration")
    if override is not None:  # this deployment monitors these alarms instead of the group's
        snapshot["alarmConfiguration"] = copy.deepcopy(override)
    active = ctx.store.active_deployment(app.name, group.name)
    if active is not None:
        raise ApiError(
            "DeploymentLimitExceededException",
            f"The Deployment Group '{group.name}' already has an active Deployment '{active.id}'",
        )
    dep = Deployment(
        id=new_deployment_id(),
        application_name=app.name,
        group_name=group.name,
        config_name=config_name,
        compute_platform=app.compute_platform,
        revision=revision,
        creator="user",
        # CodeDeploy's times carry milliseconds: a createTime a client reads back and sends again
        # (ListDeployments' createTimeRange) must compare equal, which a float's last digits do not.
        create_time=round(ctx.clock.now(), 3),
        group_snapshot=snapshot,
        description=description,
        auto_rollback=copy.deepcopy(
            p.get("autoRollbackConfiguration") or group.spec.get("autoRollbackConfiguration")
        ),
    )
    if override is not None:
        dep.override_alarms = copy.deepcopy(override)
    dep.request_options = {k: p[k] for k in defaults.DEPLOYMENT_REQUEST_DEFAULTS if k in p}
    ctx.store.deployments[dep.id] = dep
    group.target_revision = revision
    app.register_revision(revision, group.name, dep.create_time)
    ctx.launch(dep, appspec)
    return {"deploymentId": dep.id}


def get_application_revision(ctx: ApiContext, p: Params) -> Params:
    """An AppSpecContent revision by its sha256, content included: the way to read the content back,
    since GetDeployment's revision leaves it out (model, GetDeployment's documentation). Rollback
    deployments register theirs too (engine._create_rollback)."""
    app = get_app(ctx, p["applicationName"])
    revision = p["revision"]
    digest = (revision.get("appSpecContent") or {}).get("sha256")
    if revision.get("revisionType") != "AppSpecContent" or not digest:
        raise ApiError(
            "InvalidRevisionException", "The emulator keeps AppSpecContent revisions, looked up by sha256."
        )
    record = app.revisions.get(digest)
    if record is None:
        raise ApiError("RevisionDoesNotExistException", f"No revision with sha256 {digest} in {app.name}.")
    return {
        "applicationName": app.name,
        "revision": copy.deepcopy(record.revision),
        "revisionInfo": {
            "description": "",
            "deploymentGroups": list(record.deployment_groups),
            "firstUsedTime": record.first_used_time,
            "lastUsedTime": record.last_used_time,
            "registerTime": record.register_time,
        },
    }


def get_deployment_op(ctx: ApiContext, p: Params) -> Params:
    return {"deploymentInfo": render.deployment_info(get_deployment(ctx, p["deploymentId"]))}


def batch_get_deployments(ctx: ApiContext, p: Params) -> Params:
    ids = p["deploymentIds"]
    if len(ids) > 25:
        raise ApiError(
            "BatchLimitExceededException",
            "The maximum number of IDs allowed for this request (25) was exceeded.",
        )
    found = [ctx.store.deployments.get(i) for i in ids]
    return {"deploymentsInfo": [render.deployment_info(d) for d in found if d is not None]}


def list_deployments(ctx: ApiContext, p: Params) -> Params:
    app_name, group_name = p.get("applicationName"), p.get("deploymentGroupName")
    if group_name and not app_name:
        raise ApiError(
            "ApplicationNameRequiredException",
            "The application name is required with a deployment group name.",
        )
    if app_name and not group_name:
        raise ApiError(
            "DeploymentGroupNameRequiredException",
            "The deployment group name is required with an application name.",
        )
    if app_name:
        get_app(ctx, app_name)
    if group_name:
        get_group(ctx, app_name, group_name)
    statuses = set(p.get("includeOnlyStatuses") or [])
    window = p.get("createTimeRange") or {}
    start, end = window.get("start"), window.get("end")
    if start is not None and end is not None and start > end:
        raise ApiError("InvalidTimeRangeException", "The start time is after the end time.")
    # Newest first (AWS promises no order; callers sort by createTime themselves).
    keyed = sorted(
        ((-d.create_time, d.id), d.id)
        for d in ctx.store.deployments.values()
        if (not app_name or d.application_name == app_name)
        and (not group_name or d.group_name == group_name)
        and (not statuses or d.status.value in statuses)
        and (start is None or d.create_time >= start)
        and (end is None or d.create_time <= end)
    )
    scope = {"op": "ListDeployments", **{k: p[k] for k in _LIST_DEPLOYMENTS_FILTERS if k in p}}
    return paged("deployments", keyed, p, scope)


def _active(dep: Deployment) -> None:
    if dep.status.is_terminal:
        raise ApiError(
            "DeploymentAlreadyCompletedException", f"The deployment {dep.id} has already completed."
        )


def stop_deployment(ctx: ApiContext, p: Params) -> Params:
    dep = get_deployment(ctx, p["deploymentId"])
    _active(dep)
    dep.stop_requested = True
    if "autoRollbackEnabled" in p:
        dep.stop_rollback = bool(p["autoRollbackEnabled"])
    dep.wake.set()
    return {"status": "Pending", "statusMessage": "Stop request is pending."}


def continue_deployment(ctx: ApiContext, p: Params) -> Params:
    dep = get_deployment(ctx, p.get("deploymentId"))
    _active(dep)
    wait_type = p.get("deploymentWaitType", "READY_WAIT")
    if wait_type == "READY_WAIT":
        if dep.status is not DeploymentStatus.READY:
            raise ApiError(
                "DeploymentIsNotInReadyStateException", f"The deployment {dep.id} is not in the Ready state."
            )
        dep.continue_ready = True
    else:
        if not dep.termination_wait_started:
            raise ApiError(
                "DeploymentIsNotInReadyStateException",
                f"The deployment {dep.id} is not waiting to terminate the original task set.",
            )
        dep.skip_termination_wait = True
    dep.wake.set()
    return {}


def skip_wait_time_for_instance_termination(ctx: ApiContext, p: Params) -> Params:
    return continue_deployment(
        ctx, {"deploymentId": p.get("deploymentId"), "deploymentWaitType": "TERMINATION_WAIT"}
    )


def _target_of(ctx: ApiContext, p: Params) -> Deployment:
    dep = get_deployment(ctx, p["deploymentId"])
    if dep.target is None:
        raise ApiError("DeploymentNotStartedException", f"The deployment {dep.id} has not started.")
    return dep


def list_deployment_targets(ctx: ApiContext, p: Params) -> Params:
    dep = _target_of(ctx, p)
    assert dep.target is not None
    wanted = (p.get("targetFilters") or {}).get("TargetStatus")
    status = TARGET_STATUS_FOR[dep.status].value
    ids = [dep.target.target_id] if not wanted or status in wanted else []
    scope = {"op": "ListDeploymentTargets", "deploymentId": dep.id, "targetFilters": p.get("targetFilters")}
    return paged("targetIds", paging.by_name(ids), p, scope)


def _target_body(dep: Deployment, target_id: str) -> Params:
    assert dep.target is not None
    if target_id != dep.target.target_id:
        raise ApiError(
            "DeploymentTargetDoesNotExistException", f"The target {target_id} is not part of {dep.id}."
        )
    return render.deployment_target(dep)


def get_deployment_target(ctx: ApiContext, p: Params) -> Params:
    dep = _target_of(ctx, p)
    if not p.get("targetId"):
        raise ApiError("DeploymentTargetIdRequiredException", "A deployment target ID was not provided.")
    return {"deploymentTarget": _target_body(dep, p["targetId"])}


def batch_get_deployment_targets(ctx: ApiContext, p: Params) -> Params:
    dep = _target_of(ctx, p)
    ids = p["targetIds"]
    if len(ids) > 25:
        raise ApiError(
            "DeploymentTargetListSizeExceededException", "The maximum number of targets (25) was exceeded."
        )
    return {"deploymentTargets": [_target_body(dep, i) for i in ids]}


def put_lifecycle_event_hook_execution_status(ctx: ApiContext, p: Params) -> Params:
    """Record the call whatever happens, then resolve the hook execution exactly once."""
    dep_id, exec_id, status = (
        p.get("deploymentId", ""),
        p.get("lifecycleEventHookExecutionId", ""),
        p.get("status", ""),
    )
    execution = ctx.store.hook_executions.get(exec_id)
    error: ApiError | None = None
    try:
        if not exec_id:
            raise ApiError(
                "InvalidLifecycleEventHookExecutionIdException",
                "A lifecycle event hook execution ID must be specified.",
            )
        if not dep_id:  # optional in CodeDeploy's model: the execution names its deployment
            if execution is None:
                raise ApiError(
                    "InvalidLifecycleEventHookExecutionIdException",
                    f"The lifecycle event hook execution {exec_id} does not exist.",
                )
            dep_id = execution.deployment_id
        dep = get_deployment(ctx, dep_id)
        if execution is None or execution.deployment_id != dep.id:
            raise ApiError(
                "InvalidLifecycleEventHookExecutionIdException",
                f"The lifecycle event hook execution {exec_id} is not part of deployment {dep_id}.",
            )
        if status not in (LifecycleEventStatus.SUCCEEDED, LifecycleEventStatus.FAILED):
            raise ApiError(
                "InvalidLifecycleEventHookExecutionStatusException",
                f"The status {status!r} is not valid: report Succeeded or Failed.",
            )
        if execution.status is not LifecycleEventStatus.PENDING:
            raise ApiError(
                "LifecycleEventAlreadyCompletedException",
                f"The lifecycle event hook execution {exec_id} has already completed "
                f"({execution.status.value}).",
            )
        execution.status = LifecycleEventStatus(status)
        execution.reason = (
            ""
            if execution.status is LifecycleEventStatus.SUCCEEDED
            else f"The hook {execution.function_name} reported Failed."
        )
        dep.wake.set()
    except ApiError as err:
        error = err
    ctx.store.hook_reports.append(
        HookStatusReport(
            deployment_id=dep_id,
            lifecycle_event_hook_execution_id=exec_id,
            lifecycle_event=execution.lifecycle_event if execution else None,
            status=status,
            virtual_time=ctx.clock.now(),
            accepted=error is None,
            error_code=error.code if error else None,
        )
    )
    if error is not None:
        raise error
    return {"lifecycleEventHookExecutionId": exec_id}


OPERATIONS: dict[str, Callable[[ApiContext, Params], Params]] = {
    "CreateDeployment": create_deployment,
    "GetApplicationRevision": get_application_revision,
    "GetDeployment": get_deployment_op,
    "BatchGetDeployments": batch_get_deployments,
    "ListDeployments": list_deployments,
    "StopDeployment": stop_deployment,
    "ContinueDeployment": continue_deployment,
    "SkipWaitTimeForInstanceTermination": skip_wait_time_for_instance_termination,
    "ListDeploymentTargets": list_deployment_targets,
    "GetDeploymentTarget": get_deployment_target,
    "BatchGetDeploymentTargets": batch_get_deployment_targets,
    "PutLifecycleEventHookExecutionStatus": put_lifecycle_event_hook_execution_status,
}

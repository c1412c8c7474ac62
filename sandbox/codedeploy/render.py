"""Stored records as CodeDeploy's output shapes (ApplicationInfo, DeploymentGroupInfo, DeploymentInfo,
DeploymentTarget). Times are epoch seconds of the virtual clock; botocore parses them."""

from __future__ import annotations

from typing import Any

from sandbox.codedeploy import defaults
from sandbox.codedeploy.model import (
    TARGET_STATUS_FOR,
    Application,
    Deployment,
    DeploymentGroup,
    DeploymentStatus,
    Target,
)

# Members of a deployment group request that GetDeploymentGroup echoes back as they were given.
GROUP_ECHOED = (
    "deploymentConfigName",
    "ec2TagFilters",
    "onPremisesInstanceTagFilters",
    "autoScalingGroups",
    "serviceRoleArn",
    "triggerConfigurations",
    "alarmConfiguration",
    "autoRollbackConfiguration",
    "deploymentStyle",
    "outdatedInstancesStrategy",
    "blueGreenDeploymentConfiguration",
    "loadBalancerInfo",
    "ec2TagSet",
    "onPremisesTagSet",
    "ecsServices",
    "terminationHookEnabled",
)


def application_info(app: Application) -> dict[str, Any]:
    return {
        "applicationId": app.id,
        "applicationName": app.name,
        "createTime": app.create_time,
        "linkedToGitHub": False,
        "computePlatform": app.compute_platform,
    }


def group_info(group: DeploymentGroup) -> dict[str, Any]:
    info: dict[str, Any] = {
        "applicationName": group.application_name,
        "deploymentGroupId": group.id,
        "deploymentGroupName": group.name,
        "computePlatform": group.compute_platform,
    }
    members = defaults.group_info_members(group.spec)
    info.update({k: v for k, v in members.items() if k in GROUP_ECHOED})
    if group.target_revision:
        info["targetRevision"] = group.target_revision
    if group.last_attempted:
        info["lastAttemptedDeployment"] = group.last_attempted
    if group.last_successful:
        info["lastSuccessfulDeployment"] = group.last_successful
    return info


def _overview(dep: Deployment) -> dict[str, int]:
    counts = {"Pending": 0, "InProgress": 0, "Succeeded": 0, "Failed": 0, "Skipped": 0, "Ready": 0}
    if dep.target is not None:
        counts[TARGET_STATUS_FOR[dep.status].value] += 1
    return counts


def revision_shown(revision: dict[str, Any]) -> dict[str, Any]:
    """A deployment's revision as GetDeployment/BatchGetDeployments show it: the AppSpec's content
    left out ("The content property of the appSpecContent object in the returned revision is always
    null. Use GetApplicationRevision and the sha256 property": botocore's GetDeployment documentation)."""
    appspec = revision.get("appSpecContent")
    if not isinstance(appspec, dict) or "content" not in appspec:
        return revision
    return {**revision, "appSpecContent": {k: v for k, v in appspec.items() if k != "content"}}


def deployment_info(dep: Deployment) -> dict[str, Any]:
    snapshot = dep.group_snapshot
    info: dict[str, Any] = {
        "applicationName": dep.application_name,
        "deploymentGroupName": dep.group_name,
        "deploymentConfigName": dep.config_name,
        "deploymentId": dep.id,
        "revision": revision_shown(dep.revision),
        "status": dep.status.value,
        "createTime": dep.create_time,
        "creator": dep.creator,
        **defaults.DEPLOYMENT_REQUEST_DEFAULTS,
        **dep.request_options,
        "instanceTerminationWaitTimeStarted": dep.termination_wait_started,
        "deploymentOverview": _overview(dep),
        "deploymentStatusMessages": list(dep.status_messages),
        "computePlatform": dep.compute_platform,
        "deploymentStyle": snapshot.get("deploymentStyle") or defaults.DEPLOYMENT_STYLE[dep.compute_platform],
    }
    if dep.description:
        info["description"] = dep.description
    for key, value in (
        ("startTime", dep.start_time),
        ("completeTime", dep.complete_time),
        ("errorInformation", dep.error_information),
        ("rollbackInfo", dep.rollback_info),
        ("autoRollbackConfiguration", dep.auto_rollback),
        ("blueGreenDeploymentConfiguration", snapshot.get("blueGreenDeploymentConfiguration")),
        ("loadBalancerInfo", snapshot.get("loadBalancerInfo")),
        ("overrideAlarmConfiguration", dep.override_alarms),
    ):
        if value is not None:
            info[key] = value
    return info


def _events(target: Target) -> list[dict[str, Any]]:
    out = []
    for event in target.lifecycle_events:
        item: dict[str, Any] = {"lifecycleEventName": event.name, "status": event.status.value}
        if event.start_time is not None:
            item["startTime"] = event.start_time
        if event.end_time is not None:
            item["endTime"] = event.end_time
        if event.diagnostics:
            item["diagnostics"] = event.diagnostics
        out.append(item)
    return out


def deployment_target(dep: Deployment) -> dict[str, Any]:
    """DeploymentTarget for the deployment's one target."""
    target = dep.target
    assert target is not None
    body: dict[str, Any] = {
        "deploymentId": dep.id,
        "targetId": target.target_id,
        "targetArn": target.target_arn,
        "lastUpdatedAt": target.last_updated,
        "lifecycleEvents": _events(target),
        "status": TARGET_STATUS_FOR[dep.status].value,
    }
    if target.kind == "ECSTarget":
        body["taskSetsInfo"] = [dict(info) for info in target.task_sets]
        return {"deploymentTargetType": "ECSTarget", "ecsTarget": body}
    body["lambdaFunctionInfo"] = dict(target.lambda_info or {})
    return {"deploymentTargetType": "LambdaTarget", "lambdaTarget": body}


def is_active(dep: Deployment) -> bool:
    return dep.status not in (DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED, DeploymentStatus.STOPPED)

"""Operations on applications, deployment groups, deployment configs and tags.

Each operation takes the ApiContext and the request's parameters (already checked against botocore's
input shape) and returns the response body; domain errors are ApiError with CodeDeploy's names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.clock import VirtualClock
from sandbox.codedeploy import configs, defaults, paging, render
from sandbox.codedeploy.appspec import AppSpec
from sandbox.codedeploy.errors import ApiError, not_found
from sandbox.codedeploy.model import Application, Deployment, DeploymentConfig, DeploymentGroup, Store, arn

Params = dict[str, Any]


@dataclass
class ApiContext:
    store: Store
    clock: VirtualClock
    region: str
    launch: Callable[[Deployment, AppSpec], None]


# --- applications ------------------------------------------------------------------------------------


def get_app(ctx: ApiContext, name: str | None) -> Application:
    if not name:
        raise ApiError(
            "ApplicationNameRequiredException",
            "The minimum number of required application names was not specified.",
        )
    app = ctx.store.applications.get(name)
    if app is None:
        raise not_found("ApplicationDoesNotExistException", f"The application {name}")
    return app


def _add_tags(ctx: ApiContext, resource_arn: str, tags: list[dict[str, str]] | None) -> None:
    if tags:
        ctx.store.tags.setdefault(resource_arn, {}).update({t["Key"]: t.get("Value", "") for t in tags})


def create_application(ctx: ApiContext, p: Params) -> Params:
    name = p["applicationName"]
    if name in ctx.store.applications:
        raise ApiError(
            "ApplicationAlreadyExistsException",
            f"The application {name} already exists with the user or AWS account.",
        )
    app = Application(name, p.get("computePlatform", "Server"), ctx.clock.now())
    ctx.store.applications[name] = app
    _add_tags(ctx, arn(ctx.region, f"application:{name}"), p.get("tags"))
    return {"applicationId": app.id}


def get_application(ctx: ApiContext, p: Params) -> Params:
    return {"application": render.application_info(get_app(ctx, p["applicationName"]))}


def batch_get_applications(ctx: ApiContext, p: Params) -> Params:
    names = p["applicationNames"]
    if len(names) > 100:
        raise ApiError(
            "BatchLimitExceededException",
            "The maximum number of names or IDs allowed for this request (100) was exceeded.",
        )
    return {"applicationsInfo": [render.application_info(get_app(ctx, n)) for n in names]}


def paged(member: str, keyed: list[tuple[paging.SortKey, str]], p: Params, scope: Params) -> Params:
    """``{member: page}`` plus nextToken when more pages follow (sandbox/codedeploy/paging.py)."""
    items, token = paging.page(keyed, p.get("nextToken"), scope)
    body: Params = {member: items}
    if token is not None:
        body["nextToken"] = token
    return body


def list_applications(ctx: ApiContext, p: Params) -> Params:
    return paged("applications", paging.by_name(list(ctx.store.applications)), p, {"op": "ListApplications"})


def update_application(ctx: ApiContext, p: Params) -> Params:
    app = get_app(ctx, p.get("applicationName"))
    new = p.get("newApplicationName")
    if new and new != app.name:
        if new in ctx.store.applications:
            raise ApiError(
                "ApplicationAlreadyExistsException",
                f"The application {new} already exists with the user or AWS account.",
            )
        del ctx.store.applications[app.name]
        old, app.name = app.name, new
        ctx.store.applications[new] = app
        for key in [k for k in ctx.store.groups if k[0] == old]:
            group = ctx.store.groups.pop(key)
            group.application_name = new
            ctx.store.groups[(new, group.name)] = group
    return {}


def delete_application(ctx: ApiContext, p: Params) -> Params:
    name = p["applicationName"]
    ctx.store.applications.pop(name, None)
    for key in [k for k in ctx.store.groups if k[0] == name]:
        del ctx.store.groups[key]
    return {}


# --- deployment groups -------------------------------------------------------------------------------


def get_group(ctx: ApiContext, app_name: str | None, name: str | None) -> DeploymentGroup:
    app = get_app(ctx, app_name)
    if not name:
        raise ApiError("DeploymentGroupNameRequiredException", "The deployment group name was not specified.")
    group = ctx.store.groups.get((app.name, name))
    if group is None:
        raise not_found("DeploymentGroupDoesNotExistException", f"The deployment group {name}")
    return group


def get_config(ctx: ApiContext, name: str, platform: str | None = None) -> DeploymentConfig:
    config = ctx.store.configs.get(name)
    if config is None:
        raise not_found("DeploymentConfigDoesNotExistException", f"The deployment config {name}")
    if platform is not None and config.compute_platform != platform:
        raise ApiError(
            "InvalidComputePlatformException",
            f"The deployment config {name} is for {config.compute_platform}, not {platform}.",
        )
    return config


def _check_group_spec(ctx: ApiContext, platform: str, spec: Params) -> Params:
    """CodeDeploy's checks of a deployment group for its platform; returns the spec with defaults."""
    spec = defaults.group_spec(platform, spec)
    get_config(ctx, spec["deploymentConfigName"], platform)
    alarms = spec.get("alarmConfiguration")
    if alarms is not None:
        if len(alarms.get("alarms") or []) > 10:
            raise ApiError(
                "AlarmsLimitExceededException",
                "The maximum number of alarms for a deployment group (10) was exceeded.",
            )
        if alarms.get("enabled") and not alarms.get("alarms"):
            raise ApiError(
                "InvalidAlarmConfigException", "The alarm configuration is enabled but lists no alarms."
            )
    rollback = spec.get("autoRollbackConfiguration")
    if rollback is not None and rollback.get("enabled") and not rollback.get("events"):
        raise ApiError(
            "InvalidAutoRollbackConfigException", "Automatic rollback is enabled but no events are specified."
        )
    if platform == "Server":
        return spec
    if spec["deploymentStyle"] != defaults.BLUE_GREEN:
        raise ApiError(
            "InvalidDeploymentStyleException",
            f"A {platform} deployment group must be BLUE_GREEN WITH_TRAFFIC_CONTROL.",
        )
    if platform != "ECS":
        return spec
    services = spec.get("ecsServices") or []
    if not services:
        raise ApiError(
            "InvalidECSServiceException", "An ECS deployment group needs an ECS service (ecsServices)."
        )
    if not services[0].get("serviceName") or not services[0].get("clusterName"):
        raise ApiError("InvalidECSServiceException", "The ECS service needs serviceName and clusterName.")
    if len(services) > 1:
        raise ApiError(
            "ECSServiceMappingLimitExceededException", "A deployment group can map one ECS service."
        )
    pairs = (spec.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or []
    groups = (pairs[0].get("targetGroups") or []) if len(pairs) == 1 else []
    if len(groups) != 2 or not all(g.get("name") for g in groups) or groups[0]["name"] == groups[1]["name"]:
        raise ApiError(
            "InvalidTargetGroupPairException",
            "An ECS deployment group needs one target group pair with two target groups.",
        )
    if len((pairs[0].get("prodTrafficRoute") or {}).get("listenerArns") or []) != 1:
        raise ApiError(
            "InvalidTargetGroupPairException", "The target group pair needs one production listener."
        )
    if len((pairs[0].get("testTrafficRoute") or {}).get("listenerArns") or []) > 1:
        raise ApiError(
            "InvalidTargetGroupPairException", "The target group pair takes at most one test listener."
        )
    return spec


_GROUP_KEYS = set(render.GROUP_ECHOED)


def create_deployment_group(ctx: ApiContext, p: Params) -> Params:
    app = get_app(ctx, p["applicationName"])
    name = p["deploymentGroupName"]
    if (app.name, name) in ctx.store.groups:
        raise ApiError(
            "DeploymentGroupAlreadyExistsException",
            f"The deployment group {name} already exists with the user or AWS account.",
        )
    spec = _check_group_spec(ctx, app.compute_platform, {k: v for k, v in p.items() if k in _GROUP_KEYS})
    group = DeploymentGroup(app.name, name, app.compute_platform, spec)
    ctx.store.groups[(app.name, name)] = group
    _add_tags(ctx, arn(ctx.region, f"deploymentgroup:{app.name}/{name}"), p.get("tags"))
    return {"deploymentGroupId": group.id}


def get_deployment_group(ctx: ApiContext, p: Params) -> Params:
    return {
        "deploymentGroupInfo": render.group_info(
            get_group(ctx, p["applicationName"], p["deploymentGroupName"])
        )
    }


def batch_get_deployment_groups(ctx: ApiContext, p: Params) -> Params:
    app = get_app(ctx, p["applicationName"])
    infos, missing = [], []
    for name in p["deploymentGroupNames"]:
        group = ctx.store.groups.get((app.name, name))
        if group is None:
            missing.append(name)
        else:
            infos.append(render.group_info(group))
    # awscli example batch-get-deployment-groups.rst: errorMessage is "" when every group was found.
    message = f"Deployment groups not found: {', '.join(missing)}" if missing else ""
    return {"deploymentGroupsInfo": infos, "errorMessage": message}


def list_deployment_groups(ctx: ApiContext, p: Params) -> Params:
    app = get_app(ctx, p["applicationName"])
    names = [name for (app_name, name) in ctx.store.groups if app_name == app.name]
    scope = {"op": "ListDeploymentGroups", "applicationName": app.name}
    return {"applicationName": app.name, **paged("deploymentGroups", paging.by_name(names), p, scope)}


def update_deployment_group(ctx: ApiContext, p: Params) -> Params:
    group = get_group(ctx, p["applicationName"], p["currentDeploymentGroupName"])
    changes = {k: v for k, v in p.items() if k in _GROUP_KEYS}
    group.spec = _check_group_spec(ctx, group.compute_platform, {**group.spec, **changes})
    new = p.get("newDeploymentGroupName")
    if new and new != group.name:
        if (group.application_name, new) in ctx.store.groups:
            raise ApiError(
                "DeploymentGroupAlreadyExistsException", f"The deployment group {new} already exists."
            )
        del ctx.store.groups[(group.application_name, group.name)]
        group.name = new
        ctx.store.groups[(group.application_name, new)] = group
    return {"hooksNotCleanedUp": []}


def delete_deployment_group(ctx: ApiContext, p: Params) -> Params:
    group = get_group(ctx, p["applicationName"], p["deploymentGroupName"])
    del ctx.store.groups[(group.application_name, group.name)]
    return {"hooksNotCleanedUp": []}


# --- deployment configs ------------------------------------------------------------------------------


def create_deployment_config(ctx: ApiContext, p: Params) -> Params:
    name = p["deploymentConfigName"]
    if name.startswith(configs.RESERVED_PREFIX):
        raise ApiError(
            "InvalidDeploymentConfigNameException",
            f"The names starting with {configs.RESERVED_PREFIX} are reserved.",
        )
    if name in ctx.store.configs:
        raise ApiError(
            "DeploymentConfigAlreadyExistsException",
            f"The deployment config {name} already exists with the user or AWS account.",
        )
    platform = p.get("computePlatform", "Server")
    routing = configs.check_traffic_routing(p.get("trafficRoutingConfig"), platform)
    hosts = p.get("minimumHealthyHosts")
    if platform == "Server" and not hosts:
        raise ApiError(
            "InvalidMinimumHealthyHostValueException", "A Server deployment config needs minimumHealthyHosts."
        )
    config = DeploymentConfig(
        name, platform, ctx.clock.now(), traffic_routing=routing or None, minimum_healthy_hosts=hosts
    )
    ctx.store.configs[name] = config
    return {"deploymentConfigId": config.id}


def get_deployment_config(ctx: ApiContext, p: Params) -> Params:
    return {"deploymentConfigInfo": configs.render_config(get_config(ctx, p["deploymentConfigName"]))}


def list_deployment_configs(ctx: ApiContext, p: Params) -> Params:
    keyed = paging.by_name(list(ctx.store.configs))
    return paged("deploymentConfigsList", keyed, p, {"op": "ListDeploymentConfigs"})


def delete_deployment_config(ctx: ApiContext, p: Params) -> Params:
    config = get_config(ctx, p["deploymentConfigName"])
    if config.predefined:
        raise ApiError(
            "InvalidOperationException", f"The predefined deployment config {config.name} cannot be deleted."
        )
    if any(g.config_name == config.name for g in ctx.store.groups.values()):
        raise ApiError(
            "DeploymentConfigInUseException",
            f"The deployment config {config.name} is in use by a deployment group.",
        )
    del ctx.store.configs[config.name]
    return {}


# --- tags --------------------------------------------------------------------------------------------


def _resource(ctx: ApiContext, resource_arn: str) -> str:
    """Check that the ARN names an existing application, deployment group or config."""
    prefix = f"arn:aws:codedeploy:{ctx.region}:"
    parts = resource_arn.split(":", 6)
    if not resource_arn.startswith(prefix) or len(parts) < 7:
        raise ApiError(
            "InvalidArnException", f"The ARN {resource_arn} is not a CodeDeploy ARN of this region."
        )
    kind, name = parts[5], parts[6]
    if kind == "application":
        get_app(ctx, name)
    elif kind == "deploymentgroup" and "/" in name:
        get_group(ctx, *name.split("/", 1))
    elif kind == "deploymentconfig":
        get_config(ctx, name)
    else:
        raise ApiError("ArnNotSupportedException", f"Tags are not supported for {resource_arn}.")
    return resource_arn


def tag_resource(ctx: ApiContext, p: Params) -> Params:
    _add_tags(ctx, _resource(ctx, p["ResourceArn"]), p["Tags"])
    return {}


def untag_resource(ctx: ApiContext, p: Params) -> Params:
    tags = ctx.store.tags.get(_resource(ctx, p["ResourceArn"]), {})
    for key in p["TagKeys"]:
        tags.pop(key, None)
    return {}


def list_tags_for_resource(ctx: ApiContext, p: Params) -> Params:
    tags = ctx.store.tags.get(_resource(ctx, p["ResourceArn"]), {})
    return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}


OPERATIONS: dict[str, Callable[[ApiContext, Params], Params]] = {
    "CreateApplication": create_application,
    "GetApplication": get_application,
    "BatchGetApplications": batch_get_applications,
    "ListApplications": list_applications,
    "UpdateApplication": update_application,
    "DeleteApplication": delete_application,
    "CreateDeploymentGroup": create_deployment_group,
    "GetDeploymentGroup": get_deployment_group,
    "BatchGetDeploymentGroups": batch_get_deployment_groups,
    "ListDeploymentGroups": list_deployment_groups,
    "UpdateDeploymentGroup": update_deployment_group,
    "DeleteDeploymentGroup": delete_deployment_group,
    "CreateDeploymentConfig": create_deployment_config,
    "GetDeploymentConfig": get_deployment_config,
    "ListDeploymentConfigs": list_deployment_configs,
    "DeleteDeploymentConfig": delete_deployment_config,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}

"""The service-deployment operations the emulator serves, and what it adds to moto's CreateService,
UpdateService and DescribeServices for native services. Callers hold ``Store.lock`` only where noted.

Errors are ECS's (botocore's ECS model lists each operation's): InvalidParameterException,
ServiceNotFoundException, ClusterNotFoundException, ServiceDeploymentNotFoundException and
ConflictException (StopServiceDeployment on a deployment that is no longer running).
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.clock import VirtualClock
from sandbox.codedeploy import paging
from sandbox.codedeploy.errors import ApiError
from sandbox.ecs_native import checks
from sandbox.ecs_native.model import NativeService, Revision, ServiceDeployment, Store, new_id
from sandbox.ecs_native.vocabulary import (
    NATIVE_STRATEGIES,
    ControllerType,
    HookAction,
    HookStatus,
    Status,
    StopType,
)

Params = dict[str, Any]
# ListServiceDeployments' maxResults: "between 1 and 100. If this parameter isn't used, then
# ListServiceDeployments returns up to 20 results" (botocore's ECS model documentation).
DEFAULT_PAGE = 20
MAX_PAGE = 100
# DescribeServiceDeployments / DescribeServiceRevisions: "You can specify a maximum of 20 ARNs."
MAX_DESCRIBE = 20


def invalid(message: str) -> ApiError:
    return ApiError("InvalidParameterException", message)


def deployment_not_found(arn: str) -> ApiError:
    return ApiError("ServiceDeploymentNotFoundException", f"The service deployment {arn} does not exist.")


Launch = Callable[[NativeService, ServiceDeployment, "ServiceDeployment | None"], None]


@dataclass
class ApiContext:
    store: Store
    clock: VirtualClock
    launch: Launch  # starts a deployment's worker (the replaced one, if any, is passed along)
    moto_ecs: Callable[[str], Any]  # region -> boto3 ECS client on moto
    tasks: Any = None  # sandbox.ecs_native.tasks.TaskBook: native services' tasks (ListTasks, DescribeTasks)
    images: dict[str, list[Params]] = field(default_factory=dict)  # task definition ARN -> containerImages


# --- helpers -----------------------------------------------------------------------------------------


def service_key(cluster: str | None, service: str) -> tuple[str, str]:
    """(cluster name, service name) from names or ARNs (a service ARN may carry its cluster)."""
    cluster_name = (cluster or "default").split("/")[-1]
    parts = service.split(":")[-1].split("/")
    if len(parts) == 3:  # service/<cluster>/<name>
        cluster_name = cluster_name if cluster else parts[1]
    return cluster_name, parts[-1]


def _revision_arn(service_arn: str, revision_id: str) -> str:
    prefix, _, path = service_arn.partition(":service/")
    return f"{prefix}:service-revision/{path}/{revision_id}"


def _deployment_arn(service_arn: str) -> str:
    prefix, _, path = service_arn.partition(":service/")
    return f"{prefix}:service-deployment/{path}/{new_id()}"


def _task_set_arn(service_arn: str, task_set_id: str) -> str:
    prefix, _, path = service_arn.partition(":service/")
    return f"{prefix}:task-set/{path}/{task_set_id}"


def new_revision(
    service: NativeService, task_definition: str, target_group: str, count: int, now: float
) -> Revision:
    revision_id = str(secrets.randbelow(10**19))
    task_set_id = f"ecs-svc/{secrets.randbelow(10**19)}"
    return Revision(
        arn=_revision_arn(service.arn, revision_id),
        id=task_set_id,
        task_definition=task_definition,
        target_group_arn=target_group,
        desired_count=count,
        created_at=now,
        task_set_arn=_task_set_arn(service.arn, task_set_id),
    )


def is_native(controller: str | None, config: Params | None) -> bool:
    return (controller or ControllerType.ECS) == ControllerType.ECS and (config or {}).get(
        "strategy"
    ) in NATIVE_STRATEGIES


def _check_native(config: Params, load_balancers: list[Params]) -> None:
    problems = checks.native_problems(config, load_balancers)
    if problems:
        raise invalid(" ".join(problems[:3]))


# --- CreateService -----------------------------------------------------------------------------------


def before_create_service(ctx: ApiContext, params: Params) -> bool:
    """True when the service will be native; its configuration checked before moto sees it."""
    controller = (params.get("deploymentController") or {}).get("type")
    config = params.get("deploymentConfiguration")
    if not is_native(controller, config):
        return False
    _check_native(config or {}, params.get("loadBalancers") or [])
    return True


def after_create_service(ctx: ApiContext, params: Params, answer: Params) -> Params:
    """Record the native service, its first revision and the deployment that created it."""
    body = answer.get("service") or {}
    load_balancers = copy.deepcopy(params.get("loadBalancers") or [])
    with ctx.store.lock:
        now = ctx.clock.now()
        service = NativeService(
            cluster_name=body["clusterArn"].split("/")[-1],
            cluster_arn=body["clusterArn"],
            name=body["serviceName"],
            arn=body["serviceArn"],
            config=copy.deepcopy(params.get("deploymentConfiguration") or {}),
            load_balancers=load_balancers,
        )
        first = new_revision(
            service,
            body.get("taskDefinition", ""),
            load_balancers[0]["targetGroupArn"],
            int(body.get("desiredCount", 0)),
            now,
        )
        service.revisions.append(first)
        service.production = first
        service.deployments.append(_created(service, first, now))
        ctx.store.services[(service.cluster_name, service.name)] = service
        answer["service"] = overlay_service(service, body)
    return answer


def _created(service: NativeService, first: Revision, now: float) -> ServiceDeployment:
    """CreateService's own service deployment: the first revision, nothing to shift, SUCCESSFUL."""
    deployment = ServiceDeployment(
        arn=_deployment_arn(service.arn),
        cluster_arn=service.cluster_arn,
        service_arn=service.arn,
        created_at=now,
        config=copy.deepcopy(service.config),
        target=first,
        sources=[],
        status=Status.SUCCESSFUL,
        status_reason="Service deployment completed successfully.",
        started_at=now,
        finished_at=now,
        updated_at=now,
        test_weight=100.0,
        production_weight=100.0,
    )
    return deployment


# --- UpdateService -----------------------------------------------------------------------------------


@dataclass
class UpdatePlan:
    """What an UpdateService does to native state once moto accepted it."""

    key: tuple[str, str]
    native: bool
    migrating: bool = False
    task_sets: tuple[str, ...] = ()  # moto's task sets a migration replaces by a revision


def before_update_service(ctx: ApiContext, params: Params, region: str) -> UpdatePlan:
    key = service_key(params.get("cluster"), params["service"])
    controller = (params.get("deploymentController") or {}).get("type")
    with ctx.store.lock:
        existing = ctx.store.services.get(key)
        config = params.get("deploymentConfiguration", existing.config if existing else None)
        load_balancers = params.get("loadBalancers", existing.load_balancers if existing else [])
    if existing is not None:
        if not is_native(controller or ControllerType.ECS, config):
            return UpdatePlan(key, native=False)  # leaving native strategies: moto's from now on
        _check_native(config or {}, load_balancers or [])
        return UpdatePlan(key, native=True)
    if controller is None or not is_native(controller, config):
        return UpdatePlan(key, native=False)
    _check_native(config or {}, load_balancers or [])
    return _migration(ctx, params, key, region)


def _migration(ctx: ApiContext, params: Params, key: tuple[str, str], region: str) -> UpdatePlan:
    """CODE_DEPLOY (or ROLLING) -> a native strategy: accepted when nothing is in flight.

    AWS: "Confirm that the service has no ongoing service deployment" ("Migrating from a CodeDeploy
    blue/green to an Amazon ECS blue/green service deployment"). A CodeDeploy deployment in flight
    shows as a second task set; AWS documents no error code for this refusal, so it is
    InvalidParameterException, ECS's code for a request its current state does not allow here."""
    found = ctx.moto_ecs(region).describe_services(cluster=key[0], services=[key[1]]).get("services") or []
    task_sets = found[0].get("taskSets") or [] if found else []
    if len(task_sets) > 1:
        raise invalid(
            f"The service {key[1]} has a deployment in progress ({len(task_sets)} task sets); "
            "wait for it to end before changing its deployment controller."
        )
    return UpdatePlan(key, native=True, migrating=True, task_sets=tuple(t["taskSetArn"] for t in task_sets))


def after_update_service(
    ctx: ApiContext, params: Params, answer: Params, plan: UpdatePlan, task_definition_arn: str | None
) -> Params:
    body = answer.get("service") or {}
    with ctx.store.lock:
        if not plan.native:
            ctx.store.services.pop(plan.key, None)
            return answer
        service = ctx.store.services.get(plan.key)
        if service is None:
            service = _adopt(ctx, params, body, plan)
        if "deploymentConfiguration" in params:
            service.config = copy.deepcopy(params["deploymentConfiguration"])
        if "loadBalancers" in params:
            service.load_balancers = copy.deepcopy(params["loadBalancers"])
        if "desiredCount" in params:
            for revision in service.live_revisions():
                revision.desired_count = int(params["desiredCount"])
        production = service.production
        assert production is not None
        definition = task_definition_arn or production.task_definition
        if definition != production.task_definition or params.get("forceNewDeployment"):
            _start_deployment(ctx, service, definition, int(body.get("desiredCount", 0)))
        answer["service"] = overlay_service(service, body)
    return answer


def _adopt(ctx: ApiContext, params: Params, body: Params, plan: UpdatePlan) -> NativeService:
    """A migrated service: its task set becomes its first revision (same id and ARN, so the fleet
    keeps its tasks), on the target group it serves."""
    load_balancers = copy.deepcopy(params.get("loadBalancers") or body.get("loadBalancers") or [])
    service = NativeService(
        cluster_name=plan.key[0],
        cluster_arn=body["clusterArn"],
        name=body["serviceName"],
        arn=body["serviceArn"],
        config={},
        load_balancers=load_balancers,
    )
    now = ctx.clock.now()
    moto_task_sets = body.get("taskSets") or []
    first = new_revision(
        service,
        body.get("taskDefinition", ""),
        load_balancers[0]["targetGroupArn"],
        int(body.get("desiredCount", 0)),
        now,
    )
    if moto_task_sets:
        task_set = moto_task_sets[0]
        first.id, first.task_set_arn = task_set["id"], task_set["taskSetArn"]
        first.task_definition = task_set.get("taskDefinition", first.task_definition)
        groups = [
            lb.get("targetGroupArn") for lb in task_set.get("loadBalancers") or [] if lb.get("targetGroupArn")
        ]
        first.target_group_arn = groups[0] if groups else first.target_group_arn
    service.revisions.append(first)
    service.production = first
    ctx.store.services[plan.key] = service
    return service


def _start_deployment(ctx: ApiContext, service: NativeService, task_definition: str, count: int) -> None:
    """A new service deployment of ``task_definition``; one in flight is replaced (it ends STOPPED)."""
    production = service.production
    assert production is not None
    advanced = (
        (service.load_balancers[0].get("advancedConfiguration") or {}) if service.load_balancers else {}
    )
    pair = (service.load_balancers[0]["targetGroupArn"], advanced.get("alternateTargetGroupArn", ""))
    target_tg = pair[1] if production.target_group_arn == pair[0] else pair[0]
    now = ctx.clock.now()
    target = new_revision(service, task_definition, target_tg, count or production.desired_count, now)
    target.live = False
    service.revisions.append(target)
    replaced = service.in_flight()
    deployment = ServiceDeployment(
        arn=_deployment_arn(service.arn),
        cluster_arn=service.cluster_arn,
        service_arn=service.arn,
        created_at=now,
        config=copy.deepcopy(service.config),
        target=target,
        sources=[production],
        source_tg=production.target_group_arn,
        target_tg=target_tg,
        test_rule=advanced.get("testListenerRule"),
        production_rule=advanced.get("productionListenerRule"),
        updated_at=now,
    )
    if replaced is not None:
        replaced.replaced_by = deployment.arn
        replaced.wake.set()
    service.deployments.append(deployment)
    ctx.launch(service, deployment, replaced)


# --- DescribeServices --------------------------------------------------------------------------------


def overlay_services(ctx: ApiContext, answer: Params) -> Params:
    with ctx.store.lock:
        services = []
        for body in answer.get("services") or []:
            key = (body.get("clusterArn", "").split("/")[-1], body.get("serviceName", ""))
            native = ctx.store.services.get(key)
            services.append(
                overlay_service(native, body)
                if native is not None and body.get("serviceArn") == native.arn
                else body
            )
        answer["services"] = services
    return answer


def overlay_service(service: NativeService, body: Params) -> Params:
    """moto's Service with what it drops or cannot know (store lock held)."""
    out = dict(body)
    out["deploymentController"] = {"type": ControllerType.ECS.value}
    out["deploymentConfiguration"] = copy.deepcopy(service.config)
    out["loadBalancers"] = copy.deepcopy(service.load_balancers)
    out["taskSets"] = []  # the ECS controller runs service revisions, not task sets
    out["events"] = service.rendered_events()
    live = service.live_revisions()
    out["runningCount"] = sum(r.desired_count for r in live)
    out["pendingCount"] = 0
    latest = service.deployments[-1] if service.deployments else None
    if latest is not None:
        out["currentServiceDeployment"] = latest.arn
    out["currentServiceRevisions"] = [_current(r) for r in live]
    out["deployments"] = [_rolling_view(service, r) for r in live]
    return out


def _current(revision: Revision) -> Params:
    """A live revision as DescribeServices' currentServiceRevisions[] (ServiceCurrentRevisionSummary)."""
    summary = revision.summary(0.0, 0.0)
    return {k: summary[k] for k in ("arn", "requestedTaskCount", "runningTaskCount", "pendingTaskCount")}


def _rolling_view(service: NativeService, revision: Revision) -> Params:
    """A live revision as DescribeServices' deployments[] entry."""
    primary = revision is service.production
    return {
        "id": revision.id,
        "status": "PRIMARY" if primary else "ACTIVE",
        "taskDefinition": revision.task_definition,
        "desiredCount": revision.desired_count,
        "pendingCount": 0,
        "runningCount": revision.desired_count,
        "failedTasks": 0,
        "createdAt": revision.created_at,
        "updatedAt": revision.created_at,
        "rolloutState": "COMPLETED" if primary else "IN_PROGRESS",
    }


# --- the service-deployment operations -------------------------------------------------------------


def list_service_deployments(ctx: ApiContext, params: Params, region: str) -> Params:
    key = service_key(params.get("cluster"), params["service"])
    _require_service(ctx, key, region)
    limit = params.get("maxResults", DEFAULT_PAGE)
    if not 1 <= limit <= MAX_PAGE:
        raise invalid(f"maxResults must be between 1 and {MAX_PAGE}.")
    statuses = set(params.get("status") or [])
    window = params.get("createdAt") or {}
    with ctx.store.lock:
        service = ctx.store.services.get(key)
        chosen = [
            d
            for d in (service.deployments if service else [])
            if (not statuses or d.status.value in statuses)
            and ("before" not in window or d.created_at < window["before"])
            and ("after" not in window or d.created_at > window["after"])
        ]
        # newest first: the order ECS's console and the CLI's examples show
        keyed = sorted(((-d.created_at, d.arn), d.arn) for d in chosen)
        scope = {
            "op": "ListServiceDeployments",
            "key": list(key),
            "status": sorted(statuses),
            "createdAt": window,
        }
        try:
            arns, token = paging.page(keyed, params.get("nextToken"), scope, size=limit)
        except ApiError:
            raise invalid("The nextToken is not valid for this request.") from None
        found = {d.arn: d for d in chosen}
        answer: Params = {"serviceDeployments": [found[arn].brief() for arn in arns]}
    if token:
        answer["nextToken"] = token
    return answer


def _require_service(ctx: ApiContext, key: tuple[str, str], region: str) -> None:
    with ctx.store.lock:
        if key in ctx.store.services:
            return
    ecs = ctx.moto_ecs(region)
    try:
        found = ecs.describe_services(cluster=key[0], services=[key[1]]).get("services") or []
    except ecs.exceptions.ClusterNotFoundException:
        raise ApiError("ClusterNotFoundException", f"Cluster {key[0]} not found.") from None
    if not [s for s in found if s.get("status") == "ACTIVE"]:
        raise ApiError("ServiceNotFoundException", f"Service {key[1]} not found in cluster {key[0]}.")


def describe_service_deployments(ctx: ApiContext, params: Params, region: str) -> Params:
    arns = params["serviceDeploymentArns"]
    if len(arns) > MAX_DESCRIBE:
        raise invalid(f"You can specify a maximum of {MAX_DESCRIBE} service deployment ARNs.")
    found, failures = [], []
    with ctx.store.lock:
        for arn in arns:
            hit = ctx.store.deployment(arn)
            if hit is None:
                failures.append({"arn": arn, "reason": "MISSING"})
            else:
                found.append(hit[1].render())
    return {"serviceDeployments": found, "failures": failures}


def describe_service_revisions(ctx: ApiContext, params: Params, region: str) -> Params:
    arns = params["serviceRevisionArns"]
    if len(arns) > MAX_DESCRIBE:
        raise invalid(f"You can specify a maximum of {MAX_DESCRIBE} service revision ARNs.")
    found, failures = [], []
    with ctx.store.lock:
        for arn in arns:
            hit = ctx.store.revision(arn)
            if hit is None:
                failures.append({"arn": arn, "reason": "MISSING"})
                continue
            service, revision = hit
            # loadBalancers is the service's configuration as the revision was made (the primary
            # target group as configured); where this revision's tasks actually serve is
            # resolvedConfiguration.loadBalancers (botocore's ResolvedConfiguration: "which target
            # groups serve traffic and which listener rules direct traffic to them"): the groups
            # alternate from one deployment to the next, so only the resolved one names green.
            configured = copy.deepcopy(service.load_balancers)
            resolved: Params = {"targetGroupArn": revision.target_group_arn}
            rule = ((configured[0].get("advancedConfiguration") or {}) if configured else {}).get(
                "productionListenerRule"
            )
            if rule:
                resolved["productionListenerRule"] = rule
            found.append(
                {
                    "serviceRevisionArn": revision.arn,
                    "serviceArn": service.arn,
                    "clusterArn": service.cluster_arn,
                    "taskDefinition": revision.task_definition,
                    "loadBalancers": configured,
                    "resolvedConfiguration": {"loadBalancers": [resolved]},
                    "createdAt": revision.created_at,
                }
            )
    for body in found:  # moto's answers, outside the lock
        images = _container_images(ctx, region, str(body["taskDefinition"]))
        if images:
            body["containerImages"] = images
    return {"serviceRevisions": found, "failures": failures}


def _container_images(ctx: ApiContext, region: str, task_definition: str) -> list[Params]:
    """ServiceRevision.containerImages ("The container images the service revision uses"): each
    container's name and image, from the task definition (no imageDigest: moto resolves none)."""
    if task_definition not in ctx.images:
        try:
            found = ctx.moto_ecs(region).describe_task_definition(taskDefinition=task_definition)
        except Exception:  # moto busy or the revision gone: the answer goes without images
            return []
        containers = found["taskDefinition"].get("containerDefinitions") or []
        ctx.images[task_definition] = [
            {"containerName": str(c["name"]), "image": str(c["image"])} for c in containers if c.get("image")
        ]
    return [dict(image) for image in ctx.images[task_definition]]


def stop_service_deployment(ctx: ApiContext, params: Params, region: str) -> Params:
    arn = params["serviceDeploymentArn"]
    stop_type = params.get("stopType", StopType.ROLLBACK)
    if stop_type != StopType.ROLLBACK:
        # "stopType ... The valid values are ROLLBACK." (botocore's StopServiceDeployment documentation)
        raise invalid(f"stopType {stop_type} is not supported: the valid value is ROLLBACK.")
    with ctx.store.lock:
        hit = ctx.store.deployment(arn)
        if hit is None:
            raise deployment_not_found(arn)
        deployment = hit[1]
        # AWS, "Stopping Amazon ECS service deployments": from PENDING or IN_PROGRESS "the service
        # deployment moves to the ROLLBACK_REQUESTED state, and then the rollback operation starts";
        # in STOP_REQUESTED, ROLLBACK_REQUESTED or ROLLBACK_IN_PROGRESS it continues (the stop is
        # accepted, nothing changes); a completed one cannot be stopped.
        if deployment.status in _STOPPING:
            return {"serviceDeploymentArn": arn}
        if deployment.status not in (Status.PENDING, Status.IN_PROGRESS):
            raise ApiError(
                "ConflictException",
                f"The service deployment {arn} is {deployment.status.value} and can no longer be stopped.",
            )
        deployment.stop_requested = True
        deployment.status = Status.ROLLBACK_REQUESTED
        deployment.updated_at = ctx.clock.now()
        deployment.wake.set()
    return {"serviceDeploymentArn": arn}


_STOPPING = frozenset({Status.STOP_REQUESTED, Status.ROLLBACK_REQUESTED, Status.ROLLBACK_IN_PROGRESS})


def continue_service_deployment(ctx: ApiContext, params: Params, region: str) -> Params:
    """CONTINUE or ROLLBACK a PAUSE hook AWAITING_ACTION. "The pause hook must be in AWAITING_ACTION
    status" and "The deployment must be in the IN_PROGRESS state" (AWS, "Continuing service
    deployments"); ContinueServiceDeployment's errors in the model have no ConflictException, so both
    refusals are InvalidParameterException."""
    arn, hook_id = params["serviceDeploymentArn"], params["hookId"]
    action = HookAction(params.get("action", HookAction.CONTINUE))
    with ctx.store.lock:
        hit = ctx.store.deployment(arn)
        if hit is None:
            raise deployment_not_found(arn)
        deployment = hit[1]
        hook = deployment.hook(hook_id)
        if hook is None:
            raise invalid(f"The lifecycle hook {hook_id} does not exist in service deployment {arn}.")
        if deployment.status is not Status.IN_PROGRESS or hook.status is not HookStatus.AWAITING_ACTION:
            raise invalid(
                f"The lifecycle hook {hook_id} is {hook.status.value} (service deployment "
                f"{deployment.status.value}); only a hook in AWAITING_ACTION can be continued."
            )
        hook.action = action
        deployment.wake.set()
    return {"serviceDeploymentArn": arn}


OPERATIONS: dict[str, Callable[[ApiContext, Params, str], Params]] = {
    "ListServiceDeployments": list_service_deployments,
    "DescribeServiceDeployments": describe_service_deployments,
    "DescribeServiceRevisions": describe_service_revisions,
    "StopServiceDeployment": stop_service_deployment,
    "ContinueServiceDeployment": continue_service_deployment,
}

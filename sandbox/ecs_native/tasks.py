"""The tasks of native services, as ECS's ListTasks and DescribeTasks show them.

moto launches no task for these services (the sandbox's fleet runs them as app servers on loopback),
so the fleet tells the book what it does (``tasks_started``, ``tasks_stopped``,
``failed_health_check``), and the ECS endpoint answers ListTasks / DescribeTasks for native services
from here, in botocore's Task shape. Each change also writes the service's events in ECS's wording
(``service_events``). A stopped task stays listed (ECS shows one "for one hour"; a sandbox world
lives minutes).

The book's lock is the store's (``Store.lock``): events go to the ``NativeService`` there.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.clock import VirtualClock
from sandbox.ecs_native import service_events as said
from sandbox.ecs_native.model import NativeService, Store

RUNNING = "RUNNING"
STOPPED = "STOPPED"
# One container per task definition is what the catalog's task definitions have; a task definition
# moto cannot describe still gets a task (its container named so).
UNKNOWN_CONTAINER = "app"

Describe = Callable[[str], dict[str, Any] | None]
"""task definition ARN -> DescribeTaskDefinition's taskDefinition (None: unknown)."""


@dataclass
class Task:
    """One task (botocore's Task shape when rendered)."""

    arn: str
    cluster_arn: str
    service: str
    task_definition: str
    started_by: str  # the revision's ecs-svc/ id, as ECS's service scheduler sets it
    address: str
    created_at: float
    containers: list[tuple[str, str | None]]  # (name, image)
    cpu: str | None = None
    memory: str | None = None
    last_status: str = RUNNING
    stopped_at: float | None = None
    stopped_reason: str | None = None
    stop_code: str | None = None
    version: int = 1

    def render(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "taskArn": self.arn,
            "clusterArn": self.cluster_arn,
            "taskDefinitionArn": self.task_definition,
            "group": f"service:{self.service}",
            "startedBy": self.started_by,
            "lastStatus": self.last_status,
            "desiredStatus": STOPPED if self.last_status == STOPPED else RUNNING,
            "launchType": "FARGATE",
            "platformVersion": "1.4.0",
            "platformFamily": "Linux",
            "connectivity": "CONNECTED",
            "connectivityAt": self.created_at,
            "createdAt": self.created_at,
            "pullStartedAt": self.created_at,
            "pullStoppedAt": self.created_at,
            "startedAt": self.created_at,
            "healthStatus": "UNKNOWN",
            "version": self.version,
            "containers": [self._container(name, image) for name, image in self.containers],
        }
        if self.cpu:
            body["cpu"] = self.cpu
        if self.memory:
            body["memory"] = self.memory
        if self.last_status == STOPPED:
            assert self.stopped_at is not None
            body.update(
                stoppingAt=self.stopped_at,
                executionStoppedAt=self.stopped_at,
                stoppedAt=self.stopped_at,
                stoppedReason=self.stopped_reason or "",
                stopCode=self.stop_code or said.SERVICE_SCHEDULER_INITIATED,
            )
        return body

    def _container(self, name: str, image: str | None) -> dict[str, Any]:
        container: dict[str, Any] = {
            "containerArn": f"{self.arn.replace(':task/', ':container/')}/{name}",
            "taskArn": self.arn,
            "name": name,
            "lastStatus": self.last_status,
            "networkInterfaces": [
                {"attachmentId": self.arn.rsplit("/", 1)[-1], "privateIpv4Address": self.address}
            ],
            "healthStatus": "UNKNOWN",
        }
        if image:
            container["image"] = image
        if self.last_status == STOPPED:
            container["exitCode"] = 137  # SIGKILL after the stop timeout, as a stopped task's container shows
        return container


@dataclass
class TaskBook:
    """Every task the fleet ran for a native service, by ARN."""

    store: Store
    clock: VirtualClock
    describe_task_definition: Describe
    tasks: dict[str, Task] = field(default_factory=dict)

    # --- what the fleet does ----------------------------------------------------------------------------

    def tasks_started(
        self,
        cluster: str,
        service: str,
        task_set: dict[str, Any],
        target_group: str | None,
        addresses: Sequence[str],
    ) -> list[str]:
        """The revision ``task_set`` (NativeEcs.task_sets' shape) started one task per address; their ARNs."""
        definition = str(task_set.get("taskDefinition") or "")
        containers, cpu, memory = self._definition(definition)
        with self.store.lock:
            native = self._service(cluster, service)
            if native is None:
                return []
            now = self.clock.now()
            arns = []
            for address in addresses:
                arn = f"{native.cluster_arn.replace(':cluster/', ':task/')}/{secrets.token_hex(16)}"
                self.tasks[arn] = Task(
                    arn,
                    native.cluster_arn,
                    native.name,
                    definition,
                    str(task_set.get("id") or ""),
                    address,
                    now,
                    containers,
                    cpu,
                    memory,
                )
                arns.append(arn)
            if arns:
                native.add_event(now, said.started(native.name, arns))
                if target_group:
                    native.add_event(now, said.registered(native.name, len(arns), target_group))
            return arns

    def tasks_stopped(
        self, task_arns: Sequence[str], target_group: str | None, reason: str | None = None
    ) -> None:
        """The fleet stopped these tasks (their revision left: CLEAN_UP, a rollback, a replacement);
        ``reason`` None: the scaling activity of the revision's own deployment (``ecs-svc/`` id)."""
        with self.store.lock:
            stopped = [
                self.tasks[arn]
                for arn in task_arns
                if arn in self.tasks and self.tasks[arn].last_status == RUNNING
            ]
            if not stopped:
                return
            now = self.clock.now()
            for task in stopped:
                self._stop(task, now, reason or said.scaling_activity(task.started_by))
            native = self._service_named(stopped[0].cluster_arn, stopped[0].service)
            if native is not None:
                if target_group:
                    native.add_event(now, said.deregistered(native.name, len(stopped), target_group))
                native.add_event(now, said.stopped(native.name, [task.arn for task in stopped]))

    def failed_health_check(self, task_arn: str, target_group: str, port: int, reason: str) -> str | None:
        """The load balancer found the task's target unhealthy: ECS stops the task ("Task failed ELB
        health checks") and its scheduler starts another in its place; the new task's ARN (the fleet
        keeps the same app server and target for it: no new registration, so the load balancer's
        verdicts and the hooks' settle step stay as they were). None: not a running task here."""
        with self.store.lock:
            task = self.tasks.get(task_arn)
            if task is None or task.last_status != RUNNING:
                return None
            native = self._service_named(task.cluster_arn, task.service)
            now = self.clock.now()
            if native is not None:
                native.add_event(now, said.unhealthy(native.name, task.arn, port, target_group, reason))
            self._stop(task, now, said.failed_elb_health_checks(target_group))
            new_arn = f"{task.cluster_arn.replace(':cluster/', ':task/')}/{secrets.token_hex(16)}"
            self.tasks[new_arn] = Task(
                new_arn,
                task.cluster_arn,
                task.service,
                task.task_definition,
                task.started_by,
                task.address,
                now,
                list(task.containers),
                task.cpu,
                task.memory,
            )
            if native is not None:
                native.add_event(now, said.stopped(native.name, [task.arn]))
                native.add_event(now, said.started(native.name, [new_arn]))
            return new_arn

    def _stop(self, task: Task, now: float, reason: str) -> None:
        task.last_status, task.stopped_at, task.stopped_reason = STOPPED, now, reason
        task.stop_code = said.SERVICE_SCHEDULER_INITIATED
        task.version += 1

    # --- what ListTasks and DescribeTasks read ---------------------------------------------------------

    def serves(self, cluster: str, service: str | None, started_by: str | None) -> bool:
        """Whether a ListTasks with these filters is about a native service's tasks."""
        with self.store.lock:
            if service is not None and self._service(cluster, service) is not None:
                return True
            return started_by is not None and any(t.started_by == started_by for t in self.tasks.values())

    def matching(
        self,
        cluster: str,
        service: str | None,
        desired_status: str,
        started_by: str | None = None,
        family: str | None = None,
    ) -> list[tuple[tuple[float, str], str]]:
        """(sort key, ARN) of the matching tasks, oldest first."""
        with self.store.lock:
            found = [
                task
                for task in self.tasks.values()
                if _cluster_name(task.cluster_arn) == _cluster_name(cluster)
                and (service is None or task.service == service.rsplit("/", 1)[-1])
                and (started_by is None or task.started_by == started_by)
                and (family is None or _family(task.task_definition) == family)
                and (STOPPED if task.last_status == STOPPED else RUNNING) == desired_status
            ]
            return sorted(((task.created_at, task.arn), task.arn) for task in found)

    def describe(self, task_ids: Sequence[str]) -> tuple[list[dict[str, Any]], list[str]]:
        """(rendered tasks, the ids or ARNs this book does not know)."""
        with self.store.lock:
            by_id = {task.arn.rsplit("/", 1)[-1]: task for task in self.tasks.values()}
            found, unknown = [], []
            for given in task_ids:
                task = self.tasks.get(given) or by_id.get(given.rsplit("/", 1)[-1])
                if task is None:
                    unknown.append(given)
                else:
                    found.append(task.render())
            return found, unknown

    # --- internals -----------------------------------------------------------------------------------

    def _service(self, cluster: str, service: str) -> NativeService | None:
        return self.store.services.get((_cluster_name(cluster), service.rsplit("/", 1)[-1]))

    def _service_named(self, cluster_arn: str, service: str) -> NativeService | None:
        return self._service(cluster_arn, service)

    def _definition(self, arn: str) -> tuple[list[tuple[str, str | None]], str | None, str | None]:
        try:
            found = self.describe_task_definition(arn) if arn else None
        except Exception:  # moto busy or the revision gone: the task still runs
            found = None
        if not found:
            return [(UNKNOWN_CONTAINER, None)], None, None
        containers = [(str(c.get("name")), c.get("image")) for c in found.get("containerDefinitions") or []]
        cpu, memory = found.get("cpu"), found.get("memory")
        return (
            containers or [(UNKNOWN_CONTAINER, None)],
            str(cpu) if cpu else None,
            str(memory) if memory else None,
        )


def _cluster_name(cluster: str) -> str:
    return (cluster or "default").rsplit("/", 1)[-1]


def _family(task_definition: str) -> str:
    return task_definition.rsplit("/", 1)[-1].split(":")[0]


# ListTasks' maxResults: "between 1 and 100. If this parameter isn't used, then ListTasks returns up to
# 100 results"; desiredStatus defaults to RUNNING (botocore's ECS model documentation).
LIST_PAGE = 100


def list_tasks(book: TaskBook, params: dict[str, Any]) -> dict[str, Any]:
    """ListTasks over the book (``params`` already checked against the input shape)."""
    from sandbox.codedeploy import paging
    from sandbox.codedeploy.errors import ApiError

    limit = params.get("maxResults", LIST_PAGE)
    if not 1 <= limit <= LIST_PAGE:
        raise ApiError("InvalidParameterException", f"maxResults must be between 1 and {LIST_PAGE}.")
    cluster = params.get("cluster") or "default"
    filters: dict[str, Any] = {
        "service": params.get("serviceName"),
        "desired_status": params.get("desiredStatus") or RUNNING,
        "started_by": params.get("startedBy"),
        "family": params.get("family"),
    }
    keyed = book.matching(_cluster_name(cluster), **filters)
    scope = {"op": "ListTasks", "cluster": _cluster_name(cluster), **filters}
    try:
        arns, token = paging.page(keyed, params.get("nextToken"), scope, size=limit)
    except ApiError:
        raise ApiError("InvalidParameterException", "The nextToken is not valid for this request.") from None
    answer: dict[str, Any] = {"taskArns": arns}
    if token:
        answer["nextToken"] = token
    return answer

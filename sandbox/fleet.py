"""The fake fleet: runs the tasks of every ECS task set moto knows, as ECS does.

A reconciler polls moto (every ``poll_interval`` real seconds): DescribeServices gives each
service's task sets (task definition, target group). For every task set it starts ``desired`` app
servers on loopback and registers them with the load balancer (``sandbox.load_balancer``) as
targets of the task set's target group (fake VPC addresses, as awsvpc tasks have); a task set that
disappears has its tasks deregistered and stopped. Task sets that exist when the fleet starts are
the original (blue) version; any task set created later is a replacement and gets the fault, if one
was injected. The fleet is the metrics source of what ECS publishes: CPUUtilization per service.

Services that Amazon ECS deploys itself (catalog ``engine: ecs``, or migrated since) have no task
sets in moto: their revisions come from the native ECS emulator (``native_task_sets``:
``NativeEcs.task_sets``, in DescribeServices' taskSets shape) and get the same treatment; the
revision listed at start is the original one.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sandbox.app import AppServer, TaskIdentity, base_latency_ms
from sandbox.clock import VirtualClock
from sandbox.faults import HEALTHY, Fault
from sandbox.http_server import stop_servers
from sandbox.load_balancer.balancer import LoadBalancer
from sandbox.load_balancer.target_health import HealthCheck, TargetState
from sandbox.metrics import GAUGE_INTERVAL, MetricStore
from sandbox.moto_writes import Writes, WriteWatch
from sandbox.provision import ServiceInfra

# (cluster, service) -> the native revisions that must run now, as DescribeServices' taskSets.
NativeTaskSets = Callable[[str, str], list[dict[str, Any]]]


class NativeTasks(Protocol):
    """Where native services' tasks are recorded (``sandbox.ecs_native.tasks.TaskBook``): ListTasks
    and DescribeTasks read them, the service's events say what happened to them."""

    def tasks_started(
        self,
        cluster: str,
        service: str,
        task_set: dict[str, Any],
        target_group: str | None,
        addresses: Sequence[str],
    ) -> list[str]: ...

    def tasks_stopped(
        self, task_arns: Sequence[str], target_group: str | None, reason: str | None = None
    ) -> None: ...

    def failed_health_check(self, task_arn: str, target_group: str, port: int, reason: str) -> str | None: ...


ECS_NAMESPACE = "AWS/ECS"
# Real seconds a removed task set's tasks may take to finish the requests they are answering (an
# ALB's deregistration delay, 300 s by default, shortened: a healthy request takes 20-60 ms, and a
# latency fault's must not hold the reconciler, which a hook's settle step waits for).
DRAIN_SECONDS = 1.0
# CPUUtilization follows load: a task idles at CPU_IDLE % of its reserved CPU, and half of each
# request's service time (injected latency included: a slow code path burns CPU) is on the CPU.
CPU_IDLE = 2.0
ON_CPU = 0.5


def cpu_utilization(busy_ms: float, seconds: float, cpu_units: int) -> float:
    """A task's CPUUtilization (% of its reserved CPU, as ECS reports it) when it served requests
    totalling ``busy_ms`` virtual ms over ``seconds`` virtual seconds; at most 100."""
    if seconds <= 0 or cpu_units <= 0:
        return CPU_IDLE
    on_cpu_seconds = busy_ms / 1000.0 * ON_CPU
    reserved_vcpu = cpu_units / 1024.0
    return min(100.0, CPU_IDLE + 100.0 * on_cpu_seconds / seconds / reserved_vcpu)


def task_set_id(task_set_arn: str) -> str:
    """The short id of a task set (``ecs-svc/123...``), as GetDeploymentTarget shows it."""
    return "/".join(task_set_arn.split("/")[-2:])


@dataclass
class TaskSetRun:
    """A task set the fleet runs: its tasks, target group and whether it is the replacement."""

    service: str
    task_set_arn: str
    target_group_arn: str | None
    version: str
    replacement: bool
    fault: Fault
    tasks: list[AppServer] = field(default_factory=list)
    target_ids: list[str] = field(default_factory=list)
    stopped: bool = False
    native: bool = False  # a revision of a service Amazon ECS deploys itself (its tasks in NativeTasks)
    port: int = 0
    task_arns: list[str] = field(default_factory=list)  # NativeTasks' ARNs, one per task (native only)
    health_stop_after: list[float] = field(default_factory=list)  # virtual s: next ELB verdict per task

    @property
    def id(self) -> str:
        return task_set_id(self.task_set_arn)


def _version(task_definition_arn: str) -> str:
    return task_definition_arn.rsplit("/", 1)[-1]  # family:revision


class Fleet:
    """Reconciles app servers with moto's task sets; registers them with the load balancer."""

    def __init__(
        self,
        infra: list[ServiceInfra],
        ecs: Any,
        balancer: LoadBalancer,
        clock: VirtualClock,
        store: MetricStore,
        faults: dict[str, Fault] | None = None,
        poll_interval: float = 0.1,
        native_task_sets: NativeTaskSets | None = None,
        native_tasks: NativeTasks | None = None,
        unhealthy_grace: float = HealthCheck().grace,
        writes: Writes | None = None,
    ) -> None:
        self.infra = {item.name: item for item in infra}
        # DescribeServices only when ECS was written to since the last (None: every poll)
        self._ecs_writes = WriteWatch(writes, "ecs")
        self._last_task_sets: list[tuple[ServiceInfra, dict[str, Any]]] = []
        self.ecs = ecs
        self.native_task_sets = native_task_sets
        self.native_tasks = native_tasks
        self.unhealthy_grace = unhealthy_grace
        self.balancer = balancer
        self.clock = clock
        self.store = store
        self.faults = dict(faults or {})
        self.poll_interval = poll_interval
        self.errors = 0
        self._lock = threading.Lock()
        self._reconcile_lock = threading.Lock()
        self._health_lock = threading.Lock()
        self._runs: dict[str, TaskSetRun] = {}  # task set ARN -> run (live ones)
        self.history: dict[str, TaskSetRun] = {}  # every task set id ever run
        self._addresses = itertools.count(1)
        self._started = False
        self._last_sample: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fleet-reconciler", daemon=True)

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Fleet:
        self.reconcile()  # the original tasks answer before any traffic arrives
        self._started = True
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        with self._lock:
            runs = list(self._runs.values())
            self._runs.clear()
        for run in runs:
            run.stopped = True
        stop_servers(task for run in runs for task in run.tasks)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_interval):
            try:
                self.reconcile()
            except Exception:  # moto busy or a task set mid-change: try again next poll
                self.errors += 1

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def settling(self) -> bool:
        """Whether a task still waits for the load balancer's verdict on it (its target ``initial``):
        a replacement task set is not steady until its health checks have decided."""
        return self.balancer.settling()

    # --- reconciliation ---------------------------------------------------------------------------

    def reconcile(self) -> None:
        """Bring the tasks in line with moto's task sets now (the reconciler thread, or a hook's caller)."""
        with self._reconcile_lock:
            self._reconcile()

    def _reconcile(self) -> None:
        seen: set[str] = set()
        for owner, task_set in self._moto_task_sets():
            seen.add(task_set["taskSetArn"])
            self._ensure_run(owner, task_set)
        for item, task_set in self._native_task_sets():
            seen.add(task_set["taskSetArn"])
            self._ensure_run(item, task_set, native=True)
        with self._lock:
            gone = [run for arn, run in self._runs.items() if arn not in seen]
            for run in gone:
                del self._runs[run.task_set_arn]
        if gone:
            self._routes_caught_up()
        for run in gone:
            self._stop_run(run)
        self.check_native_health()

    def _moto_task_sets(self) -> list[tuple[ServiceInfra, dict[str, Any]]]:
        """Every ACTIVE service's task sets in moto (DescribeServices, 10 services a call); the last
        read's again when nothing was written to ECS since (``sandbox.moto_writes``)."""
        services = tuple((item.name, item.cluster, item.ecs_service) for item in self.infra.values())
        ticket = self._ecs_writes.look(services)
        if ticket is None:
            return self._last_task_sets
        by_cluster: dict[str, list[ServiceInfra]] = {}
        for item in self.infra.values():
            by_cluster.setdefault(item.cluster, []).append(item)
        found_sets: list[tuple[ServiceInfra, dict[str, Any]]] = []
        for cluster, items in by_cluster.items():
            for offset in range(0, len(items), 10):  # DescribeServices takes up to 10 services
                chunk = items[offset : offset + 10]
                found = self.ecs.describe_services(cluster=cluster, services=[i.ecs_service for i in chunk])
                names = {i.ecs_service: i for i in chunk}
                for described in found.get("services", []):
                    owner = names.get(described["serviceName"])
                    if owner is None or described.get("status") != "ACTIVE":
                        continue
                    found_sets += [(owner, task_set) for task_set in described.get("taskSets") or []]
        self._last_task_sets = found_sets
        self._ecs_writes.read_done(ticket)
        return found_sets

    def _routes_caught_up(self) -> None:
        """Before a revision's tasks stop: the load balancer reads where the listeners forward now.
        Whoever removed the revision moved the traffic off it first (ECS's CLEAN_UP comes after the
        production rule's ModifyRule, right after it with no bake), but the routers' view may be a
        poll behind; stopping the tasks first answered users 503 in that gap."""
        try:
            self.balancer.refresh_listeners()
        except Exception:  # moto busy: the poller's view it is (a poll behind at most)
            self.errors += 1

    def _native_task_sets(self) -> list[tuple[ServiceInfra, dict[str, Any]]]:
        """The native revisions of every service, read in full before any is acted on (an error
        reading one leaves every run as it is, as a failed DescribeServices does). Every service,
        not only the catalog's ecs-engine ones: a CodeDeploy service migrated while the world runs
        (``bluegreen migrate --apply``) is native from then on, its task set now the emulator's
        first revision under the same ARN, so its tasks keep running. A service ECS deploys
        itself routes by its listener rules: the load balancer is told to read them."""
        if self.native_task_sets is None:
            return []
        found = []
        for item in self.infra.values():
            task_sets = self.native_task_sets(item.cluster, item.ecs_service)  # in-process: no moto call
            if task_sets:
                self.balancer.route_by_rules([item.production_listener_arn, item.test_listener_arn])
            found += [(item, task_set) for task_set in task_sets]
        return found

    def _ensure_run(self, item: ServiceInfra, task_set: dict[str, Any], native: bool = False) -> None:
        arn = task_set["taskSetArn"]
        with self._lock:
            if arn in self._runs:
                return
        balancers = task_set.get("loadBalancers") or []
        target_group = balancers[0].get("targetGroupArn") if balancers else None
        replacement = self._started
        run = TaskSetRun(
            service=item.name,
            task_set_arn=arn,
            target_group_arn=target_group,
            version=_version(task_set.get("taskDefinition", "")),
            replacement=replacement,
            fault=self.faults.get(item.name, HEALTHY) if replacement else HEALTHY,
            native=native,
            port=item.service.container_port,
        )
        desired = max(1, item.service.settings.tasks.desired)
        identity = TaskIdentity(item.name, run.version, run.id)
        health_path = item.service.settings.health_path
        run.tasks = [AppServer(identity, run.fault, health_path).start() for _ in range(desired)]
        if target_group:
            run.target_ids = [self._next_address() for _ in run.tasks]
        with self._lock:
            self._runs[arn] = run
            self.history[run.id] = run
        if target_group:
            # The original tasks have been serving for a while; a replacement's start "initial".
            targets = dict(zip(run.target_ids, run.tasks, strict=True))
            port = item.service.container_port
            self.balancer.register_targets(target_group, port, targets, health_path, healthy=not replacement)
        if native and self.native_tasks is not None:
            addresses = run.target_ids or [self._next_address() for _ in run.tasks]
            run.task_arns = self.native_tasks.tasks_started(
                item.cluster, item.ecs_service, task_set, target_group, addresses
            )
            run.health_stop_after = [0.0] * len(run.task_arns)

    def _next_address(self) -> str:
        n = next(self._addresses)
        return f"10.0.{100 + n // 250}.{n % 250 + 1}"

    def _stop_run(self, run: TaskSetRun) -> None:
        """Deregister the tasks (no new requests), let the requests they are answering finish (at
        most DRAIN_SECONDS), then stop them: with no bake, ECS removes blue right after moving
        production off it, while users' requests routed a moment before are still being answered."""
        run.stopped = True
        if run.target_group_arn and run.target_ids:
            self.balancer.deregister_targets(run.target_group_arn, run.target_ids)
        if run.native and run.task_arns and self.native_tasks is not None:
            self.native_tasks.tasks_stopped(run.task_arns, run.target_group_arn)
        drained_by = time.monotonic() + DRAIN_SECONDS
        for task in run.tasks:
            task.drain(max(0.0, drained_by - time.monotonic()))
        stop_servers(run.tasks)

    def check_native_health(self) -> None:
        """A native revision's task whose target the load balancer found unhealthy: ECS stops it
        ("Task failed ELB health checks") and starts another; at most once per ``unhealthy_grace``
        (virtual s: the health checks' time to a verdict) per task. The app server and its target
        stay (``NativeTasks.failed_health_check``), so the load balancer's verdicts are unchanged."""
        if self.native_tasks is None:
            return
        with self._health_lock:  # the reconciler and a hook's settle step both look
            self._check_native_health()

    def _check_native_health(self) -> None:
        assert self.native_tasks is not None
        now = self.clock.now()
        with self._lock:
            runs = [r for r in self._runs.values() if r.native and r.target_group_arn and not r.stopped]
        for run in runs:
            for index, target in enumerate(run.target_ids[: len(run.task_arns)]):
                state = self.balancer.target_state(target)
                if now < run.health_stop_after[index] or state is not TargetState.UNHEALTHY:
                    continue
                assert run.target_group_arn is not None and state.reason is not None
                new = self.native_tasks.failed_health_check(
                    run.task_arns[index], run.target_group_arn, run.port, state.reason[1]
                )
                if new is not None:
                    run.task_arns[index] = new
                run.health_stop_after[index] = now + self.unhealthy_grace

    def set_fault(self, service: str, fault: Fault) -> None:
        """From now on, ``service``'s new task sets run with ``fault`` (a world shared by several
        deployments, each with its own fault)."""
        self.faults[service] = fault

    # --- lookups for reports --------------------------------------------------------------------------

    def replacement_runs(self) -> list[TaskSetRun]:
        with self._lock:
            return [run for run in self.history.values() if run.replacement]

    def replacement_targets(self) -> dict[str, str]:
        """Target id -> version of every replacement task ever run (what the narrator names)."""
        return {target: run.version for run in self.replacement_runs() for target in run.target_ids}

    # --- metrics (CPUUtilization, as ECS publishes it per service) ------------------------------------

    def _tasks_of(self, service: str) -> list[AppServer]:
        with self._lock:
            return [task for run in self._runs.values() if run.service == service for task in run.tasks]

    def backfill(self, seconds: float, rate: float) -> None:
        """The CPU of the ``seconds`` before now, as the original tasks serving ``rate`` requests per
        second had it (the load balancer backfills the requests: ``LoadBalancer.backfill``)."""
        now = self.clock.now()
        mean_service_ms = sum(base_latency_ms(n) for n in range(41)) / 41
        for item in self.infra.values():
            tasks = len(self._tasks_of(item.name)) or 1
            cpu = cpu_utilization(rate * mean_service_ms / tasks, 1.0, item.service.cpu)
            cpu_dims = {"ClusterName": item.cluster, "ServiceName": item.ecs_service}
            for step in range(int(seconds // GAUGE_INTERVAL)):
                self.store.add(
                    ECS_NAMESPACE, "CPUUtilization", cpu_dims, now - seconds + step * GAUGE_INTERVAL, cpu
                )

    def sample(self, now: float) -> None:
        """Per service, the average CPU of its running tasks (both task sets, as ECS averages them)."""
        elapsed = now - self._last_sample if self._last_sample is not None else GAUGE_INTERVAL
        self._last_sample = now
        for item in self.infra.values():
            tasks = self._tasks_of(item.name)
            loads = [cpu_utilization(task.take_busy_ms(), elapsed, item.service.cpu) for task in tasks]
            cpu_dims = {"ClusterName": item.cluster, "ServiceName": item.ecs_service}
            self.store.add(
                ECS_NAMESPACE, "CPUUtilization", cpu_dims, now, sum(loads) / len(loads) if loads else CPU_IDLE
            )

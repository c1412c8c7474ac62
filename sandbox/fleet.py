"""The fake fleet: runs the tasks of every ECS task set moto knows, and knows where traffic goes.

A reconciler polls moto (every ``poll_interval`` real seconds): DescribeServices gives each
service's task sets (task definition, target group), DescribeListeners gives each listener's
forward weights. For every task set it starts ``desired`` app servers on loopback and registers
them as targets of the task set's target group (fake VPC addresses, as awsvpc tasks have); a task
set that disappears has its tasks stopped and deregistered. Task sets that exist when the fleet
starts are the original (blue) version; any task set created later is a replacement and gets the
fault, if one was injected.
"""

from __future__ import annotations

import itertools
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.app import HEALTH_CHECKER_AGENT, AppServer, TaskIdentity, base_latency_ms
from sandbox.clock import VirtualClock, Watermark
from sandbox.faults import HEALTHY, Fault
from sandbox.http_server import stop_servers
from sandbox.metrics import MetricStore
from sandbox.provision import HEALTH_CHECK, ServiceInfra, target_group_dimension
from sandbox.target_health import TargetHealth, TargetState, write_states

ELB_NAMESPACE = "AWS/ApplicationELB"
ECS_NAMESPACE = "AWS/ECS"
GAUGE_INTERVAL = 10.0  # virtual seconds between host-count and CPU samples
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

    @property
    def id(self) -> str:
        return task_set_id(self.task_set_arn)


def _version(task_definition_arn: str) -> str:
    return task_definition_arn.rsplit("/", 1)[-1]  # family:revision


class Fleet:
    """Reconciles app servers with moto's task sets and serves routing lookups to the routers."""

    def __init__(
        self,
        infra: list[ServiceInfra],
        ecs: Any,
        elbv2: Any,
        clock: VirtualClock,
        store: MetricStore,
        faults: dict[str, Fault] | None = None,
        poll_interval: float = 0.1,
        states_path: Path | None = None,
    ) -> None:
        self.infra = {item.name: item for item in infra}
        self.ecs = ecs
        self.elbv2 = elbv2
        self.clock = clock
        self.store = store
        self.faults = dict(faults or {})
        self.poll_interval = poll_interval
        self.errors = 0
        self.states_path = states_path  # where moto reads target health (sandbox.moto_patched)
        self._health: dict[str, TargetHealth] = {}  # target id -> its health checks
        self._task_of: dict[str, tuple[AppServer, str]] = {}  # target id -> task, health path
        self.health_history: list[tuple[float, str, TargetState]] = []  # (virtual time, target, new state)
        self._lock = threading.Lock()
        self._reconcile_lock = threading.Lock()
        self._runs: dict[str, TaskSetRun] = {}  # task set ARN -> run (live ones)
        self.history: dict[str, TaskSetRun] = {}  # every task set id ever run
        self._weights: dict[str, list[tuple[str, int]]] = {}
        self._round_robin: dict[str, itertools.count[int]] = {}
        self._addresses = itertools.count(1)
        self._started = False
        self._last_sample: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fleet-reconciler", daemon=True)
        self._checker = threading.Thread(
            target=self._check_health_loop, name="fleet-reconciler-health-checks", daemon=True
        )
        self._watermark: Watermark | None = None
        self._lb_of: dict[str, str] = {
            tg: item.load_balancer_arn for item in infra for tg in item.target_groups.values()
        }

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Fleet:
        self.reconcile()  # the original tasks answer before any traffic arrives
        self._started = True
        # Health checks are due on the virtual clock: it waits for the checker thread.
        self._watermark = self.clock.watermark("fleet-health-checker")
        self._thread.start()
        self._checker.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in (self._thread, self._checker):
            if thread.is_alive():
                thread.join(timeout=10)
        if self._watermark is not None:
            self._watermark.close()
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

    def _check_health_loop(self) -> None:
        """Health checks on their own thread: they talk only to the local tasks, so how busy moto
        is (the reconciler's calls) does not hold the clock, only how late the checks are does.
        Task sets reach the fleet in time anyway: a hook's ``World._sync_fleet`` reconciles first."""
        while not self._stop.wait(self.poll_interval / 2):
            started = self.clock.now()
            self.check_health(started)
            if self._watermark is not None:  # every check due by then is done
                self._watermark.done_up_to(started)

    # --- reconciliation ---------------------------------------------------------------------------

    def reconcile(self) -> None:
        """Bring tasks and weights in line with moto now (the reconciler thread, or a hook's caller)."""
        with self._reconcile_lock:
            self._reconcile()

    def _reconcile(self) -> None:
        seen: set[str] = set()
        by_cluster: dict[str, list[ServiceInfra]] = {}
        for item in self.infra.values():
            by_cluster.setdefault(item.cluster, []).append(item)
        for cluster, items in by_cluster.items():
            for offset in range(0, len(items), 10):  # DescribeServices takes up to 10 services
                chunk = items[offset : offset + 10]
                found = self.ecs.describe_services(cluster=cluster, services=[i.ecs_service for i in chunk])
                names = {i.ecs_service: i for i in chunk}
                for described in found.get("services", []):
                    owner = names.get(described["serviceName"])
                    if owner is None or described.get("status") != "ACTIVE":
                        continue
                    for task_set in described.get("taskSets") or []:
                        seen.add(task_set["taskSetArn"])
                        self._ensure_run(owner, task_set)
        with self._lock:
            gone = [run for arn, run in self._runs.items() if arn not in seen]
            for run in gone:
                del self._runs[run.task_set_arn]
        for run in gone:
            self._stop_run(run, deregister=True)
        weights: dict[str, list[tuple[str, int]]] = {}
        for lb_arn in {item.load_balancer_arn for item in self.infra.values()}:
            for listener in self.elbv2.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]:
                weights[listener["ListenerArn"]] = listener_weights(listener)
        with self._lock:
            self._weights = weights

    def _ensure_run(self, item: ServiceInfra, task_set: dict[str, Any]) -> None:
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
        )
        desired = max(1, item.service.settings.tasks.desired)
        identity = TaskIdentity(item.name, run.version, run.id)
        health_path = item.service.settings.health_path
        run.tasks = [AppServer(identity, run.fault, health_path).start() for _ in range(desired)]
        if target_group:
            run.target_ids = [self._next_address() for _ in run.tasks]
        now = self.clock.now()
        with self._lock:
            for target, task in zip(run.target_ids, run.tasks, strict=True):
                self._task_of[target] = (task, health_path)
                # The original tasks have been serving for a while; a new target starts "initial".
                state = TargetState.INITIAL if replacement else TargetState.HEALTHY
                self._health[target] = TargetHealth(HEALTH_CHECK, now + HEALTH_CHECK.interval, state)
            self._runs[arn] = run
            self.history[run.id] = run
        # States first, registration second: moto answers "healthy" for a registered target it has no
        # state for, so the other order let DescribeTargetHealth call a green healthy before any check.
        self._write_states()
        if target_group:
            targets = [{"Id": address, "Port": item.service.container_port} for address in run.target_ids]
            self.elbv2.register_targets(TargetGroupArn=target_group, Targets=targets)

    def _next_address(self) -> str:
        n = next(self._addresses)
        return f"10.0.{100 + n // 250}.{n % 250 + 1}"

    def _stop_run(self, run: TaskSetRun, deregister: bool) -> None:
        run.stopped = True
        with self._lock:
            for target in run.target_ids:
                self._health.pop(target, None)
                self._task_of.pop(target, None)
        if deregister and run.target_group_arn and run.target_ids:
            try:
                self.elbv2.deregister_targets(
                    TargetGroupArn=run.target_group_arn, Targets=[{"Id": i} for i in run.target_ids]
                )
            except Exception:  # the target group may be gone; nothing to clean then
                self.errors += 1
        stop_servers(run.tasks)

    # --- target health ------------------------------------------------------------------------------

    def check_health(self, now: float | None = None) -> None:
        """Health-check every target due by ``now`` (virtual time, default the clock's), as the load
        balancer does; each check counts at its due time."""
        now = self.clock.now() if now is None else now
        with self._lock:
            due = [(t, h, *self._task_of[t]) for t, h in self._health.items() if h.due(now)]
        changed = False
        for target, health, task, path in due:
            if health.record(_passes_health_check(task.port, path, HEALTH_CHECK.timeout), now):
                changed = True
                with self._lock:
                    self.health_history.append((now, target, health.state))
        if changed:
            self._write_states()

    def target_state(self, target_id: str) -> TargetState | None:
        with self._lock:
            health = self._health.get(target_id)
            return health.state if health else None

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def settling(self) -> bool:
        """Whether a target is still ``initial`` (registered, no verdict from its health checks yet)."""
        with self._lock:
            return any(h.state is TargetState.INITIAL for h in self._health.values())

    def _write_states(self) -> None:
        if self.states_path is None:
            return
        with self._lock:
            states = {target: health.state for target, health in self._health.items()}
        try:
            write_states(self.states_path, states)
        except OSError:  # the world's directory is gone (stopping): nobody reads it any more
            self.errors += 1

    # --- lookups for routers, metrics and reports -------------------------------------------------

    def weights(self, listener_arn: str) -> list[tuple[str, int]]:
        with self._lock:
            return list(self._weights.get(listener_arn, []))

    def current_weights(self, listener_arn: str) -> list[tuple[str, int]]:
        """The listener's weights read from moto now (for requests that must not see a stale cache:
        a hook's smoke check right after CodeDeploy moved the listener)."""
        try:
            listener = self.elbv2.describe_listeners(ListenerArns=[listener_arn])["Listeners"][0]
        except Exception:  # moto busy: the last reconciled weights are the best we know
            self.errors += 1
            return self.weights(listener_arn)
        return listener_weights(listener)

    def runs_on(self, target_group_arn: str) -> list[TaskSetRun]:
        with self._lock:
            return [run for run in self._runs.values() if run.target_group_arn == target_group_arn]

    def next_task(self, target_group_arn: str) -> tuple[TaskSetRun, AppServer] | None:
        """A healthy task of the target group, round robin over its task sets' tasks; when none is
        healthy, any registered one (a load balancer fails open)."""
        runs = self.runs_on(target_group_arn)
        with self._lock:
            pairs = [
                (run, task)
                for run in runs
                for target, task in zip(run.target_ids, run.tasks, strict=False)
                if (health := self._health.get(target)) is not None and health.state.receives_traffic
            ]
        if not pairs:
            pairs = [(run, task) for run in runs for task in run.tasks]
        if not pairs:
            return None
        counter = self._round_robin.setdefault(target_group_arn, itertools.count())
        return pairs[next(counter) % len(pairs)]

    def replacement_runs(self) -> list[TaskSetRun]:
        with self._lock:
            return [run for run in self.history.values() if run.replacement]

    def load_balancer_of(self, target_group_arn: str) -> str:
        return self._lb_of[target_group_arn]

    # --- metrics -----------------------------------------------------------------------------------

    def backfill(self, seconds: float, rate: float) -> None:
        """Metrics of the ``seconds`` before now, as a service that has been running healthy on its
        original task set would have them (``rate`` requests per second), so alarms start from OK
        instead of INSUFFICIENT_DATA, which a production gate (insufficient_data: alarm) refuses."""
        now = self.clock.now()
        for item in self.infra.values():
            balancer = item.load_balancer_dimension
            with self._lock:
                serving = {
                    run.target_group_arn: len(run.tasks)
                    for run in self._runs.values()
                    if run.service == item.name
                }
            for tg_arn in item.target_groups.values():
                dims = {"TargetGroup": target_group_dimension(tg_arn), "LoadBalancer": balancer}
                if serving.get(tg_arn):
                    count = int(seconds * rate)
                    for n in range(count):
                        at = now - seconds + n / rate
                        self.store.add(ELB_NAMESPACE, "RequestCount", dims, at, 1)
                        self.store.add(ELB_NAMESPACE, "HTTPCode_Target_5XX_Count", dims, at, 0)
                        self.store.add(
                            ELB_NAMESPACE, "TargetResponseTime", dims, at, base_latency_ms(n) / 1000.0
                        )
                for step in range(int(seconds // GAUGE_INTERVAL)):
                    at = now - seconds + step * GAUGE_INTERVAL
                    self.store.add(ELB_NAMESPACE, "HealthyHostCount", dims, at, serving.get(tg_arn, 0))
                    self.store.add(ELB_NAMESPACE, "UnHealthyHostCount", dims, at, 0)
            cpu_dims = {"ClusterName": item.cluster, "ServiceName": item.ecs_service}
            tasks = sum(serving.values()) or 1
            mean_service_ms = sum(base_latency_ms(n) for n in range(41)) / 41
            cpu = cpu_utilization(rate * mean_service_ms / tasks, 1.0, item.service.cpu)
            for step in range(int(seconds // GAUGE_INTERVAL)):
                self.store.add(
                    ECS_NAMESPACE, "CPUUtilization", cpu_dims, now - seconds + step * GAUGE_INTERVAL, cpu
                )

    def sample(self, now: float) -> None:
        """Healthy/unhealthy hosts per target group (a GET of the health path of every task) and, per
        service, the average CPU of its running tasks (both task sets, as ECS averages them)."""
        elapsed = now - self._last_sample if self._last_sample is not None else GAUGE_INTERVAL
        self._last_sample = now
        for item in self.infra.values():
            for tg_arn in item.target_groups.values():
                targets = [target for run in self.runs_on(tg_arn) for target in run.target_ids]
                states = [self.target_state(target) for target in targets]
                healthy = states.count(TargetState.HEALTHY)
                unhealthy = states.count(TargetState.UNHEALTHY)
                dims = {
                    "TargetGroup": target_group_dimension(tg_arn),
                    "LoadBalancer": item.load_balancer_dimension,
                }
                self.store.add(ELB_NAMESPACE, "HealthyHostCount", dims, now, healthy)
                self.store.add(ELB_NAMESPACE, "UnHealthyHostCount", dims, now, unhealthy)
            with self._lock:
                tasks = [
                    task for run in self._runs.values() if run.service == item.name for task in run.tasks
                ]
            loads = [cpu_utilization(task.take_busy_ms(), elapsed, item.service.cpu) for task in tasks]
            cpu_dims = {"ClusterName": item.cluster, "ServiceName": item.ecs_service}
            self.store.add(
                ECS_NAMESPACE, "CPUUtilization", cpu_dims, now, sum(loads) / len(loads) if loads else CPU_IDLE
            )


def listener_weights(listener: dict[str, Any]) -> list[tuple[str, int]]:
    """A listener's default forward action as [(target group ARN, weight)]."""
    out: list[tuple[str, int]] = []
    for action in listener.get("DefaultActions") or []:
        if action.get("Type") != "forward":
            continue
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
        if groups:
            out.extend((g["TargetGroupArn"], int(g.get("Weight", 1))) for g in groups)
        elif action.get("TargetGroupArn"):
            out.append((action["TargetGroupArn"], 1))
    return out


def _passes_health_check(port: int, path: str, timeout_seconds: float) -> bool:
    """A 2xx/3xx answer within the check's timeout, in real seconds as a request's latency is (the
    clock waits for the checker meanwhile, so a slow answer does not cost virtual checks)."""
    try:
        probe = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", headers={"User-Agent": HEALTH_CHECKER_AGENT}
        )
        with urllib.request.urlopen(probe, timeout=timeout_seconds) as response:
            return bool(200 <= response.status < 400)
    except (urllib.error.URLError, OSError, ValueError):
        return False

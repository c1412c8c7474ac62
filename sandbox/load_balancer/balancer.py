"""The fake Application Load Balancer's state: where each listener forwards, which targets each
target group has, and how healthy they are.

- **Listener weights.** A poller reads DescribeListeners per load balancer in moto (every
  ``poll_interval`` real seconds, like an ALB's propagation delay) and keeps each listener's forward
  weights for the routers (``listeners.py``); ``refresh_listeners`` reads them now. A listener with
  rules (an ecs-engine service's: ECS moves traffic on a listener rule) is read with DescribeRules
  too, and a forward rule that matches every request wins over the default action.
- **Targets.** The fleet registers its tasks as ip targets (as ECS does for a task set behind a
  target group); ``next_task`` picks a healthy one, round robin, failing open when none is.
- **Target health** (``target_health.py``): a health checker on its own thread GETs each due target's
  health path, as the load balancer does, and writes the states to the file the patched moto answers
  DescribeTargetHealth from. The virtual clock waits for it (a watermark).
- **Metrics**: what an ALB publishes per target group besides requests (the routers record those):
  Healthy/UnHealthyHostCount, and the healthy history the world starts with.
"""

from __future__ import annotations

import itertools
import threading
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.app import HEALTH_CHECKER_AGENT, AppServer, base_latency_ms
from sandbox.clock import VirtualClock, Watermark
from sandbox.load_balancer.target_health import TargetHealth, TargetState, write_states
from sandbox.metrics import GAUGE_INTERVAL, MetricStore
from sandbox.moto_writes import Writes, WriteWatch
from sandbox.provision import HEALTH_CHECK, ServiceInfra, target_group_dimension

ELB_NAMESPACE = "AWS/ApplicationELB"


def listener_weights(listener: dict[str, Any]) -> list[tuple[str, int]]:
    """A listener's default forward action as [(target group ARN, weight)]."""
    return forward_weights(listener.get("DefaultActions") or [])


# Path patterns that match every request: a rule with one of them (and no other condition) sees all
# of a listener's traffic, as the sandbox's routers forward it (they do not evaluate conditions).
EVERY_PATH = frozenset({"/*", "*"})


def _matches_every_request(rule: dict[str, Any]) -> bool:
    for condition in rule.get("Conditions") or []:
        if condition.get("Field") != "path-pattern":
            return False
        values = (condition.get("PathPatternConfig") or {}).get("Values") or condition.get("Values") or []
        if not EVERY_PATH & set(values):
            return False
    return True


def _priority(rule: dict[str, Any]) -> int:
    try:
        return int(rule.get("Priority", ""))
    except ValueError:  # "default"
        return 50_001  # after every numbered rule (ELBv2 priorities are 1-50000)


def routing_weights(listener: dict[str, Any], rules: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """Where a listener sends its requests, as [(target group ARN, weight)]: the forward weights of
    its first rule (by priority) that forwards and matches every request (Amazon ECS's native
    blue/green moves traffic with ModifyRule on such a rule: priority 1, path-pattern ``/*``), else
    its default action's. An ALB evaluates rules in priority order and the default action last."""
    for rule in sorted(rules, key=_priority):
        if rule.get("IsDefault") or not _matches_every_request(rule):
            continue
        weights = forward_weights(rule.get("Actions") or [])
        if weights:
            return weights
    return listener_weights(listener)


def forward_weights(actions: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """The forward actions among ``actions`` as [(target group ARN, weight)]."""
    out: list[tuple[str, int]] = []
    for action in actions:
        if action.get("Type") != "forward":
            continue
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
        if groups:
            out.extend((g["TargetGroupArn"], int(g.get("Weight", 1))) for g in groups)
        elif action.get("TargetGroupArn"):
            out.append((action["TargetGroupArn"], 1))
    return out


@dataclass
class RegisteredTarget:
    """An ip target of a target group: the task answering at it and its health-check record."""

    target_group_arn: str
    task: AppServer
    health_path: str
    health: TargetHealth


class LoadBalancer:
    """The load balancers of a world's services: listener weights, targets, their health."""

    def __init__(
        self,
        infra: list[ServiceInfra],
        elbv2: Any,
        clock: VirtualClock,
        store: MetricStore,
        poll_interval: float = 0.1,
        states_path: Path | None = None,
        ruled_listeners: Iterable[str] = (),
        writes: Writes | None = None,
    ) -> None:
        self.infra = list(infra)
        self._elb_writes = WriteWatch(writes, "elasticloadbalancing")  # None: read at every refresh
        # Listeners that route by a rule (ecs-engine services': ServiceInfra.ruled_listener_arns, and
        # those of services that became native since: route_by_rules): read with DescribeRules
        # too; the others cost no extra call and route as before.
        self._ruled = set(ruled_listeners)
        self.elbv2 = elbv2
        self.clock = clock
        self.store = store
        self.poll_interval = poll_interval
        self.states_path = states_path  # where moto reads target health (sandbox.moto_patched)
        self.errors = 0
        self.health_history: list[tuple[float, str, TargetState]] = []  # (virtual time, target, new state)
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._targets: dict[str, RegisteredTarget] = {}  # target id -> target, in registration order
        self._weights: dict[str, list[tuple[str, int]]] = {}  # listener ARN -> forward weights
        self._round_robin: dict[str, itertools.count[int]] = {}
        self._stop = threading.Event()
        self._watermark: Watermark | None = None
        self._poller = threading.Thread(
            target=self._poll_listeners, name="load-balancer-listeners", daemon=True
        )
        self._checker = threading.Thread(
            target=self._check_health_loop, name="load-balancer-health-checks", daemon=True
        )

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> LoadBalancer:
        self.refresh_listeners()  # the routers know where to forward before any traffic arrives
        # Health checks are due on the virtual clock: it waits for the checker thread.
        self._watermark = self.clock.watermark("load-balancer-health-checker")
        self._poller.start()
        self._checker.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in (self._poller, self._checker):
            if thread.is_alive():
                thread.join(timeout=10)
        if self._watermark is not None:
            self._watermark.close()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # --- listeners ------------------------------------------------------------------------------

    def refresh_listeners(self) -> None:
        """Read every listener's forward weights from moto now (the poller, or a hook's caller); for
        the listeners with rules (ecs-engine services'), their rules' too (DescribeRules)."""
        # One refresh at a time: a poll that read moto before a rule moved must not write its view
        # over a later refresh's (the fleet's before it stops a revision, a hook's settle step).
        with self._refresh_lock:
            balancers = sorted({item.load_balancer_arn for item in self.infra})
            # Nothing written to Elastic Load Balancing since the last read: the same answer.
            ticket = self._elb_writes.look((tuple(balancers), self.ruled_listeners))
            if ticket is None:
                return
            weights: dict[str, list[tuple[str, int]]] = {}
            for lb_arn in balancers:
                for listener in self.elbv2.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]:
                    weights[listener["ListenerArn"]] = self._routing_weights(listener)
            with self._lock:
                self._weights = weights
            self._elb_writes.read_done(ticket)

    @property
    def ruled_listeners(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._ruled)

    def route_by_rules(self, listener_arns: Iterable[str]) -> None:
        """Read these listeners' rules from now on (a service ECS deploys itself, e.g. one just
        migrated: ECS moves its traffic on a rule). Never undone: an ALB evaluates a listener's
        rules before its default action whoever deploys the service."""
        with self._lock:
            self._ruled.update(listener_arns)

    def _routing_weights(self, listener: dict[str, Any]) -> list[tuple[str, int]]:
        arn = listener["ListenerArn"]
        if arn not in self.ruled_listeners:  # no rules: its default action, and no extra moto call
            return listener_weights(listener)
        rules = self.elbv2.describe_rules(ListenerArn=arn)["Rules"]  # a handful: one page (400)
        return routing_weights(listener, rules)

    def _poll_listeners(self) -> None:
        while not self._stop.wait(self.poll_interval):
            try:
                self.refresh_listeners()
            except Exception:  # moto busy: try again next poll
                self.errors += 1

    def weights(self, listener_arn: str) -> list[tuple[str, int]]:
        with self._lock:
            return list(self._weights.get(listener_arn, []))

    def current_weights(self, listener_arn: str) -> list[tuple[str, int]]:
        """The listener's weights read from moto now (for requests that must not see a stale cache:
        a hook's smoke check right after CodeDeploy moved the listener)."""
        try:
            listener = self.elbv2.describe_listeners(ListenerArns=[listener_arn])["Listeners"][0]
            return self._routing_weights(listener)
        except Exception:  # moto busy: the last polled weights are the best we know
            self.errors += 1
            return self.weights(listener_arn)

    # --- targets ------------------------------------------------------------------------------------

    def register_targets(
        self, target_group_arn: str, port: int, tasks: dict[str, AppServer], health_path: str, healthy: bool
    ) -> None:
        """Register ``tasks`` (target id -> task) as ip targets of the target group. New targets start
        ``initial`` until their health checks decide; ``healthy`` for tasks that have been serving
        for a while (the original task sets a world starts with)."""
        now = self.clock.now()
        state = TargetState.HEALTHY if healthy else TargetState.INITIAL
        with self._lock:
            for target, task in tasks.items():
                health = TargetHealth(HEALTH_CHECK, now + HEALTH_CHECK.interval, state)
                self._targets[target] = RegisteredTarget(target_group_arn, task, health_path, health)
        # States first, registration second: moto answers "healthy" for a registered target it has no
        # state for, so the other order let DescribeTargetHealth call a green healthy before any check.
        self._write_states()
        targets = [{"Id": target, "Port": port} for target in tasks]
        self.elbv2.register_targets(TargetGroupArn=target_group_arn, Targets=targets)

    def deregister_targets(self, target_group_arn: str, target_ids: list[str]) -> None:
        """Forget the targets (no more requests or health checks) and deregister them in moto."""
        with self._lock:
            for target in target_ids:
                self._targets.pop(target, None)
        try:
            self.elbv2.deregister_targets(
                TargetGroupArn=target_group_arn, Targets=[{"Id": i} for i in target_ids]
            )
        except Exception:  # the target group may be gone; nothing to clean then
            self.errors += 1

    def _targets_of(self, target_group_arn: str) -> list[tuple[str, RegisteredTarget]]:
        with self._lock:
            return [(t, r) for t, r in self._targets.items() if r.target_group_arn == target_group_arn]

    def next_task(self, target_group_arn: str) -> AppServer | None:
        """A healthy target's task, round robin over the target group's targets; when none is
        healthy, any registered one (a load balancer fails open)."""
        targets = self._targets_of(target_group_arn)
        tasks = [r.task for _, r in targets if r.health.state.receives_traffic] or [
            r.task for _, r in targets
        ]
        if not tasks:
            return None
        counter = self._round_robin.setdefault(target_group_arn, itertools.count())
        return tasks[next(counter) % len(tasks)]

    # --- target health ------------------------------------------------------------------------------

    def _check_health_loop(self) -> None:
        """Health checks on their own thread: they talk only to the local tasks, so how busy moto
        is (the pollers' calls) does not hold the clock, only how late the checks are does.
        Task sets reach the load balancer in time anyway: a hook's ``World._sync_fleet`` reconciles first."""
        while not self._stop.wait(self.poll_interval / 2):
            started = self.clock.now()
            self.check_health(started)
            if self._watermark is not None:  # every check due by then is done
                self._watermark.done_up_to(started)

    def check_health(self, now: float | None = None) -> None:
        """Health-check every target due by ``now`` (virtual time, default the clock's), as the load
        balancer does; each check counts at its due time."""
        now = self.clock.now() if now is None else now
        with self._lock:
            due = [(t, r) for t, r in self._targets.items() if r.health.due(now)]
        changed = False
        for target, registered in due:
            passed = _passes_health_check(registered.task.port, registered.health_path, HEALTH_CHECK.timeout)
            if registered.health.record(passed, now):
                changed = True
                with self._lock:
                    self.health_history.append((now, target, registered.health.state))
        if changed:
            self._write_states()

    def target_state(self, target_id: str) -> TargetState | None:
        with self._lock:
            registered = self._targets.get(target_id)
            return registered.health.state if registered else None

    def settling(self) -> bool:
        """Whether a target is still ``initial`` (registered, no verdict from its health checks yet)."""
        with self._lock:
            return any(r.health.state is TargetState.INITIAL for r in self._targets.values())

    def _write_states(self) -> None:
        if self.states_path is None:
            return
        with self._lock:
            states = {target: registered.health.state for target, registered in self._targets.items()}
        try:
            write_states(self.states_path, states)
        except OSError:  # the world's directory is gone (stopping): nobody reads it any more
            self.errors += 1

    # --- metrics ------------------------------------------------------------------------------------

    def _dimensions(self, item: ServiceInfra, target_group_arn: str) -> dict[str, str]:
        return {
            "TargetGroup": target_group_dimension(target_group_arn),
            "LoadBalancer": item.load_balancer_dimension,
        }

    def backfill(self, seconds: float, rate: float) -> None:
        """The ``seconds`` before now as the target groups serving the original task sets had them
        (``rate`` requests per second, all answered, healthy hosts), so alarms start from OK instead
        of INSUFFICIENT_DATA, which a production gate (insufficient_data: alarm) refuses."""
        now = self.clock.now()
        for item in self.infra:
            for tg_arn in item.target_groups.values():
                dims = self._dimensions(item, tg_arn)
                serving = len(self._targets_of(tg_arn))
                if serving:
                    for n in range(int(seconds * rate)):
                        at = now - seconds + n / rate
                        self.store.add(ELB_NAMESPACE, "RequestCount", dims, at, 1)
                        self.store.add(ELB_NAMESPACE, "HTTPCode_Target_5XX_Count", dims, at, 0)
                        self.store.add(
                            ELB_NAMESPACE, "TargetResponseTime", dims, at, base_latency_ms(n) / 1000.0
                        )
                for step in range(int(seconds // GAUGE_INTERVAL)):
                    at = now - seconds + step * GAUGE_INTERVAL
                    self.store.add(ELB_NAMESPACE, "HealthyHostCount", dims, at, serving)
                    self.store.add(ELB_NAMESPACE, "UnHealthyHostCount", dims, at, 0)

    def sample(self, now: float) -> None:
        """Healthy and unhealthy hosts per target group, from the health checks' verdicts."""
        for item in self.infra:
            for tg_arn in item.target_groups.values():
                states = [registered.health.state for _, registered in self._targets_of(tg_arn)]
                dims = self._dimensions(item, tg_arn)
                self.store.add(
                    ELB_NAMESPACE, "HealthyHostCount", dims, now, states.count(TargetState.HEALTHY)
                )
                self.store.add(
                    ELB_NAMESPACE, "UnHealthyHostCount", dims, now, states.count(TargetState.UNHEALTHY)
                )


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

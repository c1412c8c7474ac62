"""One native service deployment's worker: walks ECS's lifecycle stages on the virtual clock, moves
traffic by ModifyRule on the listener rules, invokes the hooks, watches the alarms, honours stop,
continue and replacement, and rolls back inside the same service deployment as ECS does."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.clock import VirtualClock
from sandbox.ecs_native import events, schedule
from sandbox.ecs_native import service_events as said
from sandbox.ecs_native.model import HookRun, NativeService, Revision, ServiceDeployment, Store, new_hook_id
from sandbox.ecs_native.schedule import HookSpec
from sandbox.ecs_native.vocabulary import (
    ALARM_STATE,
    BAKE_TIME,
    CLEAN_UP,
    POST_PRODUCTION_TRAFFIC_SHIFT,
    POST_SCALE_UP,
    POST_TEST_TRAFFIC_SHIFT,
    PRE_PRODUCTION_TRAFFIC_SHIFT,
    PRE_SCALE_UP,
    PRODUCTION_TRAFFIC_SHIFT,
    RECONCILE_SERVICE,
    ROLLBACK_HOOK_STAGES,
    SCALE_UP,
    TEST_TRAFFIC_SHIFT,
    HookAction,
    HookReturn,
    HookStatus,
    HookTargetType,
    Status,
)

log = logging.getLogger(__name__)

HookInvoke = Callable[[str, dict[str, Any]], dict[str, Any]]
"""``(function ARN or name, ECS's payload) -> the Lambda's return value``; raises on a function error."""

# However fast virtual time runs, a worker does not poll CloudWatch more often than this (real s).
MIN_REAL_POLL_SECONDS = 0.05
# How long (real s) a replacing deployment waits for the replaced one's worker to let go.
REPLACED_JOIN_SECONDS = 150.0


INVALID_NETWORKING = (
    "Service deployment rolled back because of invalid networking configuration. Both targetGroup "
    "and alternateTargetGroup must be associated with the productionListenerRule or testListenerRule."
)


class Abort(Exception):
    """Ends the deployment early: rolled back (``rollback``) or stopped where it is."""

    def __init__(self, reason: str, rollback: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rollback = rollback


class Replaced(Exception):
    """A later UpdateService replaced this deployment: it ends STOPPED, the new one reconciles."""


class Shutdown(Exception):
    """The emulator is stopping: the deployment stays as it is."""


@dataclass
class MachineContext:
    """What every worker shares."""

    store: Store
    clock: VirtualClock
    elbv2: Any
    cloudwatch: Any
    invoke: HookInvoke
    shutdown: threading.Event
    before_hook: Callable[[], None] | None = None
    alarm_poll_seconds: float = 60.0
    # EventBridge's PutEvents for the deployments' state changes (sandbox/ecs_native/events.py).
    publish: events.Publish | None = None


class Machine:
    """Thread target ``run``: one service deployment from PENDING to its terminal status."""

    def __init__(
        self,
        ctx: MachineContext,
        service: NativeService,
        deployment: ServiceDeployment,
        replaced: tuple[ServiceDeployment, threading.Thread] | None = None,
    ) -> None:
        self.ctx = ctx
        self.service = service
        self.dep = deployment
        self.replaced = replaced
        self._next_alarm_poll = 0.0
        self._monitoring = True
        self._moved_rules: set[str] = set()

    # --- the run ----------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self._walk()
        except Shutdown:
            log.debug("service deployment %s left as it is: emulator stopping", self.dep.arn)
        except Replaced:
            self._end(Status.STOPPED, f"Service deployment replaced by {self.dep.replaced_by}.", stopped=True)
        except Abort as abort:
            self._abort(abort)
        except Exception as err:  # a failed AWS call or an emulator bug: visible, and rolled back
            log.exception("service deployment %s failed on an unexpected error", self.dep.arn)
            self._abort(Abort(f"Service deployment failed: {type(err).__name__}: {err}"))

    def _walk(self) -> None:
        if self.replaced is not None:
            self.replaced[1].join(REPLACED_JOIN_SECONDS)
        with self.ctx.store.lock:
            now = self.ctx.clock.now()
            self.dep.started_at = now
            if not self.dep.stop_requested:  # stopped while PENDING: ROLLBACK_REQUESTED stands
                self.dep.status = Status.IN_PROGRESS
            self._touch()
            events.send(self.ctx.publish, events.started(self.dep, now))
        self._check_networking()
        if self.replaced is not None:
            self._stage(RECONCILE_SERVICE)
            self._reconcile(self.replaced[0])
            self.run_hooks(RECONCILE_SERVICE)
        for stage in (PRE_SCALE_UP, SCALE_UP, POST_SCALE_UP):
            self._stage(stage)
            if stage == SCALE_UP:
                self._scale_up()
            self.run_hooks(stage)
        self._stage(TEST_TRAFFIC_SHIFT)
        self._route_test(100.0)
        self.run_hooks(TEST_TRAFFIC_SHIFT)
        self._stage(POST_TEST_TRAFFIC_SHIFT)
        self.run_hooks(POST_TEST_TRAFFIC_SHIFT)
        self._stage(PRODUCTION_TRAFFIC_SHIFT)
        for step in schedule.production_steps(self.dep.config):
            self.sleep(step.bake_before)
            self.run_hooks(PRE_PRODUCTION_TRAFFIC_SHIFT)
            self._route_production(step.percent)
            self.run_hooks(PRODUCTION_TRAFFIC_SHIFT)
        self._stage(POST_PRODUCTION_TRAFFIC_SHIFT)
        self.run_hooks(POST_PRODUCTION_TRAFFIC_SHIFT)
        self._stage(BAKE_TIME)
        self.sleep(schedule.bake_seconds(self.dep.config))
        self._monitoring = False
        self._stage(CLEAN_UP)
        self._clean_up()
        # The steady-state event is written before the status turns terminal: a client that sees
        # the deployment end (and starts the next) finds the event inside this deployment's window.
        self._event(said.steady(self.service.name))
        self._end(Status.SUCCESSFUL, "Service deployment completed successfully.")

    # --- resources ----------------------------------------------------------------------------------

    def _check_networking(self) -> None:
        """Both target groups must be forwarded to by the production or the test listener rule, or
        ECS rolls the deployment back with this reason (AWS, "Migrating from a CodeDeploy blue/green
        to an Amazon ECS blue/green service deployment", which quotes the message)."""
        rules = [r for r in (self.dep.production_rule, self.dep.test_rule) if r]
        try:
            found = self.ctx.elbv2.describe_rules(RuleArns=rules)["Rules"] if rules else []
        except Exception as err:  # RuleNotFound and friends: the same verdict, with the cause
            raise Abort(f"{INVALID_NETWORKING} ({type(err).__name__}: {err})") from None
        forwarded = {
            group["TargetGroupArn"]
            for rule in found
            for action in rule.get("Actions") or []
            for group in (action.get("ForwardConfig") or {}).get("TargetGroups") or []
        }
        if not {self.dep.source_tg, self.dep.target_tg} <= forwarded:
            raise Abort(INVALID_NETWORKING)

    def _scale_up(self) -> None:
        """The target revision joins ``task_sets``; then the world settles (its fleet starts the
        tasks and the load balancer sees them healthy), as SCALE_UP "launches new tasks" before
        POST_SCALE_UP and any traffic."""
        with self.ctx.store.lock:
            self.dep.target.live = True
            if self.dep.target not in self.service.revisions:
                self.service.revisions.append(self.dep.target)
            self._touch()
        if self.ctx.before_hook is not None:
            self.ctx.before_hook()

    def _route_test(self, percent: float) -> None:
        if self.dep.test_rule:
            self._modify_rule(self.dep.test_rule, percent)
        with self.ctx.store.lock:
            self.dep.test_weight = percent
            self._touch()

    def _route_production(self, percent: float) -> None:
        if self.dep.production_rule:
            self._modify_rule(self.dep.production_rule, percent)
        with self.ctx.store.lock:
            self.dep.production_weight = percent
            self._touch()

    def _modify_rule(self, rule_arn: str, percent: float) -> None:
        self._moved_rules.add(rule_arn)
        weights = schedule.rule_weights(self.dep.source_tg, self.dep.target_tg, percent)
        groups = [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in weights.items()]
        self.ctx.elbv2.modify_rule(
            RuleArn=rule_arn, Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}]
        )

    def _reconcile(self, replaced: ServiceDeployment) -> None:
        """Put the traffic of a replaced deployment back on production and scale its revision down."""
        source_tg = self.dep.source_tg
        for rule in (replaced.production_rule, replaced.test_rule):
            if rule:
                self.ctx.elbv2.modify_rule(
                    RuleArn=rule,
                    Actions=[
                        {"Type": "forward", "ForwardConfig": {"TargetGroups": _all_to(source_tg, self.dep)}}
                    ],
                )
        with self.ctx.store.lock:
            if replaced.target is not self.service.production:
                replaced.target.live = False
            self._touch()

    def _clean_up(self) -> None:
        with self.ctx.store.lock:
            for source in self.dep.sources:
                source.live = False
            self.service.production = self.dep.target
            self._touch()

    # --- waiting and monitoring ---------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Raise when the emulator stops, the deployment was replaced or someone stopped it."""
        if self.ctx.shutdown.is_set():
            raise Shutdown()
        with self.ctx.store.lock:
            if self.dep.replaced_by:
                raise Replaced()
            if self.dep.stop_requested:
                raise Abort(
                    "Service deployment rolled back because of a stop request (StopServiceDeployment)."
                )

    def wait_for(self, virtual_seconds: float, done: Callable[[], bool]) -> bool:
        """Wait until ``done()`` (True) or the duration passes (False), watching the alarms."""
        clock = self.ctx.clock
        deadline = clock.now() + virtual_seconds
        while True:
            self.checkpoint()
            with self.ctx.store.lock:
                if done():
                    return True
            self.poll_alarms()
            now = clock.now()
            if now >= deadline:
                return False
            until = min(deadline, self._next_alarm_poll) if self._alarm_names() else deadline
            clock.wait(self.dep.wake, max(until - now, 0.0))
            self.dep.wake.clear()

    def sleep(self, virtual_seconds: float) -> None:
        if virtual_seconds > 0:
            self.wait_for(virtual_seconds, lambda: False)
        else:
            self.checkpoint()
            self.poll_alarms()

    def _alarm_names(self) -> list[str]:
        return self.dep.alarm_names() if self._monitoring else []

    def poll_alarms(self) -> None:
        """DescribeAlarms for the deployment's alarms when a poll is due; ALARM ends the deployment."""
        names = self._alarm_names()
        now = self.ctx.clock.now()
        if not names or now < self._next_alarm_poll:
            return
        self._next_alarm_poll = now + max(
            self.ctx.alarm_poll_seconds, MIN_REAL_POLL_SECONDS * self.ctx.clock.time_scale
        )
        try:
            firing = alarms_in_alarm(self.ctx.cloudwatch, names)
        except Exception:  # a failed poll is no verdict; the next one decides
            log.warning("polling alarms for %s failed", self.dep.arn, exc_info=True)
            return
        if not firing:
            return
        rollback = bool((self.dep.config.get("alarms") or {}).get("rollback"))
        with self.ctx.store.lock:
            self.dep.triggered_alarms = firing
        done = "rolled back" if rollback else "stopped"
        reason = f"Service deployment {done} because alarm(s) {', '.join(firing)} went into ALARM."
        raise Abort(reason, rollback=rollback)

    # --- hooks --------------------------------------------------------------------------------------

    def run_hooks(self, stage: str) -> None:
        """Every hook configured for ``stage``, in order; a failed one raises Abort."""
        for spec in schedule.hooks_at(self.dep.config, stage):
            self.checkpoint()
            if spec.target_type is HookTargetType.PAUSE:
                self._pause(stage, spec)
            else:
                self._lambda(stage, spec)

    def _start_hook(self, stage: str, spec: HookSpec, status: HookStatus) -> HookRun:
        with self.ctx.store.lock:
            run = HookRun(
                hook_id=new_hook_id(spec.target_type),
                stage=stage,
                target_type=spec.target_type,
                target_arn=spec.target_arn,
                status=status,
                expires_at=self.ctx.clock.now() + spec.timeout_seconds,
                timeout_action=spec.timeout_action,
            )
            self.dep.hooks.append(run)
            self._touch()
        return run

    def _set_hook(self, run: HookRun, status: HookStatus) -> None:
        with self.ctx.store.lock:
            run.status = status
            self._touch()

    def _pause(self, stage: str, spec: HookSpec) -> None:
        run = self._start_hook(stage, spec, HookStatus.AWAITING_ACTION)
        acted = self.wait_for(spec.timeout_seconds, lambda: run.action is not None)
        if acted:
            self._set_hook(run, HookStatus.SUCCEEDED)
            if run.action is HookAction.ROLLBACK:
                raise Abort(f"Service deployment rolled back by ContinueServiceDeployment at {stage}.")
            return
        self._timed_out(stage, run)

    def _timed_out(self, stage: str, run: HookRun) -> None:
        self._set_hook(run, HookStatus.TIMED_OUT)
        if run.timeout_action is HookAction.ROLLBACK:
            raise Abort(f"Service deployment rolled back because a lifecycle hook timed out at {stage}.")

    def _lambda(self, stage: str, spec: HookSpec) -> None:
        run = self._start_hook(stage, spec, HookStatus.IN_PROGRESS)
        details = spec.hook_details
        while True:
            answer = self._invoke(stage, spec, run, details)
            status = answer.get("hookStatus") if isinstance(answer, dict) else None
            if status == HookReturn.SUCCEEDED:
                self._set_hook(run, HookStatus.SUCCEEDED)
                return
            if status != HookReturn.IN_PROGRESS:
                self._set_hook(run, HookStatus.FAILED)
                shown = status if status == HookReturn.FAILED else f"no valid hookStatus ({status!r})"
                raise Abort(
                    f"Service deployment rolled back because the lifecycle hook {spec.target_arn} "
                    f"at {stage} returned {shown}."
                )
            if "hookDetails" in answer:
                details = answer["hookDetails"]
            delay = schedule.callback_delay(answer)
            if self.ctx.clock.now() + delay >= run.expires_at:
                self.wait_for(max(run.expires_at - self.ctx.clock.now(), 0.0), lambda: False)
                self._timed_out(stage, run)
                return
            self.wait_for(delay, lambda: False)

    def _invoke(self, stage: str, spec: HookSpec, run: HookRun, details: Any) -> Any:
        if self.ctx.before_hook is not None:
            self.ctx.before_hook()
        payload = self.payload(stage, run, details)
        try:
            return self.ctx.invoke(spec.target_arn or "", payload)
        except Exception as err:  # a function error fails the hook ("if it fails, ... rolls back")
            self._set_hook(run, HookStatus.FAILED)
            raise Abort(
                f"Service deployment rolled back because the lifecycle hook {spec.target_arn} at {stage} "
                f"failed: {type(err).__name__}: {err}"
            ) from None

    def payload(self, stage: str, run: HookRun, details: Any) -> dict[str, Any]:
        """ECS's hook event (AWS, "Lifecycle hooks for Amazon ECS service deployments": payloads)."""
        with self.ctx.store.lock:
            source = self.dep.sources[0].arn if self.dep.sources else None
            target = self.dep.target.arn
            test = {target: self.dep.test_weight}
            production = {target: self.dep.production_weight}
            if source:
                test[source] = 100.0 - self.dep.test_weight
                production[source] = 100.0 - self.dep.production_weight
        event: dict[str, Any] = {
            "executionId": run.hook_id,
            "lifecycleStage": stage,
            "resourceArn": self.dep.arn,
            "executionDetails": {
                "serviceArn": self.service.arn,
                "targetServiceRevisionArn": target,
                "testTrafficWeights": test,
                "productionTrafficWeights": production,
            },
        }
        if details is not None:
            event["hookDetails"] = details
        return event

    # --- endings ------------------------------------------------------------------------------------

    def _stage(self, stage: str) -> None:
        self.checkpoint()
        self.poll_alarms()
        with self.ctx.store.lock:
            self.dep.lifecycle_stage = stage
            self._touch()

    def _touch(self) -> None:
        self.dep.updated_at = self.ctx.clock.now()

    def _end(self, status: Status, reason: str, stopped: bool = False) -> None:
        with self.ctx.store.lock:
            now = self.ctx.clock.now()
            self.dep.status, self.dep.status_reason = status, reason
            self.dep.finished_at = now
            if stopped:
                self.dep.stopped_at = now
            self._touch()
            events.send(self.ctx.publish, events.ended(self.dep, now))

    def _event(self, message: str) -> None:
        """One of the service's events (DescribeServices), in ECS's wording (``service_events``)."""
        with self.ctx.store.lock:
            self.service.add_event(self.ctx.clock.now(), message)

    def _abort(self, abort: Abort) -> None:
        if self.dep.triggered_alarms:
            self._event(said.deployment_failed(self.service.name, self.dep.target.id, "alarm detected."))
        if not abort.rollback:
            self._end(Status.STOPPED, abort.reason, stopped=True)
            return
        source = self.dep.sources[0] if self.dep.sources else None
        if source is not None:
            self._event(said.rolling_back(self.service.name, source.id))
        with self.ctx.store.lock:
            self.dep.status = Status.ROLLBACK_IN_PROGRESS
            self.dep.status_reason = abort.reason
            self.dep.rollback = {"reason": abort.reason, "startedAt": self.ctx.clock.now()}
            if source is not None:
                self.dep.rollback["serviceRevisionArn"] = source.arn
            self._touch()
            events.send(self.ctx.publish, events.rolling_back(self.dep, abort.reason, self.ctx.clock.now()))
        try:
            self._roll_back()
        except Shutdown:
            return
        except Exception as err:
            log.exception("rolling back %s failed", self.dep.arn)
            self._end(
                Status.ROLLBACK_FAILED, f"{abort.reason} The rollback failed: {type(err).__name__}: {err}"
            )
            return
        self._event(said.steady(self.service.name))  # before the end, as on success
        self._end(Status.ROLLBACK_SUCCESSFUL, abort.reason, stopped=self.dep.stop_requested)

    def _roll_back(self) -> None:
        """Traffic back to the source revision (production first), each stage's rollback hooks, then
        the target revision scaled down. Stops, alarms and replacements no longer interrupt."""
        self._monitoring = False
        for stage in ROLLBACK_HOOK_STAGES:
            if self.ctx.shutdown.is_set():
                raise Shutdown()
            rule = self.dep.production_rule if stage == PRODUCTION_TRAFFIC_SHIFT else self.dep.test_rule
            if rule not in self._moved_rules:
                continue  # this traffic never moved: nothing to put back, no hooks to run
            # lifecycleStage stays where the deployment failed (AWS documents none for a rollback;
            # the hooks still get ``stage`` in their event)
            if stage == PRODUCTION_TRAFFIC_SHIFT:
                self._route_production(0.0)
            else:
                self._route_test(0.0)
            for spec in schedule.hooks_at(self.dep.config, stage):
                if spec.target_type is HookTargetType.AWS_LAMBDA:
                    self._rollback_hook(stage, spec)
        with self.ctx.store.lock:
            if self.dep.target is not self.service.production:
                self.dep.target.live = False
            self._touch()

    def _rollback_hook(self, stage: str, spec: HookSpec) -> None:
        """A hook during the rollback: invoked until it answers (no stop or alarm interrupts it)."""
        run = self._start_hook(stage, spec, HookStatus.IN_PROGRESS)
        details = spec.hook_details
        while True:
            if self.ctx.before_hook is not None:
                self.ctx.before_hook()
            answer = self.ctx.invoke(spec.target_arn or "", self.payload(stage, run, details))
            status = answer.get("hookStatus") if isinstance(answer, dict) else None
            if status == HookReturn.SUCCEEDED:
                self._set_hook(run, HookStatus.SUCCEEDED)
                return
            if status != HookReturn.IN_PROGRESS or self.ctx.clock.now() >= run.expires_at:
                self._set_hook(run, HookStatus.FAILED)
                raise RuntimeError(f"the lifecycle hook {spec.target_arn} at {stage} answered {status!r}")
            details = answer.get("hookDetails", details)
            if self.ctx.clock.wait(self.ctx.shutdown, schedule.callback_delay(answer)):
                raise Shutdown()


def _all_to(target_group: str, deployment: ServiceDeployment) -> list[dict[str, Any]]:
    """Forward weights sending everything to ``target_group`` (the other group kept at 0)."""
    other = deployment.target_tg if target_group == deployment.source_tg else deployment.source_tg
    return [{"TargetGroupArn": target_group, "Weight": 100}, {"TargetGroupArn": other, "Weight": 0}]


def alarms_in_alarm(cloudwatch: Any, names: list[str]) -> list[str]:
    """Names of the given alarms whose state is ALARM (DescribeAlarms takes 100 names a call)."""
    found: list[str] = []
    for start in range(0, len(names), 100):
        response = cloudwatch.describe_alarms(AlarmNames=names[start : start + 100])
        for kind in ("MetricAlarms", "CompositeAlarms"):
            found += [a["AlarmName"] for a in response.get(kind, []) if a.get("StateValue") == ALARM_STATE]
    return found


def revision_task_set(revision: Revision, production: Revision | None) -> dict[str, Any]:
    """A revision in DescribeServices' taskSets shape, for the sandbox's fleet."""
    return {
        "id": revision.id,
        "taskSetArn": revision.task_set_arn,
        "taskDefinition": revision.task_definition,
        "loadBalancers": [{"targetGroupArn": revision.target_group_arn}],
        "computedDesiredCount": revision.desired_count,
        "status": "PRIMARY" if revision is production else "ACTIVE",
    }

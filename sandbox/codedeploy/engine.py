"""The deployment worker common to ECS and Lambda: walks the lifecycle events on the virtual clock,
runs hooks, polls alarms, honours stop/continue, and ends the deployment (rolled back by
``rollback.py`` when the decision in lifecycle.decide_ending says so). Platform engines supply the
resource actions and the restore steps."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.clock import VirtualClock
from sandbox.codedeploy import events, lifecycle, resources
from sandbox.codedeploy.appspec import AppSpec
from sandbox.codedeploy.errors import EngineAbort, EngineShutdown
from sandbox.codedeploy.hooks import HookDispatcher
from sandbox.codedeploy.lifecycle import EndCause
from sandbox.codedeploy.model import (
    TARGET_STATUS_FOR,
    Deployment,
    DeploymentStatus,
    LifecycleEventStatus,
    Store,
    Target,
)
from sandbox.codedeploy.rollback import Rollback, restore_at_once
from sandbox.codedeploy.traffic import traffic_schedule

log = logging.getLogger(__name__)

# Polls of CloudWatch that may fail in a row before the deployment fails (ignorePollAlarmFailure off).
ALARM_POLL_FAILURE_LIMIT = 3
# However fast virtual time runs, a worker does not poll moto more often than this (real seconds).
MIN_REAL_POLL_SECONDS = 0.05


@dataclass
class EngineContext:
    """What every deployment worker shares."""

    store: Store
    clock: VirtualClock
    clients: resources.MotoClients
    hooks: HookDispatcher
    region: str
    shutdown: threading.Event
    alarm_poll_seconds: float = 60.0
    hook_timeout_seconds: float = lifecycle.HOOK_TIMEOUT_SECONDS
    # EventBridge's PutEvents for the deployments' state changes (sandbox/codedeploy/events.py).
    publish: events.Publish | None = None


class DeploymentRun:
    """One deployment's worker. Subclasses implement the resource actions of their platform."""

    platform = ""

    def __init__(self, ctx: EngineContext, deployment: Deployment, appspec: AppSpec) -> None:
        self.ctx = ctx
        self.dep = deployment
        self.appspec = appspec
        self.group_spec = deployment.group_snapshot
        self._alarm_poll_failures = 0

    # --- what platforms provide ----------------------------------------------------------------------

    def prepare(self) -> Target:
        """Resolve the resources and describe the deployment's target."""
        raise NotImplementedError

    def action(self, event: str) -> Callable[[], None] | None:
        """The resource action of a lifecycle event (None: nothing but its hook)."""
        raise NotImplementedError

    def restore_steps(self) -> dict[str, Callable[[], None]]:
        """What puts traffic back on the original and removes what this deployment created, in order,
        keyed by the lifecycle event of the rollback deployment that performs it."""
        raise NotImplementedError

    def restored(self) -> None:
        """After the restore steps: show the failed deployment's target as the resources now are."""

    def has_changes(self) -> bool:
        """True once the deployment changed a resource (so there is something to roll back)."""
        raise NotImplementedError

    def rollback_revision(self) -> dict[str, Any]:
        """The revision a rollback deployment records."""
        return self.dep.revision

    def rollback_target(self, deployment_id: str) -> Target:
        """The rollback deployment's target once the restore is done (its events still Pending)."""
        raise NotImplementedError

    def before_event(self, event: str) -> None:
        """Called before each lifecycle event starts (ECS waits in Ready here)."""

    # --- the run ------------------------------------------------------------------------------------

    def run(self) -> None:
        """Thread target: the whole deployment."""
        store, clock = self.ctx.store, self.ctx.clock
        try:
            with store.lock:
                self.dep.start_time = clock.now()
            target = self.prepare()
            with store.lock:
                self.dep.target = target
                self._set_status(DeploymentStatus.IN_PROGRESS)
            for name in lifecycle.events_for(self.platform):
                self.checkpoint()
                self.poll_alarms()  # an alarm already in ALARM stops the deployment before the next event
                self.before_event(name)
                self._begin(name)
                if name in lifecycle.hook_events_for(self.platform):
                    self.run_hook(name)
                act = self.action(name)
                if act is not None:
                    act()
                self._end(name, LifecycleEventStatus.SUCCEEDED)
            self._finish_success()
        except EngineShutdown:
            log.debug("deployment %s left as it is: emulator stopping", self.dep.id)
        except EngineAbort as abort:
            self._finish_aborted(abort)
        except Exception as err:  # a failed AWS call or an emulator bug: the deployment fails, visibly
            log.exception("deployment %s failed on an unexpected error", self.dep.id)
            self._finish_aborted(
                EngineAbort(EndCause.AWS_ERROR, f"{type(err).__name__}: {err}", "INTERNAL_ERROR")
            )

    # --- waiting ------------------------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Raise if the emulator stops or someone asked to stop this deployment."""
        if self.ctx.shutdown.is_set():
            raise EngineShutdown()
        with self.ctx.store.lock:
            if self.dep.stop_requested:
                raise EngineAbort(EndCause.MANUAL_STOP, "A user stopped the deployment.")

    def wait_for(self, virtual_seconds: float | None, done: Callable[[], bool]) -> bool:
        """Wait until ``done()`` (True) or the duration passes (False), polling alarms meanwhile.

        Wakes early on the deployment's event (hook report, stop, continue); raises EngineAbort on a
        stop request or an alarm.
        """
        clock = self.ctx.clock
        deadline = None if virtual_seconds is None else clock.now() + virtual_seconds
        poll_every = max(self.ctx.alarm_poll_seconds, MIN_REAL_POLL_SECONDS * clock.time_scale)
        next_poll = clock.now()
        while True:
            self.checkpoint()
            with self.ctx.store.lock:
                if done():
                    return True
            now = clock.now()
            if now >= next_poll:
                self.poll_alarms()
                next_poll = now + poll_every
            if deadline is not None and now >= deadline:
                return False
            until = next_poll if deadline is None else min(next_poll, deadline)
            clock.wait(self.dep.wake, until - now)
            self.dep.wake.clear()

    def shift_traffic(self, route: Callable[[int], None]) -> None:
        """Walk the deployment config's traffic schedule on the virtual clock, routing each step."""
        config = self.ctx.store.configs.get(self.dep.config_name)
        schedule = traffic_schedule(config.traffic_routing if config else None)
        started = self.ctx.clock.now()
        for step in schedule:
            self.sleep(started + step.at_seconds - self.ctx.clock.now())
            route(step.percent)

    def sleep(self, virtual_seconds: float) -> None:
        """Wait out a duration (interruptible by stop and alarms)."""
        if virtual_seconds > 0:
            self.wait_for(virtual_seconds, lambda: False)
        else:
            self.checkpoint()
            self.poll_alarms()

    def poll_alarms(self) -> None:
        """DescribeAlarms for the group's alarms; an ALARM stops the deployment when monitoring is on."""
        config = self.group_spec.get("alarmConfiguration") or {}
        if not config.get("enabled"):
            return
        names = [a["name"] for a in config.get("alarms") or [] if a.get("name")]
        try:
            firing = resources.alarms_in_alarm(self.ctx.clients["cloudwatch"], names)
        except Exception as err:  # a failed poll is data; the limit decides when it ends the deployment
            self._alarm_poll_failures += 1
            if self._alarm_poll_failures >= ALARM_POLL_FAILURE_LIMIT and not config.get(
                "ignorePollAlarmFailure"
            ):
                raise EngineAbort(
                    EndCause.ALARM_POLL_FAILED, f"The alarm configuration could not be read: {err}"
                ) from None
            return
        self._alarm_poll_failures = 0
        if lifecycle.alarm_blocks(config, firing):
            raise EngineAbort(
                EndCause.ALARM,
                "One or more alarms have been activated according to the Amazon CloudWatch metrics you "
                "selected, and the affected deployments have been stopped. "
                f"Activated alarms: {', '.join(firing)}",
            )

    # --- hooks ---------------------------------------------------------------------------------------

    def run_hook(self, event: str) -> None:
        """Invoke the event's hook and wait for its report; failure or timeout raises EngineAbort."""
        function = self.appspec.hooks.get(event)
        if not function:
            return
        execution = self.ctx.hooks.start(self.dep, event, function)
        reported = self.wait_for(self.ctx.hook_timeout_seconds, lambda: execution.status.is_terminal)
        if not reported:
            self.ctx.hooks.fail(self.dep, execution, "The hook did not report its status before the timeout.")
        with self.ctx.store.lock:
            status, reason = execution.status, execution.reason
        if status is LifecycleEventStatus.SUCCEEDED:
            return
        message = reason or f"The hook {function} reported Failed."
        with self.ctx.store.lock:
            lifecycle_event = self.dep.event(event)
            if lifecycle_event is not None:
                lifecycle_event.diagnostics = {
                    "errorCode": "ScriptTimedOut" if not reported else "ScriptFailed",
                    "scriptName": function,
                    "message": message[:1000],
                    "logTail": "",
                }
        raise EngineAbort(
            EndCause.HOOK_FAILED,
            f"The deployment failed because a lifecycle event hook failed ({event}): {message}",
        )

    # --- bookkeeping (callers hold no lock; these take it) -------------------------------------------

    def _set_status(self, status: DeploymentStatus) -> None:
        with self.ctx.store.lock:
            previous, self.dep.status = self.dep.status, status
            if self.dep.target is not None:
                self.dep.target.last_updated = self.ctx.clock.now()
            self._announce(self.dep, previous)

    def _announce(self, deployment: Deployment, previous: DeploymentStatus) -> None:
        """The state-change event of ``deployment`` (store lock held; publishing never blocks)."""
        group = self.ctx.store.groups.get((deployment.application_name, deployment.group_name))
        at = self.ctx.clock.now()
        events.announce(
            self.ctx.publish, deployment, previous, group.id if group else "", self.ctx.region, at
        )

    def _begin(self, name: str) -> None:
        with self.ctx.store.lock:
            event = self.dep.event(name)
            if event is not None:
                event.status = LifecycleEventStatus.IN_PROGRESS
                event.start_time = self.ctx.clock.now()
                self.touch()

    def _end(self, name: str, status: LifecycleEventStatus) -> None:
        with self.ctx.store.lock:
            event = self.dep.event(name)
            if event is not None:
                event.status = status
                event.end_time = self.ctx.clock.now()
                self.touch()

    def touch(self) -> None:
        if self.dep.target is not None:
            self.dep.target.last_updated = self.ctx.clock.now()

    def _record_group_result(self, deployment: Deployment) -> None:
        group = self.ctx.store.groups.get((deployment.application_name, deployment.group_name))
        if group is None:
            return
        info = {
            "deploymentId": deployment.id,
            "status": deployment.status.value,
            "endTime": deployment.complete_time,
            "createTime": deployment.create_time,
        }
        group.last_attempted = info
        if deployment.status is DeploymentStatus.SUCCEEDED:
            group.last_successful = info

    def _finish_success(self) -> None:
        with self.ctx.store.lock:
            self.dep.complete_time = self.ctx.clock.now()
            self._set_status(DeploymentStatus.SUCCEEDED)
            self._record_group_result(self.dep)

    def _finish_aborted(self, abort: EngineAbort) -> None:
        cause = EndCause(abort.cause)
        store, clock = self.ctx.store, self.ctx.clock
        with store.lock:
            ending = lifecycle.decide_ending(cause, self.dep.auto_rollback, self.dep.stop_rollback)
            if self.dep.target is not None:
                for event in self.dep.target.lifecycle_events:
                    if event.status is LifecycleEventStatus.IN_PROGRESS:
                        event.status = LifecycleEventStatus.FAILED
                        event.end_time = clock.now()
                    elif event.status is LifecycleEventStatus.PENDING:
                        event.status = LifecycleEventStatus.SKIPPED
            self.dep.status_messages.append(abort.message)
            # A hook still running when the deployment ends can no longer report its status.
            for execution in store.hook_executions.values():
                if (
                    execution.deployment_id == self.dep.id
                    and execution.status is LifecycleEventStatus.PENDING
                ):
                    execution.status = LifecycleEventStatus.FAILED
                    execution.reason = "The deployment ended before the hook reported."
        # CodeDeploy cannot roll back before the replacement exists (a failed BeforeInstall).
        changed = self.dep.target is not None and self.has_changes()
        rollback: Rollback | None = None
        restored_error = ""
        if ending.roll_back and changed:
            rollback = Rollback(store, clock, self.dep, self)
            with store.lock:
                self._announce(rollback.deployment, DeploymentStatus.CREATED)
            restored_error = rollback.walk()
        elif changed and cause is EndCause.READY_TIMEOUT:
            try:
                restore_at_once(self)
            except Exception as err:
                log.exception("restoring after %s failed", self.dep.id)
                restored_error = f"{type(err).__name__}: {err}"
        with store.lock:
            now = clock.now()
            self.dep.error_information = {
                "code": abort.error_code or ending.error_code,
                "message": abort.message,
            }
            self.dep.complete_time = now
            self._set_status(ending.status)
            self._record_group_result(self.dep)
            if rollback is not None:
                rollback.finish(now, restored_error)
                self._announce(rollback.deployment, DeploymentStatus.IN_PROGRESS)
                self._record_group_result(rollback.deployment)


def target_status_of(deployment: Deployment) -> str:
    return TARGET_STATUS_FOR[deployment.status].value

"""Rollback as CodeDeploy does it for ECS and Lambda.

When a deployment that changed something ends failed or stopped and ``lifecycle.decide_ending`` says
to roll back, CodeDeploy creates a rollback deployment (creator ``codeDeployRollback``, linked to the
failed one both ways through rollbackInfo) that walks its lifecycle events on the virtual clock,
each doing one restore step of the failed deployment's platform (``Restorer``): no hooks, no traffic
shifting (a rollback reroutes all at once). The failed deployment shows its ending only after the
walk, so a client that sees it Stopped or Failed already finds the traffic back on the original.
Without a rollback deployment (the Ready wait timed out) the restore steps run at once.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any, Protocol

from sandbox.clock import VirtualClock
from sandbox.codedeploy import lifecycle
from sandbox.codedeploy.model import (
    Deployment,
    DeploymentStatus,
    LifecycleEvent,
    LifecycleEventStatus,
    Store,
    Target,
    new_deployment_id,
)

log = logging.getLogger(__name__)

ROLLBACK_CREATOR = "codeDeployRollback"  # botocore's DeploymentCreator has no "autoRollback"


class Restorer(Protocol):
    """What a platform's deployment run gives its rollback."""

    platform: str

    def restore_steps(self) -> dict[str, Callable[[], None]]:
        """Restore steps in order, keyed by the rollback's lifecycle event that performs each."""
        ...

    def restored(self) -> None:
        """After the steps: show the failed deployment's target as the resources now are."""
        ...

    def rollback_revision(self) -> dict[str, Any]:
        """The revision the rollback deployment records."""
        ...

    def rollback_target(self, deployment_id: str) -> Target:
        """The rollback deployment's target once the restore is done."""
        ...


def restore_at_once(restorer: Restorer) -> None:
    """Every restore step at once, without a rollback deployment (the Ready wait timed out)."""
    for step in restorer.restore_steps().values():
        step()
    restorer.restored()


class Rollback:
    """The rollback deployment of ``failed``: created on construction, then ``walk`` and ``finish``."""

    def __init__(self, store: Store, clock: VirtualClock, failed: Deployment, restorer: Restorer) -> None:
        self.store = store
        self.clock = clock
        self.failed = failed
        self.restorer = restorer
        self.deployment = self._create()

    def _create(self) -> Deployment:
        """The rollback deployment CodeDeploy creates, linked both ways through rollbackInfo."""
        failed = self.failed
        with self.store.lock:
            now = self.clock.now()
            rollback = Deployment(
                id=new_deployment_id(),
                application_name=failed.application_name,
                group_name=failed.group_name,
                config_name=failed.config_name,
                compute_platform=failed.compute_platform,
                revision=self.restorer.rollback_revision(),
                creator=ROLLBACK_CREATOR,
                create_time=round(now, 3),  # milliseconds, as api_deployments says
                group_snapshot=failed.group_snapshot,
                description=f"Rollback of deployment {failed.id}",
                status=DeploymentStatus.IN_PROGRESS,
                start_time=now,
                auto_rollback=failed.auto_rollback,
                rollback_info={
                    "rollbackTriggeringDeploymentId": failed.id,
                    "rollbackMessage": f"Deployment {failed.id} was rolled back by this deployment.",
                },
            )
            self.store.deployments[rollback.id] = rollback
            # Registered with the application like any deployment's revision (GetApplicationRevision).
            app = self.store.applications.get(failed.application_name)
            if app is not None and rollback.revision.get("revisionType") == "AppSpecContent":
                app.register_revision(rollback.revision, failed.group_name, now)
            failed.rollback_info = {
                "rollbackDeploymentId": rollback.id,
                "rollbackMessage": f"Deployment {failed.id} was rolled back by deployment {rollback.id}.",
            }
        return rollback

    def walk(self) -> str:
        """Run the rollback's lifecycle events in order on the virtual clock, each doing its restore
        step (AllowTraffic reroutes production to the original); "" or what went wrong."""
        store, clock, failed = self.store, self.clock, self.failed
        steps = self.restorer.restore_steps()
        assert failed.target is not None
        with store.lock:
            final = self.restorer.rollback_target(self.deployment.id)
            target = Target(
                target_id=final.target_id,
                target_arn=final.target_arn,
                kind=final.kind,
                lifecycle_events=[LifecycleEvent(n) for n in lifecycle.events_for(self.restorer.platform)],
                last_updated=clock.now(),
                task_sets=copy.deepcopy(failed.target.task_sets),
                lambda_info=copy.deepcopy(failed.target.lambda_info),
            )
            self.deployment.target = target
            events = list(target.lifecycle_events)
        for index, event in enumerate(events):
            with store.lock:
                event.status, event.start_time = LifecycleEventStatus.IN_PROGRESS, clock.now()
                target.last_updated = event.start_time
            try:
                step = steps.get(event.name)
                if step is not None:
                    step()
            except Exception as err:  # the rollback itself failed; say so on both records
                log.exception("rolling back %s failed at %s", failed.id, event.name)
                with store.lock:
                    event.status, event.end_time = LifecycleEventStatus.FAILED, clock.now()
                    for later in events[index + 1 :]:
                        later.status = LifecycleEventStatus.SKIPPED
                return f"{type(err).__name__}: {err}"
            with store.lock:
                event.status, event.end_time = LifecycleEventStatus.SUCCEEDED, clock.now()
                target.last_updated = event.end_time
        self.restorer.restored()
        with store.lock:
            target.task_sets, target.lambda_info = final.task_sets, final.lambda_info
        return ""

    def finish(self, now: float, error: str) -> None:
        """The rollback's ending, at ``now``: Succeeded, or Failed INTERNAL_ERROR with ``error``.
        The caller holds the store's lock and ends the failed deployment in the same breath."""
        rollback = self.deployment
        rollback.complete_time = now
        if rollback.target is not None:
            rollback.target.last_updated = now
        if error:
            rollback.status = DeploymentStatus.FAILED
            rollback.error_information = {"code": "INTERNAL_ERROR", "message": error}
        else:
            rollback.status = DeploymentStatus.SUCCEEDED

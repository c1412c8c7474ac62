"""The emulator's rollback deployment (sandbox/codedeploy/rollback.py) on a Restorer that records:
its lifecycle events run the failed deployment's restore steps in order, and a step that fails ends
the walk with that event Failed and every later one Skipped (nothing after it runs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.clock import VirtualClock
from sandbox.codedeploy import lifecycle
from sandbox.codedeploy.model import Deployment, DeploymentStatus, LifecycleEvent, Store, Target
from sandbox.codedeploy.rollback import ROLLBACK_CREATOR, Rollback
from sandbox.codedeploy.vocabulary import ECS, ECS_EVENTS

TARGET = Target("cluster:svc", "arn:ecs:service/cluster/svc", "ECSTarget", [], 0.0)


class RecordingRestorer:
    """Restore steps at three of the rollback's events; ``fail_at``'s raises."""

    platform = ECS

    def __init__(self, fail_at: str = "") -> None:
        self.ran: list[str] = []
        self.fail_at = fail_at
        self.was_restored = False

    def restore_steps(self) -> dict[str, Callable[[], None]]:
        return {name: self._step(name) for name in ("AllowTestTraffic", "AllowTraffic", "BeforeBlockTraffic")}

    def _step(self, name: str) -> Callable[[], None]:
        def step() -> None:
            self.ran.append(name)
            if name == self.fail_at:
                raise RuntimeError(f"{name} could not restore")

        return step

    def restored(self) -> None:
        self.was_restored = True

    def rollback_revision(self) -> dict[str, Any]:
        return {"revisionType": "String"}

    def rollback_target(self, deployment_id: str) -> Target:
        return Target(TARGET.target_id, TARGET.target_arn, TARGET.kind, [], 0.0)


def _rollback(restorer: RecordingRestorer) -> tuple[Deployment, Rollback]:
    failed = Deployment(
        id="d-FAILED001",
        application_name="app",
        group_name="group",
        config_name="CodeDeployDefault.ECSAllAtOnce",
        compute_platform=ECS,
        revision={},
        creator="user",
        create_time=0.0,
        group_snapshot={},
        status=DeploymentStatus.IN_PROGRESS,
        target=Target(
            TARGET.target_id, TARGET.target_arn, TARGET.kind, [LifecycleEvent(n) for n in ECS_EVENTS], 0.0
        ),
    )
    return failed, Rollback(Store(), VirtualClock(1000), failed, restorer)


def _statuses(rollback: Rollback) -> dict[str, str]:
    assert rollback.deployment.target is not None
    return {e.name: e.status.value for e in rollback.deployment.target.lifecycle_events}


def test_the_rollback_runs_the_restore_steps_in_lifecycle_order_and_links_both_ways() -> None:
    restorer = RecordingRestorer()
    failed, rollback = _rollback(restorer)
    assert rollback.walk() == ""
    assert (
        restorer.ran == ["AllowTestTraffic", "AllowTraffic", "BeforeBlockTraffic"] and restorer.was_restored
    )
    assert set(_statuses(rollback).values()) == {"Succeeded"}
    assert tuple(_statuses(rollback)) == lifecycle.events_for(ECS)
    assert rollback.deployment.creator == ROLLBACK_CREATOR
    assert rollback.deployment.rollback_info == {
        "rollbackTriggeringDeploymentId": failed.id,
        "rollbackMessage": f"Deployment {failed.id} was rolled back by this deployment.",
    }
    assert (
        failed.rollback_info is not None
        and failed.rollback_info["rollbackDeploymentId"] == rollback.deployment.id
    )


def test_a_failed_restore_step_fails_its_event_and_skips_the_rest() -> None:
    restorer = RecordingRestorer(fail_at="AllowTraffic")
    _, rollback = _rollback(restorer)
    assert rollback.walk() == "RuntimeError: AllowTraffic could not restore"
    assert restorer.ran == ["AllowTestTraffic", "AllowTraffic"] and not restorer.was_restored
    statuses = _statuses(rollback)
    events = list(statuses)
    at = events.index("AllowTraffic")
    assert statuses["AllowTraffic"] == "Failed"
    assert {statuses[name] for name in events[:at]} == {"Succeeded"}
    assert {statuses[name] for name in events[at + 1 :]} == {"Skipped"}

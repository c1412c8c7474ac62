"""A fake engine on a fake clock for the fleet runner's loop (orchestrator/fleet/runner.py).

``FakeFleetEngine`` runs scripted deployments: each ``FakePlan`` says how long its deployment takes
(deployment seconds on the shared ``FakeClock``), whether it fails, whether the group is busy until
some time, and whether it waits at Ready for a promote. ``snapshots`` answers every id in ONE call
(it counts ``batches``), as the real engines batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from orchestrator.engines.base import Polled, Stopped
from orchestrator.errors import ActiveDeploymentError, BadInputError, GuardrailError
from orchestrator.vocabulary import DeploymentStatus
from orchestrator.watching.snapshots import Snapshot


@dataclass
class FakeClock:
    """Real seconds that only move when the code under test sleeps."""

    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.001)  # every sleep moves time: a loop can never spin in place


@dataclass(frozen=True)
class FakePlan:
    service: str
    seconds: float = 60.0
    fails: bool = False
    busy_until: float = 0.0  # the group runs another deployment until then (ActiveDeploymentError)
    waits_at_ready: bool = False
    refused: bool = False  # start raises GuardrailError (bad input)


@dataclass
class _Deployment:
    plan: FakePlan
    started: float
    stopped_at: float | None = None
    promoted_at: float | None = None


class FakeFleetEngine:
    """``Engine``'s fleet part: start, snapshots (batched), stop, promote."""

    def __init__(self, clock: FakeClock, name: str = "codedeploy") -> None:
        self.name = name
        self.clock = clock
        self.clients = SimpleNamespace(counter=SimpleNamespace(total=0))
        self.deployments: dict[str, _Deployment] = {}
        self.starts: list[str] = []  # services, in the order started
        self.start_attempts: list[str] = []
        self.batches: list[list[str]] = []
        self.stops: list[str] = []
        self.promotes: list[str] = []

    def start(self, plan: FakePlan, *, on_step: Any = None) -> Any:
        self.start_attempts.append(plan.service)
        if plan.refused:
            raise GuardrailError(f"{plan.service}: refused by the guardrails")
        if self.clock.now < plan.busy_until:
            raise ActiveDeploymentError(f"{plan.service}'s deployment group is busy")
        deployment_id = f"d-{plan.service.upper()[:4]}{len(self.deployments):05d}"
        self.deployments[deployment_id] = _Deployment(plan, self.clock.now)
        self.starts.append(plan.service)
        return SimpleNamespace(deployment_id=deployment_id, task_definition_arn="arn:td", attempts=1)

    def status(self, deployment_id: str) -> Snapshot:
        run = self.deployments[deployment_id]
        now = self.clock.now
        if run.stopped_at is not None:
            return Snapshot(DeploymentStatus.STOPPED, rollback_deployment_id=f"{deployment_id}-rb")
        ready_at = run.started + run.plan.seconds / 2
        if run.plan.waits_at_ready and run.promoted_at is None:
            return Snapshot(DeploymentStatus.READY if now >= ready_at else DeploymentStatus.IN_PROGRESS)
        end = run.started + run.plan.seconds + ((run.promoted_at or ready_at) - ready_at)
        if now < end:
            return Snapshot(DeploymentStatus.IN_PROGRESS, original_weight=100.0, replacement_weight=0.0)
        if run.plan.fails:
            return Snapshot(DeploymentStatus.FAILED, error="ALARM_ACTIVE: 5xx", rollback_deployment_id="d-RB")
        return Snapshot(DeploymentStatus.SUCCEEDED, original_weight=0.0, replacement_weight=100.0)

    def snapshots(self, deployment_ids: Sequence[str]) -> dict[str, Polled]:
        self.batches.append(list(deployment_ids))
        return {
            deployment_id: Polled(self.status(deployment_id), 1 if index == 0 else 0)
            for index, deployment_id in enumerate(deployment_ids)
        }

    def stop(self, deployment_id: str, *, rollback: bool, wait: Any = None) -> Stopped:
        assert rollback
        self.stops.append(deployment_id)
        self.deployments[deployment_id].stopped_at = self.clock.now
        return Stopped("Pending", None)

    def promote(self, deployment_id: str) -> None:
        if self.status(deployment_id).status is not DeploymentStatus.READY:
            raise BadInputError("not waiting at Ready")
        self.promotes.append(deployment_id)
        self.deployments[deployment_id].promoted_at = self.clock.now

    def server_clock(self, time_scale: float) -> Any:
        """A clock that has heard no answer: the run counts on its own (fake) clock."""
        return SimpleNamespace(server_now=None)

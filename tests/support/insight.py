"""Test doubles for the insight room (`why`, `timeline`): an engine whose ``inspect`` answers a given
``Inspection``, and evidence builders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from orchestrator.errors import AwsError, BadInputError
from orchestrator.insight.evidence import DeploymentFacts, Inspection, Outcome, Step

CD_ID = "d-FAKE00001"
T0 = datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC)


class _ServerClock:
    """Engine.server_clock's answer: the engine's clock at its last answer (epoch s), or None."""

    def __init__(self, engine: FakeInspectEngine) -> None:
        self._engine = engine

    @property
    def server_now(self) -> float | None:
        return self._engine.server_now

    def __call__(self) -> float:
        return self._engine.server_now or 0.0


@dataclass
class FakeInspectEngine:
    """An Engine for `gather` and `why`: ``inspect`` answers ``inspections[id]`` (BadInputError for
    another id, ``inspect_error`` when set); ``describe(id).service_in(catalog)`` resolves
    ``service`` (a (name, environment) pair) in the catalog."""

    inspections: dict[str, Inspection]
    name: str = "codedeploy"
    service: tuple[str, str] | None = None
    server_now: float | None = None
    inspect_error: Exception | None = None
    calls: list[str] = field(default_factory=list)

    def server_clock(self, time_scale: float) -> _ServerClock:
        return _ServerClock(self)

    def inspect(self, deployment_id: str) -> Inspection:
        self.calls.append("inspect")
        if self.inspect_error is not None:
            raise self.inspect_error
        if deployment_id not in self.inspections:
            raise BadInputError(f"deployment {deployment_id} does not exist in this account and region")
        return self.inspections[deployment_id]

    def describe(self, deployment_id: str, *, with_lifecycle: bool = False) -> Any:
        self.calls.append("describe")
        service = self.service

        def service_in(catalog: Any) -> Any:
            return catalog.resolve(*service) if service is not None else None

        return SimpleNamespace(service_in=service_in)


def facts(outcome: Outcome = Outcome.ROLLED_BACK, **more: Any) -> DeploymentFacts:
    """A CodeDeploy deployment's facts: created at T0, ended ten minutes later."""
    values: dict[str, Any] = {
        "deployment_id": CD_ID,
        "engine": "codedeploy",
        "status": {Outcome.SUCCEEDED: "Succeeded", Outcome.STOPPED: "Stopped"}.get(outcome, "Failed"),
        "outcome": outcome,
        "created": T0,
        "completed": T0.replace(minute=10),
    }
    values.update(more)
    return DeploymentFacts(**values)


def failed_at_test_traffic(**more: Any) -> Inspection:
    """A canary whose AfterAllowTestTraffic hook failed and CodeDeploy rolled back."""
    steps = (
        Step("BeforeInstall", "Succeeded", T0, T0.replace(second=5)),
        Step("Install", "Succeeded", T0.replace(second=5), T0.replace(minute=1)),
        Step(
            "AfterAllowTestTraffic",
            "Failed",
            T0.replace(minute=2),
            T0.replace(minute=3),
            "ScriptFailed",
            "hook failed",
        ),
    )
    values: dict[str, Any] = {
        "facts": facts(rolled_back=True, rollback_deployment_id="d-FAKE00002"),
        "steps": steps,
    }
    values.update(more)
    return Inspection(**values)


def aws_denied(what: str) -> AwsError:
    """The one-line AwsError an adapter raises when AWS refuses a read."""
    return AwsError(f"{what}: access denied (User is not authorized); see the README's IAM permissions")

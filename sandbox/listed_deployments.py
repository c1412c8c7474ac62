"""A service's deployments as its engine lists them, read straight from the emulators after the fact
(the fleet test and bench/fleet.py count and time a fleet run with it, whatever the CLI reported).

CodeDeploy: ListDeployments (createTimeRange) + BatchGetDeployments, its own rollback deployments
included; Amazon ECS: ListServiceDeployments (createdAt after). Times are the emulators' (virtual).
``wave_timing`` is the arithmetic of a run's waves over those times (pure).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from orchestrator.catalog import ResolvedService
from orchestrator.vocabulary import EngineName

# CodeDeploy's times come at millisecond resolution (epoch seconds with 3 decimals), ECS's finer.
RESOLUTION = timedelta(milliseconds=1)


@dataclass(frozen=True)
class Listed:
    """One deployment: id, created, completed (None while it runs), the engine's status word."""

    deployment_id: str
    created: datetime
    completed: datetime | None
    status: str

    @property
    def seconds(self) -> float | None:
        return None if self.completed is None else (self.completed - self.created).total_seconds()


def listed_deployments(codedeploy: Any, ecs: Any, service: ResolvedService, since: datetime) -> list[Listed]:
    """The service's deployments created since ``since``, oldest first (one page: a test's few)."""
    settings = service.settings
    if settings.engine is EngineName.ECS:
        found = ecs.list_service_deployments(
            cluster=settings.cluster, service=settings.ecs_service, createdAt={"after": since}
        )["serviceDeployments"]
        listed = [
            Listed(d["serviceDeploymentArn"], d["createdAt"], d.get("finishedAt"), d["status"]) for d in found
        ]
    else:
        ids = codedeploy.list_deployments(
            applicationName=settings.application,
            deploymentGroupName=settings.deployment_group,
            createTimeRange={"start": since},
        )["deployments"]
        infos = codedeploy.batch_get_deployments(deploymentIds=ids)["deploymentsInfo"] if ids else []
        listed = [
            Listed(i["deploymentId"], i["createTime"], i.get("completeTime"), i["status"]) for i in infos
        ]
    return sorted(listed, key=lambda d: d.created)


@dataclass(frozen=True)
class WaveTiming:
    """A run's waves over its deployments' own times (seconds)."""

    longest: tuple[float, ...]  # per wave, its longest deployment (created -> completed)
    gaps: tuple[float, ...]  # per wave after the first: its first create - the wave before's last complete
    span: float  # the first create -> the last complete

    @property
    def sum_of_longest(self) -> float:
        return sum(self.longest)

    @property
    def ordered(self) -> bool:
        """No deployment of a wave was created before the wave before it ended (at CodeDeploy's
        millisecond resolution)."""
        return all(gap > -RESOLUTION.total_seconds() for gap in self.gaps)


def wave_timing(waves: Mapping[int, Sequence[Listed]]) -> WaveTiming:
    """Each wave's longest deployment, the gaps between waves and the whole span; every deployment
    completed (a running one has no duration yet: ValueError)."""
    ordered = [list(waves[number]) for number in sorted(waves) if waves[number]]
    if any(d.completed is None for wave in ordered for d in wave):
        raise ValueError("a deployment of the run has not completed")
    ends = [max(d.completed for d in wave if d.completed is not None) for wave in ordered]
    starts = [min(d.created for d in wave) for wave in ordered]
    longest = tuple(max(d.seconds or 0.0 for d in wave) for wave in ordered)
    gaps = tuple((starts[i] - ends[i - 1]).total_seconds() for i in range(1, len(ordered)))
    span = (ends[-1] - starts[0]).total_seconds() if ordered else 0.0
    return WaveTiming(longest, gaps, span)

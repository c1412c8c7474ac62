"""The engine seam: what every deployment engine does, and the plain data it answers with.

An engine runs a service's deployments on AWS: CodeDeploy today (``engines.codedeploy``), Amazon
ECS's native deployments next. ``engines.engine_for`` chooses one once per command; the verbs
(``commands/``) and the watch loop (``watching/loop.py``) call only what ``Engine`` declares, so
they never ask which engine they hold. Pure: no boto3 here.

What an engine answers with is engine-neutral where the verbs read it: a ``Snapshot`` (status,
lifecycle events or stages, traffic weights, rollback), a ``Deployment`` (who it belongs to, its
strategy and waits), ``Stopped``. A deployment id is whatever the engine
names deployments by (CodeDeploy: ``d-XXXXXXXXX``).
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from orchestrator.catalog import ResolvedService
from orchestrator.engines.guardrails import GuardrailViolation
from orchestrator.insight.evidence import Inspection
from orchestrator.insight.records import DeploymentRecord, Provenance
from orchestrator.strategies import Strategy
from orchestrator.watching.snapshots import Snapshot
from orchestrator.watching.timing import GroupTiming, Phase


def new_request_token() -> str:
    """A token that names one deploy request (the engine records it with the deployment)."""
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class DeployInputs:
    """What the user asked for, already validated (service resolved, strategy parsed)."""

    service: ResolvedService
    strategy: Strategy
    image: str | None = None
    task_definition: str | None = None  # an ARN (deploy it as is) or a JSON file (register it)
    force: bool = False
    request_token: str = dataclasses.field(default_factory=new_request_token)
    reason: str = "deploy"  # "deploy" or "rollback" (recorded with the deployment)
    # rollback: the earlier revision's AppSpec, sent verbatim
    appspec_content: str | None = None
    # who runs it from which commit (insight/provenance.py); None: not recorded (tests, dry runs)
    provenance: Provenance | None = None
    rollback_of: str | None = None  # rollback: the live deployment it moves away from
    # `bluegreen fleet`: the fleet run this deployment belongs to, carried with the deployment in
    # AWS (CodeDeploy: its description; ECS: its task definition's tags) so a run is found again
    # from any machine (Engine.fleet_deployments)
    fleet_run: str | None = None
    # `bluegreen drill --fault hook`: the fault the hooks are to force (commands/drill_rules.py's
    # marker: CodeDeploy's description, ECS's lifecycle hooks' hookDetails); None for any other run
    drill_fault: str | None = None


@dataclass(frozen=True)
class Deployment:
    """One deployment as the engine describes it, whoever started it (`watch`, `status`)."""

    deployment_id: str
    snapshot: Snapshot
    application: str | None  # CodeDeploy's application and deployment group (the catalog's key)
    deployment_group: str | None
    config_name: str | None  # the engine's name for the strategy (deploymentConfigName)
    strategy: Strategy | None  # None when bluegreen cannot read the config as one of its strategies
    timing: GroupTiming  # the waits this deployment runs with (no hook budgets: the catalog has those)
    description: str | None = None
    create_time: datetime | None = None
    complete_time: datetime | None = None
    rollback_of: str | None = None  # the deployment this one rolls back (an automatic rollback)
    engine: str = "codedeploy"  # the engine whose deployment it is (Engine.name)
    ecs_service: tuple[str, str] | None = None  # (cluster, service) of a native deployment

    def service_in(self, catalog: Any) -> ResolvedService | None:
        """The catalog's service (in any environment) this deployment belongs to."""
        if self.ecs_service is not None:
            return _by_ecs_service(catalog, *self.ecs_service)
        if self.application is None or self.deployment_group is None:
            return None
        found: ResolvedService | None = catalog.find_by_deployment_group(
            self.application, self.deployment_group
        )
        return found


def _by_ecs_service(catalog: Any, cluster: str, service: str) -> ResolvedService | None:
    """The catalog's service (any environment) that runs as ECS service ``cluster``/``service``;
    the one whose engine is ECS first, when environments share a cluster."""
    found = [
        resolved
        for environment in catalog.environments
        for resolved in catalog.resolve_all(environment)
        if (resolved.settings.cluster, resolved.settings.ecs_service) == (cluster, service)
    ]
    found.sort(key=lambda resolved: resolved.settings.engine != "ecs")
    return found[0] if found else None


@dataclass(frozen=True)
class Polled:
    """One poll of a running deployment: what it saw and how many API calls it cost."""

    snapshot: Snapshot
    calls: int


@dataclass(frozen=True)
class Stopped:
    """What a stop request did: the engine's answer and, with rollback, the rollback once it shows."""

    status: str | None
    message: str | None
    rollback_deployment_id: str | None = None
    snapshot: Snapshot | None = None  # the last look while waiting for the rollback (None: not waited)


@dataclass(frozen=True)
class RollbackWait:
    """How long ``Engine.stop`` waits for a requested rollback to show (real seconds)."""

    timeout_seconds: float
    interval_seconds: float = 2.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


class Plan(Protocol):
    """A deployment decided before any write (the dry run prints it; ``Engine.start`` applies it)."""

    @property
    def service(self) -> str: ...

    @property
    def environment(self) -> str: ...

    @property
    def strategy(self) -> Strategy: ...

    @property
    def phases(self) -> tuple[Phase, ...]: ...

    @property
    def timeout_seconds(self) -> float: ...

    @property
    def expected_seconds(self) -> float: ...

    @property
    def request_token(self) -> str: ...

    @property
    def forced(self) -> bool: ...

    @property
    def violations(self) -> tuple[GuardrailViolation, ...]: ...

    @property
    def engine(self) -> str: ...

    @property
    def config_name(self) -> str:
        """The engine's name for what runs the strategy (CodeDeploy's config, ECS's native strategy)."""
        ...

    def dry_run_document(self, timeout: float) -> Any:
        """`deploy --dry-run --output json`: the plan and the requests deploy would send."""
        ...

    def dry_run_text(self, timeout: float) -> str:
        """`deploy --dry-run`: the plan for people."""
        ...


class Started(Protocol):
    """What ``Engine.start`` did: the new deployment and what it runs."""

    @property
    def deployment_id(self) -> str: ...

    @property
    def task_definition_arn(self) -> str: ...

    @property
    def attempts(self) -> int: ...

    @property
    def recovered(self) -> bool: ...


class ServerClock(Protocol):
    """Real seconds as the service's own clock counts them (watching.loop.DeploymentClock)."""

    @property
    def server_now(self) -> float | None: ...

    def __call__(self) -> float: ...


StepNote = Callable[[str, str], None]


class Engine(Protocol):
    """One deployment engine; every verb goes through these and nothing else."""

    name: str

    def plan(self, inputs: DeployInputs, *, offline: bool = False) -> Plan:
        """Decide everything before any write; ``offline``: no AWS call at all (dry run)."""
        ...

    def start(self, plan: Any, *, on_step: StepNote | None = None) -> Started:
        """Apply a plan (refusing when the service is busy); exactly one deployment or an error."""
        ...

    def describe(self, deployment_id: str, *, with_lifecycle: bool = False) -> Deployment:
        """Who the deployment belongs to, its strategy and waits, and a snapshot of it."""
        ...

    def snapshot(self, deployment_id: str, previous: Snapshot | None = None) -> Polled:
        """One look at a running deployment (``previous``: the last look, so a poll costs less)."""
        ...

    def snapshots(self, deployment_ids: Sequence[str]) -> dict[str, Polled]:
        """One look at each of several deployments, read in the engine's batches (CodeDeploy:
        BatchGetDeployments by 25; ECS: DescribeServiceDeployments by 20): the fleet's watch.
        Each Polled's ``calls`` is its share; their sum is what the look cost."""
        ...

    def fleet_deployments(self, service: ResolvedService, fleet_run: str, since: datetime) -> list[str]:
        """The service's deployments created at or after ``since`` that carry fleet run
        ``fleet_run`` (DeployInputs.fleet_run), newest first: what `fleet --resume` skips."""
        ...

    def poll_calls(self, deployment_id: str) -> int:
        """At most how many API calls the next ``snapshot`` makes (the watch loop's call budget)."""
        ...

    def stop(self, deployment_id: str, *, rollback: bool, wait: RollbackWait | None = None) -> Stopped:
        """Stop a deployment, with rollback or without; ``wait``: until the rollback shows."""
        ...

    def promote(self, deployment_id: str) -> None:
        """Release a deployment waiting for a promote (BadInputError when it is not waiting)."""
        ...

    def find_active(self, service: ResolvedService) -> list[str]:
        """The service's deployments that have not finished."""
        ...

    def latest(self, service: ResolvedService) -> str:
        """The service's most recent deployment (BadInputError when it has none)."""
        ...

    def succeeded_deployments(self, service: ResolvedService) -> list[dict[str, Any]]:
        """The service's successful deployments, any order: what `rollback` chooses among. Each is
        a dict with deploymentId, createTime, description (optional) and what it deployed: the
        task definition as ``taskDefinitionArn`` (ECS: its target revision's) or the AppSpec as
        revision.appSpecContent.content (CodeDeploy's deploymentInfo shape)."""
        ...

    def inspect(self, deployment_id: str) -> Inspection:
        """Everything the engine's own API says about one deployment, after the fact (``why``,
        ``timeline``): its facts, steps with times and diagnostics, traffic, the replacement's
        stopped tasks and the service's events; a source it cannot read goes to ``unreadable``.
        BadInputError (exit 2) when the deployment does not exist."""
        ...

    def history(self, service: ResolvedService, since: datetime) -> list[DeploymentRecord]:
        """The service's deployments created at or after ``since``, newest first, read in batches
        (CodeDeploy: ListDeployments + BatchGetDeployments by 25; ECS: ListServiceDeployments +
        DescribeServiceDeployments by 20)."""
        ...

    def test_listener(self, service: ResolvedService) -> str:
        """The ARN of the listener that routes test traffic to the replacement for the whole
        deployment (CodeDeploy: the deployment group's testTrafficRoute; Amazon ECS: the listener of the
        service's testListenerRule): where the watcher's green probe goes. BadInputError when the
        service has none."""
        ...

    def server_clock(self, time_scale: float) -> ServerClock:
        """A clock that follows the service's (its answers' dates); register before the calls."""
        ...

"""The CodeDeploy engine: ECS blue/green deployments run by AWS CodeDeploy.

Plans and starts through ``codedeploy_plan`` (plan, then apply, exactly once), looks through
GetDeployment + GetDeploymentTarget (a fleet's many deployments: BatchGetDeployments by 25 and a
target only where ``fleet_reads.wants_target`` says), stops with StopDeployment (CodeDeploy rolls back in a
deployment of its own, whose id shows a moment later), promotes with ContinueDeployment(READY_WAIT).
Every call goes through the thin adapters of ``aws.codedeploy`` and ``aws.ecs``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator.aws import codedeploy as codedeploy_api
from orchestrator.aws.codedeploy import CodeDeployApi
from orchestrator.catalog import ResolvedService
from orchestrator.engines import codedeploy_inspect, codedeploy_plan
from orchestrator.engines.base import (
    DeployInputs,
    Deployment,
    Polled,
    RollbackWait,
    StepNote,
    Stopped,
)
from orchestrator.engines.codedeploy_plan import (
    AwsReads,
    Created,
    DeploymentPlan,
    OfflineReads,
    build_plan,
    fleet_run_of,
)
from orchestrator.engines.fleet_reads import CODEDEPLOY_BATCH, batch_shares, unique, wants_target
from orchestrator.errors import BadInputError, BluegreenError
from orchestrator.insight.evidence import Inspection
from orchestrator.insight.records import DeploymentRecord
from orchestrator.strategies import Strategy, strategy_for_config
from orchestrator.vocabulary import DeploymentStatus
from orchestrator.watching.snapshots import Snapshot, snapshot_from
from orchestrator.watching.timing import GroupTiming

# Before any createTime (botocore parses timestamps with a time zone: compare aware with aware).
_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass
class _Target:
    """What the engine remembers of one deployment's ECS target between polls."""

    target_id: str | None = None
    last: dict[str, Any] | None = None
    # the fleet's batched looks (``snapshots``): the status and snapshot of the last look, and how
    # many looks ago the target was read (fleet_reads.wants_target)
    seen: DeploymentStatus | None = None
    snapshot: Snapshot | None = None
    looks_since_read: int | None = None


class CodeDeployEngine:
    """``Engine`` on CodeDeploy; ``clients`` is an AwsClients (or anything with ``client(name)``)."""

    name = "codedeploy"

    def __init__(self, clients: Any) -> None:
        self.clients = clients
        self._targets: dict[str, _Target] = {}

    @property
    def codedeploy(self) -> CodeDeployApi:
        client: CodeDeployApi = self.clients.client("codedeploy")
        return client

    # --- deploy -------------------------------------------------------------------------------------

    def plan(self, inputs: DeployInputs, *, offline: bool = False) -> DeploymentPlan:
        """build_plan with reads from AWS, or (offline) from the catalog only."""
        if offline:
            return build_plan(inputs, OfflineReads())
        # Clients are made on first use: a bad task definition file is refused before botocore
        # loads its models (about a second on a busy machine).
        clients = self.clients
        reads = AwsReads(_Lazy(lambda: clients.client("codedeploy")), _Lazy(lambda: clients.client("ecs")))
        return build_plan(inputs, reads)

    def start(self, plan: DeploymentPlan, *, on_step: StepNote | None = None) -> Created:
        """apply_plan: refuse when the group is busy, then create the deployment exactly once."""
        # Looked up on the module when called, so a test can replace apply_plan there.
        return codedeploy_plan.apply_plan(plan, self.clients, on_step=on_step)

    # --- look ---------------------------------------------------------------------------------------

    def describe(self, deployment_id: str, *, with_lifecycle: bool = False) -> Deployment:
        """GetDeployment (+ its ECS target with ``with_lifecycle``, + GetDeploymentConfig for a
        custom config whose name bluegreen cannot read)."""
        info = codedeploy_api.get_deployment(self.codedeploy, deployment_id)
        target = self._read_target(deployment_id) if with_lifecycle else None
        config_name = str(info.get("deploymentConfigName") or "")
        rollback_of = (info.get("rollbackInfo") or {}).get("rollbackTriggeringDeploymentId")
        return Deployment(
            deployment_id=str(info["deploymentId"]),
            snapshot=snapshot_from(info, target),
            application=info.get("applicationName"),
            deployment_group=info.get("deploymentGroupName"),
            config_name=config_name or None,
            strategy=self._strategy(config_name),
            timing=GroupTiming.from_blue_green_config(info.get("blueGreenDeploymentConfiguration")),
            description=info.get("description"),
            create_time=info.get("createTime"),
            complete_time=info.get("completeTime"),
            rollback_of=rollback_of,
        )

    def _read_target(self, deployment_id: str) -> dict[str, Any] | None:
        targets = codedeploy_api.list_deployment_targets(self.codedeploy, deployment_id)
        if not targets:
            return None
        return codedeploy_api.get_deployment_target(self.codedeploy, deployment_id, targets[0])

    def _strategy(self, config_name: str) -> Strategy | None:
        try:
            return strategy_for_config(config_name)
        except BluegreenError:
            config = codedeploy_api.get_deployment_config(self.codedeploy, config_name) or {}
        try:
            return strategy_for_config(config_name, config.get("trafficRoutingConfig"))
        except BluegreenError:
            return None

    def snapshot(self, deployment_id: str, previous: Snapshot | None = None) -> Polled:
        """GetDeployment, and GetDeploymentTarget only while it can change.

        The ECS target changes only while the deployment runs: it is read while InProgress or
        Ready and once more when the deployment ends (so the final lifecycle events are exact),
        not while Created, Queued or Baking. Targets are listed once per deployment.
        """
        memory = self._targets.setdefault(deployment_id, _Target())
        info = codedeploy_api.get_deployment(self.codedeploy, deployment_id)
        calls = 1
        status = snapshot_from(info).status
        wants_target = status in (DeploymentStatus.IN_PROGRESS, DeploymentStatus.READY) or (
            status.is_terminal and (previous is None or not previous.status.is_terminal)
        )
        if wants_target:
            calls += self._refresh_target(memory, deployment_id)
        return Polled(snapshot_from(info, memory.last), calls)

    def _refresh_target(self, memory: _Target, deployment_id: str) -> int:
        """Read the deployment's ECS target into ``memory`` (listing it the first time); the calls made."""
        calls = 0
        if memory.target_id is None:
            targets = codedeploy_api.list_deployment_targets(self.codedeploy, deployment_id)
            calls += 1
            memory.target_id = targets[0] if targets else None
        if memory.target_id is not None:
            memory.last = codedeploy_api.get_deployment_target(
                self.codedeploy, deployment_id, memory.target_id
            )
            calls += 1
        return calls

    def poll_calls(self, deployment_id: str) -> int:
        """GetDeployment + GetDeploymentTarget (+ ListDeploymentTargets until the target is known)."""
        known = self._targets.get(deployment_id)
        return 2 if known is not None and known.target_id else 3

    def inspect(self, deployment_id: str) -> Inspection:
        """Everything CodeDeploy says about one deployment after the fact (codedeploy_inspect)."""
        return codedeploy_inspect.inspect(self.clients, deployment_id, self._strategy)

    def history(self, service: ResolvedService, since: datetime) -> list[DeploymentRecord]:
        """The group's deployments since ``since``, newest first: ListDeployments (every page) +
        BatchGetDeployments by 25."""
        return codedeploy_inspect.history(self.codedeploy, service, since)

    def snapshots(self, deployment_ids: Sequence[str]) -> dict[str, Polled]:
        """BatchGetDeployments by 25, and each target only where ``fleet_reads.wants_target`` says
        (its docstring has the call count); BadInputError naming a deployment CodeDeploy does not know."""
        ids = unique(deployment_ids)
        infos = {
            str(info["deploymentId"]): info
            for info in codedeploy_api.batch_get_deployments(self.codedeploy, ids)
        }
        missing = [deployment_id for deployment_id in ids if deployment_id not in infos]
        if missing:
            raise BadInputError(f"no deployment {missing[0]} in this account and region")
        shares = batch_shares(ids, CODEDEPLOY_BATCH)
        return {
            deployment_id: self._look(infos[deployment_id], shares[deployment_id]) for deployment_id in ids
        }

    def _look(self, info: dict[str, Any], calls: int) -> Polled:
        """One deployment's part of a batched look: its target read when it is worth a call."""
        deployment_id = str(info["deploymentId"])
        memory = self._targets.setdefault(deployment_id, _Target())
        status = snapshot_from(info).status
        since_read = None if memory.looks_since_read is None else memory.looks_since_read + 1
        if wants_target(status, memory.seen, memory.snapshot, since_read):
            calls += self._refresh_target(memory, deployment_id)
            since_read = 0
        memory.looks_since_read = since_read
        memory.seen = status
        memory.snapshot = snapshot_from(info, memory.last)
        return Polled(memory.snapshot, calls)

    def fleet_deployments(self, service: ResolvedService, fleet_run: str, since: datetime) -> list[str]:
        """The group's deployments created since ``since`` whose description names fleet run
        ``fleet_run`` (codedeploy_plan.fleet_note), newest first: ListDeployments with
        createTimeRange (every page) + BatchGetDeployments by 25. CodeDeploy's own rollback
        deployments are left out: the run started the deployment they roll back."""
        settings = service.settings
        ids = codedeploy_api.list_deployments(
            self.codedeploy, settings.application, settings.deployment_group, created_after=since
        )
        ours = [
            info
            for info in codedeploy_api.batch_get_deployments(self.codedeploy, ids)
            if fleet_run_of(info.get("description")) == fleet_run
            and not (info.get("rollbackInfo") or {}).get("rollbackTriggeringDeploymentId")
        ]
        ours.sort(key=lambda info: info.get("createTime") or _NEVER, reverse=True)
        return [str(info["deploymentId"]) for info in ours]

    def test_listener(self, service: ResolvedService) -> str:
        from orchestrator.engines.migration import TEST, listener_arns

        application, name = service.settings.application, service.settings.deployment_group
        group = codedeploy_api.get_deployment_group(self.codedeploy, application, name)
        arn = listener_arns(group).get(TEST)
        if not arn:
            raise BadInputError(
                f"deployment group {application}/{name} has no test traffic route (loadBalancerInfo."
                "targetGroupPairInfoList[0].testTrafficRoute): nothing to probe green through"
            )
        return arn

    def server_clock(self, time_scale: float) -> Any:
        """A DeploymentClock on the CodeDeploy client's answers."""
        from orchestrator.watching.loop import DeploymentClock

        return DeploymentClock(self.codedeploy, time_scale)

    # --- act ----------------------------------------------------------------------------------------

    def stop(self, deployment_id: str, *, rollback: bool, wait: RollbackWait | None = None) -> Stopped:
        """StopDeployment; with ``wait``, poll until CodeDeploy names the rollback deployment."""
        response = codedeploy_api.stop_deployment(self.codedeploy, deployment_id, rollback=rollback)
        status, message = response.get("status"), response.get("statusMessage")
        if not rollback or wait is None:
            return Stopped(status, message)
        seen = self._wait_for_rollback_start(deployment_id, wait)
        return Stopped(status, message, seen.rollback_deployment_id, seen)

    def _wait_for_rollback_start(self, deployment_id: str, wait: RollbackWait) -> Snapshot:
        """Poll GetDeployment until CodeDeploy names the rollback deployment (or gives up on one).

        CodeDeploy may mark the deployment Stopped a moment before it records the rollback
        deployment, so a finished deployment without one is polled a few more times.
        """
        deadline = wait.clock() + wait.timeout_seconds
        grace = 3
        while True:
            snapshot = snapshot_from(codedeploy_api.get_deployment(self.codedeploy, deployment_id))
            if snapshot.rollback_deployment_id or wait.clock() >= deadline:
                return snapshot
            if snapshot.status.is_terminal:
                if grace == 0:
                    return snapshot
                grace -= 1
            wait.sleep(wait.interval_seconds)

    def promote(self, deployment_id: str) -> None:
        """ContinueDeployment(READY_WAIT): shift production traffic after the Ready wait."""
        codedeploy_api.continue_deployment(self.codedeploy, deployment_id)

    # --- find ---------------------------------------------------------------------------------------

    def find_active(self, service: ResolvedService) -> list[str]:
        """The group's deployments that still hold it (Created, Queued, InProgress, Baking, Ready)."""
        settings = service.settings
        return codedeploy_api.active_deployments(
            self.codedeploy, settings.application, settings.deployment_group
        )

    def latest(self, service: ResolvedService) -> str:
        """The group's most recent deployment; BadInputError when it has none.

        Looks at the last week first so a group with a long history costs a few calls, not dozens.
        """
        settings = service.settings
        application, group = settings.application, settings.deployment_group
        since = datetime.now(UTC) - timedelta(days=7)
        ids = codedeploy_api.list_deployments(self.codedeploy, application, group, created_after=since)
        if not ids:
            ids = codedeploy_api.list_deployments(self.codedeploy, application, group)
        found = newest(codedeploy_api.batch_get_deployments(self.codedeploy, ids))
        if found is None:
            raise BadInputError(f"deployment group {application}/{group} has no deployments yet")
        return str(found["deploymentId"])

    def succeeded_deployments(self, service: ResolvedService) -> list[dict[str, Any]]:
        """The group's Succeeded deployments with their AppSpec content, read by sha256 through
        GetApplicationRevision (GetDeployment never returns it), once per distinct revision."""
        settings = service.settings
        ids = codedeploy_api.list_deployments(
            self.codedeploy,
            settings.application,
            settings.deployment_group,
            statuses=[DeploymentStatus.SUCCEEDED.value],
        )
        infos = codedeploy_api.batch_get_deployments(self.codedeploy, ids)
        contents: dict[str, str | None] = {}
        out = []
        for info in infos:
            revision = dict(info.get("revision") or {})
            appspec = dict(revision.get("appSpecContent") or {})
            digest = str(appspec.get("sha256") or "")
            if revision.get("revisionType") != "AppSpecContent" or not digest:
                out.append(info)  # not an ECS AppSpec: rollback compares it by what it has
                continue
            if digest not in contents:
                contents[digest] = codedeploy_api.appspec_content(
                    self.codedeploy, settings.application, revision
                )
            content = contents[digest] or appspec.get("content")  # unregistered: what the info has
            if content:
                appspec["content"] = content
            out.append({**info, "revision": {**revision, "appSpecContent": appspec}})
        return out


def newest(infos: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The deployment created last (ListDeployments promises no order)."""
    return max(infos, key=lambda info: info.get("createTime") or 0, default=None)


class _Lazy:
    """A boto3 client made when first used."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = self._make()
        return getattr(self._client, name)

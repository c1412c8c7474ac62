"""The ECS engine: Amazon ECS runs blue/green, linear and canary deployments itself.

A deployment is a service deployment, named by its ``serviceDeploymentArn``. Plans and starts
through ``ecs_plan`` (UpdateService exactly once), looks through DescribeServiceDeployments (one
call a poll, read by ``watching.native_snapshots``), stops with StopServiceDeployment(ROLLBACK)
(ECS rolls back inside the same service deployment), promotes with ContinueServiceDeployment on
the PAUSE hook waiting after test traffic. Every call goes through the thin adapters of
``aws.ecs`` and ``aws.elbv2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from orchestrator.aws import ecs as ecs_api
from orchestrator.aws.ecs import EcsApi
from orchestrator.catalog import ResolvedService
from orchestrator.engines import ecs_inspect, ecs_plan
from orchestrator.engines.base import DeployInputs, Deployment, Polled, RollbackWait, StepNote, Stopped
from orchestrator.engines.codedeploy import _Lazy
from orchestrator.engines.ecs_inspect import cluster_and_service
from orchestrator.engines.ecs_plan import AwsEcsReads, EcsPlan, EcsStarted, OfflineEcsReads, build_plan
from orchestrator.engines.fleet_reads import ECS_BATCH, batch_shares, unique
from orchestrator.errors import BadInputError
from orchestrator.insight.evidence import Inspection
from orchestrator.insight.native_records import strategy_for_native
from orchestrator.insight.records import DeploymentRecord
from orchestrator.vocabulary import (
    EngineName,
    HookAction,
    ServiceDeploymentStatus,
    StopType,
)
from orchestrator.watching.native_snapshots import (
    service_deployment_status,
    snapshot_from_service_deployment,
    waiting_pause_hook,
)
from orchestrator.watching.snapshots import Snapshot
from orchestrator.watching.timing import GroupTiming

# Before any createdAt (botocore parses timestamps with a time zone: compare aware with aware).
_NEVER = datetime.min.replace(tzinfo=UTC)


class EcsEngine:
    """``Engine`` on Amazon ECS; ``clients`` is an AwsClients (or anything with ``client(name)``)."""

    name = EngineName.ECS.value

    def __init__(self, clients: Any) -> None:
        self.clients = clients
        self._forward_stage: dict[str, str] = {}  # the last stage each deployment showed before rolling back
        self._fleet_runs: dict[str, str | None] = {}  # task definition ARN -> its bluegreen:fleet-run tag

    @property
    def ecs(self) -> EcsApi:
        client: EcsApi = self.clients.client("ecs")
        return client

    # --- deploy -------------------------------------------------------------------------------------

    def plan(self, inputs: DeployInputs, *, offline: bool = False) -> EcsPlan:
        """build_plan with reads from AWS, or (offline) placeholders and the catalog only."""
        if offline:
            return build_plan(inputs, OfflineEcsReads())
        clients = self.clients
        reads = AwsEcsReads(_Lazy(lambda: clients.client("ecs")), _Lazy(lambda: clients.client("elbv2")))
        return build_plan(inputs, reads)

    def start(self, plan: EcsPlan, *, on_step: StepNote | None = None) -> EcsStarted:
        """apply_plan: refuse while a service deployment is in flight, then UpdateService exactly once."""
        return ecs_plan.apply_plan(plan, self.clients, on_step=on_step)

    # --- look ---------------------------------------------------------------------------------------

    def describe(self, deployment_id: str, *, with_lifecycle: bool = False) -> Deployment:
        """DescribeServiceDeployments: everything ``Deployment`` says is in it."""
        sd = ecs_api.describe_service_deployment(self.ecs, deployment_id)
        configuration = sd.get("deploymentConfiguration") or {}
        cluster, service = cluster_and_service(deployment_id)
        return Deployment(
            deployment_id=deployment_id,
            snapshot=snapshot_from_service_deployment(sd),
            application=None,
            deployment_group=None,
            config_name=ecs_plan.native_config_name(configuration),
            strategy=strategy_for_native(configuration),
            timing=GroupTiming.from_deployment_configuration(configuration),
            description=sd.get("statusReason"),
            create_time=sd.get("createdAt"),
            complete_time=sd.get("finishedAt") or sd.get("stoppedAt"),
            engine=self.name,
            ecs_service=(cluster, service),
        )

    def snapshot(self, deployment_id: str, previous: Snapshot | None = None) -> Polled:
        """One DescribeServiceDeployments: status, stage, hooks and weights are all in it. The stage
        seen before a rollback is remembered: once rolling back, ECS's stage is the rollback's."""
        sd = ecs_api.describe_service_deployment(self.ecs, deployment_id)
        return Polled(self._seen(deployment_id, sd), 1)

    def _seen(self, deployment_id: str, sd: dict[str, Any]) -> Snapshot:
        """A DescribeServiceDeployments entry as a snapshot, remembering the stage before a rollback."""
        status = service_deployment_status(sd)
        moving_forward = not status.is_rollback and status is not ServiceDeploymentStatus.STOP_REQUESTED
        if moving_forward and sd.get("lifecycleStage"):
            self._forward_stage[deployment_id] = str(sd["lifecycleStage"])
        stage = self._forward_stage.get(deployment_id)
        return snapshot_from_service_deployment(sd, stage_before_rollback=stage)

    def poll_calls(self, deployment_id: str) -> int:
        return 1

    def inspect(self, deployment_id: str) -> Inspection:
        """What ECS's API says about the service deployment after the fact (``engines.ecs_inspect``)."""
        return ecs_inspect.inspect(self.ecs, deployment_id)

    def history(self, service: ResolvedService, since: datetime) -> list[DeploymentRecord]:
        """The service's service deployments since ``since``, newest first (``engines.ecs_inspect``)."""
        return ecs_inspect.history(self.ecs, service, since)

    def snapshots(self, deployment_ids: Sequence[str]) -> dict[str, Polled]:
        """DescribeServiceDeployments by 20 (each entry has status, stage, hooks and weights); each
        batch call is counted on its first deployment. BadInputError naming one ECS does not know,
        AwsError naming one it may not tell (a failure reason other than MISSING)."""
        arns = unique(deployment_ids)
        described = ecs_api.describe_service_deployments(self.ecs, arns, strict=True)
        found = {str(sd.get("serviceDeploymentArn")): sd for sd in described}
        missing = [arn for arn in arns if arn not in found]  # neither described nor a failure
        if missing:
            raise BadInputError(f"no service deployment {missing[0]} in this account and region")
        shares = batch_shares(arns, ECS_BATCH)
        return {arn: Polled(self._seen(arn, found[arn]), shares[arn]) for arn in arns}

    def fleet_deployments(self, service: ResolvedService, fleet_run: str, since: datetime) -> list[str]:
        """The service's service deployments created since ``since`` whose target revision runs a
        task definition tagged ``bluegreen:fleet-run`` = ``fleet_run``, newest first:
        ListServiceDeployments (createdAt, every page) + DescribeServiceRevisions by 20 +
        DescribeTaskDefinition(include=["TAGS"]) once per task definition ARN (cached: a revision's
        tags are written when it is registered)."""
        settings = service.settings
        briefs = ecs_api.list_service_deployments(
            self.ecs, settings.cluster, settings.ecs_service, created_after=since
        )
        targets = [str(b["targetServiceRevisionArn"]) for b in briefs if b.get("targetServiceRevisionArn")]
        task_definitions = {
            str(revision.get("serviceRevisionArn")): str(revision.get("taskDefinition") or "")
            for revision in (ecs_api.describe_service_revisions(self.ecs, targets) if targets else [])
        }
        ours = [
            brief
            for brief in briefs
            if self._fleet_run_of(task_definitions.get(str(brief.get("targetServiceRevisionArn")), ""))
            == fleet_run
        ]
        ours.sort(key=lambda brief: brief.get("createdAt") or _NEVER, reverse=True)
        return [str(brief["serviceDeploymentArn"]) for brief in ours]

    def _fleet_run_of(self, task_definition_arn: str) -> str | None:
        """The task definition's ``bluegreen:fleet-run`` tag (None: none, or no task definition)."""
        if not task_definition_arn:
            return None
        if task_definition_arn not in self._fleet_runs:
            tags = ecs_api.task_definition_tags(self.ecs, task_definition_arn)
            self._fleet_runs[task_definition_arn] = tags.get(ecs_plan.FLEET_RUN_TAG)
        return self._fleet_runs[task_definition_arn]

    def test_listener(self, service: ResolvedService) -> str:
        from orchestrator.aws.elbv2 import listener_of_rule

        settings = service.settings
        found = ecs_api.describe_service(self.ecs, settings.cluster, settings.ecs_service)
        balancers = found.get("loadBalancers") or []
        advanced = (balancers[0].get("advancedConfiguration") if balancers else None) or {}
        rule = advanced.get("testListenerRule")
        if not rule:
            raise BadInputError(
                f"ECS service {settings.ecs_service} has no test listener rule "
                "(loadBalancers[].advancedConfiguration.testListenerRule): nothing to probe green through"
            )
        return listener_of_rule(str(rule))

    def server_clock(self, time_scale: float) -> Any:
        """A DeploymentClock on the ECS client's answers."""
        from orchestrator.watching.loop import DeploymentClock

        return DeploymentClock(self.ecs, time_scale, service="ecs")

    # --- act ----------------------------------------------------------------------------------------

    def stop(self, deployment_id: str, *, rollback: bool, wait: RollbackWait | None = None) -> Stopped:
        """StopServiceDeployment(ROLLBACK). ECS rolls back inside the same service deployment, so the
        rollback's id is the deployment's own; ``wait``: one look at it afterwards.

        Without rollback there is nothing to ask: AWS documents ROLLBACK as the only valid stopType
        ("The valid values are ROLLBACK", StopServiceDeployment API reference; the model lists ABORT
        too), so ``--no-rollback`` is refused before any call.
        """
        if not rollback:
            raise BadInputError(
                f"ECS stops a service deployment only by rolling it back (StopServiceDeployment accepts "
                f"stopType ROLLBACK only); run `bluegreen stop {deployment_id}` without --no-rollback"
            )
        ecs_api.stop_service_deployment(self.ecs, deployment_id, StopType.ROLLBACK.value)
        seen = self.snapshot(deployment_id).snapshot if wait is not None else None
        status = ServiceDeploymentStatus.ROLLBACK_REQUESTED.value
        return Stopped(status, "rollback requested", deployment_id, seen)

    def promote(self, deployment_id: str) -> None:
        """ContinueServiceDeployment(CONTINUE) on the PAUSE hook that waits (lifecycleHookDetails)."""
        sd = ecs_api.describe_service_deployment(self.ecs, deployment_id)
        hook = waiting_pause_hook(sd)
        if hook is None or not hook.get("hookId"):
            status = service_deployment_status(sd).value
            raise BadInputError(
                f"no lifecycle hook is waiting for promote on {deployment_id} "
                f"(status {status}, stage {sd.get('lifecycleStage') or 'none'})"
            )
        ecs_api.continue_service_deployment(
            self.ecs, deployment_id, str(hook["hookId"]), HookAction.CONTINUE.value
        )

    # --- find ---------------------------------------------------------------------------------------

    def find_active(self, service: ResolvedService) -> list[str]:
        """The service's service deployments in flight (PENDING .. ROLLBACK_IN_PROGRESS)."""
        settings = service.settings
        running = ecs_plan.in_flight(self.ecs, settings.cluster, settings.ecs_service)
        return [str(brief["serviceDeploymentArn"]) for brief in running]

    def latest(self, service: ResolvedService) -> str:
        """The service's most recent service deployment; BadInputError when it has none."""
        settings = service.settings
        briefs = ecs_api.list_service_deployments(self.ecs, settings.cluster, settings.ecs_service)
        found = max(briefs, key=lambda brief: brief.get("createdAt") or _NEVER, default=None)
        if found is None:
            raise BadInputError(
                f"ECS service {settings.cluster}/{settings.ecs_service} has no service deployments yet"
            )
        return str(found["serviceDeploymentArn"])

    def succeeded_deployments(self, service: ResolvedService) -> list[dict[str, Any]]:
        """The service's SUCCESSFUL service deployments, each with the task definition its target
        revision runs (DescribeServiceRevisions, once per revision), in ``Engine``'s shape."""
        settings = service.settings
        briefs = ecs_api.list_service_deployments(
            self.ecs,
            settings.cluster,
            settings.ecs_service,
            statuses=[ServiceDeploymentStatus.SUCCESSFUL.value],
        )
        targets = [str(b["targetServiceRevisionArn"]) for b in briefs if b.get("targetServiceRevisionArn")]
        revisions = {
            str(revision.get("serviceRevisionArn")): str(revision.get("taskDefinition") or "")
            for revision in (ecs_api.describe_service_revisions(self.ecs, targets) if targets else [])
        }
        return [
            {
                "deploymentId": str(brief["serviceDeploymentArn"]),
                "createTime": brief.get("createdAt"),
                "taskDefinitionArn": revisions.get(str(brief.get("targetServiceRevisionArn")), "") or None,
            }
            for brief in briefs
        ]

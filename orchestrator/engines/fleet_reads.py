"""How the fleet's watch looks at many deployments for few calls (pure: both engines' ``snapshots``).

One look at N deployments costs the engine's batched reads, not N pollers:
- CodeDeploy: ``ceil(N / 25)`` BatchGetDeployments (deployment-level status: 25 ids a call,
  botocore's BatchGetDeployments model) plus, per deployment whose ``wants_target`` says so, one
  GetDeploymentTarget (+ one ListDeploymentTargets the first time: the target's id). The target
  (lifecycle events, traffic weights) is read when the status changed since the last look, on
  every look while traffic moves (from AllowTestTraffic starting until AllowTraffic is done), and
  otherwise while InProgress every ``TARGET_REFRESH_LOOKS``-th look; never while Created or
  Queued (no target yet), Ready, Baking or finished (nothing in it moves until the status does).
  So a look costs ``ceil(N/25) + C + T + R/4`` calls on average (C changed, T in the traffic
  phase, R other InProgress ones), at most ``ceil(N/25) + 2N``.
- ECS: ``ceil(N / 20)`` DescribeServiceDeployments (20 ARNs a call, botocore's ECS model,
  DescribeServiceDeployments.serviceDeploymentArns); status, stage, hooks and weights are all in it.

``Polled.calls`` is each deployment's share: a batch call is counted on the first deployment of its
batch, a target read on its own deployment, so the shares add up to what the look cost.
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.vocabulary import ALLOW_TEST_TRAFFIC, ALLOW_TRAFFIC, DeploymentStatus, LifecycleStatus
from orchestrator.watching.snapshots import Snapshot

# BatchGetDeployments: "The maximum number of deployment IDs you can specify is 25." (botocore's
# CodeDeploy model, BatchGetDeploymentsInput.deploymentIds; aws.codedeploy reads in chunks of 25)
CODEDEPLOY_BATCH = 25
# DescribeServiceDeployments: "You can specify a maximum of 20 ARNs." (botocore's ECS model,
# DescribeServiceDeploymentsRequest.serviceDeploymentArns; aws.ecs.DESCRIBE_ARNS_LIMIT)
ECS_BATCH = 20
# A running deployment outside the traffic phase has its target read every 4th look (its phase and
# ETA at most 3 looks stale; a status change is read at once).
TARGET_REFRESH_LOOKS = 4

_NO_TARGET_YET = (DeploymentStatus.CREATED, DeploymentStatus.QUEUED)


def unique(ids: Sequence[str]) -> list[str]:
    """``ids`` in order, each once (a look reads a deployment once whoever asks twice)."""
    return list(dict.fromkeys(ids))


def batch_shares(ids: Sequence[str], batch: int) -> dict[str, int]:
    """Each id's share of the batch calls reading ``ids`` in batches of ``batch``: 1 on the first
    id of each batch, 0 on the others (their sum is the number of calls)."""
    return {deployment_id: int(index % batch == 0) for index, deployment_id in enumerate(unique(ids))}


def in_traffic_phase(snapshot: Snapshot | None) -> bool:
    """Traffic is moving or about to: test traffic has started and production traffic is not done."""
    if snapshot is None:
        return False
    started = snapshot.lifecycle_status(ALLOW_TEST_TRAFFIC) is not LifecycleStatus.PENDING
    return started and not snapshot.lifecycle_status(ALLOW_TRAFFIC).is_done


def wants_target(
    status: DeploymentStatus,
    seen: DeploymentStatus | None,
    last: Snapshot | None,
    looks_since_read: int | None,
) -> bool:
    """Whether this look reads the deployment's target (lifecycle events, weights): ``seen`` is the
    status at the last look (None: first look), ``last`` the last look's snapshot, and
    ``looks_since_read`` how many looks ago, this one included, the target was read (None: never)."""
    if status in _NO_TARGET_YET:
        return False  # ListDeploymentTargets answers DeploymentNotStartedException
    if seen is None or status is not seen or looks_since_read is None:
        return True
    if status is not DeploymentStatus.IN_PROGRESS:
        return False
    return in_traffic_phase(last) or looks_since_read >= TARGET_REFRESH_LOOKS

"""A native ECS deployment replayed for the watch: the ``Engine`` calls a watch makes, answered from a
timeline of DescribeServiceDeployments ``serviceDeployments[]`` entries (botocore's shape), read
through the ECS engine's own mapping (``snapshot_from_service_deployment``).

The deployment's state at any moment is the last entry whose second has passed. A PAUSE hook
AWAITING_ACTION waits for ``promote`` (ContinueServiceDeployment CONTINUE): then ``after`` follows,
its seconds counted from the promote.
"""

from __future__ import annotations

from typing import Any

from orchestrator.engines.base import Polled, Stopped
from orchestrator.errors import BadInputError
from orchestrator.watching.native_snapshots import snapshot_from_service_deployment
from tests.support.cli import FakeClock

REGION, ACCOUNT = "ap-northeast-2", "123456789012"
CLUSTER, SERVICE = "doa-market-cluster", "product-service"
ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/{CLUSTER}/{SERVICE}/sd0001"
SOURCE = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/{CLUSTER}/{SERVICE}/1000"
TARGET = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/{CLUSTER}/{SERVICE}/2000"
PAUSE_WAITING = {
    "hookId": "pause-1",
    "targetType": "PAUSE",
    "status": "AWAITING_ACTION",
    "timeoutAction": "ROLLBACK",
}


def service_deployment(status: str, stage: str | None, green: float = 0.0, **more: Any) -> dict[str, Any]:
    """One ``serviceDeployments[]`` entry: ``status`` at ``stage``, ``green`` % of production traffic
    on the target revision, the rest on the source."""
    found: dict[str, Any] = {
        "serviceDeploymentArn": ARN,
        "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{SERVICE}",
        "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
        "status": status,
        "sourceServiceRevisions": [{"arn": SOURCE, "requestedProductionTrafficWeight": 100.0 - green}],
        "targetServiceRevision": {"arn": TARGET, "requestedProductionTrafficWeight": green},
        **more,
    }
    if stage is not None:
        found["lifecycleStage"] = stage
    return found


Timeline = list[tuple[float, dict[str, Any]]]


class _Clock:
    """``Engine.server_clock``: the fake's clock; no server dates."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.server_now = None

    def __call__(self) -> float:
        return self.clock()


class NativeTimelineEngine:
    """The watch's part of ``engines.base.Engine`` over a native deployment's timeline."""

    name = "ecs"

    def __init__(self, clock: FakeClock, timeline: Timeline, after: Timeline | None = None) -> None:
        self.clock = clock
        self.timeline = list(timeline)
        self.after = list(after or [])
        self.calls: list[tuple[float, str]] = []

    def _state(self) -> dict[str, Any]:
        return [entry for at, entry in self.timeline if at <= self.clock.now][-1]

    def snapshot(self, deployment_id: str, previous: Any = None) -> Polled:
        self.calls.append((self.clock.now, "DescribeServiceDeployments"))
        assert deployment_id == ARN
        return Polled(snapshot_from_service_deployment(self._state()), 1)

    def poll_calls(self, deployment_id: str) -> int:
        return 1

    def promote(self, deployment_id: str) -> None:
        state = self._state()
        waiting = [h for h in state.get("lifecycleHookDetails") or [] if h.get("status") == "AWAITING_ACTION"]
        if not waiting:
            raise BadInputError(f"no lifecycle hook is waiting for promote on {deployment_id}")
        self.calls.append((self.clock.now, f"ContinueServiceDeployment {waiting[0]['hookId']} CONTINUE"))
        now = self.clock.now
        self.timeline = [*self.timeline, *((now + at, entry) for at, entry in self.after)]

    def server_clock(self, time_scale: float) -> _Clock:
        return _Clock(self.clock)

    def stop(self, deployment_id: str, *, rollback: bool, wait: Any = None) -> Stopped:
        """StopServiceDeployment ROLLBACK: ECS rolls back inside the same deployment."""
        self.calls.append((self.clock.now, f"StopServiceDeployment {'ROLLBACK' if rollback else 'ABORT'}"))
        rolling_back = {**self._state(), "status": "ROLLBACK_IN_PROGRESS"}
        return Stopped(
            "ROLLBACK_REQUESTED", None, deployment_id, snapshot_from_service_deployment(rolling_back)
        )

"""Plain data the emulator keeps (native services, their revisions and service deployments) and how
each renders in ECS's output shapes. One lock (``Store.lock``) guards all of it."""

from __future__ import annotations

import copy
import secrets
import string
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from sandbox.ecs_native.vocabulary import HookAction, HookStatus, HookTargetType, MonitorStatus, Status

ACCOUNT_ID = "123456789012"
MAX_EVENTS = 100


def new_id(length: int = 21) -> str:
    """An id like ECS's service deployment ids (letters and digits)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_hook_id(kind: HookTargetType) -> str:
    """A hookId in the form AWS's examples show (``ecs-pause-`` + 43 URL-safe characters)."""
    prefix = "ecs-pause-" if kind is HookTargetType.PAUSE else "ecs-lambda-"
    return prefix + secrets.token_urlsafe(32)


@dataclass
class Revision:
    """A service revision: what runs where (``NativeEcs.task_sets`` shows the live ones)."""

    arn: str
    id: str
    task_definition: str
    target_group_arn: str
    desired_count: int
    created_at: float
    task_set_arn: str
    live: bool = True  # False once CLEAN_UP or a rollback scaled it down

    def summary(self, test_weight: float, production_weight: float) -> dict[str, Any]:
        count = self.desired_count if self.live else 0
        return {
            "arn": self.arn,
            "requestedTaskCount": self.desired_count,
            "runningTaskCount": count,
            "pendingTaskCount": 0,
            "requestedTestTrafficWeight": test_weight,
            "requestedProductionTrafficWeight": production_weight,
        }


@dataclass
class HookRun:
    """One hook at one stage (lifecycleHookDetails[])."""

    hook_id: str
    stage: str
    target_type: HookTargetType
    target_arn: str | None
    status: HookStatus
    expires_at: float
    timeout_action: HookAction
    action: HookAction | None = None  # ContinueServiceDeployment's, for a PAUSE hook

    def render(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "hookId": self.hook_id,
            "targetType": self.target_type.value,
            "status": self.status.value,
            "expiresAt": self.expires_at,
            "timeoutAction": self.timeout_action.value,
        }
        if self.target_arn:  # "For PAUSE hooks, this field is not set."
            body["targetArn"] = self.target_arn
        return body


@dataclass
class ServiceDeployment:
    """One service deployment (DescribeServiceDeployments' ServiceDeployment)."""

    arn: str
    cluster_arn: str
    service_arn: str
    created_at: float
    config: dict[str, Any]
    target: Revision
    sources: list[Revision]
    source_tg: str = ""
    target_tg: str = ""
    test_rule: str | None = None
    production_rule: str | None = None
    status: Status = Status.PENDING
    status_reason: str | None = None
    lifecycle_stage: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    stopped_at: float | None = None
    updated_at: float | None = None
    test_weight: float = 0.0  # the target revision's share of test traffic
    production_weight: float = 0.0  # and of production traffic
    hooks: list[HookRun] = field(default_factory=list)
    rollback: dict[str, Any] | None = None
    triggered_alarms: list[str] = field(default_factory=list)
    stop_requested: bool = False
    replaced_by: str | None = None
    wake: threading.Event = field(default_factory=threading.Event)

    def hook(self, hook_id: str) -> HookRun | None:
        return next((h for h in self.hooks if h.hook_id == hook_id), None)

    def alarm_names(self) -> list[str]:
        alarms = self.config.get("alarms") or {}
        return list(alarms.get("alarmNames") or []) if alarms.get("enable") else []

    def brief(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "serviceDeploymentArn": self.arn,
            "serviceArn": self.service_arn,
            "clusterArn": self.cluster_arn,
            "createdAt": self.created_at,
            "targetServiceRevisionArn": self.target.arn,
            "status": self.status.value,
        }
        _put(body, startedAt=self.started_at, finishedAt=self.finished_at, statusReason=self.status_reason)
        return body

    def render(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "serviceDeploymentArn": self.arn,
            "serviceArn": self.service_arn,
            "clusterArn": self.cluster_arn,
            "createdAt": self.created_at,
            "sourceServiceRevisions": [
                s.summary(100.0 - self.test_weight, 100.0 - self.production_weight) for s in self.sources
            ],
            "targetServiceRevision": self.target.summary(self.test_weight, self.production_weight),
            "status": self.status.value,
            "deploymentConfiguration": copy.deepcopy(self.config),
        }
        _put(
            body,
            startedAt=self.started_at,
            finishedAt=self.finished_at,
            stoppedAt=self.stopped_at,
            updatedAt=self.updated_at,
            statusReason=self.status_reason,
            lifecycleStage=self.lifecycle_stage,
            rollback=copy.deepcopy(self.rollback),
        )
        if self.hooks:
            body["lifecycleHookDetails"] = [h.render() for h in self.hooks]
        body["alarms"] = self._render_alarms()
        return body

    def _render_alarms(self) -> dict[str, Any]:
        names = self.alarm_names()
        if not names:
            return {"status": MonitorStatus.DISABLED.value}
        if self.triggered_alarms:
            status = MonitorStatus.TRIGGERED
        elif self.status.is_terminal:
            status = MonitorStatus.MONITORING_COMPLETE
        else:
            status = MonitorStatus.MONITORING
        body: dict[str, Any] = {"status": status.value, "alarmNames": names}
        if self.triggered_alarms:
            body["triggeredAlarmNames"] = list(self.triggered_alarms)
        return body


@dataclass
class NativeService:
    """A service whose deploymentController is ECS with a native strategy: what moto drops."""

    cluster_name: str
    cluster_arn: str
    name: str
    arn: str
    config: dict[str, Any]
    load_balancers: list[dict[str, Any]]
    revisions: list[Revision] = field(default_factory=list)
    production: Revision | None = None  # the revision production traffic goes to
    deployments: list[ServiceDeployment] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # ServiceEvent, oldest first

    def add_event(self, at: float, message: str) -> None:
        """One service event (``(service NAME) ...``, ECS's wording), kept at most MAX_EVENTS."""
        self.events.append({"id": str(uuid.uuid4()), "createdAt": at, "message": message})
        del self.events[:-MAX_EVENTS]

    def rendered_events(self) -> list[dict[str, Any]]:
        """DescribeServices' ``events``: newest first, "A maximum of 100 of the latest events"
        (botocore's Service.events documentation)."""
        return [dict(event) for event in reversed(self.events)]

    def in_flight(self) -> ServiceDeployment | None:
        return next((d for d in reversed(self.deployments) if not d.status.is_terminal), None)

    def live_revisions(self) -> list[Revision]:
        return [r for r in self.revisions if r.live]


class Store:
    """Every native service, by (cluster name, service name)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.services: dict[tuple[str, str], NativeService] = {}

    def deployment(self, arn: str) -> tuple[NativeService, ServiceDeployment] | None:
        for service in self.services.values():
            for deployment in service.deployments:
                if deployment.arn == arn:
                    return service, deployment
        return None

    def revision(self, arn: str) -> tuple[NativeService, Revision] | None:
        for service in self.services.values():
            for revision in service.revisions:
                if revision.arn == arn:
                    return service, revision
        return None


def _put(body: dict[str, Any], **members: Any) -> None:
    """Add the members that have a value (AWS leaves a member out rather than sending null)."""
    body.update({name: value for name, value in members.items() if value is not None})

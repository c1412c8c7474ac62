"""Plain data the emulator keeps: applications, deployment groups, configs, deployments, targets.

Values use CodeDeploy's enum strings (botocore model: DeploymentStatus, LifecycleEventStatus,
TargetStatus, DeploymentCreator, ErrorCode; the first three in sandbox/codedeploy/vocabulary.py)
so rendering a record is a dictionary, not a mapping.
"""

from __future__ import annotations

import copy
import secrets
import string
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from sandbox.codedeploy.vocabulary import DeploymentStatus, LifecycleEventStatus, TargetStatus

ACCOUNT_ID = "123456789012"


# DeploymentStatus -> TargetStatus of the deployment's one target.
TARGET_STATUS_FOR = {
    DeploymentStatus.CREATED: TargetStatus.PENDING,
    DeploymentStatus.QUEUED: TargetStatus.PENDING,
    DeploymentStatus.IN_PROGRESS: TargetStatus.IN_PROGRESS,
    DeploymentStatus.BAKING: TargetStatus.IN_PROGRESS,
    DeploymentStatus.READY: TargetStatus.READY,
    DeploymentStatus.SUCCEEDED: TargetStatus.SUCCEEDED,
    DeploymentStatus.FAILED: TargetStatus.FAILED,
    DeploymentStatus.STOPPED: TargetStatus.FAILED,
}


def new_deployment_id() -> str:
    """``d-`` and nine upper-case letters or digits, as CodeDeploy's ids look."""
    alphabet = string.ascii_uppercase + string.digits
    return "d-" + "".join(secrets.choice(alphabet) for _ in range(9))


def new_uuid() -> str:
    return str(uuid.uuid4())


def arn(region: str, resource: str) -> str:
    return f"arn:aws:codedeploy:{region}:{ACCOUNT_ID}:{resource}"


@dataclass
class RevisionRecord:
    """A revision CodeDeploy registered with its application (CreateDeployment registers it)."""

    revision: dict[str, Any]
    register_time: float
    first_used_time: float
    last_used_time: float
    deployment_groups: list[str] = field(default_factory=list)


@dataclass
class Application:
    name: str
    compute_platform: str
    create_time: float
    id: str = field(default_factory=new_uuid)
    revisions: dict[str, RevisionRecord] = field(default_factory=dict)  # AppSpecContent by sha256

    def register_revision(self, revision: dict[str, Any], group_name: str, now: float) -> None:
        """Every deployment's AppSpecContent revision is registered with its application: the one way
        to read its content back (GetApplicationRevision), since deployment info leaves it out."""
        digest = revision["appSpecContent"]["sha256"]
        record = self.revisions.get(digest)
        if record is None:
            record = self.revisions[digest] = RevisionRecord(copy.deepcopy(revision), now, now, now)
        record.last_used_time = now
        if group_name not in record.deployment_groups:
            record.deployment_groups.append(group_name)


@dataclass
class DeploymentConfig:
    name: str
    compute_platform: str
    create_time: float
    traffic_routing: dict[str, Any] | None = None
    minimum_healthy_hosts: dict[str, Any] | None = None
    predefined: bool = False
    id: str = field(default_factory=new_uuid)


@dataclass
class DeploymentGroup:
    """A deployment group; ``spec`` holds the request's own fields (ecsServices, loadBalancerInfo, ...)."""

    application_name: str
    name: str
    compute_platform: str
    spec: dict[str, Any]
    id: str = field(default_factory=new_uuid)
    last_attempted: dict[str, Any] | None = None
    last_successful: dict[str, Any] | None = None
    target_revision: dict[str, Any] | None = None

    @property
    def config_name(self) -> str:
        return str(self.spec["deploymentConfigName"])


@dataclass
class LifecycleEvent:
    name: str
    status: LifecycleEventStatus = LifecycleEventStatus.PENDING
    start_time: float | None = None
    end_time: float | None = None
    diagnostics: dict[str, str] | None = None


@dataclass
class HookExecution:
    id: str
    deployment_id: str
    lifecycle_event: str
    function_name: str
    status: LifecycleEventStatus = LifecycleEventStatus.PENDING
    reason: str = ""


@dataclass(frozen=True)
class HookStatusReport:
    """One PutLifecycleEventHookExecutionStatus call as received, accepted or not."""

    deployment_id: str
    lifecycle_event_hook_execution_id: str
    lifecycle_event: str | None
    status: str
    virtual_time: float
    accepted: bool
    error_code: str | None = None


@dataclass
class Target:
    """The deployment's one target: an ECS service or a Lambda function alias."""

    target_id: str
    target_arn: str
    kind: str  # "ECSTarget" | "LambdaTarget"
    lifecycle_events: list[LifecycleEvent]
    last_updated: float
    task_sets: list[dict[str, Any]] = field(default_factory=list)
    lambda_info: dict[str, Any] | None = None


@dataclass
class Deployment:
    id: str
    application_name: str
    group_name: str
    config_name: str
    compute_platform: str
    revision: dict[str, Any]
    creator: str
    create_time: float
    group_snapshot: dict[str, Any]
    description: str = ""
    status: DeploymentStatus = DeploymentStatus.CREATED
    start_time: float | None = None
    complete_time: float | None = None
    error_information: dict[str, str] | None = None
    rollback_info: dict[str, str] | None = None
    status_messages: list[str] = field(default_factory=list)
    auto_rollback: dict[str, Any] | None = None
    termination_wait_started: bool = False
    override_alarms: dict[str, Any] | None = None
    # CreateDeployment members echoed in DeploymentInfo as given (defaults.DEPLOYMENT_REQUEST_DEFAULTS).
    request_options: dict[str, Any] = field(default_factory=dict)
    target: Target | None = None
    # Requests from the API to the worker; the worker reads them under the store's lock.
    stop_requested: bool = False
    stop_rollback: bool | None = None
    continue_ready: bool = False
    skip_termination_wait: bool = False
    wake: threading.Event = field(default_factory=threading.Event, repr=False)

    def event(self, name: str) -> LifecycleEvent | None:
        if self.target is None:
            return None
        return next((e for e in self.target.lifecycle_events if e.name == name), None)


class Store:
    """Everything the emulator knows, behind one re-entrant lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.applications: dict[str, Application] = {}
        self.groups: dict[tuple[str, str], DeploymentGroup] = {}
        self.configs: dict[str, DeploymentConfig] = {}
        self.deployments: dict[str, Deployment] = {}
        self.hook_executions: dict[str, HookExecution] = {}
        self.hook_reports: list[HookStatusReport] = []
        self.tags: dict[str, dict[str, str]] = {}

    def active_deployment(self, application: str, group: str) -> Deployment | None:
        """The group's deployment that has not ended, if any (CodeDeploy allows one)."""
        with self.lock:
            for dep in self.deployments.values():
                if (
                    dep.application_name == application
                    and dep.group_name == group
                    and not dep.status.is_terminal
                ):
                    return dep
        return None

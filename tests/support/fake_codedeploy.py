"""In-memory CodeDeploy behind ``orchestrator.aws.codedeploy.CodeDeployApi``, for logic tests of the
engine, the watch loop and the verbs without moto or the emulator.

- ``FakeCodeDeploy``: deployment groups, deployments, their ECS targets and registered revisions in
  dicts; answers in AWS's shapes (GetDeployment's revision without ``content``, as AWS: botocore's
  GetDeployment documentation), AWS's error codes as botocore ``ClientError``; ``set_state`` moves a
  deployment on; ``calls`` lists every operation called.
- ``TimelineCodeDeploy`` / ``ReadyTimelineCodeDeploy``: one deployment's state read from a timeline
  on a ``FakeClock`` (the watch loop's pacing tests).
- ``FakeClients`` stands in for ``AwsClients``; ``engine_on(api)`` is a CodeDeployEngine on a fake.
"""

from __future__ import annotations

import copy
import hashlib
from collections import Counter
from typing import Any

from orchestrator.engines.codedeploy import CodeDeployEngine
from tests.support.cli import FakeClock

ECS_TARGET_TYPE = "ECSTarget"


def client_error(code: str, operation: str, message: str = "fake") -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


class _Events:
    """botocore's event hooks, as far as DeploymentClock uses them (registered, never fired: the
    fake's answers carry no HTTP Date, so the clock stays on real time)."""

    def __init__(self) -> None:
        self.registered: list[str] = []

    def register(self, event_name: str, handler: Any) -> None:
        self.registered.append(event_name)


class _Meta:
    def __init__(self) -> None:
        self.events = _Events()


class FakeCodeDeploy:
    """CodeDeploy's ECS deployments in memory (the calls bluegreen makes, nothing else)."""

    def __init__(self) -> None:
        self.meta = _Meta()
        self.groups: dict[tuple[str, str], dict[str, Any]] = {}
        self.deployments: dict[str, dict[str, Any]] = {}
        self.targets: dict[str, dict[str, Any]] = {}
        self.revisions: dict[tuple[str, str], str] = {}  # (application, sha256) -> AppSpec content
        self.configs: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.list_page_size = 0  # ListDeployments' page size (0: every id on one page)
        # StopDeployment as AWS shows it: GetDeployment may answer the old status for a few reads
        # (``stop_lag``), and the Stopped deployment without rollbackInfo for a few more
        # (``rollback_lag``) before CodeDeploy names the rollback deployment.
        self.stop_lag = 0
        self.rollback_lag = 0
        self._lagging: dict[str, list[Any]] = {}  # deployment id -> [old status, stop reads, rollback reads]
        self._created = 0
        self._time = 1_700_000_000.0

    # --- the test's side ----------------------------------------------------------------------------

    def add_group(self, application: str, group: str, **info: Any) -> None:
        self.groups[(application, group)] = {
            "applicationName": application,
            "deploymentGroupName": group,
            **info,
        }

    def set_state(
        self,
        deployment_id: str,
        status: str,
        lifecycle: dict[str, str] | None = None,
        green: float | None = None,
        **info: Any,
    ) -> None:
        """Move a deployment on: its status, lifecycle events, green's traffic weight, other members."""
        self.deployments[deployment_id].update(status=status, **info)
        target = self.targets[deployment_id]["ecsTarget"]
        if lifecycle is not None:
            target["lifecycleEvents"] = [{"lifecycleEventName": k, "status": v} for k, v in lifecycle.items()]
        if green is not None:
            target["taskSetsInfo"] = [
                {"trafficWeight": 100.0 - green, "taskSetLabel": "Blue"},
                {"trafficWeight": green, "taskSetLabel": "Green"},
            ]

    def _call(self, operation: str) -> None:
        self.calls.append(operation)

    def _deployment(self, deployment_id: str, operation: str) -> dict[str, Any]:
        if deployment_id not in self.deployments:
            raise client_error("DeploymentDoesNotExistException", operation)
        return self.deployments[deployment_id]

    def _group(self, application: str, group: str, operation: str) -> dict[str, Any]:
        if (application, group) not in self.groups:
            raise client_error("DeploymentGroupDoesNotExistException", operation)
        return self.groups[(application, group)]

    @staticmethod
    def _shown(info: dict[str, Any]) -> dict[str, Any]:
        """A deployment as AWS returns it: the revision's AppSpec content left out."""
        shown = copy.deepcopy(info)
        shown.get("revision", {}).get("appSpecContent", {}).pop("content", None)
        return shown

    # --- CodeDeployApi ------------------------------------------------------------------------------

    def get_deployment(self, *, deploymentId: str) -> dict[str, Any]:
        self._call("GetDeployment")
        shown = self._shown(self._deployment(deploymentId, "GetDeployment"))
        lag = self._lagging.get(deploymentId)
        if lag is not None:
            if lag[1] > 0:
                lag[1] -= 1
                shown["status"] = lag[0]
                shown.pop("rollbackInfo", None)
            elif lag[2] > 0:
                lag[2] -= 1
                shown.pop("rollbackInfo", None)
        return {"deploymentInfo": shown}

    def batch_get_deployments(self, *, deploymentIds: list[str]) -> dict[str, Any]:
        self._call("BatchGetDeployments")
        infos = [self._shown(self.deployments[i]) for i in deploymentIds if i in self.deployments]
        return {"deploymentsInfo": infos}

    def list_deployments(self, **kwargs: Any) -> dict[str, Any]:
        self._call("ListDeployments")
        self._group(kwargs["applicationName"], kwargs["deploymentGroupName"], "ListDeployments")
        statuses = set(kwargs.get("includeOnlyStatuses") or ())
        window = kwargs.get("createTimeRange") or {}
        ids = [
            i
            for i, info in self.deployments.items()
            if (info["applicationName"], info["deploymentGroupName"])
            == (kwargs["applicationName"], kwargs["deploymentGroupName"])
            and (not statuses or info["status"] in statuses)
            and window.get("start", info["createTime"])
            <= info["createTime"]
            <= window.get("end", info["createTime"])
        ]
        if not self.list_page_size:
            return {"deployments": ids}
        start = int(kwargs.get("nextToken") or 0)  # pages of list_page_size, as AWS's nextToken
        end = start + self.list_page_size
        page: dict[str, Any] = {"deployments": ids[start:end]}
        if end < len(ids):
            page["nextToken"] = str(end)
        return page

    def get_deployment_group(self, *, applicationName: str, deploymentGroupName: str) -> dict[str, Any]:
        self._call("GetDeploymentGroup")
        return {
            "deploymentGroupInfo": self._group(applicationName, deploymentGroupName, "GetDeploymentGroup")
        }

    def get_deployment_config(self, *, deploymentConfigName: str) -> dict[str, Any]:
        self._call("GetDeploymentConfig")
        if deploymentConfigName not in self.configs:
            raise client_error("DeploymentConfigDoesNotExistException", "GetDeploymentConfig")
        return {"deploymentConfigInfo": self.configs[deploymentConfigName]}

    def create_deployment_config(self, **kwargs: Any) -> dict[str, Any]:
        self._call("CreateDeploymentConfig")
        if kwargs["deploymentConfigName"] in self.configs:
            raise client_error("DeploymentConfigAlreadyExistsException", "CreateDeploymentConfig")
        self.configs[kwargs["deploymentConfigName"]] = dict(kwargs)
        return {"deploymentConfigId": kwargs["deploymentConfigName"]}

    def create_deployment(self, **kwargs: Any) -> dict[str, Any]:
        self._call("CreateDeployment")
        application, group = kwargs["applicationName"], kwargs["deploymentGroupName"]
        self._group(application, group, "CreateDeployment")
        active = ("Created", "Queued", "InProgress", "Baking", "Ready")
        if any(
            (d["applicationName"], d["deploymentGroupName"]) == (application, group) and d["status"] in active
            for d in self.deployments.values()
        ):
            raise client_error("DeploymentLimitExceededException", "CreateDeployment")
        content = kwargs["revision"]["appSpecContent"]["content"]
        return {"deploymentId": self.add_deployment(application, group, content, **_extra(kwargs))}

    def add_deployment(self, application: str, group: str, content: str, **info: Any) -> str:
        """A deployment of ``content`` (registered with the application, as CreateDeployment does)."""
        self._created += 1
        self._time += 60.0
        deployment_id = f"d-FAKE{self._created:05d}"
        digest = hashlib.sha256(content.encode()).hexdigest()
        self.revisions[(application, digest)] = content
        from datetime import UTC, datetime

        self.deployments[deployment_id] = {
            "deploymentId": deployment_id,
            "applicationName": application,
            "deploymentGroupName": group,
            "status": "Created",
            "createTime": datetime.fromtimestamp(self._time, UTC),
            "revision": {
                "revisionType": "AppSpecContent",
                "appSpecContent": {"content": content, "sha256": digest},
            },
            **info,
        }
        self.targets[deployment_id] = {
            "deploymentTargetType": ECS_TARGET_TYPE,
            "ecsTarget": {"lifecycleEvents": [], "taskSetsInfo": []},
        }
        return deployment_id

    def get_application_revision(self, *, applicationName: str, revision: dict[str, Any]) -> dict[str, Any]:
        self._call("GetApplicationRevision")
        digest = revision.get("appSpecContent", {}).get("sha256")
        if (applicationName, digest) not in self.revisions:
            raise client_error("RevisionDoesNotExistException", "GetApplicationRevision")
        content = self.revisions[(applicationName, digest)]
        appspec = {"content": content, "sha256": digest}
        return {
            "applicationName": applicationName,
            "revision": {"revisionType": "AppSpecContent", "appSpecContent": appspec},
        }

    def list_deployment_targets(self, **kwargs: Any) -> dict[str, Any]:
        self._call("ListDeploymentTargets")
        info = self._deployment(kwargs["deploymentId"], "ListDeploymentTargets")
        if info["status"] in ("Created", "Queued"):  # as CodeDeploy (and the emulator) answer
            raise client_error("DeploymentNotStartedException", "ListDeploymentTargets")
        return {"targetIds": ["cluster:service"]}

    def get_deployment_target(self, *, deploymentId: str, targetId: str) -> dict[str, Any]:
        self._call("GetDeploymentTarget")
        self._deployment(deploymentId, "GetDeploymentTarget")
        return {"deploymentTarget": copy.deepcopy(self.targets[deploymentId])}

    def batch_get_deployment_targets(self, *, deploymentId: str, targetIds: list[str]) -> dict[str, Any]:
        self._call("BatchGetDeploymentTargets")
        self._deployment(deploymentId, "BatchGetDeploymentTargets")
        if len(targetIds) > 25:  # botocore's model: at most 25 target ids
            raise client_error("DeploymentTargetListSizeExceededException", "BatchGetDeploymentTargets")
        return {"deploymentTargets": [copy.deepcopy(self.targets[deploymentId]) for _ in targetIds]}

    def stop_deployment(self, *, deploymentId: str, autoRollbackEnabled: bool) -> dict[str, Any]:
        self._call("StopDeployment")
        info = self._deployment(deploymentId, "StopDeployment")
        if info["status"] in ("Succeeded", "Failed", "Stopped"):
            raise client_error("DeploymentAlreadyCompletedException", "StopDeployment")
        self._lagging[deploymentId] = [info["status"], self.stop_lag, self.rollback_lag]
        info["status"] = "Stopped"
        if autoRollbackEnabled:
            revision = info["revision"]["appSpecContent"]["content"]
            rollback = self.add_deployment(info["applicationName"], info["deploymentGroupName"], revision)
            self.deployments[rollback]["status"] = "InProgress"
            info["rollbackInfo"] = {"rollbackDeploymentId": rollback}
        return {"status": "Pending", "statusMessage": "Stopping deployment"}

    def continue_deployment(self, *, deploymentId: str, deploymentWaitType: str) -> dict[str, Any]:
        self._call(f"ContinueDeployment {deploymentWaitType}")
        info = self._deployment(deploymentId, "ContinueDeployment")
        if info["status"] in ("Succeeded", "Failed", "Stopped"):  # as StopDeployment (and the emulator)
            raise client_error("DeploymentAlreadyCompletedException", "ContinueDeployment")
        if info["status"] != "Ready":
            raise client_error("DeploymentIsNotInReadyStateException", "ContinueDeployment")
        info["status"] = "InProgress"
        return {}


def _extra(request: dict[str, Any]) -> dict[str, Any]:
    keys = ("deploymentConfigName", "description", "autoRollbackConfiguration")
    return {key: request[key] for key in keys if key in request}


class _Counter:
    """AwsClients.counter's surface: every call of every fake."""

    def __init__(self, fakes: dict[str, Any]) -> None:
        self._fakes = fakes

    @property
    def calls(self) -> Counter[str]:
        return Counter(
            f"{name}:{call}" for name, fake in self._fakes.items() for call in getattr(fake, "calls", [])
        )

    @property
    def total(self) -> int:
        return sum(self.calls.values())


class FakeClients:
    """Stands in for AwsClients: ``client(name)`` is the fake given for that service."""

    def __init__(self, **fakes: Any) -> None:
        self.fakes = fakes
        self.counter = _Counter(fakes)

    def client(self, name: str, *, single_attempt: bool = False) -> Any:
        return self.fakes[name]


def engine_on(codedeploy: Any) -> CodeDeployEngine:
    """A CodeDeployEngine whose CodeDeploy client is ``codedeploy`` (a fake)."""
    return CodeDeployEngine(FakeClients(codedeploy=codedeploy))


class TimelineCodeDeploy:
    """The three calls the watcher makes, answered from a timeline: (from second, status, events, green %).

    The deployment's state at any moment is the last timeline entry whose start has passed.
    """

    def __init__(
        self, clock: FakeClock, timeline: list[tuple[float, str, dict[str, str], float | None]]
    ) -> None:
        self.clock = clock
        self.timeline = timeline
        self.calls: list[tuple[float, str]] = []

    def _state(self) -> tuple[float, str, dict[str, str], float | None]:
        return [entry for entry in self.timeline if entry[0] <= self.clock.now][-1]

    def get_deployment(self, deploymentId: str) -> dict[str, Any]:
        self.calls.append((self.clock.now, "GetDeployment"))
        return {"deploymentInfo": {"deploymentId": deploymentId, "status": self._state()[1]}}

    def list_deployment_targets(self, deploymentId: str) -> dict[str, Any]:
        self.calls.append((self.clock.now, "ListDeploymentTargets"))
        return {"targetIds": ["cluster:service"]}

    def get_deployment_target(self, deploymentId: str, targetId: str) -> dict[str, Any]:
        self.calls.append((self.clock.now, "GetDeploymentTarget"))
        _, _, events, green = self._state()
        task_sets = []
        if green is not None:
            task_sets = [
                {"trafficWeight": 100.0 - green, "taskSetLabel": "Blue"},
                {"trafficWeight": green, "taskSetLabel": "Green"},
            ]
        lifecycle = [{"lifecycleEventName": name, "status": status} for name, status in events.items()]
        return {"deploymentTarget": {"ecsTarget": {"lifecycleEvents": lifecycle, "taskSetsInfo": task_sets}}}


class ReadyTimelineCodeDeploy(TimelineCodeDeploy):
    """A TimelineCodeDeploy whose deployment waits at Ready (STOP_DEPLOYMENT) until ContinueDeployment;
    then ``after`` follows, its seconds counted from the continue."""

    def __init__(
        self,
        clock: FakeClock,
        before: list[tuple[float, str, dict[str, str], float | None]],
        after: list[tuple[float, str, dict[str, str], float | None]],
    ) -> None:
        super().__init__(clock, list(before))
        self.after = after

    def continue_deployment(self, deploymentId: str, deploymentWaitType: str) -> dict[str, Any]:
        self.calls.append((self.clock.now, f"ContinueDeployment {deploymentWaitType}"))
        assert self._state()[1] == "Ready", "ContinueDeployment outside Ready"
        now = self.clock.now
        self.timeline = [*self.timeline, *((now + at, *rest) for at, *rest in self.after)]
        return {}

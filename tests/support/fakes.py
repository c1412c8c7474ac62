"""In-memory fakes of the AWS client surfaces bluegreen's adapters use (``orchestrator.aws.*Api``).

Each fake answers the operations of its Protocol with boto3's keyword arguments and answer shapes
(timestamps as datetimes, errors as botocore ``ClientError`` with AWS's codes), holds its state in
plain dicts a test can read or seed, and counts calls in ``FakeClients.counter`` under the same
``service:Operation`` keys as ``AwsClients.counter``. They are for logic tests (alarm sync planning,
the audit over fetched data, hook gates); the adapters' exact requests are pinned with botocore's
Stubber, and end-to-end behaviour against moto and the CodeDeploy emulator.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from botocore.exceptions import ClientError

REGION = "ap-northeast-2"
ACCOUNT = "123456789012"
ELB_ARN = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}"
# ECS's ServiceDeploymentStatus values of a deployment that has not ended.
_IN_FLIGHT = ("PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")


def client_error(operation: str, code: str, message: str = "", status: int = 400) -> ClientError:
    """The error boto3 raises when AWS answers ``code``."""
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


@dataclass
class CallCount:
    """Stands in for ``AwsClients.counter``: calls by ``service:Operation``."""

    calls: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.calls.values())


class _Fake:
    service = ""

    def __init__(self, counter: CallCount | None = None) -> None:
        self.counter = counter or CallCount()

    def _count(self, operation: str) -> None:
        self.counter.calls[f"{self.service}:{operation}"] += 1


class FakeCloudWatch(_Fake):
    """CloudWatchApi: metric alarms by name (``alarms``). A new alarm reads OK, as if CloudWatch had
    evaluated it once (AWS starts it INSUFFICIENT_DATA until the first evaluation; moto starts OK)."""

    service = "cloudwatch"

    def __init__(self, counter: CallCount | None = None) -> None:
        super().__init__(counter)
        self.alarms: dict[str, dict[str, Any]] = {}

    def describe_alarms(
        self, AlarmNames: list[str] | None = None, AlarmNamePrefix: str = "", **_: Any
    ) -> dict[str, Any]:
        self._count("DescribeAlarms")
        names = AlarmNames if AlarmNames is not None else sorted(self.alarms)
        found = [dict(self.alarms[n]) for n in names if n in self.alarms and n.startswith(AlarmNamePrefix)]
        return {"MetricAlarms": found, "CompositeAlarms": []}

    def put_metric_alarm(self, **request: Any) -> dict[str, Any]:
        self._count("PutMetricAlarm")
        name = request["AlarmName"]
        state = {k: v for k, v in self.alarms.get(name, {}).items() if k.startswith("State")}
        self.alarms[name] = {
            "AlarmArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}",
            "StateValue": "OK",
            "StateUpdatedTimestamp": datetime.now(UTC),
            **state,
            **request,
        }
        return {}

    def delete_alarms(self, AlarmNames: list[str]) -> dict[str, Any]:
        for name in AlarmNames:
            self.alarms.pop(name, None)
        return {}

    def set_alarm_state(self, AlarmName: str, StateValue: str, StateReason: str = "") -> dict[str, Any]:
        self.alarms[AlarmName].update(StateValue=StateValue, StateUpdatedTimestamp=datetime.now(UTC))
        return {}

    # AlarmHistoryItems a test seeds (``history``), answered by name and date, ``history_page`` a page.
    history_page = 100

    def describe_alarm_history(
        self,
        AlarmName: str = "",
        StartDate: datetime | None = None,
        EndDate: datetime | None = None,
        HistoryItemType: str = "",
        NextToken: str = "0",
        **_: Any,
    ) -> dict[str, Any]:
        self._count("DescribeAlarmHistory")
        items = [
            dict(item)
            for item in getattr(self, "history", [])
            if (not AlarmName or item["AlarmName"] == AlarmName)
            and (not HistoryItemType or item["HistoryItemType"] == HistoryItemType)
            and (StartDate is None or item["Timestamp"] >= StartDate)
            and (EndDate is None or item["Timestamp"] <= EndDate)
        ]
        start = int(NextToken)
        page: dict[str, Any] = {"AlarmHistoryItems": items[start : start + self.history_page]}
        if start + self.history_page < len(items):
            page["NextToken"] = str(start + self.history_page)
        return page


class FakeElbv2(_Fake):
    """Elbv2Api: target groups and load balancers by name (``add_target_group`` /
    ``add_load_balancer``), listeners by ARN, target health by target group ARN."""

    service = "elastic-load-balancing-v2"

    def __init__(self, counter: CallCount | None = None) -> None:
        super().__init__(counter)
        self.target_groups: dict[str, str] = {}
        self.load_balancers: dict[str, dict[str, Any]] = {}
        self.listeners: dict[str, dict[str, Any]] = {}
        self.rules: dict[str, list[dict[str, Any]]] = {}
        self.health: dict[str, list[dict[str, Any]]] = {}

    def add_target_group(self, name: str) -> str:
        arn = f"{ELB_ARN}:targetgroup/{name}/{len(self.target_groups):016x}"
        self.target_groups[name] = arn
        return arn

    def add_load_balancer(self, name: str, dns_name: str = "") -> str:
        arn = f"{ELB_ARN}:loadbalancer/app/{name}/{len(self.load_balancers):016x}"
        self.load_balancers[name] = {
            "LoadBalancerName": name,
            "LoadBalancerArn": arn,
            "DNSName": dns_name or f"{name}-1.{REGION}.elb.amazonaws.com",
        }
        return arn

    def describe_target_groups(self, Names: list[str] | None = None, **_: Any) -> dict[str, Any]:
        self._count("DescribeTargetGroups")
        if Names and any(n not in self.target_groups for n in Names):
            # AWS refuses the whole call when one name is unknown (ELBv2 API reference).
            raise client_error("DescribeTargetGroups", "TargetGroupNotFound", "One or more not found")
        names = Names if Names else sorted(self.target_groups)
        groups = [{"TargetGroupName": n, "TargetGroupArn": self.target_groups[n]} for n in names]
        return {"TargetGroups": groups}

    def describe_load_balancers(
        self, Names: list[str] | None = None, LoadBalancerArns: list[str] | None = None, **_: Any
    ) -> dict[str, Any]:
        self._count("DescribeLoadBalancers")
        if Names and any(n not in self.load_balancers for n in Names):
            raise client_error("DescribeLoadBalancers", "LoadBalancerNotFound", "One or more not found")
        found = [b for n, b in sorted(self.load_balancers.items()) if not Names or n in Names]
        if LoadBalancerArns is not None:
            found = [b for b in found if b["LoadBalancerArn"] in LoadBalancerArns]
        return {"LoadBalancers": [dict(b) for b in found]}

    def describe_listeners(
        self, ListenerArns: list[str] | None = None, LoadBalancerArn: str | None = None, **_: Any
    ) -> dict[str, Any]:
        self._count("DescribeListeners")
        if LoadBalancerArn is not None:
            found = [dict(x) for x in self.listeners.values() if x.get("LoadBalancerArn") == LoadBalancerArn]
            return {"Listeners": found}
        return {
            "Listeners": [dict(self.listeners[arn]) for arn in ListenerArns or [] if arn in self.listeners]
        }

    def describe_rules(
        self, ListenerArn: str | None = None, RuleArns: list[str] | None = None, **_: Any
    ) -> dict[str, Any]:
        self._count("DescribeRules")
        if RuleArns is not None:
            every = [rule for rules in self.rules.values() for rule in rules]
            return {"Rules": [dict(rule) for rule in every if rule["RuleArn"] in RuleArns]}
        return {"Rules": [dict(rule) for rule in self.rules.get(ListenerArn or "", [])]}

    def add_listener(
        self, load_balancer_arn: str, port: int, rules: list[dict[str, Any]] | None = None
    ) -> str:
        """A listener on ``port`` with a default action and ``rules`` (DescribeRules' shape, no ARNs)."""
        arn = f"{ELB_ARN}:listener/app/lb/{len(self.listeners):016x}"
        self.listeners[arn] = {"ListenerArn": arn, "LoadBalancerArn": load_balancer_arn, "Port": port}
        default = {"RuleArn": f"{arn}-default", "Priority": "default", "IsDefault": True, "Actions": []}
        self.rules[arn] = [default] + [
            {"RuleArn": f"{arn}-rule-{i}", "Priority": str(i + 1), "IsDefault": False, **rule}
            for i, rule in enumerate(rules or [])
        ]
        return arn

    def describe_target_health(self, TargetGroupArn: str, **_: Any) -> dict[str, Any]:
        self._count("DescribeTargetHealth")
        return {"TargetHealthDescriptions": [dict(t) for t in self.health.get(TargetGroupArn, [])]}


class FakeDeploymentGroups(_Fake):
    """DeploymentGroupsApi (and the create/get calls tests set groups up with): deployment group
    infos by application and group name (``groups``)."""

    service = "codedeploy"
    exceptions = SimpleNamespace(ApplicationAlreadyExistsException=type("AlreadyExists", (Exception,), {}))

    def __init__(self, counter: CallCount | None = None) -> None:
        super().__init__(counter)
        self.groups: dict[str, dict[str, dict[str, Any]]] = {}

    def create_application(self, applicationName: str, **_: Any) -> dict[str, Any]:
        if applicationName in self.groups:
            raise self.exceptions.ApplicationAlreadyExistsException(applicationName)
        self.groups[applicationName] = {}
        return {"applicationId": applicationName}

    def create_deployment_group(
        self, applicationName: str, deploymentGroupName: str, **info: Any
    ) -> dict[str, Any]:
        self.groups[applicationName][deploymentGroupName] = {
            "applicationName": applicationName,
            "deploymentGroupName": deploymentGroupName,
            **info,
        }
        return {"deploymentGroupId": deploymentGroupName}

    def _group(self, operation: str, application: str, name: str) -> dict[str, Any]:
        if application not in self.groups:
            raise client_error(operation, "ApplicationDoesNotExistException", application)
        if name not in self.groups[application]:
            raise client_error(operation, "DeploymentGroupDoesNotExistException", name)
        return self.groups[application][name]

    def get_deployment_group(self, applicationName: str, deploymentGroupName: str) -> dict[str, Any]:
        self._count("GetDeploymentGroup")
        return {
            "deploymentGroupInfo": dict(
                self._group("GetDeploymentGroup", applicationName, deploymentGroupName)
            )
        }

    def list_applications(self, **_: Any) -> dict[str, Any]:
        self._count("ListApplications")
        return {"applications": sorted(self.groups)}

    def list_deployment_groups(self, applicationName: str, **_: Any) -> dict[str, Any]:
        self._count("ListDeploymentGroups")
        if applicationName not in self.groups:
            raise client_error("ListDeploymentGroups", "ApplicationDoesNotExistException", applicationName)
        return {"applicationName": applicationName, "deploymentGroups": sorted(self.groups[applicationName])}

    def batch_get_deployment_groups(
        self, applicationName: str, deploymentGroupNames: list[str]
    ) -> dict[str, Any]:
        self._count("BatchGetDeploymentGroups")
        groups = self.groups.get(applicationName, {})
        infos = [dict(groups[n]) for n in deploymentGroupNames if n in groups]
        return {"deploymentGroupsInfo": infos, "errorMessage": ""}

    def update_deployment_group(
        self, applicationName: str, currentDeploymentGroupName: str, **changes: Any
    ) -> dict[str, Any]:
        self._count("UpdateDeploymentGroup")
        self._group("UpdateDeploymentGroup", applicationName, currentDeploymentGroupName).update(changes)
        return {"hooksNotCleanedUp": []}


class FakeEcs(_Fake):
    """EcsApi: task definitions by ARN, services by (cluster, name), and Amazon ECS's native
    deployments: UpdateService starts a service deployment (``service_deployments`` by ARN,
    botocore's ServiceDeployment shape; its target revision in ``revisions``), replacing one in
    flight as ECS does (it ends STOPPED). A test scripts what DescribeServiceDeployments answers
    next for an ARN in ``scripted[arn]`` (each answer merged into the stored deployment, the last
    one kept); ``update_errors`` are raised by the next UpdateService calls, after applying the
    update when ``applied_before_error`` (the ambiguous case: a lost response)."""

    service = "ecs"

    def __init__(self, counter: CallCount | None = None) -> None:
        super().__init__(counter)
        self.task_definitions: dict[str, dict[str, Any]] = {}
        self.services: dict[tuple[str, str], dict[str, Any]] = {}
        self.service_deployments: dict[str, dict[str, Any]] = {}
        self.revisions: dict[str, dict[str, Any]] = {}
        self.scripted: dict[str, list[dict[str, Any]]] = {}
        self.update_errors: list[Exception] = []
        self.applied_before_error = False
        self.requests: list[tuple[str, dict[str, Any]]] = []  # (operation, request) of the writes
        self.clock = datetime.now(UTC)  # createdAt as ECS stamps it (filters compare with our clock)
        # botocore's event system, as far as DeploymentClock uses it: who registered for which event.
        self.registered: list[str] = []
        self.meta = SimpleNamespace(
            events=SimpleNamespace(register=lambda name, _handler: self.registered.append(name))
        )

    def _tick(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def _arn(self, kind: str, cluster: str, service: str, number: int) -> str:
        return f"arn:aws:ecs:{REGION}:{ACCOUNT}:{kind}/{cluster}/{service}/{number:08d}"

    def add_service_deployment(
        self, cluster: str, service: str, task_definition: str, status: str = "SUCCESSFUL", **more: Any
    ) -> str:
        """A service deployment of ``task_definition`` (its target revision), as ECS lists it."""
        number = len(self.service_deployments) + 1
        revision = self._arn("service-revision", cluster, service, number)
        self.revisions[revision] = {
            "serviceRevisionArn": revision,
            "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{service}",
            "taskDefinition": task_definition,
            "createdAt": self.clock,
        }
        arn = self._arn("service-deployment", cluster, service, number)
        self.service_deployments[arn] = {
            "serviceDeploymentArn": arn,
            "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{service}",
            "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{cluster}",
            "createdAt": self._tick(),
            "targetServiceRevision": {"arn": revision},
            "status": status,
            **more,
        }
        return arn

    def update_service(self, cluster: str, service: str, **request: Any) -> dict[str, Any]:
        self._count("UpdateService")
        self.requests.append(("UpdateService", {"cluster": cluster, "service": service, **request}))
        error = self.update_errors.pop(0) if self.update_errors else None
        if error is not None and not self.applied_before_error:
            raise error
        for found in self.service_deployments.values():  # a second one replaces the first
            if found["serviceArn"].endswith(f"/{cluster}/{service}") and found["status"] in _IN_FLIGHT:
                found.update(status="STOPPED", statusReason="replaced by a newer service deployment")
        arn = self.add_service_deployment(cluster, service, request["taskDefinition"], status="PENDING")
        self.service_deployments[arn]["deploymentConfiguration"] = request.get("deploymentConfiguration", {})
        stored = self.services.setdefault(
            (cluster, service), {"serviceName": service, "status": "ACTIVE", "clusterArn": cluster}
        )
        stored.update(taskDefinition=request["taskDefinition"], currentServiceDeployment=arn)
        if error is not None:
            raise error
        return {"service": dict(stored)}

    def list_service_deployments(
        self,
        service: str,
        cluster: str = "default",
        status: list[str] | None = None,
        createdAt: dict[str, datetime] | None = None,
        nextToken: str = "0",
        maxResults: int = 20,
    ) -> dict[str, Any]:
        self._count("ListServiceDeployments")
        after = (createdAt or {}).get("after")
        found = [
            {
                "serviceDeploymentArn": arn,
                "serviceArn": sd["serviceArn"],
                "clusterArn": sd["clusterArn"],
                "createdAt": sd.get("createdAt"),
                "targetServiceRevisionArn": sd["targetServiceRevision"]["arn"],
                "status": sd["status"],
            }
            for arn, sd in self.service_deployments.items()
            if sd["serviceArn"].endswith(f"/{cluster}/{service}")
            and (status is None or sd["status"] in status)
            and (after is None or (sd.get("createdAt") is not None and sd["createdAt"] >= after))
        ]
        found = [{k: v for k, v in brief.items() if v is not None} for brief in found]
        start = int(nextToken)
        page: dict[str, Any] = {"serviceDeployments": found[start : start + maxResults]}
        if start + maxResults < len(found):
            page["nextToken"] = str(start + maxResults)
        return page

    def describe_service_deployments(self, serviceDeploymentArns: list[str]) -> dict[str, Any]:
        self._count("DescribeServiceDeployments")
        found, failures = [], []
        for arn in serviceDeploymentArns:
            if arn not in self.service_deployments:
                failures.append({"arn": arn, "reason": "MISSING"})
                continue
            script = self.scripted.get(arn)
            if script:
                self.service_deployments[arn].update(script.pop(0) if len(script) > 1 else script[0])
            found.append(dict(self.service_deployments[arn]))
        return {"serviceDeployments": found, "failures": failures}

    def stop_service_deployment(
        self, serviceDeploymentArn: str, stopType: str = "ROLLBACK"
    ) -> dict[str, Any]:
        self._count("StopServiceDeployment")
        self.requests.append(
            ("StopServiceDeployment", {"serviceDeploymentArn": serviceDeploymentArn, "stopType": stopType})
        )
        if serviceDeploymentArn not in self.service_deployments:
            raise client_error("StopServiceDeployment", "ServiceDeploymentNotFoundException", "not found")
        self.service_deployments[serviceDeploymentArn]["status"] = "ROLLBACK_REQUESTED"
        return {"serviceDeploymentArn": serviceDeploymentArn}

    def continue_service_deployment(
        self, serviceDeploymentArn: str, hookId: str, action: str = "CONTINUE"
    ) -> dict[str, Any]:
        self._count("ContinueServiceDeployment")
        self.requests.append(
            (
                "ContinueServiceDeployment",
                {"serviceDeploymentArn": serviceDeploymentArn, "hookId": hookId, "action": action},
            )
        )
        found = self.service_deployments.get(serviceDeploymentArn)
        hooks = [h for h in (found or {}).get("lifecycleHookDetails", []) if h.get("hookId") == hookId]
        if not hooks or hooks[0].get("status") != "AWAITING_ACTION":
            raise client_error(
                "ContinueServiceDeployment", "InvalidParameterException", "no such paused hook"
            )
        hooks[0]["status"] = "SUCCEEDED"
        return {"serviceDeploymentArn": serviceDeploymentArn}

    def describe_service_revisions(self, serviceRevisionArns: list[str]) -> dict[str, Any]:
        self._count("DescribeServiceRevisions")
        found = [dict(self.revisions[arn]) for arn in serviceRevisionArns if arn in self.revisions]
        failures = [
            {"arn": arn, "reason": "MISSING"} for arn in serviceRevisionArns if arn not in self.revisions
        ]
        return {"serviceRevisions": found, "failures": failures}

    def register_task_definition(self, **request: Any) -> dict[str, Any]:
        self._count("RegisterTaskDefinition")
        family = request["family"]
        revision = 1 + sum(1 for d in self.task_definitions.values() if d["family"] == family)
        arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:{revision}"
        self.task_definitions[arn] = {
            **request,
            "taskDefinitionArn": arn,
            "revision": revision,
            "status": "ACTIVE",
        }
        return {"taskDefinition": dict(self.task_definitions[arn])}

    def deregister_task_definition(self, taskDefinition: str) -> dict[str, Any]:
        self._count("DeregisterTaskDefinition")
        self.task_definitions[taskDefinition]["status"] = "INACTIVE"
        return {"taskDefinition": dict(self.task_definitions[taskDefinition])}

    def describe_services(self, cluster: str, services: list[str]) -> dict[str, Any]:
        self._count("DescribeServices")
        found = [dict(self.services[(cluster, s)]) for s in services if (cluster, s) in self.services]
        failures = [{"arn": s, "reason": "MISSING"} for s in services if (cluster, s) not in self.services]
        return {"services": found, "failures": failures}

    def describe_task_definition(self, taskDefinition: str) -> dict[str, Any]:
        self._count("DescribeTaskDefinition")
        if taskDefinition not in self.task_definitions:
            raise client_error(
                "DescribeTaskDefinition", "ClientException", "Unable to describe task definition."
            )
        return {"taskDefinition": dict(self.task_definitions[taskDefinition])}


class FakeLogs(_Fake):
    """LogsApi: log events by group (``events``), ``page_size`` of them a FilterLogEvents page.
    The filter pattern is matched as one quoted term, the form ``hook_verdict.filter_term`` writes."""

    service = "cloudwatch-logs"

    def __init__(self, counter: CallCount | None = None, page_size: int = 50) -> None:
        super().__init__(counter)
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.page_size = page_size

    def filter_log_events(
        self,
        logGroupName: str,
        filterPattern: str = "",
        startTime: int = 0,
        endTime: int = 2**62,
        nextToken: str = "0",
        **_: Any,
    ) -> dict[str, Any]:
        self._count("FilterLogEvents")
        if logGroupName not in self.events:
            raise client_error(
                "FilterLogEvents", "ResourceNotFoundException", "The specified log group does not exist."
            )
        term = filterPattern.strip('"')
        matching = [
            e
            for e in self.events[logGroupName]
            if term in e["message"] and startTime <= e["timestamp"] <= endTime
        ]
        start = int(nextToken)
        page: dict[str, Any] = {"events": matching[start : start + self.page_size]}
        if start + self.page_size < len(matching):
            page["nextToken"] = str(start + self.page_size)
        return page


class FakeClients:
    """Stands in for ``AwsClients``: ``client(name)`` gives the fakes above, all counted on one
    ``counter`` (``counter.calls["cloudwatch:PutMetricAlarm"]``, as AwsClients counts)."""

    def __init__(self) -> None:
        self.counter = CallCount()
        self.cloudwatch = FakeCloudWatch(self.counter)
        self.elbv2 = FakeElbv2(self.counter)
        self.codedeploy = FakeDeploymentGroups(self.counter)
        self.ecs = FakeEcs(self.counter)
        self.logs = FakeLogs(self.counter)
        self._by_name: Mapping[str, Any] = {
            "cloudwatch": self.cloudwatch,
            "elbv2": self.elbv2,
            "codedeploy": self.codedeploy,
            "ecs": self.ecs,
            "logs": self.logs,
        }

    def client(self, service_name: str, **_: Any) -> Any:
        return self._by_name[service_name]

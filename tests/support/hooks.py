"""Test support for the hook Lambdas: a Lambda context, a little HTTP app, a CodeDeploy fake on
loopback, and a moto world (ELBv2 listeners and target groups, CloudWatch alarms) for one service.

``FakeCodeDeploy`` speaks CodeDeploy's JSON 1.1 protocol for the five operations hooks call, so the
handlers run with real boto3 clients pointed at it through ``AWS_ENDPOINT_URL_CODEDEPLOY`` -- the same
way they will run against the CodeDeploy emulator. Its recording surface matches the emulator's:
``hook_status_reports`` and ``inject_errors(operation, error_code, times, http_status)``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3

LOOPBACK = "127.0.0.1"
REGION = "ap-northeast-2"
MOTO_AMI = "ami-12c6146b"  # one of the images moto ships
EVENTS_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "events"


def load_event(name: str, **ids: str) -> dict[str, Any]:
    """An event fixture with ``{deployment_id}`` / ``{execution_id}`` filled in."""
    text = (EVENTS_DIR / name).read_text(encoding="utf-8")
    for key, value in ids.items():
        text = text.replace("{" + key + "}", value)
    event: dict[str, Any] = json.loads(text)
    return event


class FakeLambdaContext:
    """The parts of the Lambda context object hooks read; remaining time counts down in real time."""

    def __init__(self, timeout_s: float = 60.0, function_name: str = "bluegreen-dev-hook") -> None:
        self._end = time.monotonic() + timeout_s
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{function_name}"
        self.memory_limit_in_mb = 256
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._end - time.monotonic()) * 1000))

    @property
    def end(self) -> float:
        """monotonic() at which the invocation's time is up."""
        return self._end


# --- a little HTTP app behind a "listener" -------------------------------------------------------


@dataclass
class Route:
    """What the app answers on one path."""

    status: int = 200
    body: bytes = b'{"status": "ok"}'
    delay_s: float = 0.0
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class SmokeApp:
    """A ThreadingHTTPServer on 127.0.0.1 whose answers a test sets per path; counts requests."""

    def __init__(self, host: str = LOOPBACK, port: int = 0) -> None:
        self.routes: dict[str, Route] = {}
        self.turns: dict[str, list[Route]] = {}
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        app = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                with app._lock:
                    app.requests.append((self.command, self.path))
                    path = self.path.split("?")[0]
                    turns = app.turns.get(path)
                    if turns:
                        route = turns.pop(0) if len(turns) > 1 else turns[0]
                    else:
                        route = app.routes.get(self.path) or app.routes.get(path) or Route(404, b"")
                if route.delay_s:
                    time.sleep(route.delay_s)
                try:
                    self.send_response(route.status)
                    self.send_header("Content-Type", route.content_type)
                    self.send_header("Content-Length", str(len(route.body)))
                    for key, value in route.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_HEAD = do_PUT = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="smoke-app", daemon=True
        )

    def start(self) -> SmokeApp:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def reset(self) -> None:
        """Healthy answers, no queued answers, no recorded requests."""
        with self._lock:
            self.routes.clear()
            self.turns.clear()
            self.requests.clear()
        self.healthy()

    def answer_in_turn(self, path: str, routes: list[Route]) -> None:
        """Answer ``path`` with each route in turn; the last one repeats."""
        self.turns[path] = list(routes)

    def healthy(self) -> None:
        """Answers that product-service's catalog smoke checks accept."""
        self.routes["/health"] = Route(200, b'{"status": "ok"}')
        self.routes["/products"] = Route(200, b'{"items": [{"id": 1}]}')


# --- CodeDeploy on loopback ----------------------------------------------------------------------


@dataclass
class HookExecution:
    deployment_id: str
    lifecycle_event: str
    status: str = "Pending"


@dataclass
class InjectedError:
    error_code: str
    times: int
    http_status: int


class FakeCodeDeploy:
    """CodeDeploy's JSON 1.1 wire for GetDeployment, GetDeploymentGroup, ListDeploymentTargets,
    GetDeploymentTarget and PutLifecycleEventHookExecutionStatus, with error injection."""

    def __init__(self) -> None:
        self.deployment_groups: dict[tuple[str, str], dict[str, Any]] = {}
        self.deployments: dict[str, dict[str, Any]] = {}
        self.targets: dict[str, list[dict[str, Any]]] = {}
        self.executions: dict[str, HookExecution] = {}
        self.hook_status_reports: list[dict[str, Any]] = []
        self.calls: list[tuple[str, float]] = []  # (operation, monotonic time) of every request
        self._errors: dict[str, list[InjectedError]] = {}
        self._delays: dict[str, float] = {}
        self._release = threading.Event()  # ends every delayed answer at once (reset, exit)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                target = self.headers.get("X-Amz-Target", "")
                operation = target.rsplit(".", 1)[-1]
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                delay = fake._delays.get(operation, 0.0)
                if delay and fake._release.wait(delay):
                    self.close_connection = True  # released: hang up without an answer, as a dead API
                    return
                status, payload = fake.handle(operation, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{LOOPBACK}:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-codedeploy", daemon=True
        )

    def __enter__(self) -> str:
        self._thread.start()
        return self.url

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def delay(self, operation: str, seconds: float) -> None:
        """Answer ``operation`` only after ``seconds`` (the request is recorded when answered);
        a delay longer than the test never answers: the connection stays open until reset."""
        self._delays[operation] = seconds

    def reset(self) -> None:
        """Forget recorded calls and reports and pending injected errors (deployments stay)."""
        self._release.set()
        self._release = threading.Event()
        self._delays.clear()
        with self._lock:
            self._errors.clear()
            self.calls.clear()
            self.hook_status_reports.clear()

    def inject_errors(self, operation: str, error_code: str, times: int, http_status: int = 400) -> None:
        """Make the next ``times`` calls of ``operation`` fail with ``error_code``."""
        with self._lock:
            self._errors.setdefault(operation, []).append(InjectedError(error_code, times, http_status))

    def add_deployment(
        self,
        application: str,
        group_info: dict[str, Any],
        green: dict[str, Any] | None,
        description: str = "",
    ) -> str:
        deployment_id = "d-" + uuid.uuid4().hex[:9].upper()
        group = group_info["deploymentGroupName"]
        self.deployment_groups[(application, group)] = {"applicationName": application, **group_info}
        self.deployments[deployment_id] = {
            "deploymentId": deployment_id,
            "applicationName": application,
            "deploymentGroupName": group,
            "status": "InProgress",
            "description": description,
            "computePlatform": "ECS",
        }
        task_sets = [green] if green else []
        self.targets[deployment_id] = [
            {
                "deploymentTargetType": "ECSTarget",
                "ecsTarget": {
                    "deploymentId": deployment_id,
                    "targetId": f"doa-market-cluster:{group}",
                    "status": "InProgress",
                    "taskSetsInfo": task_sets,
                },
            }
        ]
        return deployment_id

    def start_hook(self, deployment_id: str, lifecycle_event: str) -> str:
        execution_id = str(uuid.uuid4())
        self.executions[execution_id] = HookExecution(deployment_id, lifecycle_event)
        return execution_id

    def reports_for(self, execution_id: str) -> list[dict[str, Any]]:
        return [r for r in self.hook_status_reports if r["lifecycleEventHookExecutionId"] == execution_id]

    def handle(self, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.calls.append((operation, time.monotonic()))
            queue = self._errors.get(operation) or []
            if queue:
                injected = queue[0]
                injected.times -= 1
                if injected.times <= 0:
                    queue.pop(0)
                return injected.http_status, {"__type": injected.error_code, "message": "injected"}
            method: Callable[[dict[str, Any]], dict[str, Any]] | None = getattr(
                self, f"_op_{operation}", None
            )
            if method is None:
                return 400, {"__type": "UnknownOperationException", "message": operation}
            try:
                return 200, method(body)
            except _AwsFault as fault:
                return 400, {"__type": fault.code, "message": fault.message}

    def _deployment(self, body: dict[str, Any]) -> dict[str, Any]:
        deployment = self.deployments.get(body.get("deploymentId", ""))
        if deployment is None:
            raise _AwsFault(
                "DeploymentDoesNotExistException", f"deployment {body.get('deploymentId')} not found"
            )
        return deployment

    def _op_GetDeployment(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"deploymentInfo": self._deployment(body)}

    def _op_GetDeploymentGroup(self, body: dict[str, Any]) -> dict[str, Any]:
        key = (body["applicationName"], body["deploymentGroupName"])
        if key not in self.deployment_groups:
            raise _AwsFault("DeploymentGroupDoesNotExistException", f"{key} not found")
        return {"deploymentGroupInfo": self.deployment_groups[key]}

    def _op_ListDeploymentTargets(self, body: dict[str, Any]) -> dict[str, Any]:
        self._deployment(body)
        return {"targetIds": [t["ecsTarget"]["targetId"] for t in self.targets[body["deploymentId"]]]}

    def _op_GetDeploymentTarget(self, body: dict[str, Any]) -> dict[str, Any]:
        self._deployment(body)
        for target in self.targets[body["deploymentId"]]:
            if target["ecsTarget"]["targetId"] == body["targetId"]:
                return {"deploymentTarget": target}
        raise _AwsFault("DeploymentTargetDoesNotExistException", body["targetId"])

    def _op_PutLifecycleEventHookExecutionStatus(self, body: dict[str, Any]) -> dict[str, Any]:
        execution_id = body.get("lifecycleEventHookExecutionId", "")
        execution = self.executions.get(execution_id)
        if "deploymentId" in body:  # optional in the API: the execution id alone names the hook
            self._deployment(body)
        if execution is None or execution.deployment_id != body.get("deploymentId", execution.deployment_id):
            raise _AwsFault("InvalidLifecycleEventHookExecutionIdException", execution_id)
        if execution.status != "Pending":
            raise _AwsFault(
                "LifecycleEventAlreadyCompletedException", f"{execution_id} is {execution.status}"
            )
        execution.status = body["status"]
        self.hook_status_reports.append(
            {
                "deploymentId": execution.deployment_id,
                "lifecycleEventHookExecutionId": execution_id,
                "lifecycleEvent": execution.lifecycle_event,
                "status": body["status"],
                "sentDeploymentId": body.get("deploymentId"),  # None: the request named only the execution
                "at": time.monotonic(),
            }
        )
        return {"lifecycleEventHookExecutionId": execution_id}


class _AwsFault(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class SilentEndpoint:
    """A TCP port on loopback that accepts connections (the kernel's backlog) and never answers:
    an AWS endpoint that hangs. Closing it resets whatever is still waiting."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind((LOOPBACK, 0))
        self._socket.listen(64)
        self.url = f"http://{LOOPBACK}:{self._socket.getsockname()[1]}"

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *exc: object) -> None:
        self._socket.close()


# --- moto: listeners, target groups, alarms for one service -------------------------------------


@dataclass
class ServiceWorld:
    """What ``provision_service`` made in moto for one service."""

    service: str
    production_listener_arn: str
    test_listener_arn: str
    target_groups: dict[str, str]  # name -> ARN
    alarms: list[str]
    elbv2: Any
    cloudwatch: Any
    ec2: Any

    def register_healthy(self, target_group: str, count: int) -> None:
        targets = [{"Id": f"10.0.1.{10 + i}", "Port": 8080} for i in range(count)]
        self.elbv2.register_targets(TargetGroupArn=self.target_groups[target_group], Targets=targets)

    def register_stopped_instance(self, target_group: str) -> str:
        """An instance target in 'unused' state (moto reports a stopped instance that way)."""
        instance = self.ec2.run_instances(ImageId=MOTO_AMI, MinCount=1, MaxCount=1)["Instances"][0][
            "InstanceId"
        ]
        self.elbv2.register_targets(
            TargetGroupArn=self.target_groups[target_group], Targets=[{"Id": instance}]
        )
        self.ec2.stop_instances(InstanceIds=[instance])
        return str(instance)

    def reset(self, green_target_group: str, healthy_targets: int) -> None:
        """Back to the starting state: every alarm OK, only healthy targets in the green group."""
        for name in self.alarms:
            self.set_alarm(name, "OK")
        arn = self.target_groups[green_target_group]
        registered = [
            d["Target"]
            for d in self.elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        ]
        if registered:
            self.elbv2.deregister_targets(TargetGroupArn=arn, Targets=registered)
        self.register_healthy(green_target_group, healthy_targets)

    def set_alarm(self, name: str, state: str) -> None:
        self.cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")

    def group_info(self, group: str) -> dict[str, Any]:
        """A deploymentGroupInfo with this world's listeners and target group pair."""
        return {
            "deploymentGroupName": group,
            "computePlatform": "ECS",
            "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            "loadBalancerInfo": {
                "targetGroupPairInfoList": [
                    {
                        "targetGroups": [{"name": name} for name in self.target_groups],
                        "prodTrafficRoute": {"listenerArns": [self.production_listener_arn]},
                        "testTrafficRoute": {"listenerArns": [self.test_listener_arn]},
                    }
                ]
            },
        }


def aws_client(name: str, endpoint: str) -> Any:
    return boto3.client(
        name,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def provision_service(
    moto_url: str, service: str, alarms: list[str], production_port: int, test_port: int
) -> ServiceWorld:
    """An ALB with production and test listeners on the given ports, a blue/green target group pair
    (the production listener forwards to blue) and the service's alarms, all OK."""
    ec2 = aws_client("ec2", moto_url)
    elbv2 = aws_client("elbv2", moto_url)
    cloudwatch = aws_client("cloudwatch", moto_url)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")[
            "Subnet"
        ]["SubnetId"]
        for i, zone in ((1, "a"), (2, "b"))
    ]
    alb = elbv2.create_load_balancer(Name="doa-market-dev-alb", Subnets=subnets)["LoadBalancers"][0]
    groups = {}
    for color in ("blue", "green"):
        name = f"{service}-{color}"
        groups[name] = elbv2.create_target_group(
            Name=name, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip", HealthCheckPath="/health"
        )["TargetGroups"][0]["TargetGroupArn"]
    blue_arn = groups[f"{service}-blue"]
    green_arn = groups[f"{service}-green"]

    def listener(port: int, target_arn: str) -> str:
        return str(
            elbv2.create_listener(
                LoadBalancerArn=alb["LoadBalancerArn"],
                Protocol="HTTP",
                Port=port,
                DefaultActions=[{"Type": "forward", "TargetGroupArn": target_arn}],
            )["Listeners"][0]["ListenerArn"]
        )

    production = listener(production_port, blue_arn)
    test = listener(test_port, green_arn)
    for name in alarms:
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            MetricName="HTTPCode_Target_5XX_Count",
            Namespace="AWS/ApplicationELB",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
        )
    return ServiceWorld(service, production, test, groups, alarms, elbv2, cloudwatch, ec2)


def green_task_set(target_group: str, desired: int) -> dict[str, Any]:
    """An ECSTaskSet as GetDeploymentTarget shows the replacement."""
    return {
        "identifer": "ecs-svc/1234567890",
        "desiredCount": desired,
        "pendingCount": 0,
        "runningCount": desired,
        "status": "ACTIVE",
        "trafficWeight": 0.0,
        "targetGroup": {"name": target_group},
        "taskSetLabel": "Green",
    }


def reset_moto(moto_url: str) -> None:
    import urllib.request

    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


@contextmanager
def smoke_apps() -> Iterator[tuple[SmokeApp, SmokeApp]]:
    """Two apps standing in for what the production and test listeners route to."""
    production, test = SmokeApp().start(), SmokeApp().start()
    try:
        yield production, test
    finally:
        production.stop()
        test.stop()

"""The hook handlers inside real ECS blue/green deployments run by the CodeDeploy emulator over moto.

The emulator invokes every lifecycle hook of the AppSpec; the invoker here calls the real handlers
(as the sandbox's Lambda runner does) with a Lambda-like context. A scenario changes one thing for
the lifecycle event under test (an app answering 500, an alarm, a stopped green target, a raising
check, a short deadline, throttled reporting, a duplicate invocation) and asserts what the emulator
recorded (``hook_status_reports``) and how the deployment ended.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from hooks import handlers
from tests.support.emulator import (
    EcsEnvironment,
    EcsServiceSpec,
    client,
    deploy_ecs,
    provision_ecs_service,
    put_5xx_alarms,
)
from tests.support.hooks import FakeLambdaContext, Route, SmokeApp, reset_moto, smoke_apps

pytestmark = pytest.mark.integration

SERVICE = "product-service"
APPLICATION = f"app-{SERVICE}"  # what provision_ecs_service names the application
ALARMS = [f"{SERVICE}-{kind}" for kind in ("5xx-errors", "high-latency", "unhealthy-hosts", "high-cpu")]
EVENTS = ["BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"]
HANDLER_OF = {
    "BeforeInstall": handlers.before_install,
    "AfterInstall": handlers.after_install,
    "AfterAllowTestTraffic": handlers.after_allow_test_traffic,
    "BeforeAllowTraffic": handlers.before_allow_traffic,
    "AfterAllowTraffic": handlers.after_allow_traffic,
}
FUNCTIONS = {event: f"bluegreen-dev-{event}" for event in EVENTS}
EMULATOR_TIME_SCALE = 600.0
HOOK_TIME_SCALE = "100"


@dataclass
class Scenario:
    """What happens around the handler of the lifecycle event under test."""

    event: str = ""
    before: Callable[[], None] | None = None  # runs just before the handler under test
    timeout_s: float = 30.0
    invocations: int = 1
    drop: tuple[str, ...] = ()  # event keys the handler under test does not get
    results: list[Any] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    in_time: list[bool] = field(default_factory=list)  # each invocation returned before its deadline


class Invoker:
    """The emulator's hook invoker: every function runs its real handler; one is the scenario's."""

    def __init__(self) -> None:
        self.scenario = Scenario()
        self.lock = threading.Lock()

    def __call__(self, function_name: str, payload: dict[str, str]) -> None:
        event = function_name.rsplit("-", 1)[-1]
        handler = HANDLER_OF[event]
        scenario = self.scenario
        if event != scenario.event:
            handler(dict(payload), FakeLambdaContext(30.0, function_name))
            return
        if scenario.before is not None:
            scenario.before()
        for _ in range(scenario.invocations):
            context = FakeLambdaContext(scenario.timeout_s, function_name)
            try:
                event = {k: v for k, v in payload.items() if k not in scenario.drop}
                scenario.results.append(handler(event, context))
            except Exception as err:
                scenario.errors.append(err)
            scenario.in_time.append(time.monotonic() < context.end)


@dataclass
class EmulatorWorld:
    moto_url: str
    emulator: Any
    env: EcsEnvironment
    invoker: Invoker
    production_app: SmokeApp
    test_app: SmokeApp
    catalog: Path

    def run(self, scenario: Scenario, description: str = "") -> dict[str, Any]:
        """One deployment with every hook; returns GetDeployment's deploymentInfo once it ended."""
        self.invoker.scenario = scenario
        extra = {"description": description} if description else {}
        deployment_id = deploy_ecs(self.emulator.url, self.moto_url, self.env, hooks=FUNCTIONS, **extra)
        assert self.emulator.wait_until_idle(60.0), "the deployment did not end"
        self.emulator.hooks.join(10.0)  # the handlers return after they reported
        info: dict[str, Any] = client("codedeploy", self.emulator.url).get_deployment(
            deploymentId=deployment_id
        )["deploymentInfo"]
        return info

    def reports(self, deployment_id: str, event: str) -> list[Any]:
        return [
            r
            for r in self.emulator.hook_status_reports
            if r.deployment_id == deployment_id and r.lifecycle_event == event
        ]

    def register_in_both(self, make: Callable[[str], None]) -> None:
        # CodeDeploy alternates the pair's roles between deployments: green may be either group.
        for name in self.env.target_groups:
            make(name)

    def elbv2(self) -> Any:
        return client("elbv2", self.moto_url)

    def reset(self) -> None:
        elbv2 = self.elbv2()
        for name, arn in self.env.target_group_arns.items():
            registered = [
                d["Target"]
                for d in elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
            ]
            if registered:
                elbv2.deregister_targets(TargetGroupArn=arn, Targets=registered)
            elbv2.register_targets(
                TargetGroupArn=arn, Targets=[{"Id": f"10.0.1.{10 + i}", "Port": 3003} for i in range(2)]
            )
            del name
        cloudwatch = client("cloudwatch", self.moto_url)
        for alarm in ALARMS:
            cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="reset")
        self.production_app.reset()
        self.test_app.reset()


def _catalog_for(repo_root: Path, directory: Path, freeze: bool = False) -> Path:
    """services.yaml with product-service (dev) on the emulator's application name."""
    doc = yaml.safe_load((repo_root / "services.yaml").read_text())
    product = doc["services"][SERVICE]
    product.setdefault("overrides", {}).setdefault("dev", {})["application"] = APPLICATION
    if freeze:
        doc["environments"]["dev"]["defaults"]["freeze_windows"] = [
            {"name": "release-freeze", "start": "00:00", "end": "00:00"}
        ]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "task-definitions").mkdir(exist_ok=True)
    for file in (repo_root / "task-definitions").iterdir():
        (directory / "task-definitions" / file.name).write_bytes(file.read_bytes())
    path = directory / "services.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture(scope="module")
def _emulator_infra(
    moto_url: str, repo_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmulatorWorld]:
    from hooks import clients, settings
    from sandbox.codedeploy import CodeDeployEmulator

    reset_moto(moto_url)
    invoker = Invoker()
    emulator = CodeDeployEmulator(aws_endpoint=moto_url, time_scale=EMULATOR_TIME_SCALE, hook_invoker=invoker)
    with smoke_apps() as (production_app, test_app), emulator:
        env = provision_ecs_service(
            moto_url, emulator.url, EcsServiceSpec(service=SERVICE, suffix="", desired_count=2)
        )
        elbv2 = client("elbv2", moto_url)
        # The hooks call 127.0.0.1:<listener port>: put the listeners on the apps' ports.
        elbv2.modify_listener(ListenerArn=env.prod_listener_arn, Port=production_app.port)
        assert env.test_listener_arn is not None
        elbv2.modify_listener(ListenerArn=env.test_listener_arn, Port=test_app.port)
        put_5xx_alarms(moto_url, ALARMS)
        catalog = _catalog_for(repo_root, tmp_path_factory.mktemp("catalog"))
        yield EmulatorWorld(moto_url, emulator, env, invoker, production_app, test_app, catalog)
    clients.forget_clients()
    settings.forget_catalog()


@pytest.fixture
def world(_emulator_infra: EmulatorWorld, monkeypatch: pytest.MonkeyPatch) -> EmulatorWorld:
    world = _emulator_infra
    world.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", world.moto_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODEDEPLOY", world.emulator.url)
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(world.catalog))
    monkeypatch.setenv("BLUEGREEN_LISTENER_HOST", "127.0.0.1")
    monkeypatch.setenv("BLUEGREEN_TIME_SCALE", HOOK_TIME_SCALE)
    return world


def the_report(world: EmulatorWorld, info: dict[str, Any], event: str) -> Any:
    """The one accepted report of ``event`` in this deployment (rejected calls are listed too)."""
    reports = world.reports(info["deploymentId"], event)
    accepted = [r for r in reports if r.accepted]
    assert len(accepted) == 1, reports
    return accepted[0]


def assert_failed_at(world: EmulatorWorld, info: dict[str, Any], event: str) -> None:
    assert the_report(world, info, event).status == "Failed"
    assert info["status"] == "Failed", info.get("errorInformation")
    assert info["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
    later = EVENTS[EVENTS.index(event) + 1 :]
    assert all(world.reports(info["deploymentId"], e) == [] for e in later)  # nothing ran after it


# --- success -----------------------------------------------------------------------------------------


def test_every_handler_succeeds_in_a_deployment(world: EmulatorWorld) -> None:
    info = world.run(Scenario())

    assert info["status"] == "Succeeded", info.get("errorInformation")
    for event in EVENTS:
        assert the_report(world, info, event).status == "Succeeded"
    assert len(world.emulator.hook_status_reports) >= 5


# --- failures caught by the checks ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "app"), [("AfterAllowTestTraffic", "test_app"), ("AfterAllowTraffic", "production_app")]
)
def test_smoke_failure_fails_the_deployment(world: EmulatorWorld, event: str, app: str) -> None:
    def break_app() -> None:
        getattr(world, app).routes["/health"] = Route(500, b"")

    info = world.run(Scenario(event=event, before=break_app))

    assert_failed_at(world, info, event)
    assert "status 500" in world.invoker.scenario.results[0]["reason"]


@pytest.mark.parametrize("event", ["BeforeAllowTraffic", "AfterAllowTraffic"])
def test_alarm_in_alarm_fails_the_deployment(world: EmulatorWorld, event: str) -> None:
    def fire() -> None:
        client("cloudwatch", world.moto_url).set_alarm_state(
            AlarmName=ALARMS[0], StateValue="ALARM", StateReason="t"
        )

    info = world.run(Scenario(event=event, before=fire))

    assert_failed_at(world, info, event)
    assert f"in ALARM: {ALARMS[0]}" in world.invoker.scenario.results[0]["reason"]


@pytest.mark.parametrize("event", ["AfterInstall", "BeforeAllowTraffic"])
def test_unhealthy_green_target_fails_the_deployment(world: EmulatorWorld, event: str) -> None:
    from tests.support.hooks import MOTO_AMI

    def stopped_instance_in_green() -> None:
        ec2, elbv2 = client("ec2", world.moto_url), world.elbv2()
        instance = ec2.run_instances(ImageId=MOTO_AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
        for arn in world.env.target_group_arns.values():
            elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": instance}])
        ec2.stop_instances(InstanceIds=[instance])

    info = world.run(Scenario(event=event, before=stopped_instance_in_green))

    assert_failed_at(world, info, event)
    assert "(unused)" in world.invoker.scenario.results[0]["reason"]


def test_freeze_window_fails_before_install_and_an_override_passes(
    world: EmulatorWorld, repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(_catalog_for(repo_root, tmp_path, freeze=True)))

    frozen = world.run(Scenario(event="BeforeInstall"))
    assert the_report(world, frozen, "BeforeInstall").status == "Failed"
    assert frozen["status"] == "Failed"

    overridden = world.run(Scenario(event="BeforeInstall"), description="freeze-override: INC-7 hotfix")
    assert the_report(world, overridden, "BeforeInstall").status == "Succeeded"
    assert overridden["status"] == "Succeeded"


# --- the runtime's guarantees, for every handler -------------------------------------------------

BREAK_POINTS = {
    "BeforeInstall": "decide_freeze",
    "AfterInstall": "target_healths",
    "AfterAllowTestTraffic": "run_smoke",
    "BeforeAllowTraffic": "alarm_states",
    "AfterAllowTraffic": "run_smoke",
}


@pytest.mark.parametrize("event", EVENTS)
def test_handler_exception_reports_failed(
    world: EmulatorWorld, event: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("boom")

    info = world.run(
        Scenario(event=event, before=lambda: monkeypatch.setattr(handlers, BREAK_POINTS[event], boom))
    )

    assert_failed_at(world, info, event)
    assert world.invoker.scenario.results[0]["reason"] == "unexpected RuntimeError: boom"


@pytest.mark.parametrize("event", EVENTS)
def test_deadline_nearly_spent_reports_failed_in_time(world: EmulatorWorld, event: str) -> None:
    info = world.run(Scenario(event=event, timeout_s=0.4))

    assert_failed_at(world, info, event)
    assert "no time left" in world.invoker.scenario.results[0]["reason"]
    assert world.invoker.scenario.in_time == [True]  # the recorded report was made before the deadline


@pytest.mark.parametrize("event", EVENTS)
def test_reporting_throttled_twice_then_accepted(world: EmulatorWorld, event: str) -> None:
    def throttle() -> None:
        world.emulator.inject_errors("PutLifecycleEventHookExecutionStatus", "ThrottlingException", times=2)

    info = world.run(Scenario(event=event, before=throttle))

    assert info["status"] == "Succeeded", info.get("errorInformation")
    assert the_report(world, info, event).status == "Succeeded"
    assert world.invoker.scenario.results[0]["reportAttempts"] == 3


@pytest.mark.parametrize("event", EVENTS)
def test_same_execution_invoked_twice_reports_once(world: EmulatorWorld, event: str) -> None:
    info = world.run(Scenario(event=event, invocations=2))

    assert info["status"] == "Succeeded", info.get("errorInformation")
    assert len(world.reports(info["deploymentId"], event)) == 1  # not even a rejected second call
    first, second = world.invoker.scenario.results
    assert (first["status"], second["status"]) == ("Succeeded", "reported")


# --- bad input ---------------------------------------------------------------------------------------


def test_deployment_that_does_not_exist_is_reported_and_rejected(world: EmulatorWorld) -> None:
    event = {"DeploymentId": "d-DOESNOTEX", "LifecycleEventHookExecutionId": "eyJub3RoaW5nIjoiaGVyZSJ9"}

    result = handlers.after_install(event, FakeLambdaContext(30.0))

    assert (result["status"], result["report"]) == ("Failed", "rejected")
    [report] = [r for r in world.emulator.hook_status_reports if r.deployment_id == "d-DOESNOTEX"]
    assert (report.status, report.accepted, report.error_code) == (
        "Failed",
        False,
        "DeploymentDoesNotExistException",
    )


@pytest.mark.parametrize("event", ["BeforeInstall", "AfterAllowTraffic"])
def test_event_without_deployment_id_is_reported_failed_by_execution_id(
    world: EmulatorWorld, event: str
) -> None:
    info = world.run(Scenario(event=event, drop=("DeploymentId",)))

    assert_failed_at(world, info, event)
    assert world.invoker.scenario.results[0]["reason"] == "hook event has no DeploymentId"


@pytest.mark.parametrize("catalog", ["without-the-service", "malformed"])
def test_catalog_problems_fail_the_first_hook(
    world: EmulatorWorld, repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalog: str
) -> None:
    if catalog == "malformed":
        bad = tmp_path / "services.yaml"
        bad.write_text("services: [unclosed")
        monkeypatch.setenv("BLUEGREEN_CATALOG", str(bad))
    else:  # the repository's catalog knows doa-market-dev, not this application
        monkeypatch.setenv("BLUEGREEN_CATALOG", str(repo_root / "services.yaml"))

    info = world.run(Scenario(event="BeforeInstall"))

    assert_failed_at(world, info, "BeforeInstall")

"""CodeDeploy's names: written once for the client (orchestrator/vocabulary.py), once for the emulator
(sandbox/codedeploy/vocabulary.py), both pinned to AWS, and nowhere else.

- Where botocore's service model has the enum, both copies hold exactly its values.
- Lifecycle event names have no enum in the model (``LifecycleEventName`` is a plain string), so the
  two copies are pinned to each other and to the order AWS documents in "AppSpec 'hooks' section"
  https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html
  (ECS run order: Start, BeforeInstall, Install, AfterInstall, AllowTestTraffic, AfterAllowTestTraffic,
  BeforeAllowTraffic, AllowTraffic, AfterAllowTraffic, End; hooks only in the Before*/After* ones.
  Lambda: Start, BeforeAllowTraffic, AllowTraffic, AfterAllowTraffic, End.)
- A scan of every non-test Python module (string literals, by tokenize) finds the event names only in
  those two modules.
"""

from __future__ import annotations

import ast
import io
import tokenize
from enum import StrEnum
from functools import cache
from pathlib import Path

import botocore.session
import pytest

from orchestrator import vocabulary as client
from sandbox.codedeploy import vocabulary as emulator

REPO = Path(__file__).resolve().parents[2]

# AWS's documented order (the page above), written here on purpose: the test's own copy of AWS.
DOCUMENTED_ECS_EVENTS = (
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
)
DOCUMENTED_ECS_HOOKS = (
    "BeforeInstall",
    "AfterInstall",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AfterAllowTraffic",
)
DOCUMENTED_LAMBDA_EVENTS = ("BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic")
DOCUMENTED_LAMBDA_HOOKS = ("BeforeAllowTraffic", "AfterAllowTraffic")

# The only non-test modules allowed to spell an event name.
ALLOWED = {Path("orchestrator/vocabulary.py"), Path("sandbox/codedeploy/vocabulary.py")}
SKIPPED_DIRS = {"tests", "build", "dist", "node_modules", "__pycache__"}


@cache
def model(service: str) -> botocore.model.ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def botocore_enum(service: str, shape: str) -> set[str]:
    return set(model(service).shape_for(shape).enum)


CLIENT_ENUMS = [
    (client.ComputePlatform, "codedeploy", "ComputePlatform"),
    (client.DeploymentStatus, "codedeploy", "DeploymentStatus"),
    (client.LifecycleStatus, "codedeploy", "LifecycleEventStatus"),
    (client.AutoRollbackEvent, "codedeploy", "AutoRollbackEvent"),
    (client.DeploymentReadyAction, "codedeploy", "DeploymentReadyAction"),
    (client.DeploymentWaitType, "codedeploy", "DeploymentWaitType"),
    (client.InstanceAction, "codedeploy", "InstanceAction"),
    (client.TrafficRoutingType, "codedeploy", "TrafficRoutingType"),
    (client.TargetLabel, "codedeploy", "TargetLabel"),
    (client.AlarmState, "cloudwatch", "StateValue"),
    (client.DeploymentControllerType, "ecs", "DeploymentControllerType"),
    (client.NativeStrategy, "ecs", "DeploymentStrategy"),
    (client.ServiceDeploymentStatus, "ecs", "ServiceDeploymentStatus"),
    (client.HookTargetType, "ecs", "DeploymentLifecycleHookTargetType"),
    (client.HookAction, "ecs", "DeploymentLifecycleHookAction"),
    (client.NativeHookStatus, "ecs", "DeploymentLifecycleHookStatus"),
    (client.StopType, "ecs", "StopServiceDeploymentStopType"),
]
EMULATOR_ENUMS = [
    (emulator.DeploymentStatus, "codedeploy", "DeploymentStatus"),
    (emulator.LifecycleEventStatus, "codedeploy", "LifecycleEventStatus"),
    (emulator.TargetStatus, "codedeploy", "TargetStatus"),
    (emulator.AutoRollbackEvent, "codedeploy", "AutoRollbackEvent"),
    (emulator.DeploymentReadyAction, "codedeploy", "DeploymentReadyAction"),
    (emulator.InstanceAction, "codedeploy", "InstanceAction"),
    (emulator.TrafficRoutingType, "codedeploy", "TrafficRoutingType"),
]


@pytest.mark.parametrize(
    ("enum", "service", "shape"),
    [pytest.param(*row, id=f"client-{row[2]}") for row in CLIENT_ENUMS]
    + [pytest.param(*row, id=f"emulator-{row[2]}") for row in EMULATOR_ENUMS],
)
def test_enums_hold_exactly_botocores_values(enum: type[StrEnum], service: str, shape: str) -> None:
    assert {member.value for member in enum} == botocore_enum(service, shape)


@pytest.mark.parametrize(
    ("value", "service", "shape"),
    [
        (emulator.ECS, "codedeploy", "ComputePlatform"),
        (emulator.LAMBDA, "codedeploy", "ComputePlatform"),
        (emulator.ALARM_STATE, "cloudwatch", "StateValue"),
        *((event, "codedeploy", "AutoRollbackEvent") for event in client.ROLLBACK_ON),
    ],
)
def test_single_names_are_botocores(value: str, service: str, shape: str) -> None:
    assert value in botocore_enum(service, shape)


def test_botocore_has_no_enum_for_lifecycle_event_names() -> None:
    """Why the event names are pinned to AWS's page instead (if botocore grows one, pin to it)."""
    assert not model("codedeploy").shape_for("LifecycleEventName").enum


def test_ecs_lifecycle_events_are_aws_documented_order_in_both_copies() -> None:
    assert client.ECS_LIFECYCLE_EVENTS == DOCUMENTED_ECS_EVENTS
    # The emulator goes on with the original task set's termination (Before/After BlockTraffic).
    assert emulator.ECS_EVENTS[: len(DOCUMENTED_ECS_EVENTS)] == DOCUMENTED_ECS_EVENTS
    assert client.ECS_HOOK_EVENTS == DOCUMENTED_ECS_HOOKS
    assert set(DOCUMENTED_ECS_HOOKS) == emulator.ECS_HOOK_EVENTS


def test_lambda_lifecycle_events_are_aws_documented_order_in_both_copies() -> None:
    assert client.LAMBDA_LIFECYCLE_EVENTS == emulator.LAMBDA_EVENTS == DOCUMENTED_LAMBDA_EVENTS
    assert client.LAMBDA_HOOK_EVENTS == DOCUMENTED_LAMBDA_HOOKS
    assert set(DOCUMENTED_LAMBDA_HOOKS) == emulator.LAMBDA_HOOK_EVENTS


def test_platform_lookups_give_the_platforms_events() -> None:
    assert client.lifecycle_events("ECS") == DOCUMENTED_ECS_EVENTS
    assert client.hook_events(client.ComputePlatform.LAMBDA) == DOCUMENTED_LAMBDA_HOOKS
    assert (
        tuple(e for e in DOCUMENTED_ECS_EVENTS if e not in DOCUMENTED_ECS_HOOKS) == client.ECS_TRAFFIC_EVENTS
    )


@pytest.mark.parametrize(
    ("status", "terminal"),
    [(status, status.value in {"Succeeded", "Failed", "Stopped"}) for status in client.DeploymentStatus],
)
def test_deployment_status_knows_whether_it_is_terminal(
    status: client.DeploymentStatus, terminal: bool
) -> None:
    assert status.is_terminal is terminal
    assert status.is_active is not terminal
    assert emulator.DeploymentStatus(status.value).is_terminal is terminal
    assert status.succeeded is (status.value == "Succeeded")


def test_active_statuses_in_order() -> None:
    assert [s.value for s in client.DeploymentStatus.active()] == [
        "Created",
        "Queued",
        "InProgress",
        "Baking",
        "Ready",
    ]


@pytest.mark.parametrize(
    ("status", "done", "terminal"),
    [
        ("Pending", False, False),
        ("InProgress", False, False),
        ("Succeeded", True, True),
        ("Failed", False, True),
        ("Skipped", True, True),
        ("Unknown", False, False),
    ],
)
def test_lifecycle_status_behaviour(status: str, done: bool, terminal: bool) -> None:
    assert client.LifecycleStatus(status).is_done is done
    assert client.LifecycleStatus(status).is_terminal is terminal
    assert emulator.LifecycleEventStatus(status).is_terminal is terminal


def test_strategy_kinds_map_to_every_traffic_routing_type() -> None:
    assert {kind.traffic_routing_type for kind in client.StrategyKind} == set(client.TrafficRoutingType)


@pytest.mark.parametrize(
    ("kind", "routing"),
    [("all-at-once", "AllAtOnce"), ("canary", "TimeBasedCanary"), ("linear", "TimeBasedLinear")],
)
def test_each_strategy_kind_is_its_traffic_routing_type(kind: str, routing: str) -> None:
    assert client.StrategyKind(kind).traffic_routing_type is client.TrafficRoutingType(routing)


@pytest.mark.parametrize(
    ("state", "is_alarm"), [("OK", False), ("ALARM", True), ("INSUFFICIENT_DATA", False)]
)
def test_only_alarm_is_an_alarm(state: str, is_alarm: bool) -> None:
    assert client.AlarmState(state).is_alarm is is_alarm


def _event_names() -> frozenset[str]:
    return (
        frozenset(emulator.ECS_EVENTS)
        | frozenset(emulator.LAMBDA_EVENTS)
        | frozenset(client.ECS_LIFECYCLE_EVENTS)
    )


def _python_modules() -> list[Path]:
    found = []
    for path in REPO.rglob("*.py"):
        relative = path.relative_to(REPO)
        parts = relative.parts[:-1]
        if any(part.startswith(".") or part in SKIPPED_DIRS or part.endswith(".egg-info") for part in parts):
            continue
        found.append(relative)
    return sorted(found)


def literal_event_names(source: str) -> set[str]:
    """Event names written as a whole string literal (f-strings and docstring prose do not count)."""
    names = _event_names()
    found = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.STRING:
            continue
        try:
            value = ast.literal_eval(token.string)
        except (ValueError, SyntaxError):
            continue  # an f-string
        if isinstance(value, str) and value in names:
            found.add(value)
    return found


def test_the_scan_sees_a_literal_and_ignores_prose() -> None:
    assert literal_event_names('X = {"AfterAllowTestTraffic": 1}') == {"AfterAllowTestTraffic"}
    assert literal_event_names("hook('Install')") == {"Install"}
    assert literal_event_names('"""Runs in AfterAllowTestTraffic."""\nf"{x} AllowTraffic"') == set()


def test_event_names_are_written_only_in_the_two_vocabularies() -> None:
    modules = _python_modules()
    assert (
        Path("orchestrator/cli.py") in modules and Path("hooks/handlers.py") in modules
    )  # the scan sees the tree
    writers = {
        str(path): sorted(names)
        for path in modules
        if path not in ALLOWED and (names := literal_event_names((REPO / path).read_text(encoding="utf-8")))
    }
    assert writers == {}, (
        "import lifecycle event names from orchestrator.vocabulary (emulator: its own vocabulary)"
    )
    for path in ALLOWED:
        assert literal_event_names((REPO / path).read_text(encoding="utf-8"))


def test_native_stages_are_ecs_enums_in_their_order() -> None:
    assert (
        list(client.NATIVE_LIFECYCLE_STAGES) == model("ecs").shape_for("ServiceDeploymentLifecycleStage").enum
    )
    assert list(client.NATIVE_HOOK_STAGES) == model("ecs").shape_for("DeploymentLifecycleHookStage").enum


def test_every_hook_event_has_one_native_stage() -> None:
    assert set(client.NATIVE_STAGE_FOR_EVENT) == set(client.ECS_HOOK_EVENTS)
    assert set(client.NATIVE_STAGE_FOR_EVENT.values()) <= set(client.NATIVE_HOOK_STAGES)
    assert len(client.EVENT_FOR_NATIVE_STAGE) == len(client.NATIVE_STAGE_FOR_EVENT)


@pytest.mark.parametrize("status", list(client.ServiceDeploymentStatus))
def test_service_deployment_status_ends_exactly_at_the_final_statuses(
    status: client.ServiceDeploymentStatus,
) -> None:
    final = {"SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"}
    assert status.is_terminal is (status.value in final)
    assert (status in client.ServiceDeploymentStatus.active()) is (status.value not in final)

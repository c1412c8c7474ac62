"""The ECS native emulator's own copy of ECS's names, pinned to botocore's ECS model (and so to the
client's copy in orchestrator/vocabulary.py, which tests/unit/test_vocabulary.py pins to the same)."""

from __future__ import annotations

from enum import StrEnum

import botocore.session
import pytest

from orchestrator import vocabulary as client
from sandbox.ecs_native import vocabulary as emulator

MODEL = botocore.session.get_session().get_service_model("ecs")


@pytest.mark.parametrize(
    ("enum", "shape"),
    [
        (emulator.ControllerType, "DeploymentControllerType"),
        (emulator.Strategy, "DeploymentStrategy"),
        (emulator.Status, "ServiceDeploymentStatus"),
        (emulator.HookTargetType, "DeploymentLifecycleHookTargetType"),
        (emulator.HookAction, "DeploymentLifecycleHookAction"),
        (emulator.HookStatus, "DeploymentLifecycleHookStatus"),
        (emulator.StopType, "StopServiceDeploymentStopType"),
        (emulator.MonitorStatus, "ServiceDeploymentRollbackMonitorsStatus"),
    ],
)
def test_enums_are_botocores(enum: type[StrEnum], shape: str) -> None:
    assert [member.value for member in enum] == MODEL.shape_for(shape).enum


def test_stages_are_botocores_in_order_and_the_clients() -> None:
    assert list(emulator.LIFECYCLE_STAGES) == MODEL.shape_for("ServiceDeploymentLifecycleStage").enum
    assert list(emulator.HOOK_STAGES) == MODEL.shape_for("DeploymentLifecycleHookStage").enum
    assert emulator.LIFECYCLE_STAGES == client.NATIVE_LIFECYCLE_STAGES
    assert emulator.HOOK_STAGES == client.NATIVE_HOOK_STAGES


def test_terminal_statuses_match_the_clients() -> None:
    for status in emulator.Status:
        assert status.is_terminal == client.ServiceDeploymentStatus(status.value).is_terminal


def test_hook_return_values_match_the_clients() -> None:
    assert [s.value for s in emulator.HookReturn] == [s.value for s in client.HookReturnStatus]

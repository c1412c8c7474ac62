"""botocore's ECS model: every request the emulator serves is checked against its input shape and
every answer it builds against its output shape (strict), with the CodeDeploy emulator's walker."""

from __future__ import annotations

import functools
from typing import Any

from sandbox.codedeploy.shapes import check, known_members


@functools.cache
def service_model() -> Any:
    """botocore's ECS model (loaded once)."""
    import botocore.session

    return botocore.session.get_session().get_service_model("ecs")


def input_problems(operation: str, params: dict[str, Any]) -> list[str]:
    shape = service_model().operation_model(operation).input_shape
    return check(params, shape) if shape is not None else []


def known_input(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` without members the input shape does not define (AWS's deserializers drop them)."""
    shape = service_model().operation_model(operation).input_shape
    return dict(known_members(params, shape)) if shape is not None else params


def output_problems(operation: str, body: dict[str, Any]) -> list[str]:
    shape = service_model().operation_model(operation).output_shape
    return check(body, shape, strict=True) if shape is not None else []


def member_problems(shape_name: str, member: str, value: Any) -> list[str]:
    """Problems of one member of a structure shape (strict), e.g. Service.deploymentConfiguration."""
    shape = service_model().shape_for(shape_name).members[member]
    return check(value, shape, f"{shape_name}.{member}", strict=True)

"""``python -m sandbox.moto_patched``: moto's server with one fix the sandbox needs.

moto 5.2.5 sums the containers' ``memory`` when it places tasks (CreateTaskSet with a scale, even
0 %, and RunTask) and crashes (TypeError, HTTP 500) when a container sets none: the usual Fargate
shape, with memory only at the task level, as the catalog's task-definitions/*.json have it. Here a
container without memory counts the task's memory instead. Nothing else changes.
"""

from __future__ import annotations

from typing import Any


def _patch() -> None:
    from moto.ecs.models import EC2ContainerServiceBackend

    original = EC2ContainerServiceBackend._calculate_task_resource_requirements

    def requirements(task_definition: Any) -> dict[str, Any]:
        definitions = task_definition.container_definitions
        task_memory = int(getattr(task_definition, "memory", None) or 0)
        fixed = []
        for container in definitions:
            keys = ("memory", "memoryReservation", "Memory", "MemoryReservation")
            if not any(container.get(key) is not None for key in keys):
                container = {**container, "memory": task_memory // max(1, len(definitions))}
            fixed.append(container)
        task_definition.container_definitions = fixed
        try:
            return dict(original(task_definition))
        finally:
            task_definition.container_definitions = definitions

    EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(requirements)  # type: ignore[method-assign]


if __name__ == "__main__":
    _patch()
    from moto.server import main

    main()

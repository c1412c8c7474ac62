"""Amazon ECS's native blue/green, linear and canary deployments for the sandbox, in front of moto.

    from sandbox.ecs_native import NativeEcs
    ecs = NativeEcs(moto_url=..., clock=clock, invoke=runner.invoke_sync, elbv2=..., cloudwatch=...)
    ecs.start()  # ecs.url for AWS_ENDPOINT_URL_ECS; ecs.task_sets(cluster, service) for the fleet

See ARCHITECTURE.md, section "ECS native emulator".
"""

from sandbox.ecs_native.emulator import NativeEcs
from sandbox.ecs_native.machine import HookInvoke

__all__ = ["HookInvoke", "NativeEcs"]

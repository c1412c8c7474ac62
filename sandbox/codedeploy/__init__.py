"""A CodeDeploy emulator for the ECS blue/green and Lambda compute platforms, on top of moto.

    from sandbox.codedeploy import CodeDeployEmulator, HookInvoker
    with CodeDeployEmulator(aws_endpoint=moto_url, time_scale=60.0) as url:
        ...  # boto3.client("codedeploy", endpoint_url=url)

See ARCHITECTURE.md, section "CodeDeploy emulator".
"""

from sandbox.codedeploy.emulator import CodeDeployEmulator
from sandbox.codedeploy.hooks import HookInvoker
from sandbox.codedeploy.model import HookStatusReport

__all__ = ["CodeDeployEmulator", "HookInvoker", "HookStatusReport"]

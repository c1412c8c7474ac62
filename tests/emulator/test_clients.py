"""Real clients nobody here wrote: botocore's deployment_successful waiter and the AWS CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from botocore.exceptions import WaiterError

from sandbox.codedeploy import CodeDeployEmulator
from tests.support.emulator import (
    EcsServiceSpec,
    EmulatorFactory,
    ScriptedHooks,
    client,
    deploy_ecs,
    provision_ecs_service,
)

AWS_CLI = Path(sys.executable).parent / "aws"


def _aws(*args: str, endpoint: str) -> subprocess.CompletedProcess[str]:
    """Run the AWS CLI (v1, from the venv) against the emulator; the fixture's env has fake credentials."""
    command = [str(AWS_CLI), "deploy", *args, "--endpoint-url", endpoint, "--region", "ap-northeast-2"]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=60, env=dict(os.environ), check=False
    )


def _wait_status(url: str, deployment_id: str, statuses: tuple[str, ...], timeout: float = 20.0) -> str:
    codedeploy = client("codedeploy", url)
    deadline = time.monotonic() + timeout
    while True:
        status = str(codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"])
        if status in statuses:
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.02)


@pytest.mark.integration
def test_botocore_waiter_sees_success(emulator: CodeDeployEmulator, moto_url: str) -> None:
    env = provision_ecs_service(moto_url, emulator.url, EcsServiceSpec(termination_wait_minutes=10))
    deployment_id = deploy_ecs(emulator.url, moto_url, env)
    waiter = client("codedeploy", emulator.url).get_waiter("deployment_successful")
    started = time.monotonic()
    waiter.wait(deploymentId=deployment_id, WaiterConfig={"Delay": 1, "MaxAttempts": 20})
    assert time.monotonic() - started < 10


@pytest.mark.integration
def test_botocore_waiter_fails_on_a_failed_deployment(start_emulator: EmulatorFactory, moto_url: str) -> None:
    hooks = ScriptedHooks({"hook-AfterInstall": "fail"})
    emulator = start_emulator(hook_invoker=hooks)
    hooks.url = emulator.url
    env = provision_ecs_service(moto_url, emulator.url, EcsServiceSpec())
    deployment_id = deploy_ecs(emulator.url, moto_url, env, hooks={"AfterInstall": "hook-AfterInstall"})
    waiter = client("codedeploy", emulator.url).get_waiter("deployment_successful")
    with pytest.raises(WaiterError) as caught:
        waiter.wait(deploymentId=deployment_id, WaiterConfig={"Delay": 1, "MaxAttempts": 20})
    assert caught.value.last_response["deploymentInfo"]["status"] == "Failed"


@pytest.mark.integration
def test_aws_cli_get_list_stop_and_wait(emulator: CodeDeployEmulator, moto_url: str) -> None:
    assert AWS_CLI.exists(), "awscli is in the dev extra"
    env = provision_ecs_service(moto_url, emulator.url, EcsServiceSpec(ready_wait_minutes=600))
    first = deploy_ecs(emulator.url, moto_url, env)
    _wait_status(emulator.url, first, ("Ready",))

    got = _aws("get-deployment", "--deployment-id", first, endpoint=emulator.url)
    assert got.returncode == 0, got.stderr
    info = json.loads(got.stdout)["deploymentInfo"]
    assert (info["deploymentId"], info["status"]) == (first, "Ready")
    assert info["deploymentStyle"]["deploymentType"] == "BLUE_GREEN"

    stopped = _aws(
        "stop-deployment", "--deployment-id", first, "--auto-rollback-enabled", endpoint=emulator.url
    )
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["status"] == "Pending"
    assert _wait_status(emulator.url, first, ("Stopped", "Failed", "Succeeded")) == "Stopped"

    listed = _aws(
        "list-deployments",
        "--application-name",
        env.application,
        "--deployment-group-name",
        env.deployment_group,
        "--include-only-statuses",
        "Stopped",
        endpoint=emulator.url,
    )
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["deployments"] == [first]

    missing = _aws("get-deployment", "--deployment-id", "d-ZZZZZZZZZ", endpoint=emulator.url)
    assert missing.returncode != 0 and "DeploymentDoesNotExistException" in missing.stderr

    # wait deployment-successful polls every 15 s: give it one that has already succeeded.
    second = deploy_ecs(emulator.url, moto_url, env)
    _wait_status(emulator.url, second, ("Ready",))
    client("codedeploy", emulator.url).continue_deployment(
        deploymentId=second, deploymentWaitType="READY_WAIT"
    )
    _wait_status(emulator.url, second, ("Succeeded",))
    waited = _aws("wait", "deployment-successful", "--deployment-id", second, endpoint=emulator.url)
    assert waited.returncode == 0, waited.stderr

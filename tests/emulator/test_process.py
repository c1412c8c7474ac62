"""The emulator as a process (``python -m sandbox.codedeploy``) and on a clock shared with the sandbox."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import threading
import time

import pytest

from sandbox.clock import VirtualClock
from sandbox.codedeploy import CodeDeployEmulator
from sandbox.moto_server import free_port
from tests.support.emulator import EcsServiceSpec, client, deploy_ecs, provision_ecs_service


@pytest.mark.integration
def test_runs_as_a_module(moto_url: str) -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox.codedeploy",
            "--port",
            str(port),
            "--aws-endpoint",
            moto_url,
            "--time-scale",
            "100",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line == f"AWS_ENDPOINT_URL_CODEDEPLOY=http://127.0.0.1:{port}"
        configs = client("codedeploy", line.split("=", 1)[1]).list_deployment_configs()[
            "deploymentConfigsList"
        ]
        assert "CodeDeployDefault.ECSCanary10Percent5Minutes" in configs
    finally:
        process.terminate()
        assert process.wait(timeout=15) == 0


@pytest.mark.integration
def test_uses_the_clock_it_is_given(moto_url: str) -> None:
    clock = VirtualClock(time_scale=600.0)
    with CodeDeployEmulator(aws_endpoint=moto_url, clock=clock, time_scale=1.0) as url:
        env = provision_ecs_service(moto_url, url, EcsServiceSpec(termination_wait_minutes=30))
        before = clock.now()
        deployment_id = deploy_ecs(url, moto_url, env)
        codedeploy = client("codedeploy", url)
        waiter = codedeploy.get_waiter("deployment_successful")
        waiter.wait(deploymentId=deployment_id, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    # 30 virtual minutes of termination wait passed on the shared clock (3 s real at 600x; on its own
    # time scale of 1 it would take 30 real minutes). The slack allows 3 s of real delay on a busy machine.
    duration = info["completeTime"].timestamp() - info["createTime"].timestamp()
    assert 1800 <= duration < 1800 + 1800, duration
    assert before - 1 <= info["createTime"].timestamp() <= clock.now()


@pytest.mark.integration
def test_stop_leaves_no_thread_and_frees_the_port(moto_url: str) -> None:
    before = set(threading.enumerate())
    emulator = CodeDeployEmulator(aws_endpoint=moto_url)
    url = emulator.start()
    port = int(url.rsplit(":", 1)[1])
    # A keep-alive client that never hangs up (as a pooled SDK connection), and one mid-request.
    idle = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    idle.request("POST", "/", body=b"{}", headers={"X-Amz-Target": "CodeDeploy_20141006.ListApplications"})
    assert idle.getresponse().read()
    partial = socket.create_connection(("127.0.0.1", port), timeout=10)
    partial.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    client("codedeploy", url).list_applications()
    time.sleep(0.1)
    started = time.monotonic()
    emulator.stop()
    stop_seconds = time.monotonic() - started
    try:
        left = [t.name for t in set(threading.enumerate()) - before if t.is_alive()]
        assert left == [], left
        assert stop_seconds < 3
        # The port serves again at once (a restarted emulator on the same port).
        with CodeDeployEmulator(aws_endpoint=moto_url, port=port) as again:
            assert again == url
            assert client("codedeploy", again).list_applications()["applications"] == []
    finally:
        idle.close()
        partial.close()

"""The sandbox as users reach it: `bluegreen deploy ... --sandbox` in a subprocess (exit codes CI
relies on) and `serve` with a real client nobody here wrote (the AWS CLI) pointed at its exports."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sandbox.serve import serve
from sandbox.world import DEFAULT_TIME_SCALE
from tests.support.sandbox import listening_ports, wait_for

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent


def bluegreen_deploy(strategy: str, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "bluegreen"), "deploy", "product-service", "--strategy", strategy, "--sandbox"]
    command += ["--time-scale", f"{DEFAULT_TIME_SCALE:g}", *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=100, env=dict(os.environ))


# The healthy release is dev's default strategy: exit 0 is what this process proves, and a healthy
# canary10 (5 virtual minutes more: 16 s instead of ~6 s) is test_full_loop's, with its users and
# metrics checked. The faulty one stays a canary: the 5xx alarm must fire while it runs (an
# all-at-once bake of 30 virtual s can end before a 60 s alarm period does).
def test_deploy_sandbox_succeeds() -> None:
    done = bluegreen_deploy("all-at-once")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "succeeded" in done.stdout


def test_deploy_sandbox_with_fault_is_rolled_back() -> None:
    done = bluegreen_deploy("canary10", "--inject-fault", "error_rate=0.5")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "rolled back" in (done.stdout + done.stderr)


def test_deploy_sandbox_bad_fault_is_bad_input() -> None:
    done = bluegreen_deploy("canary10", "--inject-fault", "error_rate=2")
    assert done.returncode == 2
    assert "error_rate" in done.stderr


def test_serve_exports_work_with_the_aws_cli() -> None:
    before = listening_ports()
    stop, out = threading.Event(), io.StringIO()
    thread = threading.Thread(
        target=serve,
        kwargs={"environment": "dev", "services": ["product-service"], "stop": stop, "out": out},
    )
    thread.start()
    try:
        wait_for(lambda: "sandbox up" in out.getvalue() or not thread.is_alive(), timeout=60)
        exports = dict(
            line[len("export ") :].split("=", 1)
            for line in out.getvalue().splitlines()
            if line.startswith("export ")
        )
        assert {"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CODEDEPLOY", "AWS_DEFAULT_REGION"} <= set(exports)
        env = {**os.environ, **exports}
        groups = subprocess.run(
            [str(BIN / "aws"), "deploy", "list-deployment-groups", "--application-name", "doa-market-dev"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert groups.returncode == 0, groups.stderr
        assert "product-service" in groups.stdout
        alarms = subprocess.run(
            [str(BIN / "aws"), "cloudwatch", "describe-alarms", "--alarm-name-prefix", "product-service-"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert alarms.returncode == 0 and "product-service-5xx-errors" in alarms.stdout
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert "sandbox stopped" in out.getvalue()
    assert listening_ports() - before == set()


def test_serve_stops_quickly_on_ctrl_c_and_leaves_nothing() -> None:
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) ends `sandbox serve`: exit 0,
    quickly, with no child process alive and none of the ports it printed still listening."""
    command = [str(BIN / "bluegreen"), "sandbox", "serve", "--env", "dev"]  # every service: 16
    serving = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert serving.stdout is not None
        printed = []
        for line in serving.stdout:
            printed.append(line)
            if "sandbox up" in line:
                break
        ports = {int(p) for line in printed for p in re.findall(r"127\.0\.0\.1:(\d+)", line)}
        # moto, the CodeDeploy emulator, the ECS endpoint (native ECS emulator), two listeners per service
        assert len(ports) == 3 + 2 * 16, (printed, serving.poll(), serving.stderr and serving.stderr.read())
        sockets = _listening_sockets(ports)
        assert set(sockets.values()) == ports  # every printed port is a listening socket
        children = _descendants(serving.pid)
        assert children  # moto
        started = time.monotonic()
        os.killpg(serving.pid, signal.SIGINT)
        code = serving.wait(timeout=30)
        took = time.monotonic() - started
    finally:
        if serving.poll() is None:  # the test failed before the serve ended: end its whole session
            os.killpg(serving.pid, signal.SIGKILL)
            serving.wait()
    assert code == 0, serving.stderr.read() if serving.stderr else ""
    # 16 services took 5-9 s with every router and task stopped one after another; now 1-2 s on an
    # idle machine (test_parts.test_stop_servers_stops_them_together pins stopping them together).
    # Here only a hang is caught: on a loaded machine the same stop took 6 s.
    assert took < 20.0
    left = {pid: _command_line(pid) for pid in children if _alive(pid)}
    assert left == {}
    assert _session(serving.pid) == {}  # nothing it started, even reparented, is alive
    # By socket (inode), not by port: another test may bind a freed port again at once.
    assert set(_listening_sockets(ports)) & set(sockets) == set()


def _descendants(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found += [int(entry.name), *_descendants(int(entry.name))]
    return found


def _alive(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _session(session_id: int) -> dict[int, str]:
    """Live processes of a session (pid -> command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == session_id and fields[0] != "Z":
                found[int(entry.name)] = _command_line(int(entry.name))
    return found


def _listening_sockets(ports: set[int]) -> dict[str, int]:
    """Socket inode -> port, for the LISTEN sockets on these ports (any process)."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            port = int(fields[1].rsplit(":", 1)[1], 16)
            if fields[3] == "0A" and port in ports:
                found[fields[9]] = port
    return found

"""The sandbox's moto child does not outlive the process that started it, even one SIGKILLed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

# A parent that starts the sandbox's moto (as sandbox.world does) and prints its pid, then waits.
PARENT = """
import sys, time
from sandbox.moto_server import MotoServer
server = MotoServer(isolated=True, module="sandbox.moto_patched")
server.start()
print(server.pid, flush=True)
time.sleep(600)
"""

# The same with a pooled child parked idle (``sandbox.moto_server.POOL``) once its server stopped.
POOLED_PARENT = """
import sys, time
from sandbox.moto_server import POOL, MotoServer
server = MotoServer(isolated=True, module="sandbox.moto_patched", reuse=True)
server.start()
pid = server.pid
server.stop()
assert POOL.idle_pids() == {pid}, POOL.idle_pids()
print(pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose (it holds no port); reaped by init shortly.
    state = Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}/stat").exists() else "X"
    return state != "Z"


@pytest.mark.parametrize("script", [PARENT, POOLED_PARENT], ids=["running", "pooled"])
def test_moto_exits_when_its_parent_is_killed(repo_root: Path, script: str) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=repo_root,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert parent.stdout is not None
        moto_pid = int(parent.stdout.readline())
        assert _alive(moto_pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(moto_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(moto_pid), "moto outlived the process that started it"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(parent.pid, signal.SIGKILL)  # the session: moto too, if the test failed

"""Ctrl-C during `deploy --sandbox`: the sandbox dies with the process, so the message must not
promise a deployment that keeps running or a re-attach that cannot work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import default_sigint

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    ("signum", "after"),
    [
        # right after the id is printed, before the watch has started, and during the watch
        pytest.param(signal.SIGINT, " created; expected ", id="ctrl-c-at-created"),
        pytest.param(signal.SIGTERM, "AfterInstall", id="sigterm-while-watching"),
    ],
)
def test_interrupting_deploy_sandbox_says_the_sandbox_is_gone(signum: int, after: str) -> None:
    # canary:10:120 holds 10 % for 120 virtual minutes: minutes of real time at scale 40.
    command = [str(BIN / "bluegreen"), "deploy", "product-service", "--sandbox"]
    command += ["--strategy", "canary:10:120"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
        preexec_fn=default_sigint,
    )
    try:
        assert process.stdout is not None
        seen = []
        for line in process.stdout:  # bounded: the process ends (or is killed below) within the timeout
            seen.append(line)
            if after in line:
                break
        assert any(after in line for line in seen), "".join(seen)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    last = stderr.strip().splitlines()[-1]
    assert "the sandbox stopped with this run" in last and "nothing to re-attach to" in last, last
    assert "keeps running in CodeDeploy" not in stderr and "bluegreen watch" not in stderr

"""A sandbox run ends clean: no traceback on a stop, and no temporary folder left, except the hook
log of a deployment that failed."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from sandbox.world import sandbox_environment

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _folders(root: Path) -> list[Path]:
    return sorted(root.glob("bluegreen-sandbox-*"))


@pytest.fixture
def tmp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_a_run_that_ends_well_leaves_no_folder(tmp_root: Path) -> None:
    with sandbox_environment(REPO / "services.yaml", "dev", ["product-service"]):
        assert len(_folders(tmp_root)) == 1
    assert _folders(tmp_root) == []


def test_a_failed_run_keeps_only_its_hook_log(tmp_root: Path) -> None:
    with (
        pytest.raises(RuntimeError, match="deployment failed"),
        sandbox_environment(REPO / "services.yaml", "dev", ["product-service"]),
    ):
        raise RuntimeError("deployment failed")
    (folder,) = _folders(tmp_root)
    assert [path.name for path in folder.iterdir()] == ["hooks.log"]


def test_teardown_with_a_ten_minute_latency_prints_no_traceback(tmp_path: Path) -> None:
    """`--inject-fault latency_ms=600000`: the smoke checks give up, the deployment rolls back, and
    the stop (tasks, routers and users all mid-request) is quiet and quick."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "bluegreen"),
            "deploy",
            "product-service",
            "--sandbox",
            "--inject-fault",
            "latency_ms=600000",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "Exception" not in done.stderr, done.stderr
    (folder,) = _folders(tmp_path)  # failed: the hook log stays, nothing else
    assert [path.name for path in folder.iterdir()] == ["hooks.log"]

"""Shared fixtures. Fakes and helpers live in tests/support/, never in another test module."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from sandbox.shared_models import share_botocore_models

REPO_ROOT = Path(__file__).resolve().parent.parent
_STRAY_VARS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_CODEDEPLOY",
    "BLUEGREEN_TIME_SCALE",
    "BLUEGREEN_LISTENER_HOST",
    "BLUEGREEN_ENVIRONMENT",
    "BLUEGREEN_ALARMS",
)


# CI must not fail on a random example found for the first time: there, property tests use a fixed
# seed. Locally they stay random (and remember failures in .hypothesis/), which is how bugs are found.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


share_botocore_models()  # one parse of each botocore model per test process


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach AWS: fake credentials, no profile, a region, no stray endpoints."""
    # setenv-then-delenv records "unset" as the value to restore, so whatever a test (or a sandbox
    # it starts) exports process-wide is removed again at teardown and cannot leak into the next test.
    for var in (*_STRAY_VARS, *(v for v in os.environ if v.startswith(("AWS_ENDPOINT_URL", "BLUEGREEN_")))):
        monkeypatch.setenv(var, "")
        monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-2")
    empty_config = str(REPO_ROOT / "tests" / "fixtures" / "aws-config-empty")
    monkeypatch.setenv("AWS_CONFIG_FILE", empty_config)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", empty_config)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(REPO_ROOT / "services.yaml"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """One moto server (thread mode) for the whole session; reset it in tests that need a clean slate."""
    from sandbox.moto_server import MotoServer

    with MotoServer(isolated=False) as url:
        yield url


# `make test` runs `pytest -n 3 --dist loadscope`, and this is the scope it means: a test module that
# shares a module-scoped fixture (a sandbox world and its deployments, mostly; its own or its
# conftest's) is one unit, so one worker builds that fixture once; every other test is a unit of
# its own. xdist sends the units with the most tests first (its --loadscope-reorder), then the
# single tests, which even out the end of the run. With --dist worksteal an idle worker took half
# of the other's queue, module or not, and built the module's world again (test_why_e2e's
# two-engine world was set up twice in one run: 46 s + 26 s). xdist's own `loadgroup` would do
# this with marks, but on pytest 9.2 it cannot rename the tests it groups (Node.nodeid is derived).
_MODULE_FIXTURE = re.compile(r"""scope\s*=\s*["'](module|package)["']""")


@functools.cache
def _shares_module_fixture(module: str) -> bool:
    path = REPO_ROOT / module
    tests = REPO_ROOT / "tests"
    texts = [path, *(folder / "conftest.py" for folder in path.parents if folder.is_relative_to(tests))]
    return any(p.is_file() and _MODULE_FIXTURE.search(p.read_text(encoding="utf-8")) for p in texts)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """loadscope with the scope above (None: xdist's own scheduler for the other --dist modes)."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleFixtureScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if _shares_module_fixture(module) else nodeid

    return ModuleFixtureScheduling(config, log)

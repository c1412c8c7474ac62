"""Shared fixtures. Fakes and helpers live in tests/support/, never in another test module."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

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


class _SearchPaths(list):  # type: ignore[type-arg]
    """A shared loader's search paths: boto3 appends its data folder for every boto3 Session it
    makes (boto3/session.py ``_setup_loader``); on one shared loader that would grow without end."""

    def append(self, path: Any) -> None:
        if path not in self:
            super().append(path)


def _share_botocore_models() -> None:
    """Every botocore session in a test process reads the service models through one loader.

    botocore caches parsed models per loader, and a loader per session: each World's client factory,
    each in-process CLI run, each moto backend made a new session and parsed the same large JSON files
    again (ec2's alone is megabytes), about half a CPU second per session of six clients. The models
    are read-only data, shared exactly as the clients of one session already share them; a distinct
    AWS_DATA_PATH still gets its own loader. Sessions that register their own loader (the hooks'
    narrowed one) keep it."""
    import botocore.loaders
    import botocore.session

    @functools.cache
    def shared_loader(search_path_string: str | None = None) -> Any:
        loader = botocore.loaders.create_loader(search_path_string)
        loader._search_paths = _SearchPaths(loader.search_paths)
        return loader

    botocore.session.create_loader = shared_loader  # type: ignore[attr-defined]


_share_botocore_models()


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

"""Fixtures for the emulator's tests: moto is the session's (tests/conftest.py); emulators are per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.codedeploy import CodeDeployEmulator
from tests.support.emulator import EmulatorFactory


@pytest.fixture
def start_emulator(moto_url: str) -> Iterator[EmulatorFactory]:
    """Start emulators over the session's moto; every one is stopped after the test."""
    started: list[CodeDeployEmulator] = []

    def start(**kwargs: Any) -> CodeDeployEmulator:
        kwargs.setdefault("time_scale", 600.0)
        emulator = CodeDeployEmulator(aws_endpoint=moto_url, **kwargs)
        emulator.start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(start_emulator: EmulatorFactory) -> CodeDeployEmulator:
    """An emulator at time scale 600 (a canary's 5 minutes last half a second)."""
    return start_emulator()

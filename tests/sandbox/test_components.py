"""A world's components start in order and stop in reverse; a failed start stops what started."""

from __future__ import annotations

import functools
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.components import Component, Components, Step
from tests.support.sandbox import child_processes, listening_ports, sandbox_threads, wait_for

REPO = Path(__file__).resolve().parents[2]


def _parts(log: list[str], names: str, fail_start: str = "", fail_stop: str = "") -> Iterator[Component]:
    def start(name: str) -> None:
        log.append(f"start {name}")
        if name == fail_start:
            raise RuntimeError(f"{name} did not start")

    def stop(name: str) -> None:
        log.append(f"stop {name}")
        if name == fail_stop:
            raise RuntimeError(f"{name} did not stop")

    for name in names:
        yield Step(name, functools.partial(start, name), functools.partial(stop, name))


def test_components_stop_in_the_reverse_of_their_start() -> None:
    log: list[str] = []
    parts = Components()
    parts.start(_parts(log, "abc"))
    parts.stop()
    assert log == ["start a", "start b", "start c", "stop c", "stop b", "stop a"]
    parts.stop()  # stopping twice stops nothing twice
    assert len(log) == 6


def test_a_failed_start_stops_what_already_started_and_makes_nothing_after() -> None:
    log: list[str] = []
    made: list[str] = []

    def parts() -> Iterator[Component]:
        for part in _parts(log, "abcd", fail_start="c"):
            made.append(part.name)  # type: ignore[attr-defined]
            yield part

    with pytest.raises(RuntimeError, match="c did not start"):
        Components().start(parts())
    assert log == ["start a", "start b", "start c", "stop b", "stop a"]
    assert made == ["a", "b", "c"]  # d was never made


def test_every_component_stops_even_when_one_fails_to() -> None:
    log: list[str] = []
    parts = Components()
    parts.start(_parts(log, "abc", fail_stop="b"))
    with pytest.raises(RuntimeError, match="b did not stop"):
        parts.stop()
    assert log[3:] == ["stop c", "stop b", "stop a"]


@pytest.mark.integration
def test_a_world_that_fails_to_start_leaves_nothing_behind(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Provisioning fails after moto, the emulator, the runner and the routers' ports started: each
    of them stops, the environment is restored and the work folder is gone."""
    from sandbox import world as world_module

    def broken_provision(*args: object) -> None:
        raise RuntimeError("provisioning failed")

    monkeypatch.setattr(world_module, "provision", broken_provision)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    environ, ports, children = dict(os.environ), listening_ports(), child_processes()
    threads = {t.ident for t in threading.enumerate() if t.ident is not None}
    world = world_module.World(REPO / "services.yaml", "dev", ["product-service"])
    with pytest.raises(RuntimeError, match="provisioning failed"):
        world.start()
    assert world.moto_url and world.codedeploy_url and world.routers  # they had started
    assert dict(os.environ) == environ
    assert listening_ports() - ports == set()
    assert child_processes() - children == set()
    assert list(tmp_path.glob("bluegreen-sandbox-*")) == []
    wait_for(lambda: not sandbox_threads(exclude=threads), timeout=5.0)

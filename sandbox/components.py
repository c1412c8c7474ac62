"""The parts of a sandbox world as components: each starts, and its stop undoes its start.

``Components`` starts them in order and stops them in the reverse order, all of them even when one
fails to stop; a part that fails to start stops the ones already started before the error goes on.
``ProcessEnvironment`` is the component for variables set in this process while a world runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol


class Component(Protocol):
    """Anything with ``start`` (what it returns is its own business) and ``stop``."""

    def start(self) -> object: ...

    def stop(self) -> None: ...


class Step:
    """A component made of two functions: what starting does, and what undoes it."""

    def __init__(
        self, name: str, start: Callable[[], object], stop: Callable[[], None] | None = None
    ) -> None:
        self.name = name
        self._start = start
        self._stop = stop

    def start(self) -> object:
        return self._start()

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()

    def __repr__(self) -> str:
        return f"Step({self.name!r})"


class Components:
    """Components started in order, stopped in reverse."""

    def __init__(self) -> None:
        self.started: list[Component] = []

    def start(self, components: Iterable[Component]) -> None:
        """Start each in turn. ``components`` may be a generator: the next one is made only once
        the one before it has started (it may use what that one made)."""
        try:
            for component in components:
                component.start()
                self.started.append(component)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop what started, last first; every one is stopped, then the first error is raised."""
        first: BaseException | None = None
        while self.started:
            component = self.started.pop()
            try:
                component.stop()
            except BaseException as err:
                first = first or err
        if first is not None:
            raise first


class ProcessEnvironment:
    """Variables set in this process while the world runs (``set``); ``stop`` restores them all."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def start(self) -> ProcessEnvironment:
        return self

    def set(self, variables: Mapping[str, str]) -> None:
        for key, value in variables.items():
            if key not in self._saved:
                self._saved[key] = os.environ.get(key)
            os.environ[key] = value

    def stop(self) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved.clear()

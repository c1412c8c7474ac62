"""The parts of a sandbox world as components: each starts, and its stop undoes its start.

``Components`` starts them in order and stops them in the reverse order, all of them even when one
fails to stop; a part that fails to start stops the ones already started before the error goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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

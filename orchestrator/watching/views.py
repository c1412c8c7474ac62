"""How a watch looks: a rich live view on a TTY, plain lines otherwise, nothing (JSON at the end).

Views receive what the watcher saw (snapshot, new events, elapsed deployment seconds) and print it;
they decide nothing. ``EtaTracker`` turns polls into the current phase and the time left, using
the phase model in orchestrator.watching.timing. Which steps they list and how they word a rollback
comes from the snapshot's lifecycle (``Snapshot.lifecycle_model``: CodeDeploy's lifecycle events or
Amazon ECS's lifecycle stages), never from asking which engine runs the deployment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from orchestrator.vocabulary import DeploymentStatus, LifecycleStatus
from orchestrator.watching.lifecycles import CODEDEPLOY_LIFECYCLE, Lifecycle, lifecycle_of
from orchestrator.watching.snapshots import ROLLING_BACK_IN_PLACE, Event, EventKind, Snapshot
from orchestrator.watching.timing import Phase, current_phase, eta_seconds


def duration(seconds: float | None) -> str:
    """'1h 02m', '9m 12s', '42s'."""
    if seconds is None:
        return "?"
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def clock(seconds: float) -> str:
    """'03:07' (minutes:seconds since the watch started; hours when needed)."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class EtaTracker:
    """Tracks the current phase and when it started; ``update`` returns (phase, seconds left)."""

    def __init__(self, phases: Sequence[Phase], until: str = "done") -> None:
        self.phases = list(phases)
        self.until = until
        self.phase: str | None = None
        self.started_at = 0.0
        self._lifecycle = lifecycle_of(phase.lifecycle_event for phase in self.phases)

    def update(self, snapshot: Snapshot, elapsed: float) -> tuple[str | None, float | None]:
        if not self.phases:
            return None, None
        if snapshot.status.is_terminal:
            return None, 0.0
        if snapshot.rolled_back:  # rolling back within the deployment: the phases no longer apply
            return None, None
        if snapshot.lifecycle and snapshot.lifecycle_model is not self._lifecycle:
            return None, None  # phases of another engine's lifecycle: no ETA rather than a wrong one
        phase = current_phase(self.phases, snapshot.status.value, snapshot.lifecycle_events())
        if phase != self.phase:
            self.phase, self.started_at = phase, elapsed
        return phase, eta_seconds(self.phases, phase, elapsed - self.started_at, self.until)


class View(Protocol):
    """Where a deployment's progress goes."""

    def note(self, label: str, detail: str) -> None: ...

    def update(self, snapshot: Snapshot, events: list[Event], elapsed: float) -> None: ...

    def close(self) -> None: ...


class SilentView:
    """--output json: progress goes nowhere; the final document says it all."""

    def note(self, label: str, detail: str) -> None:
        return None

    def update(self, snapshot: Snapshot, events: list[Event], elapsed: float) -> None:
        return None

    def close(self) -> None:
        return None


_STATUS_WIDTH = 22


class PlainView:
    """One line per event, for CI logs and pipes."""

    def __init__(self, stream: TextIO, eta: EtaTracker | None = None) -> None:
        self.stream = stream
        self.eta = eta
        self._last_phase: str | None = None
        self._width = _STATUS_WIDTH

    def _print(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def note(self, label: str, detail: str) -> None:
        self._print(f"  {label:<{_STATUS_WIDTH}}{detail}")

    def update(self, snapshot: Snapshot, events: list[Event], elapsed: float) -> None:
        if snapshot.lifecycle:
            self._width = label_width(snapshot.lifecycle_model)
        suffix = ""
        if self.eta is not None:
            phase, left = self.eta.update(snapshot, elapsed)
            if phase is not None and phase != self._last_phase:
                self._last_phase = phase
                suffix = f"  (phase {phase}, about {duration(left)} left)"
        for index, event in enumerate(events):
            text = f"  {clock(event.at)}  {_event_text(event, self._width)}"
            self._print(text + (suffix if index == len(events) - 1 else ""))

    def close(self) -> None:
        return None


def label_width(lifecycle: Lifecycle) -> int:
    """The label column of the plain lines: wide enough for the lifecycle's longest step name."""
    return max(_STATUS_WIDTH, max(len(step) for step in lifecycle.steps) + 1)


def _event_text(event: Event, width: int = _STATUS_WIDTH) -> str:
    if event.kind is EventKind.LIFECYCLE:
        return f"{event.subject:<{width}}{event.after}"
    if event.kind is EventKind.TRAFFIC:
        return f"{'traffic':<{width}}{event.after}"
    if event.kind is EventKind.ROLLBACK:
        told = ROLLING_BACK_IN_PLACE if event.in_place else f"rolled back by {event.after}"
        return f"{'rollback':<{width}}{told}"
    return f"{'deployment':<{width}}{event.after}"


_GLYPHS = {
    LifecycleStatus.PENDING: ("·", "dim"),
    LifecycleStatus.IN_PROGRESS: ("…", "yellow"),
    LifecycleStatus.SUCCEEDED: ("✓", "green"),
    LifecycleStatus.SKIPPED: ("-", "dim"),
    LifecycleStatus.FAILED: ("✗", "red"),
    LifecycleStatus.UNKNOWN: ("?", "red"),
}


class LiveView:
    """A rich Live panel: lifecycle steps, a blue/green traffic bar, status, elapsed and ETA."""

    def __init__(self, console: Any, title: str, eta: EtaTracker | None = None) -> None:
        from rich.live import Live

        self.console = console
        self.title = title
        self.eta = eta
        self._snapshot: Snapshot | None = None
        self._elapsed = 0.0
        self._phase: str | None = None
        self._left: float | None = None
        # The steps to list: the expected phases' until the first poll shows the deployment's own.
        phases = eta.phases if eta is not None else []
        self._lifecycle = (
            lifecycle_of(phase.lifecycle_event for phase in phases) if phases else CODEDEPLOY_LIFECYCLE
        )
        self._live = Live(self._render(), console=console, refresh_per_second=4, transient=False)
        self._live.start()

    def note(self, label: str, detail: str) -> None:
        self._live.console.print(f"  {label:<{_STATUS_WIDTH}}{detail}")

    def update(self, snapshot: Snapshot, events: list[Event], elapsed: float) -> None:
        self._snapshot, self._elapsed = snapshot, elapsed
        if snapshot.lifecycle:
            self._lifecycle = snapshot.lifecycle_model
        if self.eta is not None:
            self._phase, self._left = self.eta.update(snapshot, elapsed)
        self._live.update(self._render())

    def _render(self) -> Any:
        from rich.table import Table
        from rich.text import Text

        table = Table.grid(padding=(0, 2))
        table.add_column(width=2)
        table.add_column()
        snapshot = self._snapshot
        for name in self._lifecycle.steps:
            status = snapshot.lifecycle_status(name) if snapshot else LifecycleStatus.PENDING
            glyph, style = _GLYPHS[status]
            table.add_row(Text(glyph, style=style), Text(name, style=style if status.is_done else ""))
        bar = traffic_bar(
            snapshot.original_weight if snapshot else None, snapshot.replacement_weight if snapshot else None
        )
        status_text = snapshot.status.value if snapshot else DeploymentStatus.CREATED.value
        eta = f"  ETA {duration(self._left)}" if self._left is not None and self._phase else ""
        footer = Text.assemble(
            (f"{self.title}  ", "bold"),
            (status_text, _status_style(status_text)),
            f"  {clock(self._elapsed)}{eta}",
        )
        grid = Table.grid()
        grid.add_row(footer)
        grid.add_row(table)
        grid.add_row(bar)
        return grid

    def close(self) -> None:
        self._live.stop()


def _status_style(status: str) -> str:
    if status == DeploymentStatus.SUCCEEDED:
        return "green"
    if status in (DeploymentStatus.FAILED, DeploymentStatus.STOPPED):
        return "red"
    return "yellow"


def traffic_bar(original: float | None, replacement: float | None, width: int = 40) -> Any:
    """A blue/green bar: the share of production traffic on each task set."""
    from rich.text import Text

    if original is None and replacement is None:
        return Text("  traffic  " + "·" * width, style="dim")
    green = replacement or 0.0
    cells = round(width * green / 100)
    return Text.assemble(
        "  traffic  ",
        ("█" * (width - cells), "blue"),
        ("█" * cells, "green"),
        f"  blue {original or 0:g}% / green {green:g}%",
    )


@dataclass(frozen=True)
class Outcome:
    """How a watched deployment ended, for the summary line and the JSON document."""

    word: str  # succeeded, failed, rolled back, stopped, still running, ready, traffic shifted
    ok: bool


def summary_line(outcome: Outcome, deployment_id: str, elapsed: float, details: str = "") -> str:
    """The last line a person reads: outcome, duration, the deployment id."""
    extra = f"  {details}" if details else ""
    return f"{outcome.word} in {duration(elapsed)}  {deployment_id}{extra}"

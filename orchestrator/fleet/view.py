"""How a fleet run looks while it runs: a live table on a TTY, one plain line per change otherwise,
nothing with ``--output json`` (the FleetDocument at the end says it all).

Views receive the runner's members (``fleet/runner.py``) and the deployment seconds since the run
began; they decide nothing. Each service's phase and ETA come from ``watching.views.EtaTracker``
over the phases its engine's plan expects, its traffic from its last snapshot, its words from the
snapshot's lifecycle (CodeDeploy's events or ECS's stages), as a single deployment's watch does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TextIO

from orchestrator.fleet.runner import Member, Standing
from orchestrator.watching.snapshots import format_weights
from orchestrator.watching.views import EtaTracker, clock, duration, traffic_bar


class FleetView(Protocol):
    def update(self, members: list[Member], now: float) -> None: ...

    def close(self) -> None: ...


class SilentFleetView:
    """--output json: nothing while it runs."""

    def update(self, members: list[Member], now: float) -> None:
        return None

    def close(self) -> None:
        return None


class _Rows:
    """What each service shows now: standing or deployment status, phase, ETA (one tracker each)."""

    def __init__(self) -> None:
        self._eta: dict[str, EtaTracker] = {}

    def phase_eta(self, member: Member, now: float) -> tuple[str | None, float | None]:
        phases = getattr(member.plan, "phases", None)
        if member.snapshot is None or member.started_at is None or not phases:
            return None, None
        tracker = self._eta.setdefault(member.name, EtaTracker(phases))
        return tracker.update(member.snapshot, now - member.started_at)


def status_word(member: Member) -> str:
    """The engine's status while it runs; the fleet's word for the service otherwise."""
    if member.standing in (Standing.RUNNING, Standing.STOPPING) and member.snapshot is not None:
        word = member.snapshot.status.value
        return f"{word} (stopping)" if member.standing is Standing.STOPPING else word
    if member.standing.ended:
        return member.outcome or member.standing.value
    return member.standing.value


class PlainFleetView:
    """One line per change (CI logs, pipes): a wave starting, a service's status, phase or traffic."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._rows = _Rows()
        self._said: dict[str, tuple[Any, ...]] = {}
        self._waves: set[int] = set()

    def update(self, members: list[Member], now: float) -> None:
        for member in members:
            if member.standing is not Standing.WAITING and member.wave not in self._waves:
                self._waves.add(member.wave)
                names = ", ".join(other.name for other in members if other.wave == member.wave)
                self._print(f"  {clock(now)}  wave {member.wave}: {names}")
            line = self._line(member, now)
            if line is not None:
                self._print(f"  {clock(now)}  {line}")

    def _line(self, member: Member, now: float) -> str | None:
        phase, left = self._rows.phase_eta(member, now)
        snapshot = member.snapshot
        weights = (snapshot.original_weight, snapshot.replacement_weight) if snapshot is not None else None
        state = (status_word(member), phase, weights, member.deployment_id)
        if self._said.get(member.name) == state or member.standing is Standing.WAITING:
            return None
        self._said[member.name] = state
        parts = [f"{member.name:<24}{state[0]}"]
        if member.deployment_id and member.standing is not Standing.SKIPPED:
            parts.append(member.deployment_id)
        if phase is not None:
            parts.append(f"phase {phase}, about {duration(left)} left")
        if weights is not None and weights[1] is not None and not member.standing.ended:
            parts.append(format_weights(*weights))
        if member.standing.ended and member.reason:
            parts.append(member.reason)
        return "  ".join(parts)

    def _print(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        return None


class LiveFleetView:
    """A rich Live table: a header per wave, a row per service (status, phase, traffic bar, ETA)."""

    def __init__(self, console: Any, title: str) -> None:
        from rich.live import Live

        self.title = title
        self._rows = _Rows()
        self._members: list[Member] = []
        self._now = 0.0
        self._live = Live(self._render(), console=console, refresh_per_second=4, transient=False)
        self._live.start()

    def update(self, members: list[Member], now: float) -> None:
        self._members, self._now = members, now
        self._live.update(self._render())

    def _render(self) -> Any:
        from rich.table import Table
        from rich.text import Text

        table = Table.grid(padding=(0, 2))
        for _ in range(5):
            table.add_column()
        table.add_row(Text(f"{self.title}  {clock(self._now)}", style="bold"))
        wave = None
        for member in self._members:
            if member.wave != wave:
                wave = member.wave
                table.add_row(Text(f"wave {wave}", style="bold"))
            table.add_row(*self._cells(member))
        return table

    def _cells(self, member: Member) -> Sequence[Any]:
        from rich.text import Text

        phase, left = self._rows.phase_eta(member, self._now)
        snapshot = member.snapshot
        word = status_word(member)
        bar = (
            traffic_bar(snapshot.original_weight, snapshot.replacement_weight, width=20)
            if snapshot is not None and not member.standing.ended
            else Text("")
        )
        eta = f"ETA {duration(left)}" if left is not None and phase else ""
        if member.standing.ended and member.duration is not None:
            eta = duration(member.duration)
        return (
            Text(f"  {member.name}"),
            Text(word, style=_style(member.standing)),
            Text(phase or ""),
            bar,
            eta,
        )

    def close(self) -> None:
        self._live.stop()


def _style(standing: Standing) -> str:
    return {
        Standing.SUCCEEDED: "green",
        Standing.FAILED: "red",
        Standing.SKIPPED: "dim",
        Standing.WAITING: "dim",
    }.get(standing, "yellow")


def make_view(session: Any, title: str) -> FleetView:
    if session.json:
        return SilentFleetView()
    if session.is_tty:
        return LiveFleetView(session.console(), title)
    return PlainFleetView(session.stdout)

"""A ``Timeline`` drawn with matplotlib: SVG and PNG (``bluegreen timeline --out``).

matplotlib is the optional ``report`` extra (pyproject.toml): it is imported only inside the functions
here, never at start-up (``bluegreen --help``) and never by the Lambda package. The figure is built
with ``matplotlib.figure.Figure`` directly, not pyplot, so no GUI backend or global figure state is
touched: SVG goes through matplotlib's SVG backend, PNG through Agg.

The SVG is deterministic (the README's picture diffs only when the deployment differs): text as
paths (no font needed to open it), ids from a fixed ``svg.hashsalt``, and no metadata block (its
Date would change every run; its Creator names matplotlib's version).

Layout: the traffic share on top (blue and green, stacked), then one row per lifecycle step, hook,
alarm and rollback step on a shared time axis, with the marks (failure, stop, rollback) as vertical
lines across both, listed in a legend below.
"""

from __future__ import annotations

import io
from typing import Any

from orchestrator.errors import BadInputError
from orchestrator.insight.timeline import MarkKind, Span, Timeline, Verdict
from orchestrator.watching.views import clock

REPORT_EXTRA_HINT = "pip install 'bluegreen[report]' (from a clone: pip install -e '.[report]')"
# SVG ids are hashes salted with this (matplotlib's default salt is random per run).
SVG_SALT = "bluegreen-timeline"
# No Dublin Core block: its Date changes every run, its Creator names matplotlib's version.
SVG_METADATA: dict[str, Any] = {"Date": None, "Creator": None, "Format": None, "Type": None}

BLUE, GREEN = "#1f77b4", "#2ca02c"
VERDICT_COLOURS = {
    Verdict.SUCCEEDED: "#2e9d4b",
    Verdict.FAILED: "#d62728",
    Verdict.STOPPED: "#9467bd",
    Verdict.IN_PROGRESS: "#f2a900",
    Verdict.SKIPPED: "#c7c7c7",
    Verdict.PENDING: "#c7c7c7",
    Verdict.UNKNOWN: "#8c8c8c",
}
ALARM_COLOURS = {"OK": "#a8dba8", "ALARM": "#d62728", "INSUFFICIENT_DATA": "#a6a6a6", None: "#f0f0f0"}
MARK_STYLES: dict[MarkKind, tuple[str, Any]] = {
    MarkKind.FAILED: ("#d62728", "--"),
    MarkKind.STOPPED: ("#9467bd", "--"),
    MarkKind.ROLLBACK_STARTED: ("#ff7f0e", "-."),
    MarkKind.ROLLBACK_COMPLETED: (BLUE, ":"),
    MarkKind.ENDED: ("#444444", ":"),
}
ROW_INCHES = 0.26


def require() -> None:
    """BadInputError naming the extra to install when matplotlib is missing (before any AWS call)."""
    import importlib.util

    try:
        found = importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):  # a broken install counts as missing
        found = False
    if not found:
        raise BadInputError(f"timeline --out needs matplotlib (not installed): {REPORT_EXTRA_HINT}")


def svg(timeline: Timeline) -> str:
    """The picture as an SVG document (deterministic for the same timeline and matplotlib)."""
    import matplotlib

    with matplotlib.rc_context({"svg.hashsalt": SVG_SALT, "svg.fonttype": "path"}):
        buffer = io.StringIO()
        _figure(timeline).savefig(buffer, format="svg", metadata=SVG_METADATA)
    return buffer.getvalue()


def png(timeline: Timeline) -> bytes:
    """The picture as a PNG image (Agg)."""
    buffer = io.BytesIO()
    _figure(timeline).savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    return buffer.getvalue()


class _Rows:
    """The lanes below the traffic share, top to bottom: (label, what to draw)."""

    def __init__(self, timeline: Timeline) -> None:
        self.rows: list[tuple[str, Any]] = []
        self.rows += [(span.label, span) for span in timeline.lifecycle]
        self.rows += [(f"hook {span.label}", span) for span in timeline.hooks]
        for alarm in timeline.alarm_names:
            self.rows.append((f"alarm {alarm}", [b for b in timeline.alarms if b.alarm == alarm]))
        if timeline.rollback:  # one row: CodeDeploy's rollback deployment has eight steps or more
            self.rows.append((rollback_label(len(timeline.rollback)), list(timeline.rollback)))


def rollback_label(steps: int) -> str:
    """``rollback (1 step)``, ``rollback (11 steps)``."""
    return f"rollback ({steps} step{'s' if steps != 1 else ''})"


def _figure(timeline: Timeline) -> Any:
    from matplotlib.figure import Figure

    rows = _Rows(timeline).rows
    height = 2.6 + ROW_INCHES * max(len(rows), 1) + 0.22 * len(timeline.marks)
    figure = Figure(figsize=(11, height), layout="constrained")
    traffic, lanes = figure.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [1.4, ROW_INCHES * max(len(rows), 1)]}
    )
    figure.suptitle(timeline.title, fontsize=11)
    _draw_traffic(traffic, timeline)
    _draw_rows(lanes, rows, timeline.end)
    _draw_marks((traffic, lanes), timeline, figure)
    lanes.set_xlim(0, timeline.end * 1.02)  # a mark at the very end stays visible
    lanes.xaxis.set_major_locator(_tick_locator(timeline.end))
    lanes.xaxis.set_major_formatter(_clock_formatter())
    lanes.set_xlabel(f"time since the deployment was created ({timeline.origin:%Y-%m-%d %H:%M:%S} UTC)")
    return figure


# Tick intervals a clock reads well (seconds): the first that gives at most 10 ticks.
TICK_SECONDS = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600)


def _tick_locator(end: float) -> Any:
    from matplotlib.ticker import MultipleLocator

    step = next((s for s in TICK_SECONDS if end / s <= 10), TICK_SECONDS[-1])
    return MultipleLocator(step)


def _clock_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda seconds, _position: clock(seconds))


def _draw_traffic(axes: Any, timeline: Timeline) -> None:
    """Green's share and blue's (the rest), stacked, as the step function the model gives."""
    times = [step.at for step in timeline.traffic] + [timeline.end]
    green = [step.green_percent for step in timeline.traffic]
    green.append(green[-1])
    axes.fill_between(times, 0, green, step="post", color=GREEN, alpha=0.85, label="green (replacement)")
    axes.fill_between(times, green, 100, step="post", color=BLUE, alpha=0.35, label="blue (original)")
    axes.set_ylim(0, 100)
    axes.set_ylabel("traffic %")
    axes.legend(loc="upper left", fontsize=8, frameon=False, ncols=2, bbox_to_anchor=(0, 1.18))


def _draw_rows(axes: Any, rows: list[tuple[str, Any]], end: float) -> None:
    """One row per step, hook, alarm and rollback step, the first at the top."""
    for index, (_label, what) in enumerate(rows):
        y = len(rows) - 1 - index
        if isinstance(what, Span):
            _draw_span(axes, what, y, end)
        elif what and isinstance(what[0], Span):
            for span in what:
                _draw_span(axes, span, y, end)
        else:
            for band in what:
                colour = ALARM_COLOURS.get(band.state, ALARM_COLOURS[None])
                axes.broken_barh([(band.start, band.end - band.start)], (y - 0.35, 0.7), color=colour)
    axes.set_yticks(range(len(rows)), [label for label, _ in reversed(rows)], fontsize=8)
    axes.set_ylim(-0.6, max(len(rows), 1) - 0.4)
    axes.grid(axis="x", color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)


def _draw_span(axes: Any, span: Span, y: int, end: float) -> None:
    colour = VERDICT_COLOURS[span.verdict]
    if span.start is None or span.end is None:
        note = f"{span.verdict.value} (no time known)"
        axes.text(end * 0.005, y, note, va="center", fontsize=7, color="#666666")
        return
    if span.end - span.start < end * 0.004:  # a single hook line: a point in time
        axes.plot([span.start], [y], marker="D", markersize=6, color=colour, linestyle="none")
        return
    axes.broken_barh([(span.start, span.end - span.start)], (y - 0.35, 0.7), color=colour)


def _draw_marks(axes: tuple[Any, ...], timeline: Timeline, figure: Any) -> None:
    from matplotlib.lines import Line2D

    handles = []
    for mark in timeline.marks:
        colour, style = MARK_STYLES[mark.kind]
        for each in axes:
            each.axvline(mark.at, color=colour, linestyle=style, linewidth=1.2)
        label = f"{clock(mark.at)}  {mark.label}"
        handles.append(Line2D([], [], color=colour, linestyle=style, label=label))
    if handles:
        figure.legend(handles=handles, loc="outside lower left", fontsize=8, frameon=False)
    figure.legend(handles=_state_handles(), loc="outside lower right", fontsize=8, frameon=False, ncols=2)


def _state_handles() -> list[Any]:
    """What the colours of the rows mean: the steps' and hooks' verdicts, the alarms' states."""
    from matplotlib.patches import Patch

    verdicts = (Verdict.SUCCEEDED, Verdict.FAILED, Verdict.IN_PROGRESS, Verdict.SKIPPED)
    states = (("OK", "alarm OK"), ("ALARM", "alarm ALARM"), ("INSUFFICIENT_DATA", "alarm no data"))
    handles = [Patch(color=VERDICT_COLOURS[v], label=v.value) for v in verdicts]
    handles += [Patch(color=ALARM_COLOURS[state], label=label) for state, label in states]
    handles.append(Patch(color=ALARM_COLOURS[None], label="alarm: no change seen"))
    return handles

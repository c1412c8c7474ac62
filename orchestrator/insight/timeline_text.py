"""A ``Timeline`` as compact text for a terminal (``bluegreen timeline`` without ``--out``; pure).

Every line fits 100 columns: a 30-column label, a 52-column time axis from 0 to the timeline's end,
a 16-column note. Spans and bands are drawn with one character per state, so the picture reads
without colour (a legend line says which); green's traffic share is drawn with block heights.
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.insight.timeline import Band, Mark, MarkKind, Span, Timeline, TrafficStep, Verdict
from orchestrator.watching.views import clock, duration

WIDTH = 100
LABEL = 30
AXIS = 52
NOTE = WIDTH - LABEL - AXIS - 2

SPAN_CHARS = {
    Verdict.SUCCEEDED: "=",
    Verdict.FAILED: "X",
    Verdict.STOPPED: "!",
    Verdict.IN_PROGRESS: "~",
    Verdict.SKIPPED: "-",
    Verdict.PENDING: "-",
    Verdict.UNKNOWN: "?",
}
BAND_CHARS = {"OK": ".", "ALARM": "#", "INSUFFICIENT_DATA": "?", None: " "}
MARK_CHARS = {
    MarkKind.FAILED: "F",
    MarkKind.STOPPED: "S",
    MarkKind.ROLLBACK_STARTED: "R",
    MarkKind.ROLLBACK_COMPLETED: "B",
    MarkKind.ENDED: "E",
}
# green's share: blank at 0 %, then eight heights up to 100 %
LEVELS = " ▁▂▃▄▅▆▇█"
LEGEND = "steps: = succeeded  X failed  ~ in progress  - skipped;  alarms: . OK  # ALARM  ? no data"


def render(timeline: Timeline) -> str:
    """The timeline as lines of at most ``WIDTH`` columns, each ending in a newline."""
    scale = _Scale(timeline.end)
    lines = [_fit(timeline.title), _axis_line(timeline.end), _traffic_line(timeline.traffic, scale)]
    lines += _section("lifecycle", timeline.lifecycle, scale)
    lines += _section("hooks", timeline.hooks, scale)
    lines += _alarm_section(timeline, scale)
    lines += _rollback_line(timeline.rollback, scale)
    lines += _mark_section(timeline.marks, scale)
    lines.append(_fit(f"0s = {timeline.origin:%Y-%m-%d %H:%M:%S} UTC (the deployment's creation)"))
    lines.append(LEGEND)
    lines += [_fit(f"could not read {problem}") for problem in timeline.unreadable]
    return "".join(line.rstrip() + "\n" for line in lines)


class _Scale:
    """Seconds -> a column of the axis."""

    def __init__(self, end: float) -> None:
        self.end = max(end, 1.0)

    def column(self, seconds: float) -> int:
        return min(AXIS - 1, max(0, int(seconds / self.end * (AXIS - 1) + 0.5)))


def _row(label: str, axis: str, note: str = "") -> str:
    return f"{_cut(label, LABEL):<{LABEL}} {axis:<{AXIS}} {_cut(note, NOTE)}"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _fit(text: str) -> str:
    return _cut(text, WIDTH)


def _axis_line(end: float) -> str:
    left, right = "0s", duration(end)
    return _row("", left + right.rjust(AXIS - len(left)))


def _traffic_line(traffic: Sequence[TrafficStep], scale: _Scale) -> str:
    cells = []
    for column in range(AXIS):
        seconds = column / (AXIS - 1) * scale.end
        share = _share_at(traffic, seconds)
        cells.append(LEVELS[0 if share <= 0 else max(1, min(8, round(share / 100 * 8)))])
    peak = max((step.green_percent for step in traffic), default=0.0)
    return _row("traffic (green %)", "".join(cells), f"max {peak:g}%")


def _share_at(traffic: Sequence[TrafficStep], seconds: float) -> float:
    share = 0.0
    for step in traffic:
        if step.at <= seconds:
            share = step.green_percent
    return share


def _section(title: str, spans: Sequence[Span], scale: _Scale) -> list[str]:
    if not spans:
        return []
    return [title] + [_span_line(span, scale) for span in spans]


def _span_line(span: Span, scale: _Scale) -> str:
    note = span.verdict.value if span.placed else f"{span.verdict.value}, no time"
    return _row(f" {span.label}", _span_cells([span], scale), note)


def _span_cells(spans: Sequence[Span], scale: _Scale) -> str:
    cells = [" "] * AXIS
    for span in spans:
        if span.start is not None and span.end is not None:
            for column in range(scale.column(span.start), scale.column(span.end) + 1):
                cells[column] = SPAN_CHARS[span.verdict]
    return "".join(cells)


def _rollback_line(spans: Sequence[Span], scale: _Scale) -> list[str]:
    """The rollback's steps on one line (CodeDeploy's rollback deployment has eight or more)."""
    if not spans:
        return []
    verdicts = [span.verdict for span in spans]
    worst = Verdict.FAILED if Verdict.FAILED in verdicts else verdicts[-1]
    steps = f"{len(spans)} step" + ("s" if len(spans) > 1 else "")
    return [_row(f"rollback ({steps})", _span_cells(spans, scale), worst.value)]


def _alarm_section(timeline: Timeline, scale: _Scale) -> list[str]:
    if not timeline.alarms:
        return []
    lines = ["alarms"]
    for alarm in timeline.alarm_names:
        bands = [band for band in timeline.alarms if band.alarm == alarm]
        lines.append(_row(f" {alarm}", _band_cells(bands, scale), _alarm_note(bands)))
    return lines


def _band_cells(bands: Sequence[Band], scale: _Scale) -> str:
    cells = [" "] * AXIS
    for band in bands:  # in time order: a later band wins a shared column
        for column in range(scale.column(band.start), scale.column(band.end) + 1):
            cells[column] = BAND_CHARS.get(band.state, "?")
    return "".join(cells)


def _alarm_note(bands: Sequence[Band]) -> str:
    fired = next((band for band in bands if band.state == "ALARM"), None)
    if fired is not None:
        return f"ALARM at {clock(fired.start)}"
    if all(band.state is None for band in bands):
        return "no change"
    return bands[-1].state or ""


def _mark_section(marks: Sequence[Mark], scale: _Scale) -> list[str]:
    if not marks:
        return []
    cells = [" "] * AXIS
    for mark in marks:
        cells[scale.column(mark.at)] = MARK_CHARS[mark.kind]
    lines = [_row("marks", "".join(cells))]
    lines += [_fit(f"  {MARK_CHARS[m.kind]} {clock(m.at)}  {m.label}") for m in marks]
    return lines

"""A ``Timeline`` as one self-contained HTML page: the SVG inline and a table of the events (pure).

Nothing in the page is fetched when it opens: no script, no stylesheet or font from elsewhere, the
picture inline (its text drawn as paths). The only ``http://`` left is the SVG namespace, an
identifier that is never fetched: the SVG's XML declaration and DOCTYPE (which names a DTD's URL) are
dropped, and its ``xlink:href`` become plain ``href`` (SVG 2, every current browser), so the XLink
namespace goes too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from html import escape

from orchestrator.insight.timeline import Span, Timeline
from orchestrator.watching.views import clock

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222; }
h1 { font-size: 18px; margin: 0 0 12px; }
svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin-top: 16px; }
th, td { text-align: left; padding: 3px 10px; border-bottom: 1px solid #e5e5e5; vertical-align: top; }
th { background: #f6f6f6; }
td.verdict-failed, td.state-ALARM { color: #c62828; font-weight: 600; }
td.verdict-succeeded, td.state-OK { color: #2e7d32; }
p.unreadable { color: #8a6d00; }
"""


@dataclass(frozen=True)
class Row:
    """One line of the events table; ``at`` None: no time known (listed last)."""

    at: float | None
    lane: str
    what: str
    verdict: str
    detail: str


def page(timeline: Timeline, svg: str) -> str:
    """The HTML document: title, the picture inline, the events table, the sources not read."""
    title = escape(timeline.title)
    unreadable = "".join(
        f'<p class="unreadable">could not read {escape(problem)}</p>\n' for problem in timeline.unreadable
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{title}</h1>\n<p>{escape(timeline.deployment_id)}</p>\n"
        f"{inline_svg(svg)}\n{unreadable}{_table(timeline)}</body>\n</html>\n"
    )


_PROLOGUE = re.compile(r"\A\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?", re.IGNORECASE)


def inline_svg(svg: str) -> str:
    """matplotlib's SVG document as an element to put in HTML (see the module doc)."""
    element = _PROLOGUE.sub("", svg, count=1)
    element = element.replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    return element.replace(" xlink:href=", " href=")


def rows(timeline: Timeline) -> list[Row]:
    """Every event of the timeline in time order (untimed steps last)."""
    found = [Row(step.at, "traffic", f"green {step.green_percent:g} %", "", "") for step in timeline.traffic]
    found += [_span_row("lifecycle", span) for span in timeline.lifecycle]
    found += [_span_row("hook", span) for span in timeline.hooks]
    found += [
        Row(band.start, "alarm", band.alarm, band.state or "no change", band.reason or "")
        for band in timeline.alarms
    ]
    found += [_span_row("rollback", span) for span in timeline.rollback]
    found += [Row(mark.at, "mark", mark.label, mark.kind.value, "") for mark in timeline.marks]
    return sorted(found, key=lambda row: (row.at is None, row.at or 0.0))


def _span_row(lane: str, span: Span) -> Row:
    what = f"{span.label} ({span.function})" if span.function else span.label
    took = f"{span.end - span.start:g} s" if span.start is not None and span.end is not None else ""
    detail = "; ".join(part for part in (took, span.detail or "") if part)
    return Row(span.start, lane, what, span.verdict.value, detail)


def _table(timeline: Timeline) -> str:
    names = ("time", "UTC", "lane", "what", "verdict / state", "detail")
    head = "<tr>" + "".join(f"<th>{name}</th>" for name in names) + "</tr>"
    body = "".join(_table_row(timeline, row) for row in rows(timeline))
    return f"<table>\n<thead>{head}</thead>\n<tbody>\n{body}</tbody>\n</table>\n"


def _table_row(timeline: Timeline, row: Row) -> str:
    if row.at is None:
        since, utc = "", ""
    else:
        since = clock(row.at)
        utc = f"{timeline.origin + timedelta(seconds=row.at):%H:%M:%S}"
    css = "state" if row.lane == "alarm" else "verdict"
    marker = re.sub(r"[^A-Za-z_]", "", row.verdict.replace(" ", "_"))
    verdict = f'<td class="{css}-{marker}">' if marker else "<td>"
    cells = (
        f"<td>{since}</td><td>{utc}</td><td>{escape(row.lane)}</td><td>{escape(row.what)}</td>"
        f"{verdict}{escape(row.verdict)}</td><td>{escape(row.detail)}</td>"
    )
    return f"<tr>{cells}</tr>\n"

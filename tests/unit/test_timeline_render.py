"""The timeline's renderers: compact text, the matplotlib picture (SVG, PNG), the self-contained HTML."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from orchestrator.insight import timeline_html, timeline_text
from orchestrator.insight.timeline import Span, Verdict, build
from tests.support.timeline_evidence import ALARMS, DEPLOYMENT_ID, rolled_back_canary

SVG_NAMESPACE = "http://www.w3.org/2000/svg"


@pytest.fixture(scope="module")
def timeline():  # type: ignore[no-untyped-def]
    return build(rolled_back_canary())


def test_text_fits_100_columns_and_shows_every_lane(timeline) -> None:  # type: ignore[no-untyped-def]
    text = timeline_text.render(timeline)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 100, max(lines, key=len)
    assert lines[0] == f"product-service (dev) {DEPLOYMENT_ID} canary10 on codedeploy: rolled back"
    for section in ("lifecycle", "hooks", "alarms"):
        assert section in lines
    assert re.search(r"^rollback \(3 steps\) +=+ succeeded$", text, re.M)  # one line for the rollback
    assert re.search(r"^ AllowTraffic +X+ +failed$", text, re.M)
    assert re.search(r"^ AfterAllowTraffic +skipped, no time$", text, re.M)
    assert re.search(rf"^ {ALARMS[0]} +\.+#+ ALARM at 03:20$", text, re.M)
    assert re.search(r"^ product-service-latency-p99-… +no change$", text, re.M)  # cut, never wider
    assert "  R 05:00  rollback started: alarm product-service-5xx" in lines
    assert "  B 05:30  rollback completed" in lines
    assert lines[-1] == "could not read ECS tasks: AccessDeniedException: not allowed"


@pytest.mark.parametrize(
    ("share", "glyph"),
    [(0.0, " "), (1.0, "▁"), (10.0, "▁"), (50.0, "▄"), (100.0, "█")],
)
def test_traffic_glyph_heights(timeline, share: float, glyph: str) -> None:  # type: ignore[no-untyped-def]
    from orchestrator.insight.timeline import TrafficStep

    flat = replace(timeline, traffic=(TrafficStep(0.0, share),))
    line = next(line for line in timeline_text.render(flat).splitlines() if line.startswith("traffic"))
    axis = line[timeline_text.LABEL + 1 : timeline_text.LABEL + 1 + timeline_text.AXIS]
    assert set(axis) == {glyph}


def test_html_is_one_page_with_the_svg_inline_and_no_reference_outside(timeline) -> None:  # type: ignore[no-untyped-def]
    svg = (
        '<?xml version="1.0" encoding="utf-8" standalone="no"?>\n'
        '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"\n  "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
        f'<svg xmlns:xlink="http://www.w3.org/1999/xlink" xmlns="{SVG_NAMESPACE}">'
        '<defs><path id="g1" d="M 0 0"/></defs><use xlink:href="#g1"/></svg>\n'
    )
    page = timeline_html.page(timeline, svg)
    assert page.startswith("<!DOCTYPE html>")
    assert re.findall(r"https?://[^\s\"'<>]*", page) == [SVG_NAMESPACE]
    assert "<script" not in page and "<link" not in page and "@import" not in page
    element = re.search(r"<svg.*?</svg>", page, re.S)
    assert element is not None
    assert ET.fromstring(element.group(0)).find(f"{{{SVG_NAMESPACE}}}use").get("href") == "#g1"  # type: ignore[union-attr]
    # the CloudWatch reason is escaped, not markup
    assert "Threshold Crossed: 1 datapoint [12.5] &gt; 5 &amp; &lt;x&gt;" in page


def test_html_table_lists_events_in_time_order_untimed_last(timeline) -> None:  # type: ignore[no-untyped-def]
    rows = timeline_html.rows(timeline)
    timed = [row.at for row in rows if row.at is not None]
    assert timed == sorted(timed)
    assert rows[-1].what == "AfterAllowTraffic" and rows[-1].at is None
    hook = next(row for row in rows if row.lane == "hook")
    assert hook.what == "AfterAllowTestTraffic (bluegreen-dev-after-allow-test-traffic)"
    assert ("mark", "rollback completed") in [(row.lane, row.what) for row in rows]


matplotlib = pytest.importorskip("matplotlib")


def test_svg_is_valid_xml_with_every_lanes_label(timeline) -> None:  # type: ignore[no-untyped-def]
    from orchestrator.insight.timeline_figure import svg

    text = svg(timeline)
    # matplotlib draws text as paths and writes each string as a comment before it
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    root = ET.fromstring(text, parser=parser)
    assert root.tag == f"{{{SVG_NAMESPACE}}}svg"
    comments = {node.text.strip() for node in root.iter() if node.tag is ET.Comment and node.text}
    expected = {
        "traffic %",
        "green (replacement)",
        "blue (original)",
        "AllowTraffic",
        "hook AfterAllowTestTraffic",
        f"alarm {ALARMS[0]}",
        f"alarm {ALARMS[1]}",
        "rollback (3 steps)",
        "05:00  rollback started: alarm product-service-5xx",
        timeline.title,
    }
    assert expected <= comments
    assert "<metadata" not in text and "<dc:date" not in text  # nothing that changes run to run


def test_svg_is_the_same_every_time(timeline) -> None:  # type: ignore[no-untyped-def]
    from orchestrator.insight.timeline_figure import svg

    assert svg(timeline) == svg(timeline)


def test_png_is_a_png(timeline) -> None:  # type: ignore[no-untyped-def]
    from orchestrator.insight.timeline_figure import png

    assert png(timeline)[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_picture_with_nothing_timed_still_draws(timeline) -> None:  # type: ignore[no-untyped-def]
    from orchestrator.insight.timeline_figure import svg

    bare = replace(
        timeline,
        lifecycle=(Span("RECONCILE_SERVICE", Verdict.SUCCEEDED, None, None, source="none"),),
        hooks=(),
        alarms=(),
        rollback=(),
        marks=(),
    )
    ET.fromstring(svg(bare))

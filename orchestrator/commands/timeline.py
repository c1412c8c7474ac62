"""`bluegreen timeline DEPLOYMENT_ID [--out FILE.svg|.png|.html]`: the picture of one deployment.

Reads what ``why`` reads (``insight.gather``: the engine's inspection, the hooks' verdict lines, the
alarms' history), builds the ``insight.timeline`` model and prints it as compact text, or writes it
as SVG, PNG or one self-contained HTML page (matplotlib, the ``report`` extra). The picture is the
product, so a failed or rolled-back deployment exits 0 too. ``--out`` is checked (format, folder,
the extra) before any AWS call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrator import documents
from orchestrator.commands import lookup
from orchestrator.commands.failure import error_context
from orchestrator.commands.result import Result, lines
from orchestrator.commands.session import Session
from orchestrator.errors import BadInputError, ErrorContext

# The pictures --out writes, by the file's suffix.
FORMATS = (".svg", ".png", ".html")


def run(session: Session, deployment_id: str, out: str | None) -> Result:
    lookup.check_deployment_id(deployment_id)
    path = checked_out(out) if out is not None else None
    with error_context(ErrorContext(deployment_id=deployment_id)):
        engine, clients = lookup.deployment_engine(session, deployment_id)
        evidence = gather_evidence(engine, clients, session, deployment_id)
    from orchestrator.insight.timeline import build

    timeline = build(evidence)
    document = documents.timeline_document(timeline, clients.counter.total, str(path) if path else None)
    if path is None:
        from orchestrator.insight.timeline_text import render

        return Result(document, render(timeline))
    write_picture(timeline, path)
    return Result(document, lines(f"wrote {path} (timeline of {deployment_id}: {timeline.outcome.value})"))


def gather_evidence(engine: Any, clients: Any, session: Session, deployment_id: str) -> Any:
    """Everything known about the deployment (``why``'s gathering; tests replace it)."""
    from orchestrator.insight.gather import gather

    return gather(engine, clients, session, deployment_id)


def checked_out(out: str) -> Path:
    """``--out`` as a path, or BadInputError: an unknown format, a folder that does not exist, no
    matplotlib."""
    from orchestrator.insight.timeline_figure import require

    path = Path(out)
    if path.suffix.lower() not in FORMATS:
        shown = f"{path.suffix!r}" if path.suffix else "no suffix"
        raise BadInputError(f"--out {out}: {shown} is not a picture format; use .svg, .png or .html")
    folder = path.parent
    if not folder.is_dir():
        raise BadInputError(f"--out {out}: the folder {folder} does not exist (create it first)")
    require()
    return path


def write_picture(timeline: Any, path: Path) -> None:
    """The picture in the format ``path``'s suffix names, written atomically (no link followed)."""
    from orchestrator.files.safe_write import write_bytes_no_follow, write_text_no_follow
    from orchestrator.insight import timeline_figure, timeline_html

    suffix = path.suffix.lower()
    if suffix == ".png":
        write_bytes_no_follow(path, timeline_figure.png(timeline))
    elif suffix == ".html":
        write_text_no_follow(path, timeline_html.page(timeline, timeline_figure.svg(timeline)))
    else:
        write_text_no_follow(path, timeline_figure.svg(timeline))

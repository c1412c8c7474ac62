"""What a command hands back to the CLI, which prints it once.

A command returns a ``Result``: its document (``orchestrator.documents``, for ``--output json``),
its text (for a person) and, when the outcome it reports is a failure (a deployment that failed,
an audit with violations), the error that sets the exit code. Progress (deploy's step lines, the
live view of a watch) is printed while it happens; the result is printed once, at the end, by
``cli.main`` (or by the alarms sub-app when typer runs it on its own). ``finish`` runs a command and
keeps the output mode it ran in beside its result or error, so nothing has to re-read argv to know
whether JSON was asked for. Light module (cli.py imports it at start-up): the standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # cli.py imports this module at start-up: the documents load when printed
    from orchestrator.documents import Document
    from orchestrator.errors import BluegreenError

# Text that needs the stream it goes to (a rich table sized to the terminal).
TextWriter = Callable[[TextIO], None]


@dataclass(frozen=True)
class Result:
    """A command's outcome: ``document`` for machines, ``text`` for people, ``error`` for the exit code.

    ``document`` None: the command has no JSON form for this run (`render --out -` prints the
    AppSpec itself); its text is printed whatever the output mode.
    """

    document: Document | None
    text: str | TextWriter = ""
    error: BluegreenError | None = None

    @property
    def exit_code(self) -> int:
        return self.error.exit_code if self.error is not None else 0


def lines(*texts: str) -> str:
    """Lines of text, each ending in a newline ("" for none)."""
    return "".join(text + "\n" for text in texts)


@dataclass(frozen=True)
class Finished:
    """How a command ended, as the CLI prints it: the output mode, and its result or the error it raised."""

    json: bool
    result: Result | None = None
    error: BaseException | None = None
    debug: bool = False  # --debug: a traceback with the error


def finish(json: bool, call: Callable[[], Result], debug: bool = False) -> Finished:
    """Run ``call``: its result, or the error it raised (a bug or an interrupt included), with ``json``."""
    try:
        return Finished(json, call(), debug=debug)
    except (Exception, KeyboardInterrupt) as err:
        return Finished(json, error=err, debug=debug)


def dumps(document: object) -> str:
    """A JSON document as printed: two-space indent, keys in the document's order."""
    return json.dumps(document, indent=2, default=str) + "\n"


def write_result(result: Result, as_json: bool, stdout: TextIO) -> None:
    """Print ``result`` once: its JSON document, or its text."""
    from orchestrator.documents import to_json

    if as_json and result.document is not None:
        stdout.write(dumps(to_json(result.document)))
    elif callable(result.text):
        result.text(stdout)
    else:
        stdout.write(result.text)
    stdout.flush()

"""The --output json contract when a command fails: stdout still carries exactly one JSON document.

A CI job that asked for ``--output json`` parses stdout whatever the exit code. Commands print
their own document when they get that far (a watched deployment that failed, timed out or was
rolled back); when they fail earlier (bad input, an AWS error, a guardrail refusal, a busy
deployment group, an interrupt) ``cli.main`` prints an error document instead, with the keys of
the deploy document that were known and ``outcome: "error"``, ``error``, ``errorKind``, ``exitCode``.
Light module: no boto3, rich or pydantic.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from orchestrator.errors import BluegreenError

# The deploy document's identifying keys; an error document always has them (null when unknown).
KNOWN_KEYS = ("deploymentId", "service", "environment", "strategy", "status")


def wants_json(args: Sequence[str]) -> bool:
    """Whether the command line asks for ``--output json`` (anywhere: before or after the verb)."""
    chosen = None
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg in ("--output", "-o") and index + 1 < len(args):
            chosen = args[index + 1]
        elif arg.startswith("--output="):
            chosen = arg.split("=", 1)[1]
        elif arg.startswith("-o") and not arg.startswith("--") and len(arg) > 2:
            chosen = arg[2:]
    return chosen == "json"


def error_document(message: str, exit_code: int, kind: str, context: dict[str, Any]) -> dict[str, Any]:
    """The one document printed on stdout when a command fails before printing its own."""
    document: dict[str, Any] = {key: context.get(key) for key in KNOWN_KEYS}
    document.update({key: value for key, value in context.items() if key not in document})
    document.update({"outcome": "error", "error": message, "errorKind": kind, "exitCode": exit_code})
    return document


class WatchedStream:
    """A stream that remembers whether anything was written to it (so main prints one document)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.written = False

    def write(self, text: str) -> int:
        if text:
            self.written = True
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def error_context(known: dict[str, Any]) -> Iterator[None]:
    """Attach ``known`` (filled in as the command learns it) to any BluegreenError raised inside."""
    try:
        yield
    except BluegreenError as err:
        err.add_context(**known)
        raise

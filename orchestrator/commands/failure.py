"""The --output json contract when a command fails: stdout still carries exactly one JSON document.

A CI job that asked for ``--output json`` parses stdout whatever the exit code. Commands return
their own document when they get that far (a watched deployment that failed, timed out or was
rolled back); when they fail earlier (bad input, an AWS error, a guardrail refusal, a busy
deployment group, an interrupt) ``cli.main`` prints an error document instead, with what the
command knew (``ErrorContext``: the deploy document's identifying keys, null when unknown) and
``outcome: "error"``, ``error``, ``errorKind``, ``exitCode``. Light module: no boto3, rich or pydantic.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from orchestrator.documents import ErrorDocument
from orchestrator.errors import BluegreenError, ErrorContext


def error_document(message: str, exit_code: int, kind: str, known: ErrorContext) -> ErrorDocument:
    """The one document printed on stdout when a command fails before it has its own."""
    return ErrorDocument(
        deployment_id=known.deployment_id,
        service=known.service,
        environment=known.environment,
        strategy=known.strategy,
        status=known.status,
        active_deployment_id=known.active_deployment_id,
        rollback_deployment_id=known.rollback_deployment_id,
        outcome="error",
        error=message,
        error_kind=kind,
        exit_code=exit_code,
    )


@contextmanager
def error_context(known: ErrorContext) -> Iterator[None]:
    """A BluegreenError raised inside also carries ``known`` (where it knows nothing better)."""
    try:
        yield
    except BluegreenError as err:
        err.within(known)
        raise

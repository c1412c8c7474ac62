"""The JSON Schema `bluegreen schema` prints, and which of its documents a real document is.

Validated with `jsonschema` (an independent implementation, not the pydantic that generated the
schema). ``run_cli`` checks every ``--output json`` document it captures with ``check_document``.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator


@cache
def printed_schema() -> dict[str, Any]:
    """What `bluegreen schema` prints (once per process)."""
    from orchestrator.cli import main

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["schema"]) == 0
    schema: dict[str, Any] = json.loads(out.getvalue())
    Draft202012Validator.check_schema(schema)
    return schema


@cache
def _validator(name: str | None) -> Draft202012Validator:
    """The validator of one document (``None``: of the whole schema, any document)."""
    schema = printed_schema()
    if name is None:
        return Draft202012Validator(schema)
    return Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": schema["$defs"]})


def check_document(document: Any) -> None:
    """AssertionError, with the reasons, unless ``document`` is one of the schema's documents."""
    if not _validator(None).is_valid(document):
        document_kind(document)  # says which document it came closest to, and why not


def document_names() -> list[str]:
    """The documents the schema's top level accepts (its anyOf), in its order."""
    return [ref["$ref"].rsplit("/", 1)[1] for ref in printed_schema()["anyOf"]]


def document_kind(document: Any) -> str:
    """The one schema document ``document`` is (AssertionError, with the reasons, when none is)."""
    matches = [name for name in document_names() if _validator(name).is_valid(document)]
    if len(matches) != 1:
        names = document_names()
        reasons = {name: [e.message for e in _validator(name).iter_errors(document)][:3] for name in names}
        raise AssertionError(f"document matches {matches or 'no schema document'}: {reasons}\n{document}")
    assert _validator(None).is_valid(document)
    return matches[0]

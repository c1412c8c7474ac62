"""Positive numbers from flags and variables, and the one rule for BLUEGREEN_TIME_SCALE (pure).

The CLI (``--timeout``, ``--time-scale``, the variable), the Lambda hooks (the variable, in the
sandbox) and the benchmarks (``--time-scale``, through ``positive_number_arg``) read time through
this module, so they agree on what a valid value is: a finite number above zero written in ASCII
digits. ``float()`` alone takes ``nan``, ``inf``, ``1_0`` and full-width
digits; a NaN timeout used to pass every comparison and crash after the deployment was created.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping

from orchestrator.errors import BadInputError

TIME_SCALE_ENV_VAR = "BLUEGREEN_TIME_SCALE"
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


def positive_number_problem(text: str) -> str | None:
    """Why ``text`` is not a finite number > 0 in ASCII digits, or None when it is one."""
    if not _DECIMAL.fullmatch(text):
        shown = text if len(text) <= 40 else text[:40] + "..."
        return f"{shown!r} is not a number; give a positive number such as 10 or 2.5"
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        return f"must be a positive number, got {text}"
    return None


def positive_number(text: str, what: str) -> float:
    """``text`` as a finite number > 0; BadInputError naming ``what`` (a flag or a variable) otherwise."""
    problem = positive_number_problem(text)
    if problem:
        raise BadInputError(f"{what}: {problem}")
    return float(text)


def positive_number_arg(text: str) -> float:
    """An ``argparse`` type by the same rule: the scripts under bench/ refuse what the CLI refuses."""
    import argparse  # here, not at the top: the Lambda hooks import this module and parse no arguments

    problem = positive_number_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return float(text)


def time_scale_from_env(environ: Mapping[str, str] | None = None) -> float | None:
    """``$BLUEGREEN_TIME_SCALE`` (None when unset or empty); BadInputError naming it when invalid."""
    raw = (os.environ if environ is None else environ).get(TIME_SCALE_ENV_VAR, "")
    if not raw:
        return None
    return positive_number(raw, f"${TIME_SCALE_ENV_VAR}")

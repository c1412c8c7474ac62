"""orchestrator.time_scale: the one rule for --timeout, --time-scale and $BLUEGREEN_TIME_SCALE."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.errors import BadInputError
from orchestrator.time_scale import (
    positive_number,
    positive_number_arg,
    positive_number_problem,
    time_scale_from_env,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("text", ["10", "2.5", ".5", "5.", "1e3", "+4", "0.001", "1E-2"])
def test_finite_positive_ascii_numbers_are_accepted(text: str) -> None:
    assert positive_number_problem(text) is None
    assert positive_number(text, "--timeout") == float(text)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("nan", "is not a number"),
        ("inf", "is not a number"),
        ("1e999", "must be a positive number"),  # parses, but to infinity
        ("-1e999", "must be a positive number"),
        ("0", "must be a positive number"),
        ("-3", "must be a positive number"),
        ("10abc", "is not a number"),  # a number, then junk: the whole text must be the number
        ("10 ", "is not a number"),
        ("1_0", "is not a number"),  # float() takes it
        ("\uff11\uff10", "is not a number"),  # full-width digits: float() takes them too
        ("", "is not a number"),
    ],
)
def test_everything_else_is_refused_with_a_reason(text: str, problem: str) -> None:
    reason = positive_number_problem(text)
    assert reason is not None and problem in reason
    with pytest.raises(BadInputError, match=r"^--time-scale: "):
        positive_number(text, "--time-scale")


def test_the_variable_is_read_by_the_same_rule() -> None:
    assert time_scale_from_env({}) is None
    assert time_scale_from_env({"BLUEGREEN_TIME_SCALE": ""}) is None
    assert time_scale_from_env({"BLUEGREEN_TIME_SCALE": "40"}) == 40.0
    with pytest.raises(BadInputError, match=r"^\$BLUEGREEN_TIME_SCALE: .*must be a positive number"):
        time_scale_from_env({"BLUEGREEN_TIME_SCALE": "1e999"})


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "abc"])
def test_the_argparse_type_refuses_by_the_same_rule(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        positive_number_arg(text)
    assert str(refused.value) == positive_number_problem(text)
    assert positive_number_arg("40") == 40.0


@pytest.mark.parametrize(
    ("script", "flag", "value"),
    [
        ("bench/chaos.py", "--time-scale", "0"),
        ("bench/chaos.py", "--concurrent-time-scale", "nan"),
        ("bench/concurrent_deploys.py", "--time-scale", "-1"),
        ("bench/exposure.py", "--time-scale", "inf"),
    ],
)
def test_the_benchmarks_refuse_a_bad_time_scale_before_anything_starts(
    script: str, flag: str, value: str
) -> None:
    # argparse converts an option when it reads it, so a bad value ends the run before --help would.
    completed = subprocess.run(
        [sys.executable, str(REPO / script), flag, value, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert f"argument {flag}: {positive_number_problem(value)}" in completed.stderr
    assert "Traceback" not in completed.stderr

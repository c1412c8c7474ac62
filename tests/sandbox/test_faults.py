"""Fault specs (--inject-fault) and the deterministic error pattern."""

from __future__ import annotations

import pytest

from sandbox.faults import Fault, FaultSpecError, parse_fault


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, Fault()),
        ("error_rate=0.3", Fault(error_rate=0.3)),
        ("latency_ms=1500", Fault(latency_ms=1500)),
        ("error_rate=0.5, latency_ms=200", Fault(error_rate=0.5, latency_ms=200)),
        ({"error_rate": 1}, Fault(error_rate=1.0)),
        (Fault(latency_ms=5), Fault(latency_ms=5)),
    ],
)
def test_parse(spec: object, expected: Fault) -> None:
    assert parse_fault(spec) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("error_rate", "expected knob=value"),
        ("error_rate=lots", "not a number"),
        ("error_rate=1.5", "between 0 and 1"),
        ("error_rate=-0.1", "between 0 and 1"),
        ("latency_ms=-1", "between 0 and"),
        ("cpu=90", "unknown"),
        ("hook:AfterAllowTestTraffic", "expected knob=value"),
        ("error_rate=0.1,error_rate=0.2", "given twice"),
    ],
)
def test_bad_specs_name_the_problem(spec: str, message: str) -> None:
    with pytest.raises(FaultSpecError, match=message):
        parse_fault(spec)


def test_bad_spec_is_bad_input() -> None:
    """--inject-fault with a bad spec exits 2 like any bad flag."""
    with pytest.raises(FaultSpecError) as caught:
        parse_fault("nope")
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("rate", "first_ten"),
    [
        (0.0, ".........."),
        (0.5, ".x.x.x.x.x"),
        (1.0, "xxxxxxxxxx"),
        (0.3, "...x..x..x"),
        (0.1, ".........x"),
    ],
)
def test_errors_are_spread_evenly(rate: float, first_ten: str) -> None:
    fault = Fault(error_rate=rate)
    assert "".join("x" if fault.fails(n) else "." for n in range(10)) == first_ten


@pytest.mark.parametrize("rate", [0.05, 0.3, 0.5, 0.77])
def test_error_share_over_many_requests_is_the_rate(rate: float) -> None:
    fault = Fault(error_rate=rate)
    assert sum(fault.fails(n) for n in range(1000)) == int(1000 * rate)

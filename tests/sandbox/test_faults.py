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
        ("unhealthy=1", Fault(unhealthy=1.0)),
        ("latency_factor=1.4", Fault(latency_factor=1.4)),
        ("error_rate=0.005,latency_factor=1.4,path=/browse", Fault(0.005, 0.0, 1.4, "/browse")),
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
        ("unhealthy=0.5", "must be 0 or 1"),
        ("unhealthy=2", "between 0 and 1"),
        ("latency_factor=-1", "between 0 and 1000"),
        ("latency_factor=fast", "not a number"),
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
        (1.0, "xxxxxxxxxx"),
        (0.5, "x.x.xx.x.."),
    ],
)
def test_error_pattern(rate: float, first_ten: str) -> None:
    fault = Fault(error_rate=rate)
    assert "".join("x" if fault.fails(n) else "." for n in range(10)) == first_ten


@pytest.mark.parametrize("rate", [0.05, 0.3, 0.5, 0.77])
@pytest.mark.parametrize("every", [1, 2, 3, 10])
def test_every_interleaving_sees_the_rate(rate: float, every: int) -> None:
    """Users every 10th request, health checks in between: each kind still gets ``rate`` errors."""
    fault = Fault(error_rate=rate)
    for offset in range(every):
        picked = range(offset, 2000, every)
        share = sum(fault.fails(n) for n in picked) / len(picked)
        assert abs(share - rate) < 0.03


@pytest.mark.parametrize(
    ("fault", "path", "applies"),
    [
        (Fault(error_rate=1.0), "/health", True),
        (Fault(error_rate=1.0, path="/browse"), "/browse?page=2", True),
        (Fault(error_rate=1.0, path="/browse"), "/health", False),
        (Fault(error_rate=1.0, path="/browse"), "/products?limit=1", False),
    ],
)
def test_path_scope(fault: Fault, path: str, applies: bool) -> None:
    assert fault.applies_to(path) is applies


def test_path_knob() -> None:
    assert parse_fault("error_rate=0.5,path=/browse") == Fault(error_rate=0.5, path="/browse")
    with pytest.raises(FaultSpecError, match="start with"):
        parse_fault("error_rate=0.5,path=browse")


def test_unhealthy_is_a_fault() -> None:
    fault = parse_fault("unhealthy=1")
    assert not fault.is_healthy and fault.describe() == "unhealthy=1"
    assert parse_fault("unhealthy=0").is_healthy


@pytest.mark.parametrize(
    ("fault", "base_ms", "service_ms"),
    [
        (Fault(), 40.0, 40.0),
        (Fault(latency_ms=24.0), 40.0, 64.0),
        (Fault(latency_factor=1.4), 40.0, 56.0),  # p99 +40 % is every percentile +40 %
        (Fault(latency_factor=1.4), 60.0, 84.0),
        (Fault(latency_ms=100.0, latency_factor=2.0), 20.0, 140.0),
    ],
)
def test_service_time_of_a_faulty_request(fault: Fault, base_ms: float, service_ms: float) -> None:
    assert fault.service_ms(base_ms) == pytest.approx(service_ms)


def test_latency_factor_is_a_fault() -> None:
    fault = parse_fault("latency_factor=1.4,path=/browse")
    assert not fault.is_healthy and fault.describe() == "latency_factor=1.4,path=/browse"
    assert parse_fault("latency_factor=1").is_healthy


def test_an_error_phase_moves_where_the_errors_start_not_their_rate() -> None:
    # phase 0: a task's first faulty request fails, whatever the rate (a burst under a subtle rate)
    assert Fault(error_rate=0.005).fails(0)
    shifted = parse_fault("error_rate=0.005,error_phase=0.5")
    assert shifted == Fault(error_rate=0.005, error_phase=0.5) and not shifted.fails(0)
    first = next(n for n in range(10_000) if shifted.fails(n))
    assert first > 20
    assert sum(shifted.fails(n) for n in range(20_000)) / 20_000 == pytest.approx(0.005, abs=0.0005)
    assert shifted.describe() == "error_rate=0.005,error_phase=0.5"
    assert parse_fault("error_phase=0.5").is_healthy  # a phase alone fails nothing

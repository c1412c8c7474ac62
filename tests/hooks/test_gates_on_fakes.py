"""The hooks' gate decisions over fetched data: each check of hooks.handlers run on a HookContext whose
clients are the in-memory fakes (tests/support/fakes.py), so the ELBv2 and CloudWatch reads go
through the shared adapters and ``aws_call`` exactly as in Lambda. The handlers end to end (event,
deadline, report) are tests/hooks/test_handlers.py (moto) and test_hooks_on_emulator.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooks import handlers, smoke_hosts
from hooks.context import HookContext, SmokeHostRefusedError
from hooks.deployment import DeploymentInfo, ReplacementTaskSet, TrafficRoutes
from hooks.service_view import ServiceView, record_of
from hooks.timing import Deadline, VirtualTime
from orchestrator.catalog import Catalog, load_catalog
from orchestrator.errors import AwsError
from tests.support.fakes import ELB_ARN, FakeClients, client_error

SERVICE = "product-service"
GREEN = f"{SERVICE}-green"
ALARMS = [
    f"{SERVICE}-5xx-errors",
    f"{SERVICE}-high-latency",
    f"{SERVICE}-unhealthy-hosts",
    f"{SERVICE}-high-cpu",
    f"{SERVICE}-canary-verdict",  # the canary judge's (services.yaml, alarms/verdict.yaml)
]
TEST_LISTENER = f"{ELB_ARN}:listener/app/doa-market-dev-alb/0/test"


@pytest.fixture(scope="module")
def catalog(repo_root: Path) -> Catalog:
    return load_catalog(repo_root / "services.yaml")


def view(catalog: Catalog, environment: str = "dev") -> ServiceView:
    """The service as a hook sees it (the same record the Lambda's catalog snapshot carries)."""
    return ServiceView.from_record(record_of(catalog.resolve(SERVICE, environment)))


def context(
    catalog: Catalog,
    fakes: FakeClients,
    environment: str = "dev",
    desired: int | None = 1,
    service: ServiceView | None = None,
) -> HookContext:
    deployment = DeploymentInfo("d-FAKE00001", f"doa-market-{environment}", SERVICE, "")
    ctx = HookContext(
        "BeforeAllowTraffic",
        deployment,
        service or view(catalog, environment),
        Deadline.from_remaining(30_000),
        VirtualTime(scale=1000.0),
        client=fakes.client,
    )
    # What CodeDeploy would say (tests/hooks/test_read_retries.py and the emulator cover those reads).
    ctx.routes = TrafficRoutes((), (TEST_LISTENER,), (f"{SERVICE}-blue", GREEN))
    ctx.replacement = ReplacementTaskSet(GREEN, desired)
    return ctx


def with_alarms(states: dict[str, str]) -> FakeClients:
    fakes = FakeClients()
    for name, state in states.items():
        fakes.cloudwatch.put_metric_alarm(AlarmName=name)
        fakes.cloudwatch.set_alarm_state(AlarmName=name, StateValue=state)
    return fakes


ALL_OK = dict.fromkeys(ALARMS, "OK")


@pytest.mark.parametrize(
    ("environment", "states", "passed", "detail"),
    [
        ("dev", ALL_OK, True, "5 of 5 alarms OK"),
        ("dev", {**ALL_OK, ALARMS[1]: "ALARM"}, False, f"in ALARM: {ALARMS[1]}"),
        # dev counts INSUFFICIENT_DATA and a missing alarm as OK; prod (insufficient_data: alarm) does not
        (
            "dev",
            {**ALL_OK, ALARMS[2]: "INSUFFICIENT_DATA"},
            True,
            f"ignored by policy: {ALARMS[2]} (INSUFFICIENT_DATA)",
        ),
        (
            "dev",
            {n: s for n, s in ALL_OK.items() if n != ALARMS[3]},
            True,
            f"ignored by policy: {ALARMS[3]} (missing)",
        ),
        (
            "prod",
            {**ALL_OK, ALARMS[2]: "INSUFFICIENT_DATA"},
            False,
            f"counted as ALARM by policy: {ALARMS[2]} (INSUFFICIENT_DATA)",
        ),
        ("prod", {n: s for n, s in ALL_OK.items() if n != ALARMS[3]}, False, f"{ALARMS[3]} (missing)"),
    ],
)
def test_alarm_gate_over_what_cloudwatch_says(
    catalog: Catalog, environment: str, states: dict[str, str], passed: bool, detail: str
) -> None:
    fakes = with_alarms(states)

    result = handlers.alarm_check(context(catalog, fakes, environment))

    assert (result.passed, result.name) == (passed, "alarms")
    assert detail in result.detail
    assert fakes.counter.calls["cloudwatch:DescribeAlarms"] == 1  # 4 names, one call


def test_an_alarm_read_refused_is_an_aws_error_naming_the_read(catalog: Catalog) -> None:
    fakes = FakeClients()

    def denied(**_: object) -> dict[str, object]:
        raise client_error("DescribeAlarms", "AccessDenied", "not allowed", 403)

    fakes.cloudwatch.describe_alarms = denied  # type: ignore[method-assign]

    with pytest.raises(AwsError, match=r"^reading CloudWatch alarms: AccessDenied: not allowed$"):
        handlers.alarm_check(context(catalog, fakes))


def test_the_bake_fails_on_an_alarm_and_says_which(catalog: Catalog) -> None:
    fakes = with_alarms({**ALL_OK, ALARMS[0]: "ALARM"})

    result = handlers.bake_check(context(catalog, fakes))

    assert not result.passed and result.name == "bake"
    assert f"in ALARM: {ALARMS[0]}" in result.detail


def health(*states: str) -> FakeClients:
    fakes = FakeClients()
    arn = fakes.elbv2.add_target_group(GREEN)
    fakes.elbv2.health[arn] = [
        {"Target": {"Id": f"10.0.0.{i}", "Port": 8080}, "TargetHealth": {"State": state}}
        for i, state in enumerate(states, start=1)
    ]
    return fakes


@pytest.mark.parametrize(
    ("states", "desired", "passed", "detail"),
    [
        (("healthy",), 1, True, f"{GREEN}: 1 healthy target(s), need at least 1"),
        (("healthy", "healthy"), None, True, f"{GREEN}: 2 healthy target(s), need at least 1"),  # catalog: 1
        (("healthy",), 3, False, f"{GREEN}: 1 healthy target(s), need at least 3"),
        (("healthy", "unhealthy"), 1, False, f"{GREEN}: not healthy: 10.0.0.2:8080 (unhealthy)"),
        ((), 1, False, f"{GREEN}: 0 healthy target(s), need at least 1"),
    ],
)
def test_green_target_health_over_what_elbv2_says(
    catalog: Catalog, states: tuple[str, ...], desired: int | None, passed: bool, detail: str
) -> None:
    result = handlers.green_health_check(context(catalog, health(*states), desired=desired))

    assert (result.passed, result.detail) == (passed, detail)


def test_a_missing_green_target_group_is_an_aws_error(catalog: Catalog) -> None:
    with pytest.raises(AwsError, match="TargetGroupNotFound"):
        handlers.green_health_check(context(catalog, FakeClients()))


def listener_fakes(dns_name: str) -> FakeClients:
    fakes = FakeClients()
    balancer = fakes.elbv2.add_load_balancer("doa-market-dev-alb", dns_name)
    fakes.elbv2.listeners[TEST_LISTENER] = {"Port": 18080, "LoadBalancerArn": balancer, "DefaultActions": []}
    return fakes


@pytest.mark.parametrize(
    ("listener_host", "addresses", "allowed"),
    [
        ("", {"alb.example": {"10.1.0.5"}}, "alb.example"),  # no override: the load balancer's DNS name
        (
            "internal.example",
            {"alb.example": {"10.1.0.5"}, "internal.example": {"10.1.0.5"}},
            "internal.example",
        ),
        ("rogue.example", {"alb.example": {"10.1.0.5"}, "rogue.example": {"10.9.9.9"}}, None),
        ("169.254.169.254", {"alb.example": {"10.1.0.5"}}, None),
    ],
)
def test_smoke_host_is_vetted_against_the_listeners_load_balancer(
    catalog: Catalog,
    monkeypatch: pytest.MonkeyPatch,
    listener_host: str,
    addresses: dict[str, set[str]],
    allowed: str | None,
) -> None:
    monkeypatch.setattr(
        smoke_hosts, "resolve_addresses", lambda host, port, timeout_s: frozenset(addresses.get(host, set()))
    )
    service = view(catalog)._replace(listener_host=listener_host or None)
    ctx = context(catalog, listener_fakes("alb.example"), service=service)

    if allowed is None:
        with pytest.raises(SmokeHostRefusedError, match=f"smoke host {listener_host} refused"):
            ctx.smoke_target("test")
        return
    target = ctx.smoke_target("test")
    assert (target.host, target.port, target.address) == (allowed, 18080, "10.1.0.5")

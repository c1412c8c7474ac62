"""The smoke host decision as a table: only the deployment group's load balancer, never metadata."""

from __future__ import annotations

import pytest

from hooks.smoke import listener_url
from hooks.smoke_hosts import decide_smoke_host, forbidden_address, normalize_host, resolve_addresses

ALB = "internal-doa-market-dev-alb-1234.ap-northeast-2.elb.amazonaws.com"
ALB_IPS = frozenset({"10.0.1.15", "10.0.2.27"})
DNS = {
    ALB: ALB_IPS,
    "doa-market-dev-alb.internal": frozenset({"10.0.1.15", "10.0.2.27"}),  # a private alias of the ALB
    "one-node.internal": frozenset({"10.0.2.27"}),
    "elsewhere.internal": frozenset({"10.0.9.9"}),
    "partly-elsewhere.internal": frozenset({"10.0.1.15", "10.0.9.9"}),
    "imds.evil.example": frozenset({"169.254.169.254"}),
    "imds6.evil.example": frozenset({"fd00:ec2::254"}),
    "mapped.evil.example": frozenset({"::ffff:169.254.169.254"}),
    "ecs-meta.evil.example": frozenset({"169.254.170.2"}),
    "linklocal6.evil.example": frozenset({"fe80::1"}),
    "127.0.0.1": frozenset({"127.0.0.1"}),
    "127.0.0.2": frozenset({"127.0.0.2"}),
}
SANDBOX = {"127.0.0.1": frozenset({"127.0.0.1"}), "127.0.0.2": frozenset({"127.0.0.2"})}


@pytest.mark.parametrize(
    ("balancer", "listener_host", "dns", "host", "allowed", "why"),
    [
        # no listener_host: the load balancer's own DNS name
        (ALB, None, DNS, ALB, True, "is the load balancer's DNS name"),
        (ALB.upper() + ".", None, DNS, ALB, True, "is the load balancer's DNS name"),
        (ALB, "", DNS, ALB, True, "is the load balancer's DNS name"),
        # an override must resolve within the load balancer's addresses
        (ALB, ALB, DNS, ALB, True, "is the load balancer's DNS name"),
        (
            ALB,
            "doa-market-dev-alb.internal",
            DNS,
            "doa-market-dev-alb.internal",
            True,
            "resolves to the load",
        ),
        (ALB, "one-node.internal", DNS, "one-node.internal", True, "resolves to the load balancer"),
        (ALB, "elsewhere.internal", DNS, "elsewhere.internal", False, "resolves to 10.0.9.9, not an address"),
        (ALB, "partly-elsewhere.internal", DNS, "partly-elsewhere.internal", False, "resolves to 10.0.9.9"),
        (ALB, "unknown.internal", DNS, "unknown.internal", False, "it does not resolve"),
        (ALB, "10.0.1.15", DNS, "10.0.1.15", True, "resolves to the load balancer"),
        (ALB, "10.0.9.9", DNS | {"10.0.9.9": frozenset({"10.0.9.9"})}, "10.0.9.9", False, "not an address"),
        (
            "alb.nowhere",
            "10.0.1.15",
            {"10.0.1.15": frozenset({"10.0.1.15"})},
            "10.0.1.15",
            False,
            "alb.nowhere does not resolve",
        ),
        # the sandbox: the load balancer is its routers on 127.0.0.1
        ("127.0.0.1", "127.0.0.1", SANDBOX, "127.0.0.1", True, "is the load balancer's DNS name"),
        ("127.0.0.1", None, SANDBOX, "127.0.0.1", True, "is the load balancer's DNS name"),
        ("127.0.0.1", "127.0.0.2", SANDBOX, "127.0.0.2", False, "resolves to 127.0.0.2, not an address"),
        # link-local and metadata: always refused, literal or resolved, even as the balancer's name
        (ALB, "169.254.169.254", DNS, "169.254.169.254", False, "it is a metadata endpoint"),
        (ALB, "169.254.170.2", DNS, "169.254.170.2", False, "it is a metadata endpoint"),
        (ALB, "[fd00:ec2::254]", DNS, "fd00:ec2::254", False, "it is a metadata endpoint"),
        (ALB, "169.254.10.20", DNS, "169.254.10.20", False, "it is a link-local address"),
        (ALB, "fe80::1%eth0", DNS, "fe80::1%eth0", False, "it is a link-local address"),
        (ALB, "::ffff:169.254.169.254", DNS, "169.254.169.254", False, "it is a metadata endpoint"),
        (
            ALB,
            "imds.evil.example",
            DNS,
            "imds.evil.example",
            False,
            "resolves to 169.254.169.254, a metadata",
        ),
        (
            ALB,
            "imds6.evil.example",
            DNS,
            "imds6.evil.example",
            False,
            "resolves to fd00:ec2::254, a metadata",
        ),
        (ALB, "mapped.evil.example", DNS, "mapped.evil.example", False, "a metadata endpoint"),
        (ALB, "ecs-meta.evil.example", DNS, "ecs-meta.evil.example", False, "a metadata endpoint"),
        (ALB, "linklocal6.evil.example", DNS, "linklocal6.evil.example", False, "a link-local address"),
        ("imds.evil.example", None, DNS, "imds.evil.example", False, "a metadata endpoint"),
        ("169.254.169.254", "169.254.169.254", DNS, "169.254.169.254", False, "a metadata endpoint"),
    ],
)
def test_decide_smoke_host(
    balancer: str,
    listener_host: str | None,
    dns: dict[str, frozenset[str]],
    host: str,
    allowed: bool,
    why: str,
) -> None:
    decision = decide_smoke_host(balancer, listener_host, dns)

    assert (decision.host, decision.allowed) == (host, allowed), decision.reason
    assert why in decision.reason
    if not allowed:
        assert decision.reason.startswith(f"smoke host {host} refused: ")


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("169.254.169.254", "a metadata endpoint"),
        ("fd00:ec2::254", "a metadata endpoint"),
        ("169.254.170.2", "a metadata endpoint"),
        ("169.254.0.1", "a link-local address"),
        ("fe80::abcd", "a link-local address"),
        ("::ffff:169.254.1.1", "a link-local address"),
        ("127.0.0.1", None),
        ("10.0.0.1", None),
        ("fd00:ec2::253", None),
        ("not-an-address", None),
    ],
)
def test_forbidden_address(address: str, why: str | None) -> None:
    assert forbidden_address(address) == why


@pytest.mark.parametrize(
    ("host", "normalized"),
    [
        ("ALB.Example.COM.", "alb.example.com"),
        ("[FD00:EC2::254]", "fd00:ec2::254"),
        ("127.0.0.1", "127.0.0.1"),
    ],
)
def test_normalize_host(host: str, normalized: str) -> None:
    assert normalize_host(host) == normalized


def test_resolve_addresses_of_a_literal_and_of_localhost() -> None:
    assert resolve_addresses("127.0.0.2", 80, 1.0) == frozenset({"127.0.0.2"})
    assert "127.0.0.1" in resolve_addresses("localhost", 80, 2.0)
    assert resolve_addresses("name.invalid", 80, 2.0) == frozenset()  # RFC 6761: never resolves


def test_an_ipv6_listener_url_has_brackets() -> None:
    assert listener_url("http", "::1", 8080, "/health") == "http://[::1]:8080/health"

"""Which host smoke checks may call: the deployment group's own load balancer, and never an address
that reaches the instance or task metadata service.

What ties a host to the deployment group: the listener ARNs of its ``targetGroupPairInfo`` ->
DescribeListeners -> the listener's load balancer -> DescribeLoadBalancers -> its ``DNSName``. With
no ``listener_host`` in the catalog, smoke checks call that DNS name. A ``listener_host`` (a private
DNS alias of the load balancer, or loopback in the sandbox) stays possible, but only when every
address it resolves to is an address of the load balancer's DNS name: a catalog cannot point
smoke checks at some other server. Link-local addresses (169.254.0.0/16, fe80::/10) and the
metadata endpoints (EC2 IMDS 169.254.169.254 and fd00:ec2::254, ECS task metadata 169.254.170.2)
are refused whatever named them, a literal or a name resolving to one.

``decide_smoke_host`` is pure (addresses already resolved); ``resolve_addresses`` is the thin
resolver, bounded by the time it is given (getaddrinfo itself takes no timeout).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass

LINK_LOCAL_NETWORKS = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html (IMDS, IPv4
# and IPv6); https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v2.html
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2")
)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        found = ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped  # ::ffff:169.254.169.254 reaches the same place
    return found


def forbidden_address(text: str) -> str | None:
    """Why an address may never be called (metadata, link-local), or None."""
    found = _address(text)
    if found is None:
        return None
    if found in METADATA_ADDRESSES:
        return "a metadata endpoint"
    if any(found in network for network in LINK_LOCAL_NETWORKS):
        return "a link-local address"
    return None


def normalize_host(host: str) -> str:
    """Lower case, without a trailing dot or IPv6 brackets; IP literals in their canonical form."""
    bare = host.strip().strip("[]").rstrip(".").lower()
    found = _address(bare)
    return str(found) if found is not None and "%" not in bare else bare


@dataclass(frozen=True)
class HostDecision:
    """The host smoke checks call, whether they may, and why."""

    host: str
    allowed: bool
    reason: str


def decide_smoke_host(
    load_balancer_dns: str, listener_host: str | None, addresses: Mapping[str, frozenset[str]]
) -> HostDecision:
    """May smoke checks call ``listener_host`` (or, without one, the load balancer's DNS name)?
    ``addresses`` maps each normalized name to what it resolved to (missing or empty: it did not)."""
    balancer = normalize_host(load_balancer_dns)
    host = normalize_host(listener_host) if listener_host else balancer

    def refuse(why: str) -> HostDecision:
        return HostDecision(host, False, f"smoke host {host} refused: {why}")

    literal = forbidden_address(host)
    if literal:
        return refuse(f"it is {literal}")
    # an IP literal is its own address; a name is what DNS answered
    resolved = frozenset({host}) if _address(host) is not None else addresses.get(host, frozenset())
    if not resolved:
        return refuse("it does not resolve")
    for address in sorted(resolved):
        why = forbidden_address(address)
        if why:
            return refuse(f"it resolves to {address}, {why}")
    if host == balancer:
        return HostDecision(host, True, f"{host} is the load balancer's DNS name")
    balancer_addresses = addresses.get(balancer, frozenset())
    if not balancer_addresses:
        return refuse(
            f"the load balancer's DNS name {balancer} does not resolve, so nothing ties it to {host}"
        )
    outside = sorted(resolved - balancer_addresses)
    if outside:
        return refuse(
            f"it resolves to {', '.join(outside)}, not an address of the deployment group's load balancer "
            f"{balancer} ({', '.join(sorted(balancer_addresses))})"
        )
    return HostDecision(host, True, f"{host} resolves to the load balancer {balancer}")


def resolve_addresses(host: str, port: int, timeout_s: float) -> frozenset[str]:
    """The addresses ``host`` resolves to (empty when it does not, or not within ``timeout_s``)."""
    if _address(host) is not None:
        return frozenset({normalize_host(host)})
    box: dict[str, frozenset[str]] = {}

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return
        box["found"] = frozenset(normalize_host(str(info[4][0])) for info in infos)

    worker = threading.Thread(target=lookup, name=f"resolve-{host}", daemon=True)
    worker.start()
    worker.join(max(0.0, timeout_s))
    return box.get("found", frozenset())

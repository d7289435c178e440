"""Pure rate limiting and circuit breaking (no framework imports; time is passed in)."""

from __future__ import annotations

import ipaddress
import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class TokenBucket:
    """`rate` requests per second on average, bursts of up to `burst`."""

    rate: float
    burst: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take one token; return 0 if allowed, else the seconds until one is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class RateLimiter:
    """One token bucket per key (client subject or address), oldest keys evicted beyond a cap."""

    def __init__(self, *, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def check(self, key: str, rate: float, burst: float, now: float) -> int:
        """0 if the request may pass, else whole seconds to wait (for `Retry-After`)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(rate=rate, burst=burst, tokens=burst, updated=now)
            self._buckets[key] = bucket
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        wait = bucket.take(now)
        return 0 if wait == 0 else max(1, math.ceil(wait))


def _parse_address(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address from a socket peer or a forwarded hop (`[v6]:port` and `v4:port` accepted)."""
    text = raw.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; networks are configured as IPv4.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[IPNetwork]
) -> str:
    """The client's address: `X-Forwarded-For` is believed only as far as trusted proxies added it.

    The socket peer is the client unless it is a trusted proxy; then the hops are read from the
    right (the nearest proxy's entry last) and the first one that is not a trusted proxy is the
    client. Entries left of it were written by the client and may be forged, so they are never
    used; an unreadable entry stops the walk at the proxy that passed it on.
    """
    if peer is None:
        return "unknown"
    current = _parse_address(peer)
    if current is None:
        return peer
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    address = current
    while any(address in network for network in trusted) and hops:
        hop = _parse_address(hops.pop())
        if hop is None:
            break
        address = hop
    return str(address)


def public_token(path: str, prefixes: Sequence[str]) -> str | None:
    """The token of a public survey-link path (the segment after its prefix), if any."""
    for prefix in prefixes:
        if path.startswith(prefix):
            token = path[len(prefix) :].partition("/")[0]
            return token or None
    return None


@dataclass
class CircuitBreaker:
    """Stops calling an upstream after repeated failures; one probe goes through after a pause."""

    failure_threshold: int = 5
    reset_seconds: float = 10.0
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False

    def allow(self, now: float) -> bool:
        """Whether a request may be sent now (closed, or open long enough for one probe)."""
        if self.opened_at is None:
            return True
        if now - self.opened_at >= self.reset_seconds and not self.probing:
            self.probing = True
            return True
        return False

    def retry_after(self, now: float) -> int:
        """Seconds until the breaker lets a probe through."""
        if self.opened_at is None:
            return 0
        return max(1, math.ceil(self.reset_seconds - (now - self.opened_at)))

    def record_success(self) -> None:
        """A good answer closes the breaker."""
        self.failures = 0
        self.opened_at = None
        self.probing = False

    def record_failure(self, now: float) -> None:
        """A failure counts toward opening; a failed probe re-opens for another pause."""
        self.failures += 1
        if self.probing or self.failures >= self.failure_threshold:
            self.opened_at = now
            self.probing = False

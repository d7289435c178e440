"""Pure rate limiting and circuit breaking (no framework imports; time is passed in)."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass


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

"""Token buckets and the circuit breaker, with time passed in."""

from gateway.limits import CircuitBreaker, RateLimiter


def test_burst_then_steady_rate() -> None:
    limiter = RateLimiter()
    allowed = [limiter.check("u1", rate=50, burst=100, now=0.0) for _ in range(101)]
    assert allowed[:100] == [0] * 100
    assert allowed[100] == 1  # Retry-After is at least one second
    assert limiter.check("u1", rate=50, burst=100, now=0.02) == 0  # one token refilled
    assert limiter.check("u2", rate=50, burst=100, now=0.02) == 0  # other clients unaffected


def test_retry_after_rounds_up_the_wait() -> None:
    limiter = RateLimiter()
    limiter.check("slow", rate=0.25, burst=1, now=0.0)
    assert limiter.check("slow", rate=0.25, burst=1, now=0.0) == 4


def test_oldest_keys_are_evicted_beyond_the_cap() -> None:
    limiter = RateLimiter(max_keys=2)
    for key in ("a", "b", "c"):
        limiter.check(key, rate=1, burst=1, now=0.0)
    assert limiter.check("a", rate=1, burst=1, now=0.0) == 0  # forgotten, so a fresh bucket


def test_breaker_opens_after_threshold_and_probes_after_pause() -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_seconds=10)
    for moment in (0.0, 1.0, 2.0):
        assert breaker.allow(moment)
        breaker.record_failure(moment)
    assert not breaker.allow(3.0)
    assert breaker.retry_after(3.0) == 9
    assert breaker.allow(12.0)  # one probe
    assert not breaker.allow(12.1)  # only one
    breaker.record_failure(12.5)  # probe failed: open again
    assert not breaker.allow(13.0)
    assert breaker.allow(22.6)
    breaker.record_success()
    assert breaker.allow(22.7) and breaker.allow(22.8)

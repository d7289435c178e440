"""Token buckets, the circuit breaker (time passed in) and the client address behind proxies."""

import ipaddress

from gateway.limits import CircuitBreaker, RateLimiter, client_address, public_token


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


TRUSTED = [ipaddress.ip_network("10.20.0.0/16"), ipaddress.ip_network("fd00::/8")]


def test_the_peer_is_the_client_unless_it_is_a_trusted_proxy() -> None:
    assert client_address("198.51.100.7", ["192.0.2.1"], TRUSTED) == "198.51.100.7"
    assert client_address("198.51.100.7", ["192.0.2.1"], []) == "198.51.100.7"
    assert client_address("10.20.0.5", ["192.0.2.1"], []) == "10.20.0.5"
    assert client_address(None, [], TRUSTED) == "unknown"


def test_forwarded_hops_are_read_from_the_right_past_trusted_proxies_only() -> None:
    assert client_address("10.20.0.5", ["198.51.100.7"], TRUSTED) == "198.51.100.7"
    # The client forged the leftmost entry; the trusted hops stop at the real client.
    assert (
        client_address("10.20.0.5", ["6.6.6.6, 198.51.100.7, 10.20.3.3"], TRUSTED) == "198.51.100.7"
    )
    # Several headers are one list, in order.
    assert client_address("10.20.0.5", ["203.0.113.9", "10.20.1.1"], TRUSTED) == "203.0.113.9"
    assert client_address("::ffff:10.20.0.5", ["203.0.113.9:5123"], TRUSTED) == "203.0.113.9"
    assert client_address("fd00::1", ["[2001:db8::7]:443"], TRUSTED) == "2001:db8::7"


def test_a_trusted_proxy_without_a_readable_hop_is_the_client() -> None:
    assert client_address("10.20.0.5", [], TRUSTED) == "10.20.0.5"
    assert client_address("10.20.0.5", ["not-an-address"], TRUSTED) == "10.20.0.5"
    assert client_address("10.20.0.5", ["10.20.0.9"], TRUSTED) == "10.20.0.9"


def test_public_token_is_the_segment_after_the_prefix() -> None:
    prefixes = ["/api/v1/survey-invitations/"]
    assert public_token("/api/v1/survey-invitations/abc", prefixes) == "abc"
    assert public_token("/api/v1/survey-invitations/abc/response", prefixes) == "abc"
    assert public_token("/api/v1/survey-invitations/", prefixes) is None
    assert public_token("/api/v1/customers/abc", prefixes) is None

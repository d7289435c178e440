"""Prometheus metrics shared by every service (labelled by service)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox rows published", ["service"])
CONSUMER_LAG = Gauge(
    "consumer_lag",
    "Messages behind the high watermark",
    ["service", "consumer", "topic", "partition"],
)
CONSUMER_JOINING = Gauge(
    "consumer_joining",
    "1 while a consumer waits for its group to assign it partitions",
    ["service", "consumer"],
)
CONSUMER_MESSAGES = Counter(
    "consumer_messages_total", "Messages consumed by outcome", ["service", "consumer", "outcome"]
)
DLQ_MESSAGES = Counter(
    "dlq_messages_total", "Messages sent to a dead-letter topic", ["service", "consumer", "topic"]
)

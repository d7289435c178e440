"""classification domain of customer-svc."""

"""managers domain of customer-svc."""

"""orders domain of customer-svc."""

"""visits domain of customer-svc."""

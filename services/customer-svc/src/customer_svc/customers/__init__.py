"""customers domain of customer-svc."""

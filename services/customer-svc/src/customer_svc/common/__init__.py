"""Helpers shared by the domains of customer-svc (time zone, paging, access scope)."""

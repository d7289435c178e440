"""RetailCare common library: platform mechanisms shared by every service (no domain rules)."""

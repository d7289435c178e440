"""Bulk import of shops, managers, assignments and historical orders (CSV and XLSX)."""

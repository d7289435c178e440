"""Benchmarks for spec/quality.md (P1-P7): `make bench`. Each measures its floor in the same run."""

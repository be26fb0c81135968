"""Benchmarks of Birge on the full stack (local PostgreSQL + Redis). Not tests: `make bench`."""

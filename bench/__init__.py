"""Benchmarks of the running service against raw-database baselines (see bench/README.md)."""

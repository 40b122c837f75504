"""Benchmarks of the inference service (not part of the installed package)."""

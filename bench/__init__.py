"""Benchmarks reachable through ``radreview bench NAME`` or ``python -m bench NAME`` (DESIGN §8)."""

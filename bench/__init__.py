"""Benchmarks reachable through ``radreview bench NAME`` (DESIGN §8)."""

"""Append-only review log, provenance, worklist, exports and dashboard metrics."""

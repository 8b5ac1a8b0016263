"""Segmenters, report generators, grounding parsers and context flags (records in ``records``)."""

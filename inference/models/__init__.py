"""Seed-model adapters, one plug-in per module (see :mod:`inference.models.base` and ``docs/adapters.md``)."""

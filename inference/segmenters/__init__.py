"""Segmenters: ``threshold-ct``, ``cxr-classical``, ``upload``, ``totalsegmentator`` (see the registry)."""

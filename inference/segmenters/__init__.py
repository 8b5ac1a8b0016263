"""Segmenters (``threshold-ct``, ``cxr-classical``, ``upload``, ``totalsegmentator``); see ``inference.registry``."""

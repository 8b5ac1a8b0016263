"""Study readers: DICOM (single images and series), NIfTI, PNG/JPEG, from files, folders or zips.

Use :func:`load_study` (or :func:`load_image` for the primary image). Readers are registered in
:mod:`viewer.io.registry` and chosen by sniffing content, not by file name. :func:`load_study_cached`
reads through the decoded-pixel cache (:mod:`viewer.io.pixel_cache`): memory-mapped, no decoding on a hit.
"""

from viewer.io.loader import load_image, load_study
from viewer.io.pixel_cache import PixelCache, cache_for, load_study_cached
from viewer.io.registry import Reader, default_readers

__all__ = ["PixelCache", "Reader", "cache_for", "default_readers", "load_image", "load_study",
           "load_study_cached"]

"""Study readers: DICOM (single images and series), NIfTI, PNG/JPEG, from files, folders or zips.

Use :func:`load_study` (or :func:`load_image` for the primary image). Readers are registered in
:mod:`viewer.io.registry` and chosen by sniffing content, not by file name.
"""

from viewer.io.loader import load_image, load_study
from viewer.io.registry import Reader, default_readers

__all__ = ["Reader", "default_readers", "load_image", "load_study"]

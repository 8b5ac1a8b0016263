"""DICOM tags the readers address by number, named once (``0xGGGGEEEE``, PS3.6 data dictionary).

The fast header scanner (:mod:`viewer.io.dicom_scan`) and the raw-element reads
(:mod:`viewer.io.rawtags`) work on tag numbers rather than pydicom keywords; these constants keep the
hex in one place.
"""

from __future__ import annotations

TRANSFER_SYNTAX_UID = 0x00020010
IMAGE_TYPE = 0x00080008
MODALITY = 0x00080060
IMAGE_POSITION_PATIENT = 0x00200032
IMAGE_ORIENTATION_PATIENT = 0x00200037
SERIES_INSTANCE_UID = 0x0020000E
SAMPLES_PER_PIXEL = 0x00280002
NUMBER_OF_FRAMES = 0x00280008
ROWS = 0x00280010
COLUMNS = 0x00280011
BITS_ALLOCATED = 0x00280100
BITS_STORED = 0x00280101
PIXEL_REPRESENTATION = 0x00280103
RESCALE_INTERCEPT = 0x00281052
RESCALE_SLOPE = 0x00281053
MODALITY_LUT_SEQUENCE = 0x00283000

PIXEL_GROUP = 0x7FE0
"""Group of the pixel data elements; it may also hold a group length (7FE0,0000) before them."""
FLOAT_PIXEL_DATA = 0x7FE00008
DOUBLE_FLOAT_PIXEL_DATA = 0x7FE00009
PIXEL_DATA = 0x7FE00010
PIXEL_DATA_TAGS = frozenset({PIXEL_DATA, FLOAT_PIXEL_DATA, DOUBLE_FLOAT_PIXEL_DATA})
"""The elements pydicom's ``stop_before_pixels`` stops at (``filereader._at_pixel_data``)."""

ITEM = 0xFFFEE000
ITEM_DELIMITATION = 0xFFFEE00D
SEQUENCE_DELIMITATION = 0xFFFEE0DD


def tag_bytes(tag: int, *, little_endian: bool = True) -> bytes:
    """The 4 bytes that start an element with ``tag`` in a file (group then element, each 16 bits)."""
    group, element = tag >> 16, tag & 0xFFFF
    if little_endian:
        return group.to_bytes(2, "little") + element.to_bytes(2, "little")
    return group.to_bytes(2, "big") + element.to_bytes(2, "big")

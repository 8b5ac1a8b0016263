"""Training-data and PACS exports of reviewed cases (DESIGN §6): one module per format.

Use :func:`export`; formats are listed in :data:`FORMATS`. Modules are imported lazily by name, so
``import storage.exports`` stays cheap (highdicom is only imported by the DICOM formats).
"""

from storage.exports.filters import ExportFilter
from storage.exports.registry import FORMATS, ExportResult, UnknownFormatError, export

__all__ = ["FORMATS", "ExportFilter", "ExportResult", "UnknownFormatError", "export"]

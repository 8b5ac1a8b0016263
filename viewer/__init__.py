"""Study loading, windowing, planes and overlays; pure functions, no Gradio import."""

from viewer.errors import MissingExtraError, StudyLoadError
from viewer.records import Image, Study

__all__ = ["Image", "MissingExtraError", "Study", "StudyLoadError"]

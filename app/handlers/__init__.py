"""Gradio adapters, one module per panel: :mod:`~app.handlers.worklist`, :mod:`~app.handlers.review`,
:mod:`~app.handlers.grounding`, :mod:`~app.handlers.generate`, :mod:`~app.handlers.export`.

Each handler takes the injected :class:`~app.services.Services` first (bound by :mod:`app.wiring`), then
component values, then ``gr.Request`` for the reviewer's login. Review-tab handlers return a
:class:`~app.handlers.view.ReviewView` (named fields, one per component) built from the state
re-read from storage, so a reload shows exactly what is stored. :func:`~app.handlers.common.user_errors`
is applied when :mod:`app.wiring` wires a handler, not here.
"""

from app.handlers.common import KEEP, Session, bind, ping, reviewer_of, user_errors
from app.handlers.view import ReviewView

__all__ = ["KEEP", "ReviewView", "Session", "bind", "ping", "reviewer_of", "user_errors"]

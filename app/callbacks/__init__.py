"""Callbacks of the review workspace: plain functions over an injected :class:`app.services.Services`.

One module per area (worklist, viewer, review, generate, export, dashboard, auth). None of them imports
gradio; :mod:`app.wiring` binds them to components and turns :class:`app.services.ServiceError` into
``gr.Error``.
"""

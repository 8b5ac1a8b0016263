"""Export and dashboard tabs."""

from typing import Any

import gradio as gr

from app.handlers.common import reviewer_of
from app.services import Services


def export(
    services: Services,
    fmt: str,
    reviewer: str,
    since: str,
    until: str,
    region: str | None,
    model: str,
    unsigned: bool,
    copy_images: bool,
    request: gr.Request,
) -> tuple[str, str]:
    """Run an export; returns the summary and the zip to download."""
    from app.callbacks import export as export_cb

    reviewer_of(services, request)
    req = export_cb.ExportRequest(
        fmt or "",
        reviewer or "",
        since or "",
        until or "",
        region or "",
        model or "",
        bool(unsigned),
        bool(copy_images),
    )
    _folder, archive, summary = export_cb.run_export(services, req, services.download_dir())
    return summary, str(archive)


def dashboard(services: Services, request: gr.Request) -> tuple[Any, ...]:
    """The dashboard charts."""
    from app.callbacks import dashboard as dash

    reviewer_of(services, request)
    return dash.charts(services)

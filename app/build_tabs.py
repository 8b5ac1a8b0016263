"""Layout of the Export and Dashboard tabs (wired to :mod:`app.callbacks.export` / ``dashboard``)."""

from __future__ import annotations

from typing import Any

from app.callbacks import export as export_cb
from app.services import Services


def export_dashboard_tabs(gr: Any, services: Services) -> dict[str, Any]:
    """Build both tabs inside the current ``gr.Tabs`` and return their components."""
    from app.handlers import bind, user_errors
    from app.handlers import export as h
    from inference.records import CT_REGIONS, CXR_REGIONS

    c: dict[str, Any] = {}
    regions = ["", *dict.fromkeys(CT_REGIONS + CXR_REGIONS)]
    with gr.Tab("Export", id="export"):
        with gr.Row():
            c["fmt"] = gr.Dropdown(
                list(export_cb.formats()), value="dpo", label="format", elem_id="rr-exp-fmt"
            )
            c["reviewer"] = gr.Textbox(label="reviewer")
            c["region"] = gr.Dropdown(regions, value="", label="region")
            c["model"] = gr.Textbox(label="model / generator")
        with gr.Row():
            c["since"] = gr.Textbox(label="from (YYYY-MM-DD)")
            c["until"] = gr.Textbox(label="until (YYYY-MM-DD)")
            c["unsigned"] = gr.Checkbox(False, label="include unsigned reviews")
            c["copy"] = gr.Checkbox(False, label="copy de-identified images")
        c["run"] = gr.Button("Export", variant="primary", elem_id="rr-exp-run")
        c["summary"] = gr.Markdown(elem_id="rr-exp-summary")
        c["file"] = gr.File(label="download", elem_id="rr-exp-file", interactive=False)
    with gr.Tab("Dashboard", id="dashboard"):
        c["dash_refresh"] = gr.Button("Refresh", elem_id="rr-dash-refresh")
        c["dash_summary"] = gr.Markdown()
        with gr.Row():
            c["by_region"] = gr.Plot(show_label=False)
            c["by_model"] = gr.Plot(show_label=False)
        with gr.Row():
            c["reasons"] = gr.Plot(show_label=False)
            c["seconds"] = gr.Plot(show_label=False)
        with gr.Row():
            c["edit_distance"] = gr.Plot(show_label=False)
            c["references"] = gr.Plot(show_label=False)
    c["run"].click(
        user_errors(bind(h.export, services)),
        [c[k] for k in ("fmt", "reviewer", "since", "until", "region", "model", "unsigned", "copy")],
        [c["summary"], c["file"]],
        concurrency_limit=1,
        concurrency_id="export",
    )
    c["dash_refresh"].click(
        user_errors(bind(h.dashboard, services)),
        None,
        [c["by_region"], c["by_model"], c["reasons"], c["seconds"], c["edit_distance"], c["references"],
         c["dash_summary"]],
    )
    return c

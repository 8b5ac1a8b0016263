"""Developer tool: browser screenshots of viewer figures over the demo studies (headless Chromium).

``python tools/screenshots.py [OUT_DIR]`` (default ``test-artifacts/viewer``) writes the demo studies
(``viewer.demo``), loads them through ``viewer.io``, draws the phantom's ground-truth regions, a heat map
and a box on each, and saves one Chromium screenshot per study and plane: what a reviewer would see, for
checking orientation by eye. Needs radreview installed with the ``bench`` package (``pip install -e .``)
and Debian's ``/usr/bin/chromium``; the HTML embeds plotly.js, so nothing is fetched.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from bench.common import CHROMIUM, CHROMIUM_ARGS

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from viewer.overlay import Overlays


def chromium_screenshot(fig: go.Figure, out_png: str | Path, size: tuple[int, int] = (640, 640),
                        chromium: str = CHROMIUM) -> Path:
    """Render a figure in headless Chromium and save a PNG screenshot.

    Raises:
        RuntimeError: When Chromium is missing or fails (the message has its stderr).
    """
    if not Path(chromium).exists():
        raise RuntimeError(f"{chromium} not found; install it with apt-get install -y chromium")
    out = Path(out_png).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "figure.html"
        fig.update_layout(width=size[0] - 16, height=size[1] - 16)  # the page body has an 8 px margin
        fig.write_html(html, include_plotlyjs=True, full_html=True)
        command = [chromium, "--headless", *CHROMIUM_ARGS, "--hide-scrollbars",
                   f"--user-data-dir={tmp}/profile", f"--screenshot={out}",
                   f"--window-size={size[0]},{size[1]}", "--virtual-time-budget=4000", html.as_uri()]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return out


def _blob(shape: tuple[int, ...], centre: tuple[int, ...], sigma: float) -> npt.NDArray[np.float32]:
    axes = [np.exp(-(((np.arange(n) - c) / sigma) ** 2)).astype(np.float32) for n, c in zip(shape, centre,
                                                                                                strict=True)]
    out = axes[0]
    for axis in axes[1:]:
        out = np.multiply.outer(out, axis)
    return out


def _nodule_box(index: tuple[int, ...], shape: tuple[int, ...], radius: int) -> tuple[float, ...]:
    lows = [max(0, c - radius) / n for c, n in zip(index, shape, strict=True)]
    highs = [min(n, c + radius + 1) / n for c, n in zip(index, shape, strict=True)]
    if len(shape) == 3:  # (k, i, j) → x = j, y = i, z = k
        return (lows[2], lows[1], lows[0], highs[2], highs[1], highs[0])
    return (lows[1], lows[0], highs[1], highs[0])


def demo_overlays(kind: str) -> Overlays:
    """Ground-truth regions of the demo phantom, a heat map on its nodule and a box around it."""
    from viewer.boxes import Box, BoxLayer
    from viewer.overlay import HeatLayer, MaskLayer, Overlays
    from viewer.phantom import ct_phantom, cxr_phantom

    p = ct_phantom() if kind == "ct" else cxr_phantom()
    lab = p.labels
    if kind == "ct":
        masks: dict[str, Any] = {"abdomen": lab["abdomen"], "lungs": lab["lung_right"] | lab["lung_left"],
                                 "pleura": lab["effusion"], "mediastinum": lab["mediastinum"],
                                 "heart": lab["heart"], "esophagus": lab["esophagus"],
                                 "trachea and bronchi": lab["trachea"], "thyroid": lab["thyroid"],
                                 "breasts": lab["breasts"], "bones": lab["bones"]}
    else:
        masks = {"lungs": lab["lung_right"] | lab["lung_left"], "mediastinum": lab["mediastinum"],
                 "heart": lab["heart"], "diaphragm": lab["diaphragm"], "bones": lab["ribs"]}
    shape = tuple(p.pixels.shape)
    heat = _blob(shape, p.nodule_index, sigma=4.0 if kind == "ct" else 20.0)
    box = Box(_nodule_box(p.nodule_index, shape, 3 if kind == "ct" else 14), "nodule in the left upper lobe",
              "lungs", selected=True, id="nodule")
    return Overlays(masks=MaskLayer.from_masks(masks, opacity=0.3, selected="heart"),
                    heat=HeatLayer.from_values(heat, threshold=0.3), boxes=BoxLayer((box,)))


def main(argv: list[str] | None = None) -> int:
    """Write demo screenshots into ``argv[0]`` (default ``test-artifacts/viewer``)."""
    from viewer.demo import make_demo_studies
    from viewer.figure import figure
    from viewer.io.loader import load_study
    from viewer.presets import get_preset

    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "test-artifacts/viewer")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_demo_studies(tmp)
        ct = load_study(paths["ct-dicom"]).primary
        ct_layers = demo_overlays("ct")
        nodule = demo_nodule_index()
        for plane, index in zip(("axial", "coronal", "sagittal"), nodule, strict=True):
            fig = figure(ct, plane, index, overlays=ct_layers)
            print(chromium_screenshot(fig, out / f"ct_{plane}.png"))
        fig = figure(ct, "axial", nodule[0], window=get_preset("lung").window())
        print(chromium_screenshot(fig, out / "ct_axial_lung_window_no_overlay.png"))
        for name in ("cxr-dx", "cxr-cr", "cxr-png"):
            image = load_study(paths[name]).primary
            fig = figure(image, overlays=demo_overlays("cxr"))
            print(chromium_screenshot(fig, out / f"{name.replace('-', '_')}.png"))
    return 0


def demo_nodule_index() -> tuple[int, int, int]:
    """SPL index of the CT phantom's nodule (slices through it show every overlay)."""
    from viewer.phantom import ct_phantom

    k, i, j = ct_phantom(noise_hu=0.0).nodule_index
    return (k, i, j)


if __name__ == "__main__":
    raise SystemExit(main())

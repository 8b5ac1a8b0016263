"""``radreview bench render``: one 512² slice with mask + box + heat-map overlays to a plotly figure.

Ours: ``viewer.figure.figure`` (plane cut + square-pixel resampling, windowing, compositing, PNG encode,
figure build), no cache, over random slices in all three planes of a 300×512×512 phantom volume
(0.7 × 0.7 × 1.0 mm). Floor, same run, same slices: a bare numpy window of the raw plane
(``np.clip((s − lo) · k, 0, 255).astype(uint8)``). The per-stage breakdown is reported as extra
measures (same floor) so the ratio can be read honestly: PNG encoding alone is several times the floor.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.common import percentile, result

_PLANES = ("axial", "coronal", "sagittal")
_NORMAL = {"axial": 0, "coronal": 1, "sagittal": 2}


def _volume(quick: bool) -> tuple[Any, Any]:
    """The phantom as an Image plus its three overlays (lungs/heart/bones masks, heat map, 3D box)."""
    from viewer.boxes import Box, BoxLayer
    from viewer.overlay import HeatLayer, MaskLayer, Overlays
    from viewer.phantom import ct_phantom
    from viewer.planes import spl_affine
    from viewer.records import Image

    base_shape, repeat = ((8, 128, 128), 5) if quick else ((60, 512, 512), 5)
    in_plane = 0.7 * 512 / base_shape[1]
    p = ct_phantom(shape=base_shape, spacing_mm=(5.0, in_plane, in_plane))
    spacing = (5.0 / repeat, in_plane, in_plane)  # 300 slices of 1 mm from 60 of 5 mm
    pixels = np.repeat(p.pixels, repeat, axis=0)
    masks = {"lungs": np.repeat(p.labels["lung_right"] | p.labels["lung_left"], repeat, axis=0),
             "heart": np.repeat(p.labels["heart"], repeat, axis=0),
             "bones": np.repeat(p.labels["bones"], repeat, axis=0)}
    centre = (c * r for c, r in zip(p.nodule_index, (repeat, 1, 1), strict=True))
    gz, gy, gx = (np.exp(-(((np.arange(n) - c) / (n / 8.0)) ** 2)).astype(np.float32)
                  for n, c in zip(pixels.shape, centre, strict=True))
    heat = gz[:, None, None] * gy[None, :, None] * gx[None, None, :]  # a Gaussian blob on the nodule
    image = Image(pixels=pixels, spacing_mm=spacing, affine=spl_affine(spacing), modality="CT",
                  photometric="MONOCHROME2", default_window=None, source="phantom", sha256="bench")
    box = Box((0.6, 0.25, 0.5, 0.85, 0.55, 0.95), "nodule in the left upper lobe", "lungs", selected=True)
    overlays = Overlays(masks=MaskLayer.from_masks(masks, ref="bench-masks", selected="heart"),
                        heat=HeatLayer.from_values(heat, vmin=0.0, vmax=1.0, ref="bench-heat"),
                        boxes=BoxLayer((box,)))
    return image, overlays


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, value): CPU time is what the work costs when the
    machine is shared; wall time is what the user waits."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def _stages(image: Any, overlays: Any, plane: str, index: int) -> dict[str, float]:
    """CPU seconds per stage of the figure path for one slice (mirrors ``viewer.figure.figure``)."""
    from viewer.boxes import place_boxes
    from viewer.figure import build_figure, encode_png
    from viewer.overlay import composite
    from viewer.planes import extract_plane
    from viewer.windowing import display_window, window_for

    window = window_for(image)
    times: dict[str, float] = {}
    _, times["plane"], cut = _timed(lambda: extract_plane(image, plane, index))
    _, times["window"], gray = _timed(lambda: display_window(image, window, pixels=cut.pixels))
    _, times["composite"], rgb = _timed(lambda: composite(gray, cut, overlays))
    _, times["png"], uri = _timed(lambda: encode_png(rgb))
    _, times["figure"], fig = _timed(lambda: build_figure(cut, uri, window.label(),
                                                          placed=place_boxes(cut, overlays.boxes), unit="HU"))
    _, times["to_json"], _ = _timed(fig.to_json)
    return times


def _floor(image: Any, plane: str, index: int) -> tuple[float, float]:
    """Best of 3 (wall, CPU) seconds of a bare numpy soft-tissue window of the raw plane."""
    raw = np.take(image.pixels, index, axis=_NORMAL[plane])
    lo, scale = np.float32(40 - 200), np.float32(255 / 400)
    runs = [_timed(lambda: np.clip((raw - lo) * scale, 0, 255).astype(np.uint8))[:2] for _ in range(3)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Render benchmark: p50/p95 of the full figure path vs the bare window op (wall and CPU time),
    plus a per-stage CPU breakdown and the cost of a cache hit."""
    from viewer.cache import figure_cache, figure_cached
    from viewer.figure import figure

    image, overlays = _volume(quick)
    rng = np.random.default_rng(0)
    n = 12 if quick else 50
    picks = [(str(plane), int(rng.integers(0, image.shape[_NORMAL[str(plane)]])))
             for plane in rng.choice(_PLANES, size=n)]
    figure(image, "axial", 0, overlays=overlays)  # warm-up: imports, LUTs
    wall: dict[str, list[float]] = {p: [] for p in _PLANES}
    cpu: dict[str, list[float]] = {p: [] for p in _PLANES}
    floor_wall, floor_cpu = [], []
    stages: dict[str, list[float]] = {}
    load_before = os.getloadavg()[0]
    for plane, index in picks:
        w, c, _ = _timed(functools.partial(figure, image, plane, index, overlays=overlays))
        wall[plane].append(w)
        cpu[plane].append(c)
        fw, fc = _floor(image, plane, index)
        floor_wall.append(fw)
        floor_cpu.append(fc)
        for stage, seconds in _stages(image, overlays, plane, index).items():
            stages.setdefault(stage, []).append(seconds)
    all_wall = [t for values in wall.values() for t in values]
    all_cpu = [t for values in cpu.values() for t in values]
    common = {"volume": "x".join(str(s) for s in image.shape), "overlays": "3 masks + heat map + 3D box",
              "cache": "off", "quick": quick, "cores": os.cpu_count(),
              "loadavg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)]}
    out = []
    for q in (50, 95):
        out.append(result(f"render.figure_p{q}", percentile(all_wall, q), percentile(floor_wall, q), n,
                          statistic=f"p{q}", clock="wall", **common))
        out.append(result(f"render.figure_cpu_p{q}", percentile(all_cpu, q), percentile(floor_cpu, q), n,
                          statistic=f"p{q}", clock="process CPU", **common))
    for plane in _PLANES:
        if cpu[plane]:
            out.append(result(f"render.figure_cpu_p95.{plane}", percentile(cpu[plane], 95),
                              percentile(floor_cpu, 95), len(cpu[plane]), statistic="p95",
                              clock="process CPU", **common))
    for stage, values in stages.items():
        note = "not part of figure(); Gradio pays it when sending" if stage == "to_json" else ""
        out.append(result(f"render.stage_cpu.{stage}_p50", percentile(values, 50), percentile(floor_cpu, 50),
                          n, statistic="p50", clock="process CPU", note=note, **common))
    cache = figure_cache()
    plane, index = picks[0]
    figure_cached(cache, image, plane, index, overlays=overlays)
    hits = [_timed(lambda: figure_cached(cache, image, plane, index, overlays=overlays))[0]
            for _ in range(20)]
    out.append(result("render.cached_hit_p50", percentile(hits, 50), percentile(floor_wall, 50), len(hits),
                      statistic="p50", clock="wall", **{**common, "cache": "hit"}))
    return out

"""The phantom studies and page helpers of :mod:`tests.e2e.test_viewer_canvas`: the login, the phantom CT
and the 2k CR written to disk, its draft, and reading the viewer's canvas and snapshot back."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

USER, PASSWORD = "carol", "viewer-pass-1"
SHAPE, SPACING = (40, 128, 128), (2.0, 0.5, 0.5)


def phantom() -> np.ndarray:
    """The marker phantom (SPL ``[k, i, j]`` HU)."""
    hu = np.full(SHAPE, -1000.0, dtype=np.float32)
    for k in range(SHAPE[0]):
        hu[k, 4:20, 4:20] = 20.0 * k
    hu[:, 60:70, 14:114] = 300.0
    return hu


def phantom_draft(case_id: str) -> Any:
    from inference.artefacts import content_ref
    from inference.records import Draft, Finding, Grounding, Phrase, Provenance, Section

    mask = np.zeros(SHAPE, dtype=bool)
    mask[20:30, 80:100, 80:100] = True
    ref = content_ref(mask)
    box = Finding("f1", "lungs", "A nodule.", (Phrase("nodule", (2, 8), Grounding(
        boxes=((0.5, 0.1, 0.5, 0.6, 0.2, 0.6),))),))
    masked = Finding("f2", "pleura", "Pleural thickening.", (Phrase("thickening", (8, 18), Grounding(
        mask_ref=ref, source="segmenter")),))
    prov = Provenance(generator="builtin", model_id="built-in", created_at="2026-11-30T00:00:00+00:00")
    sections = (Section("lungs", (box,)), Section("pleura", (masked,)))
    return Draft(case_id, sections, None, prov, artefacts={ref: mask})


CR_SHAPE = (2000, 1800)


def write_cr(path: Path) -> None:
    """A 2k 16-bit MONOCHROME1 CR with window C 15000 / W 30000: background 30000, a 0 block at rows
    100–299, cols 100–399, a 10000 block at rows 1000–1199, cols 1000–1299; pixel spacing 0.15 mm."""
    from viewer.demo import _CR_SOP, _dataset, _pixels, _uid

    values = np.full(CR_SHAPE, 30000, dtype=np.uint16)
    values[100:300, 100:400] = 0
    values[1000:1200, 1000:1300] = 10000
    ds = _dataset(_CR_SOP, _uid("CR", "e2e-2k"), "CR", "cxr")
    ds.SeriesInstanceUID, ds.SeriesNumber, ds.InstanceNumber = _uid("CR", "e2e-series"), 1, 1
    ds.ViewPosition, ds.PatientOrientation = "PA", ["L", "F"]
    ds.ImagerPixelSpacing = [0.15, 0.15]
    ds.WindowCenter, ds.WindowWidth = 15000, 30000
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    _pixels(ds, values, 16, "MONOCHROME1")
    ds.save_as(path, enforce_file_format=True)


def open_case(page: Any, finding: str = "", case: str = "ph1") -> None:
    page.fill("#rr-t-case textarea, #rr-t-case input", case)
    page.fill("#rr-t-finding textarea, #rr-t-finding input", finding)
    page.click("#rr-t-open")
    page.wait_for_function("(c) => { const s = window.rrViewer && rrViewer.snapshot();"
                           " return s && s.case === c && s.loaded === s.slices && s.slices > 0; }", arg=case)


def snap(page: Any) -> dict[str, Any]:
    return page.evaluate("() => rrViewer.snapshot()")  # type: ignore[no-any-return]


def settle(page: Any) -> None:
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def pixel(page: Any, u: float, v: float) -> int:
    """The red byte on the canvas at display pixel centre ``(u, v)`` of the current plane."""
    settle(page)
    return int(page.evaluate("""([u, v]) => {
        const s = rrViewer.snapshot(), t = s.transform;
        const c = document.querySelector('[data-testid=rr-canvas]');
        const x = Math.floor(t.ox + (u + 0.5) * t.pu), y = Math.floor(t.oy + (v + 0.5) * t.pv);
        return c.getContext('2d').getImageData(x, y, 1, 1).data[0]; }""", [u, v]))


def screen(page: Any, u: float, v: float) -> tuple[float, float]:
    """Page coordinates of display point ``(u, v)``."""
    return tuple(page.evaluate("""([u, v]) => {  // noqa
        const s = rrViewer.snapshot(), t = s.transform;
        const r = document.querySelector('[data-testid=rr-canvas]').getBoundingClientRect();
        return [r.left + t.ox + u * t.pu, r.top + t.oy + v * t.pv]; }""", [u, v]))


def by_hand(x: float, center: float, width: float) -> int:
    """DICOM PS3.3 C.11.2.1.2 LINEAR, rounded half up."""
    y = ((x - (center - 0.5)) / (width - 1) + 0.5) * 255
    return int(np.floor(min(max(y, 0.0), 255.0) + 0.5))


def set_window(page: Any, center: float, width: float) -> None:
    page.fill(".rr-vw-num[title^='window center']", str(center))
    page.fill(".rr-vw-num[title='window width']", str(width))
    page.press(".rr-vw-num[title='window width']", "Enter")


def marker_slice(page: Any) -> int:
    """Which slice the canvas shows, from its marker patch under window C 400 / W 801."""
    value = pixel(page, 12, 12)
    table = {by_hand(20.0 * k, 400, 801): k for k in range(SHAPE[0])}
    assert value in table, value
    return table[value]


def actions(services: Any) -> list[Any]:
    from app.callbacks.review import review_state

    return list(review_state(services, "ph1").actions)


def wait_actions(services: Any, n: int, timeout: float = 20.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = actions(services)
        if len(got) >= n:
            return got
        time.sleep(0.1)
    raise AssertionError(f"expected {n} stored actions, have {len(actions(services))}")

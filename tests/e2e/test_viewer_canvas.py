"""The client-side viewer in headless Debian Chromium at 1920×1080 against a real server (login on).

The page is the viewer's own bare page (:func:`app.viewer_bridge.standalone_app`: the viewer, a case box
and a finding box), so these tests do not depend on the workspace layout. The study is a phantom CT
written as NIfTI: 40 axial slices of 128², spacing 2.0 × 0.5 × 0.5 mm; slice ``k`` carries a marker
patch ``[4:20, 4:20]`` of ``20·k`` HU; a 300 HU bar spans columns 14–113 (100 px × 0.5 mm = 50 mm).
Rendered values are read back from the canvas pixels and compared with numbers computed by hand.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.e2e.canvas_steps import (
    PASSWORD,
    SHAPE,
    SPACING,
    USER,
    actions,
    by_hand,
    marker_slice,
    open_case,
    phantom,
    phantom_draft,
    pixel,
    screen,
    set_window,
    settle,
    snap,
    wait_actions,
    write_cr,
)
from tests.e2e.conftest import require_viewer_bundle

pytestmark = pytest.mark.e2e
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"


@pytest.fixture(scope="module")
def viewer_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """The bare viewer page on a free loopback port with one login, and its services."""
    require_viewer_bundle()
    import uvicorn

    from app.callbacks.worklist import register
    from app.server import free_port
    from app.services import Services
    from app.viewer_bridge import standalone_app
    from storage.repository import Repository
    from viewer.demo import _nifti
    from viewer.io import load_study

    root = tmp_path_factory.mktemp("viewer-e2e")
    data = root / "data"
    (data / "studies").mkdir(parents=True)
    path = data / "studies" / "phantom.nii.gz"
    _nifti(path, phantom(), SPACING)
    repo = Repository.open(f"sqlite:///{root / 'rr.db'}", data)
    services = Services(repo=repo, data_dir=data)
    register(services, load_study(path, case_id="ph1"), path)
    cr = data / "studies" / "cr.dcm"
    write_cr(cr)
    register(services, load_study(cr, case_id="cr1"), cr)
    repo.add_reviewer(USER)
    repo.save_draft(phantom_draft("ph1"))
    np.testing.assert_array_equal(services.study("ph1").primary.pixels, phantom())  # the reader agrees
    port = free_port()
    config = uvicorn.Config(standalone_app(services, auth=[(USER, PASSWORD)]), host="127.0.0.1", port=port,
                            log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", services
    server.should_exit = True
    thread.join(timeout=10)
    repo.close()


@pytest.fixture()
def view(browser, viewer_server):  # type: ignore[no-untyped-def]
    """A logged-in 1920×1080 page with the phantom open (finding given by ``open_case``)."""
    url, _ = viewer_server
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url + "/")
    page.fill("input[type=text]", USER)
    page.fill("input[type=password]", PASSWORD)
    page.click("button:has-text('Login')")
    page.wait_for_selector("#rr-t-case")
    yield page
    context.close()


def test_keys_and_wheel_show_the_right_slice(view: Any) -> None:
    open_case(view)
    set_window(view, 400, 801)
    assert snap(view)["slice"] == 20  # the middle slice
    assert marker_slice(view) == 20
    for _ in range(7):
        view.keyboard.press("ArrowUp")
        time.sleep(0.03)
    assert snap(view)["slice"] == 27 and marker_slice(view) == 27  # each press exactly once
    view.click(".rr-vw-check input[data-show=boxes]")  # a checkbox had the focus last: keys still work
    view.click(".rr-vw-check input[data-show=boxes]")
    view.keyboard.press("ArrowDown")
    view.keyboard.press("PageDown")
    assert marker_slice(view) == 16
    x, y = screen(view, 64, 100)
    view.mouse.move(x, y)
    for _ in range(3):
        view.mouse.wheel(0, -100)
        time.sleep(0.05)
    assert marker_slice(view) == 19
    view.mouse.wheel(0, 100)
    assert marker_slice(view) == 18
    view.wait_for_function("() => new URLSearchParams(location.search).get('slice') === '18'")
    assert "plane=axial" in view.url and "case=ph1" in view.url
    view.screenshot(path=str(ARTIFACTS / "viewer-01-slice18.png"))


def test_window_level_renders_hand_computed_values(view: Any) -> None:
    open_case(view)
    # the file window of the NIfTI (cal_min −160, cal_max 240) → C 40 W 400
    assert snap(view)["window"]["c"] == pytest.approx(40) and snap(view)["window"]["w"] == pytest.approx(400)
    assert pixel(view, 50, 65) == by_hand(300, 40, 400) == 255  # the bar
    assert pixel(view, 50, 30) == 0  # air
    set_window(view, 200, 300)
    assert pixel(view, 50, 65) == by_hand(300, 200, 300)  # ((300 − 199.5)/299 + .5)·255 = 213.2 → 213
    assert pixel(view, 12, 12) == by_hand(400, 200, 300)  # slice 20's marker: 400 HU → 255
    view.keyboard.press("w")  # from a typed window: the first preset, the file's
    assert snap(view)["window"]["name"] == "file"
    view.keyboard.press("w")  # then the next: soft tissue 40/400
    assert snap(view)["window"]["name"] == "soft tissue"
    # right-button drag: +100 px right → width + 100·sens, sens = (max − min)/1024 = 1780/1024 HU per px
    x, y = screen(view, 64, 100)
    view.mouse.move(x, y)
    view.mouse.down(button="right")
    view.mouse.move(x + 100, y, steps=5)
    view.mouse.up(button="right")
    w = snap(view)["window"]
    assert w["w"] == pytest.approx(400 + 100 * 1780 / 1024, abs=0.5) and w["c"] == pytest.approx(40, abs=0.5)
    assert pixel(view, 50, 65) == by_hand(300, w["c"], w["w"])


def test_ruler_measures_the_50_mm_bar(view: Any) -> None:
    open_case(view)
    settle(view)
    # find the bar's edges on the rendered canvas row through its middle (v = 65)
    edges = view.evaluate("""() => {
        const s = rrViewer.snapshot(), t = s.transform;
        const c = document.querySelector('[data-testid=rr-canvas]');
        const y = Math.floor(t.oy + 65.5 * t.pv);
        const row = c.getContext('2d').getImageData(0, y, c.width, 1).data;
        let first = -1, last = -1;
        for (let x = 0; x < c.width; x++) if (row[4 * x] > 200) { if (first < 0) first = x; last = x; }
        const r = c.getBoundingClientRect();
        return [r.left + first, r.left + last + 1, r.top + y + 0.5]; }""")
    view.keyboard.press("m")
    view.mouse.move(edges[0], edges[2])
    view.mouse.down()
    view.mouse.move(edges[1], edges[2], steps=8)
    view.mouse.up()
    mm = snap(view)["measureMm"]
    assert 49.0 <= mm <= 51.0, mm
    assert "ruler" in view.inner_text("[data-testid=rr-readout]")
    view.screenshot(path=str(ARTIFACTS / "viewer-02-ruler.png"))


def test_probe_clicks_change_no_grounding_and_read_the_stored_value(view: Any, viewer_server: Any) -> None:
    _, services = viewer_server
    open_case(view, "f1")
    k = snap(view)["slice"]
    assert k == 22  # selecting the finding jumped to its box: z centre 0.55 · 40 slices → slice 22
    before = len(actions(services))
    for u, v in ((50, 65), (90, 20)):
        x, y = screen(view, u + 0.5, v + 0.5)
        view.mouse.click(x, y)
        time.sleep(0.2)
    assert snap(view)["probed"]["value"] == -1000
    view.mouse.click(*screen(view, 50.5, 65.5))
    assert snap(view)["probed"]["value"] == 300 and snap(view)["probed"]["voxel"] == [k, 65, 50]
    assert "300 HU" in view.inner_text("[data-testid=rr-readout]")
    time.sleep(0.5)
    assert len(actions(services)) == before  # nothing stored
    assert snap(view)["tool"] == "probe"  # selecting a finding armed no editing tool


def test_box_drag_and_brush_stroke_are_stored_and_undone(view: Any, viewer_server: Any) -> None:
    _, services = viewer_server
    open_case(view, "f1")
    view.keyboard.press("Home")  # slice 0: the nodule box (z 0.5–0.6) is not on it: a new box is drawn
    n0 = len(actions(services))
    view.keyboard.press("b")
    x0, y0 = screen(view, 32, 32)
    x1, y1 = screen(view, 64, 48)
    view.mouse.move(x0, y0)
    view.mouse.down()
    view.mouse.move(x1, y1, steps=6)
    view.mouse.up()
    box_action = wait_actions(services, n0 + 1)[-1]
    assert (box_action.kind, box_action.finding_id, box_action.reviewer) == ("move_box", "f1", USER)
    box = box_action.after_grounding.boxes[0]
    # x = j/128, y = i/128, z = the slab of slice 0 = [0, 1/40]
    assert box == pytest.approx((32 / 128, 32 / 128, 0.0, 64 / 128, 48 / 128, 1 / 40), abs=0.6 / 128)
    # brush on the masked finding f2, slice 25, along row i = 100 from j = 30 to 60, radius 5 mm = 10 px
    view.fill("#rr-t-finding textarea, #rr-t-finding input", "f2")
    view.click("#rr-t-open")
    view.wait_for_function("() => rrViewer.snapshot().selected === 'f2' && !rrViewer.snapshot().pending")
    view.keyboard.press("g")
    for _ in range(snap(view)["slice"], 25):
        view.keyboard.press("ArrowUp")
    assert snap(view)["slice"] == 25
    a, b = screen(view, 30.5, 100.5), screen(view, 60.5, 100.5)
    view.mouse.move(*a)
    view.mouse.down()
    view.mouse.move(*b, steps=12)
    view.mouse.up()
    mask_action = wait_actions(services, n0 + 2)[-1]
    assert (mask_action.kind, mask_action.finding_id) == ("edit_mask", "f2")
    new = np.asarray(services.repo.load_artefact(mask_action.after_grounding.mask_ref))
    old = np.asarray(services.repo.load_artefact(mask_action.before_grounding.mask_ref))
    added = new & ~old
    assert added[25, 100, 30:61].all() and not added[24].any() and not added[26].any()
    assert not added[25, 88, 45] and not added[25, 112, 45]  # 12 px off the path: outside the 10 px brush
    # area ≈ π·10² + 2·10·30 = 914 px
    assert 750 < int(added.sum()) < 1100, int(added.sum())
    view.screenshot(path=str(ARTIFACTS / "viewer-03-brush.png"))
    view.wait_for_function("() => !rrViewer.snapshot().pending")
    view.keyboard.press("Control+z")
    undo1 = wait_actions(services, n0 + 3)[-1]
    assert (undo1.kind, undo1.finding_id) == ("edit_mask", "f2")
    assert undo1.after_grounding.mask_ref == mask_action.before_grounding.mask_ref
    view.wait_for_function("() => !rrViewer.snapshot().pending")
    view.keyboard.press("Control+z")
    undo2 = wait_actions(services, n0 + 4)[-1]
    assert (undo2.kind, undo2.finding_id) == ("move_box", "f1")
    assert undo2.after_grounding.boxes == ((0.5, 0.1, 0.5, 0.6, 0.2, 0.6),)
    assert len(actions(services)) == n0 + 4  # appended, nothing overwritten


def test_planes_keep_the_focus_point_and_reference_lines_move(view: Any) -> None:
    open_case(view)
    set_window(view, 400, 801)
    view.mouse.click(*screen(view, 12.5, 12.5))  # probe the marker at slice 20: cursor (20, 12, 12)
    view.keyboard.press("2")  # coronal through i = 12
    s = snap(view)
    assert (s["plane"], s["slice"], s["cursor"]) == ("coronal", 12, [20, 12, 12])
    # the reference lines cross at the cursor: read the pixels with them off
    line_px = pixel(view, 12, 19)
    view.click(".rr-vw-check input[data-show=lines]")
    # coronal display: u = j, v = nk − 1 − k; pixel (12, 39 − 20) is the marker of slice 20: 400 HU
    assert pixel(view, 12, 19) == by_hand(400, 400, 801) != line_px
    assert pixel(view, 8, 19) == by_hand(400, 400, 801)
    assert pixel(view, 8, 18) == by_hand(420, 400, 801)  # slice 21 one row up (superior)
    info = s["info"]
    assert info["nu"] * info["su"] == pytest.approx(64.0) and info["nv"] * info["sv"] == 80.0  # mm
    assert s["transform"]["pu"] / s["info"]["su"] == pytest.approx(s["transform"]["pv"] / s["info"]["sv"])
    view.keyboard.press("3")
    assert (snap(view)["plane"], snap(view)["slice"]) == ("sagittal", 12)
    view.screenshot(path=str(ARTIFACTS / "viewer-04-sagittal.png"))
    view.keyboard.press("1")
    assert snap(view)["slice"] == 20
    assert json.loads(json.dumps(snap(view)["cursor"])) == [20, 12, 12]


def test_pixel_route_answers_401_without_session(viewer_server: Any) -> None:
    import urllib.error
    import urllib.request

    url, _ = viewer_server
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url + "/rr-api/pixels/ph1/0/0", timeout=10)
    assert err.value.code == 401


def test_a_2k_monochrome1_cr_windows_right(view: Any) -> None:
    open_case(view, case="cr1")
    s = snap(view)
    assert (s["plane"], s["window"]["c"], s["window"]["w"]) == ("image", 15000, 30000)
    assert s["info"]["nu"] == 1800 and s["info"]["nv"] == 2000
    # MONOCHROME1: displayed = 255 − LINEAR(x); x = 30000 → 255 − 255 = 0, x = 0 → 255 − 0 = 255,
    # x = 10000 → ((10000 − 14999.5)/29999 + .5)·255 = 85.0 → 85 → 255 − 85 = 170
    assert pixel(view, 900, 600) == 255 - by_hand(30000, 15000, 30000) == 0
    assert pixel(view, 250, 200) == 255 - by_hand(0, 15000, 30000) == 255
    assert pixel(view, 1150, 1100) == 255 - by_hand(10000, 15000, 30000) == 170
    # the W/L inputs span the image's own values (0…30000), not CT's
    assert view.get_attribute(".rr-vw-num[title='window width']", "max") == "60000"
    # a right-button drag moves W/L by (30000 − 0)/1024 ≈ 29.3 per px: the image does not go flat grey
    x, y = screen(view, 900, 1000)
    view.mouse.move(x, y)
    view.mouse.down(button="right")
    view.mouse.move(x + 40, y + 20, steps=4)
    view.mouse.up(button="right")
    w = snap(view)["window"]
    assert w["w"] == pytest.approx(30000 + 40 * 30000 / 1024, abs=1) and w["c"] == pytest.approx(
        15000 + 20 * 30000 / 1024, abs=1)
    assert pixel(view, 1150, 1100) == 255 - by_hand(10000, w["c"], w["w"])
    # the ruler in mm on the 0 block's width: 300 px × 0.15 mm = 45 mm
    view.keyboard.press("m")
    a, b = screen(view, 100, 200), screen(view, 400, 200)
    view.mouse.move(*a)
    view.mouse.down()
    view.mouse.move(*b, steps=5)
    view.mouse.up()
    assert snap(view)["measureMm"] == pytest.approx(45.0, abs=0.5)
    view.screenshot(path=str(ARTIFACTS / "viewer-05-cr2k.png"))


def test_zoom_and_pan_persist_while_scrolling_cine_and_reset(view: Any) -> None:
    open_case(view)
    x, y = screen(view, 64, 64)
    view.mouse.move(x, y)
    view.keyboard.down("Control")
    view.mouse.wheel(0, -100)
    view.mouse.wheel(0, -100)
    view.keyboard.up("Control")
    zoom = snap(view)["zoom"]
    assert zoom == pytest.approx(1.15**2)
    # the point under the pointer stays put while zooming
    assert screen(view, 64, 64) == pytest.approx((x, y), abs=1.0)
    view.mouse.down(button="middle")
    view.mouse.move(x + 50, y + 30, steps=3)
    view.mouse.up(button="middle")
    moved = screen(view, 64, 64)
    assert moved == pytest.approx((x + 50, y + 30), abs=1.5)
    for _ in range(3):
        view.keyboard.press("ArrowUp")
    assert snap(view)["slice"] == 23 and snap(view)["zoom"] == zoom  # kept while scrolling
    assert screen(view, 64, 64) == pytest.approx(moved, abs=0.5)
    view.keyboard.press("w")
    assert snap(view)["zoom"] == zoom  # and while changing the window
    view.keyboard.press("c")  # cine at 15 slices/s
    time.sleep(0.5)
    view.keyboard.press("c")
    assert snap(view)["slice"] != 23
    view.keyboard.press("0")
    assert snap(view)["zoom"] == 1


def _rgb(page: Any, u: float, v: float) -> tuple[int, int, int]:
    settle(page)
    return tuple(page.evaluate("""([u, v]) => {  // noqa
        const s = rrViewer.snapshot(), t = s.transform;
        const c = document.querySelector('[data-testid=rr-canvas]');
        const x = Math.floor(t.ox + (u + 0.5) * t.pu), y = Math.floor(t.oy + (v + 0.5) * t.pv);
        return Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3)); }""", [u, v]))


def test_overlays_show_the_selected_finding_only_unless_all(view: Any) -> None:
    """With a finding selected only its own mask and boxes are drawn (the others would bury the image);
    the "all" toggle draws every finding's; the pleura mask of f2 lies at k 20–29, i/j 80–99."""
    open_case(view, "f1")
    set_window(view, 400, 801)
    for _ in range(SHAPE[0]):
        k = snap(view)["slice"]
        if k == 25:
            break
        view.keyboard.press("ArrowUp" if k < 25 else "ArrowDown")
    assert snap(view)["slice"] == 25
    bare = (by_hand(-1000, 400, 801),) * 3
    assert _rgb(view, 90, 90) == bare  # f1 (a lung box) selected: f2's pleura mask is not drawn
    view.click(".rr-vw-check input[data-show=all]")
    assert _rgb(view, 90, 90) != bare  # every finding's overlays
    view.click(".rr-vw-check input[data-show=all]")
    assert _rgb(view, 90, 90) == bare
    view.screenshot(path=str(ARTIFACTS / "viewer-06-selected-only.png"))

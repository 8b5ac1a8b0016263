"""End to end: Chromium → radreview serve --demo (login on) → storage and export files."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import zipfile

import pytest

pytestmark = pytest.mark.e2e
CASE = "demo-ct-nifti"


def login(page, url: str, user: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url + "/")
    page.fill("input[type=text]", user)
    page.fill("input[type=password]", password)
    page.click("button:has-text('Login')")


def wait_idle(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until Gradio shows no pending event (no progress overlay)."""
    page.wait_for_function(
        "() => !document.querySelector('.wrap.pending, .eta-bar, .progress-text')", timeout=120_000
    )
    time.sleep(0.3)


def decided_count(page) -> int:  # type: ignore[no-untyped-def]
    text = page.inner_text("#rr-report .rr-count")
    return int(re.match(r"(\d+) of", text).group(1))


def select_finding(page, index: int) -> None:  # type: ignore[no-untyped-def]
    page.locator("#rr-findings label").nth(index).click()
    wait_idle(page)


def choose_reason(page, elem: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    page.click(f"{elem} input")
    page.click(f"ul[role=listbox] li:has-text('{reason}')")
    time.sleep(0.2)


def open_case(page, case_id: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#rr-case-id textarea, #rr-case-id input", case_id)
    page.click("#rr-open")
    page.wait_for_selector("#rr-plot .js-plotly-plot")
    wait_idle(page)


def test_unauthenticated_and_wrong_password_are_refused(server, page, creds, shot) -> None:  # type: ignore[no-untyped-def]
    for route in ("/config", "/gradio_api/info", f"/gradio_api/file={server.data_dir}/demo/ct.nii.gz"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(server.url + route, timeout=10)
        assert err.value.code in (401, 403), route
    login(page, server.url, creds[0], "wrong-password")
    page.wait_for_selector("text=/Incorrect|incorrect|invalid/")
    shot(page, "00-wrong-password")
    assert page.locator("#rr-worklist").count() == 0


def test_review_a_demo_ct_from_draft_to_dpo_export(server, page, creds, shot) -> None:  # type: ignore[no-untyped-def]
    login(page, server.url, *creds)
    page.wait_for_selector("#rr-worklist")
    wait_idle(page)
    shot(page, "01-worklist")
    open_case(page, CASE)
    page.click("#rr-generate")
    page.wait_for_selector("#rr-report .rr-count", timeout=120_000)
    wait_idle(page)
    shot(page, "02-draft")
    n_findings = page.locator("#rr-findings label").count()
    assert n_findings >= 4
    assert "built-in, no AI model" in page.inner_text("#rr-header")

    # Scroll slices with the keyboard, then toggle the segmentation overlay.
    before = page.input_value("#rr-slice input[type=number]")
    page.click("#rr-header")
    for _ in range(3):
        page.keyboard.press("ArrowUp")
        wait_idle(page)
    assert int(page.input_value("#rr-slice input[type=number]")) == int(before) + 3
    shot(page, "03-scrolled")
    page.click("#rr-seg input")
    wait_idle(page)
    assert not page.is_checked("#rr-seg input")
    shot(page, "04-overlay-off")

    # Accept one, edit one with a reason, reject one.
    select_finding(page, 0)
    page.click("#rr-accept")
    wait_idle(page)
    select_finding(page, 1)
    page.fill("#rr-text textarea", "Mean bone attenuation is within normal limits.")
    choose_reason(page, "#rr-reason", "wrong_severity")
    page.click("#rr-significant input")
    page.click("#rr-edit")
    wait_idle(page)
    select_finding(page, 2)
    choose_reason(page, "#rr-reason", "false_finding")
    page.click("#rr-reject")
    wait_idle(page)
    assert decided_count(page) == 3
    shot(page, "05-decided")

    # Move a box: select a grounded finding, click two corners on the image.
    select_finding(page, 3)
    plot = page.locator("#rr-plot .js-plotly-plot .nsewdrag").first
    plot.scroll_into_view_if_needed()
    bb = plot.bounding_box()
    page.mouse.click(bb["x"] + bb["width"] * 0.30, bb["y"] + bb["height"] * 0.30)
    page.wait_for_selector("text=first corner set")
    wait_idle(page)
    bb = plot.bounding_box()
    page.mouse.click(bb["x"] + bb["width"] * 0.45, bb["y"] + bb["height"] * 0.50)
    wait_idle(page)
    shot(page, "06-box-moved")

    # Reload mid-review: the state comes back from storage, the view (case, slice) from the address.
    slice_before = page.input_value("#rr-slice input[type=number]")
    assert f"case={CASE}" in page.url
    page.reload()
    page.wait_for_function(
        f"() => (document.querySelector('#rr-header')?.innerText || '').includes('{CASE}')", timeout=120_000
    )
    page.wait_for_selector("#rr-report .rr-count")
    wait_idle(page)
    assert page.input_value("#rr-slice input[type=number]") == slice_before
    assert decided_count(page) == 3
    assert "Mean bone attenuation is within normal limits." in page.inner_text("#rr-report")
    shot(page, "07-reloaded")

    # Add a missed finding, accept the rest with the keyboard, sign with ctrl+enter.
    page.click("#rr-add-acc")
    page.fill("#rr-add-text textarea", "Old healed fracture of a left rib.")
    page.click("#rr-add")
    wait_idle(page)
    page.click("#rr-header")
    for _ in range(n_findings):
        if decided_count(page) >= n_findings + 1:
            break
        page.keyboard.press("a")
        wait_idle(page)
    assert decided_count(page) == n_findings + 1
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#rr-signed .rr-signed")
    wait_idle(page)
    shot(page, "08-signed")
    assert "Old healed fracture of a left rib." in page.inner_text("#rr-signed")

    # Export DPO from the export tab.
    page.click("button[role=tab]:has-text('Export')")
    page.click("#rr-exp-run")
    page.wait_for_selector("#rr-exp-summary :text('record')")
    wait_idle(page)
    shot(page, "09-export")
    _assert_storage_and_export(server, creds[0])


def _assert_storage_and_export(server, user: str) -> None:  # type: ignore[no-untyped-def]
    from storage.repository import Repository

    with Repository.open(server.db_url, server.data_dir) as repo:
        state = repo.review_state(CASE)
        kinds = [a.kind for a in state.actions]
        assert state.signed and state.signed_by == user
        assert {"accept", "edit", "reject", "move_box", "add", "sign"} <= set(kinds)
        edit = next(a for a in state.actions if a.kind == "edit")
        assert (edit.reason, edit.clinically_significant) == ("wrong_severity", True)
        assert edit.after_text == "Mean bone attenuation is within normal limits."
        rejected = next(a for a in state.actions if a.kind == "reject")
        assert (rejected.reason, rejected.clinically_significant) == ("false_finding", False)
        moved = next(a for a in state.actions if a.kind == "move_box")
        assert moved.after_grounding.source == "reviewer" and len(moved.after_grounding.boxes[0]) == 6
    exports = sorted((server.data_dir / "exports").glob("dpo-*"))
    assert exports, "no dpo export folder"
    records = [json.loads(line) for f in exports[-1].glob("*.jsonl") for line in f.read_text().splitlines()]
    assert len(records) == 1
    chosen = json.dumps(records[0]["chosen"])
    assert "Mean bone attenuation is within normal limits." in chosen
    assert "Old healed fracture of a left rib." in chosen
    manifest = json.loads((exports[-1] / "manifest.json").read_text())
    assert manifest["counts"]["records"] == 1
    zips = list((server.data_dir.parent / "gradio-tmp").rglob("dpo-*.zip"))
    assert zips and zipfile.is_zipfile(zips[0])

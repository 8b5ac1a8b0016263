"""End to end: Chromium at 1920×1080 → radreview serve --demo (login on) → storage and export files.

A demo CT from draft to a Reg2RG (``regions``) export without scrolling the page: accept (mouse), edit
with reason and significance, reject, a reload mid-review that reopens the same case, finding, plane and
slice from the address, a missed finding added, the rest accepted with ``a`` pressed in a burst (each
press exactly once), the impression accepted, signed with ctrl+enter, exported. A CT goes to the Reg2RG
region format: the 2D-image formats (llava, sft, dpo, maira2, radfact) keep CT out by design
(docs/exports.md).
"""

from __future__ import annotations

import csv
import json
import urllib.error
import urllib.request
import zipfile
from urllib.parse import parse_qs, urlparse

import pytest

from tests.e2e.review_steps import (
    SIGNED,
    accept_edit_reject,
    accept_impression,
    assert_one_screen,
    builtin_draft,
    click_first_pending,
    decided,
    idle,
    login,
    open_case,
    selected,
    tool_tab,
    wait_case,
    wait_decided,
)

pytestmark = pytest.mark.e2e
CASE = "demo-ct-nifti"
EDITED = "Mean bone attenuation is within normal limits."
MISSED = "Old healed fracture of a left rib."


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
    idle(page)
    shot(page, "01-worklist")
    open_case(page, CASE)
    total = builtin_draft(page)
    assert total >= 4
    shot(page, "02-draft")

    # Accept one with the mouse, edit one with a reason and significance, reject one.
    accept_edit_reject(page, EDITED, significant=True)
    assert_one_screen(page)
    shot(page, "03-decided")

    # Reload mid-review: the state comes back from storage, the view from the address.
    page.keyboard.press("ArrowUp")  # the viewer's key: one slice up, written into the address
    page.wait_for_timeout(600)
    query = {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}
    assert query["case"] == CASE and query["finding"] == selected(page)
    page.reload()
    wait_case(page, CASE)
    page.wait_for_selector("#rr-report .rr-count")
    assert decided(page)[0] == 3
    assert EDITED in page.inner_text("#rr-report")
    assert selected(page) == query["finding"]
    snap = page.evaluate("() => rrViewer.snapshot()")
    assert (snap["plane"], str(snap["slice"])) == (query["plane"], query["slice"])
    shot(page, "04-reloaded")

    # Add a missed finding, accept the rest with a burst of `a` presses, accept the impression.
    tool_tab(page, "Add missed")
    page.fill("#rr-add-text textarea, #rr-add-text input", MISSED)
    page.click("#rr-add")
    wait_decided(page, 4)
    click_first_pending(page)  # the added finding is selected (decided already): go on from a pending one
    page.click("#rr-grounding label:has-text('keep box')")  # a radio had the focus last: keys still work
    pending = total + 1 - 4
    for _ in range(pending):
        page.keyboard.press("a")
    idle(page)
    wait_decided(page, total + 1)
    accept_impression(page)
    assert_one_screen(page)
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#rr-signed .rr-signed")
    idle(page)
    assert_one_screen(page, SIGNED)
    shot(page, "05-signed")
    assert MISSED in page.inner_text("#rr-signed")

    # Export the Reg2RG region format from the export tab (CT is kept out of the 2D-image formats).
    page.click("button[role=tab]:has-text('Export')")
    page.click("#rr-exp-fmt input")
    page.click("ul[role=listbox] li:has-text('regions')")
    page.click("#rr-exp-run")
    page.wait_for_selector("#rr-exp-summary :text('record')")
    idle(page)
    shot(page, "06-export")
    _assert_storage_and_export(server, creds[0], total)


def _assert_storage_and_export(server, user: str, total: int) -> None:  # type: ignore[no-untyped-def]
    from app.callbacks.review import default_grounding
    from storage.repository import Repository

    with Repository.open(server.db_url, server.data_dir) as repo:
        state = repo.review_state(CASE)
        kinds = [a.kind for a in state.actions]
        assert state.signed and state.signed_by == user
        assert kinds.count("accept") == total - 2 + 1  # the rest and the impression, each exactly once
        assert {"edit", "reject", "add", "sign"} <= set(kinds)
        edit = next(a for a in state.actions if a.kind == "edit")
        assert (edit.reason, edit.clinically_significant, edit.after_text) == ("wrong_severity", True, EDITED)
        assert edit.grounding == default_grounding("wrong_severity", edit.before_text, EDITED)
        rejected = next(a for a in state.actions if a.kind == "reject")
        assert (rejected.reason, rejected.clinically_significant) == ("false_finding", False)
        rejected_text = state.state_of(rejected.finding_id).finding.text
    exports = sorted((server.data_dir / "exports").glob("regions-*"))
    assert exports, "no regions export folder"
    with (exports[-1] / "radgenome.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and set(rows[0]) == {"Volumename", "Anatomy", "Sentence"}
    text = " ".join(r["Sentence"] for r in rows)
    assert EDITED in text and MISSED in text
    assert rejected_text not in text
    manifest = json.loads((exports[-1] / "manifest.json").read_text())
    assert manifest["counts"]["records"] >= 1
    zips = list((server.data_dir.parent / "gradio-tmp").rglob("regions-*.zip"))
    assert zips and zipfile.is_zipfile(zips[0])

"""End to end: radiographs at 1920×1080, draft to signature without scrolling the page.

``demo-cxr-cr`` (DICOM CR, MONOCHROME1) reviewed with the mouse and the keys; a 1955×1841 radiograph
(the size of a real chest CR) uploaded as PNG through the browser's file input and reviewed to its
signature; the stored rows checked. Each test uses its own case, so the order does not matter.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.review_steps import (
    SIGNED,
    accept_edit_reject,
    accept_impression,
    assert_one_screen,
    builtin_draft,
    idle,
    login,
    viewer_box,
    wait_case,
    wait_decided,
)

pytestmark = pytest.mark.e2e
CASE = "demo-cxr-cr"
EDITED = "Mild cardiomegaly, unchanged in configuration."


def _review_to_signature(page, shot, prefix: str) -> int:  # type: ignore[no-untyped-def]
    """Accept the first, edit the second, reject the third, accept the rest with `a`, accept the
    impression, sign; the page never scrolls. Returns the number of findings."""
    total = builtin_draft(page)
    assert total >= 3
    shot(page, f"{prefix}-01-draft")
    accept_edit_reject(page, EDITED)
    shot(page, f"{prefix}-02-decided")
    page.click("#rr-header")
    for _ in range(total - 3):
        page.keyboard.press("a")
    idle(page)
    wait_decided(page, total)
    accept_impression(page)
    page.click("#rr-sign")
    page.wait_for_selector("#rr-signed .rr-signed")
    idle(page)
    assert_one_screen(page, SIGNED)
    shot(page, f"{prefix}-03-signed")
    assert EDITED in page.inner_text("#rr-signed")
    return total


def _assert_rows(server, case_id: str, user: str, n_findings: int) -> None:  # type: ignore[no-untyped-def]
    from storage.repository import Repository

    with Repository.open(server.db_url, server.data_dir) as repo:
        state = repo.review_state(case_id)
        kinds = [a.kind for a in state.actions]
        assert state.signed and state.signed_by == user
        assert kinds.count("reject") == 1 and kinds.count("edit") == 1 and kinds[-1] == "sign"
        assert kinds.count("accept") == n_findings - 2 + 1  # the other findings and the impression
        edit = next(a for a in state.actions if a.kind == "edit")
        assert (edit.reason, edit.after_text) == ("wrong_severity", EDITED)
        assert next(a for a in state.actions if a.kind == "reject").reason == "false_finding"
        assert {a.reviewer for a in state.actions} == {user}


def test_review_a_demo_cxr_from_draft_to_signed(server, page, creds, shot) -> None:  # type: ignore[no-untyped-def]
    login(page, server.url, creds[0], creds[1], query=f"?case={CASE}")  # a link straight to the case
    wait_case(page, CASE)
    assert "CR" in page.inner_text("#rr-header")
    snap = page.evaluate("() => rrViewer.snapshot()")
    assert snap["info"] is not None and page.evaluate("() => rrViewer.snapshot().case") == CASE
    n = _review_to_signature(page, shot, "cxr")
    _assert_rows(server, CASE, creds[0], n)


def _upload(page, path: Path, case_id: str, indication: str) -> None:  # type: ignore[no-untyped-def]
    page.click("text=Upload a study")
    page.set_input_files("#rr-upload input[type=file]", str(path))
    page.wait_for_selector(f"#rr-upload :text('{path.name}')")
    page.fill("#rr-up-case textarea, #rr-up-case input", case_id)
    page.fill("#rr-up-indication textarea, #rr-up-indication input", indication)
    page.click("#rr-upload-open")
    wait_case(page, case_id)


def test_upload_a_png_through_the_browser(server, page, creds, shot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    png = tmp_path / "upload.png"
    shutil.copyfile(server.data_dir / "demo" / "cxr.png", png)
    login(page, server.url, *creds)
    page.wait_for_selector("#rr-worklist")
    idle(page)
    _upload(page, png, "e2e-png", "cough for two weeks")
    shot(page, "cxr-04-uploaded")
    assert "cough for two weeks" in page.inner_text("#rr-header")
    from storage.repository import Repository

    with Repository.open(server.db_url, server.data_dir) as repo:
        record = repo.get_study("e2e-png")
        assert (record.kind, record.indication) == ("cxr", "cough for two weeks")


def test_review_a_2k_radiograph_without_scrolling(server, page, creds, shot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A 1955×1841 chest radiograph fills the viewer and is reviewed to its signature on one screen."""
    from viewer.demo import _png
    from viewer.phantom import cxr_phantom

    png = tmp_path / "wide-cxr.png"
    _png(png, cxr_phantom(shape=(1841, 1955), spacing_mm=0.18).pixels)
    login(page, server.url, *creds)
    page.wait_for_selector("#rr-worklist")
    idle(page)
    _upload(page, png, "e2e-cxr-2k", "dyspnoea")
    assert "1841×1955" in page.inner_text("#rr-header")
    box = viewer_box(page)
    assert box["width"] >= 0.55 * 1920
    n = _review_to_signature(page, shot, "cxr2k")
    _assert_rows(server, "e2e-cxr-2k", creds[0], n)

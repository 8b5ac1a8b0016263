"""End to end: review a demo chest radiograph (DICOM CR, MONOCHROME1) from draft to signed report.

Runs after ``test_review_flow`` (file order) so that test's DPO export still sees exactly its own case.
"""

from __future__ import annotations

import pytest
from test_review_flow import choose_reason, decided_count, login, open_case, select_finding, wait_idle

pytestmark = pytest.mark.e2e
CASE = "demo-cxr-cr"
EDITED = "Mild cardiomegaly, unchanged in configuration."


def test_review_a_demo_cxr_from_draft_to_signed(server, page, creds, shot) -> None:  # type: ignore[no-untyped-def]
    login(page, server.url, *creds)
    page.wait_for_selector("#rr-worklist")
    wait_idle(page)
    open_case(page, CASE)
    assert "CR" in page.inner_text("#rr-header")
    # No finding selected yet: a click on the image only reads out the stored value under it.
    plot = page.locator("#rr-plot .js-plotly-plot .nsewdrag").first
    plot.scroll_into_view_if_needed()
    bb = plot.bounding_box()
    page.mouse.click(bb["x"] + bb["width"] * 0.5, bb["y"] + bb["height"] * 0.5)
    page.wait_for_function(
        "() => / at \\(\\d+, \\d+\\)/.test("
        "document.querySelector('#rr-readout textarea, #rr-readout input').value)"
    )
    wait_idle(page)
    page.click("#rr-generate")
    page.wait_for_selector("#rr-report .rr-count", timeout=120_000)
    wait_idle(page)
    n_findings = page.locator("#rr-findings label").count()
    assert n_findings >= 3
    assert "built-in, no AI model" in page.inner_text("#rr-header")
    shot(page, "cxr-01-draft")

    select_finding(page, 0)
    page.click("#rr-accept")
    wait_idle(page)
    select_finding(page, 1)
    page.fill("#rr-text textarea", EDITED)
    choose_reason(page, "#rr-reason", "wrong_severity")
    page.click("#rr-edit")
    wait_idle(page)
    select_finding(page, 2)
    choose_reason(page, "#rr-reason", "false_finding")
    page.click("#rr-reject")
    wait_idle(page)
    assert decided_count(page) == 3
    shot(page, "cxr-02-decided")

    page.click("#rr-header")
    for _ in range(n_findings):
        if decided_count(page) >= n_findings:
            break
        page.keyboard.press("a")
        wait_idle(page)
    assert decided_count(page) == n_findings
    page.click("#rr-sign")
    page.wait_for_selector("#rr-signed .rr-signed")
    wait_idle(page)
    shot(page, "cxr-03-signed")
    assert EDITED in page.inner_text("#rr-signed")
    _assert_rows(server, creds[0], n_findings)


def _assert_rows(server, user: str, n_findings: int) -> None:  # type: ignore[no-untyped-def]
    from storage.repository import Repository

    with Repository.open(server.db_url, server.data_dir) as repo:
        state = repo.review_state(CASE)
        kinds = [a.kind for a in state.actions]
        assert state.signed and state.signed_by == user
        assert kinds.count("reject") == 1 and kinds.count("edit") == 1 and kinds[-1] == "sign"
        assert kinds.count("accept") == n_findings - 2
        edit = next(a for a in state.actions if a.kind == "edit")
        assert (edit.reason, edit.after_text) == ("wrong_severity", EDITED)
        rejected = next(a for a in state.actions if a.kind == "reject")
        assert rejected.reason == "false_finding"
        assert {a.reviewer for a in state.actions} == {user}


def test_upload_a_png_through_the_browser(server, page, creds, shot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    png = tmp_path / "upload.png"
    shutil.copyfile(server.data_dir / "demo" / "cxr.png", png)
    login(page, server.url, *creds)
    page.wait_for_selector("#rr-worklist")
    wait_idle(page)
    page.click("text=Upload a study")
    page.set_input_files("#rr-upload input[type=file]", str(png))
    page.wait_for_selector("#rr-upload :text('upload.png')")
    page.fill("#rr-up-case textarea, #rr-up-case input", "e2e-png")
    page.fill("#rr-up-indication textarea, #rr-up-indication input", "cough for two weeks")
    page.click("#rr-upload-open")
    page.wait_for_function(
        "() => (document.querySelector('#rr-header')?.innerText || '').includes('e2e-png')", timeout=120_000
    )
    wait_idle(page)
    shot(page, "cxr-04-uploaded")
    assert "cough for two weeks" in page.inner_text("#rr-header")
    from storage.repository import Repository

    with Repository.open(server.db_url, server.data_dir) as repo:
        record = repo.get_study("e2e-png")
        assert (record.kind, record.indication) == ("cxr", "cough for two weeks")

"""The one-screen workspace at 1920×1080 (issue 12): every review action reachable without scrolling,
the findings listed once, a missing reason that leaves the image and the typed text in place, and
hotkeys that act exactly once after a radio or checkbox was clicked. Case ``demo-ct-dicom`` only."""

from __future__ import annotations

import pytest

from tests.e2e.review_steps import (
    VIEWPORT,
    assert_all_actions_on_screen,
    click_row,
    decided,
    generate,
    idle,
    login,
    message,
    open_case,
    selected,
    text_value,
    viewer_box,
)

pytestmark = pytest.mark.e2e
CASE = "demo-ct-dicom"


@pytest.fixture()
def review(server, page, creds):  # type: ignore[no-untyped-def]
    """The page with ``demo-ct-dicom`` open and drafted (generated once; later tests reuse the draft)."""
    login(page, server.url, *creds)
    page.wait_for_selector("#rr-worklist")
    idle(page)
    open_case(page, CASE)
    if page.locator("#rr-report .rr-count").count() == 0:
        generate(page)
    return page


def _ids(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.eval_on_selector_all("#rr-report .rr-finding", "rows => rows.map(r => r.dataset.finding)")


def test_everything_on_one_screen_and_findings_listed_once(server, review, shot) -> None:  # type: ignore[no-untyped-def]
    page = review
    box = viewer_box(page)
    assert box["width"] >= 0.55 * VIEWPORT["width"], box
    assert box["height"] >= VIEWPORT["height"] - 60, box  # all of it under the tab bar
    assert_all_actions_on_screen(page)
    shot(page, "layout-01-ct")
    from storage.repository import Repository

    with Repository.open(server.db_url, server.data_dir) as repo:
        findings = repo.review_state(CASE).findings
    assert _ids(page) == [fs.finding.id for fs in findings]  # one row per finding, report order
    side = page.evaluate(  # the side panel's text without the impression (it may quote a finding)
        "() => { const c = document.querySelector('#rr-side').cloneNode(true);"
        " c.querySelectorAll('.rr-impression').forEach(e => e.remove()); return c.innerText; }"
    )
    for fs in findings:
        assert side.count(fs.finding.text) == 1, fs.finding.text  # listed once (the text box aside)
    assert page.locator("#rr-findings").count() == 0 and page.locator("#rr-plot").count() == 0


def test_a_missing_reason_keeps_the_image_and_the_typed_text(review, shot) -> None:  # type: ignore[no-untyped-def]
    page = review
    before = decided(page)[0]
    click_row(page, 0)
    page.click("#rr-header")
    page.keyboard.press("e")
    caret = page.evaluate(
        "() => { const t = document.querySelector('#rr-text textarea');"
        " return [document.activeElement === t, t.selectionStart, t.selectionEnd, t.value.length]; }"
    )
    assert caret[0] and caret[1] == caret[2] == caret[3]  # focused, cursor at the end, nothing selected
    page.keyboard.type(" Probably artefact.")
    typed = text_value(page)
    assert typed.endswith(" Probably artefact.")
    assert page.is_disabled("#rr-edit") and page.is_disabled("#rr-reject")
    assert "choose a reason code" in message(page)  # the reason the buttons wait, beside them
    canvas = page.locator("[data-testid=rr-canvas], .rr-vw-canvas").first.bounding_box()
    # A client that still sends the edit (the button forced on) gets the refusal beside the buttons.
    page.evaluate("() => { const b = document.querySelector('#rr-edit'); b.disabled = false; b.click(); }")
    page.wait_for_function(
        "() => (document.querySelector('#rr-message')?.innerText || '').includes('to edit')"
    )
    idle(page)
    shot(page, "layout-02-missing-reason")
    assert text_value(page) == typed
    assert page.locator(".rr-vw-canvas").first.bounding_box() == canvas  # the image is still there
    assert page.locator("#rr-report .rr-count").count() == 1 and decided(page)[0] == before
    assert page.locator(".toast-body:has-text('Error'), .error:has-text('Error')").count() == 0
    page.keyboard.press("Escape")  # leave the text box; the keys work again
    page.keyboard.press("r")  # no reason: nothing is sent, the reason box is focused, the hint shown
    idle(page)
    assert decided(page)[0] == before and "reason code" in message(page)


def test_hotkeys_act_exactly_once_after_a_radio_or_checkbox(review) -> None:  # type: ignore[no-untyped-def]
    page = review
    ids = _ids(page)
    start = ids.index(click_row(page, 0))
    page.click("#rr-significant input")  # checkbox
    page.keyboard.press("j")
    idle(page)
    assert selected(page) == ids[(start + 1) % len(ids)]
    page.click("#rr-grounding label:has-text('drop box')")  # radio
    for _ in range(3):
        page.keyboard.press("j")  # a burst: each press once, none lost
    idle(page)
    assert selected(page) == ids[(start + 4) % len(ids)]
    page.keyboard.press("k")
    idle(page)
    assert selected(page) == ids[(start + 3) % len(ids)]
    done = decided(page)[0]
    page.keyboard.press("a")
    page.keyboard.press("a")
    idle(page)
    assert decided(page)[0] == done + 2

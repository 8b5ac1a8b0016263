"""Browser steps shared by the workspace e2e tests (each test opens its own case, so none depends on
another's order). Waits are on what the page shows, never on sleeps alone."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

VIEWPORT = {"width": 1920, "height": 1080}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
# Every review action of the Review tab (the tool tabs' contents are checked after opening the tab).
ACTIONS = (
    "#rr-report",
    "#rr-text",
    "#rr-reason",
    "#rr-significant",
    "#rr-grounding",
    "#rr-accept",
    "#rr-edit",
    "#rr-reject",
    "#rr-message",
    "#rr-sign",
    "#rr-next-case",
    "#rr-generate",
    "#rr-viewer",
)
SIGNED = ("#rr-report", "#rr-signed", "#rr-message", "#rr-sign", "#rr-next-case", "#rr-viewer")
TOOL_TABS = {
    "Impression": ("#rr-impression", "#rr-imp-accept", "#rr-imp-edit", "#rr-imp-regen"),
    "Add missed": ("#rr-add-region", "#rr-add-text", "#rr-add"),
    "Grounding": ("#rr-phrase", "#rr-relink", "#rr-mask-seg", "#rr-regenerate"),
}


def login(page: Any, url: str, user: str, password: str, query: str = "") -> None:
    page.goto(url + "/" + query)
    page.fill("input[type=text]", user)
    page.fill("input[type=password]", password)
    page.click("button:has-text('Login')")


def idle(page: Any) -> None:
    """Wait until the page script's key queue is empty and Gradio shows no pending event."""
    page.wait_for_function(
        "() => (!window.__radreviewIdle || window.__radreviewIdle())"
        " && !document.querySelector('.wrap.pending, .eta-bar, .progress-text')",
        timeout=120_000,
    )
    time.sleep(0.3)


def viewer_case(page: Any) -> str | None:
    return page.evaluate("() => { const s = window.rrViewer && rrViewer.snapshot(); return s && s.case; }")


def open_case(page: Any, case_id: str) -> None:
    """Open ``case_id`` from the worklist; returns once the header and the viewer show it."""
    page.click("button[role=tab]:has-text('Worklist')")
    page.fill("#rr-case-id textarea, #rr-case-id input", case_id)
    page.click("#rr-open")
    wait_case(page, case_id)


def wait_case(page: Any, case_id: str) -> None:
    page.wait_for_function(
        f"() => (document.querySelector('#rr-header')?.innerText || '').includes('{case_id}')",
        timeout=120_000,
    )
    page.wait_for_function(
        f"() => window.rrViewer && rrViewer.snapshot() && rrViewer.snapshot().case === '{case_id}'"
        " && rrViewer.snapshot().loaded > 0",
        timeout=120_000,
    )
    idle(page)


def generate(page: Any) -> None:
    page.click("#rr-generate")
    page.wait_for_selector("#rr-report .rr-count", timeout=180_000)
    idle(page)


def decided(page: Any) -> tuple[int, int]:
    """``(decided, total)`` from the report's count line."""
    text = page.inner_text("#rr-report .rr-count")
    m = re.match(r"(\d+) of (\d+)", text)
    assert m, text
    return int(m.group(1)), int(m.group(2))


def wait_decided(page: Any, n: int) -> None:
    page.wait_for_function(
        f"() => (document.querySelector('#rr-report .rr-count')?.innerText || '').startsWith('{n} of')",
        timeout=120_000,
    )
    idle(page)


def selected(page: Any) -> str | None:
    return page.get_attribute("#rr-report .rr-finding.rr-selected", "data-finding")


def click_row(page: Any, index: int, rows: str = "#rr-report .rr-finding") -> str:
    """Click the ``index``-th finding row (of ``rows``); returns its id once it is the selection."""
    row = page.locator(rows).nth(index)
    fid = row.get_attribute("data-finding")
    row.click()
    page.wait_for_function(
        f"() => document.querySelector('#rr-report .rr-finding.rr-selected')?.dataset.finding === '{fid}'"
    )
    idle(page)
    return str(fid)


def click_first_pending(page: Any) -> str:
    return click_row(page, 0, "#rr-report .rr-finding.rr-pending")


def choose_reason(page: Any, reason: str) -> None:
    page.click("#rr-reason input")
    page.click(f"ul[role=listbox] li:has-text('{reason}')")
    page.wait_for_function("() => !document.querySelector('#rr-reject button, button#rr-reject').disabled")
    idle(page)


def builtin_draft(page: Any) -> int:
    """Generate the built-in draft with every action on screen; returns the number of findings."""
    generate(page)
    assert "built-in, no AI model" in page.inner_text("#rr-header")
    total = decided(page)[1]
    assert_all_actions_on_screen(page)
    return total


def accept_edit_reject(page: Any, edited: str, *, significant: bool = False) -> None:
    """Accept the first finding with the mouse, edit the second to ``edited`` (reason ``wrong_severity``,
    marked clinically significant when asked) and reject the third as a ``false_finding``."""
    click_row(page, 0)
    page.click("#rr-accept")
    wait_decided(page, 1)
    click_row(page, 1)
    page.fill("#rr-text textarea", edited)
    choose_reason(page, "wrong_severity")
    if significant:
        page.click("#rr-significant input")
    page.click("#rr-edit")
    wait_decided(page, 2)
    click_row(page, 2)
    choose_reason(page, "false_finding")
    page.click("#rr-reject")
    wait_decided(page, 3)


def message(page: Any) -> str:
    return str(page.inner_text("#rr-message"))


def text_value(page: Any) -> str:
    return str(page.input_value("#rr-text textarea"))


def tool_tab(page: Any, name: str) -> None:
    page.click(f"#rr-tools button[role=tab]:has-text('{name}')")
    time.sleep(0.2)


def accept_impression(page: Any) -> None:
    tool_tab(page, "Impression")
    page.click("#rr-imp-accept")
    page.wait_for_function(
        "() => (document.querySelector('#rr-imp-status')?.innerText || '').includes('accepted')"
    )
    idle(page)


def assert_one_screen(page: Any, selectors: tuple[str, ...] = ACTIONS) -> None:
    """The page does not scroll (either way), and every selector's box lies inside the 1920×1080 viewport."""
    height, inner, width, inner_w = page.evaluate(
        "() => { const s = document.scrollingElement;"
        " return [s.scrollHeight, innerHeight, s.scrollWidth, innerWidth]; }"
    )
    problems = [f"the page scrolls: {height} px tall in a {inner} px window"] if height > inner else []
    if width > inner_w:
        problems.append(f"the page scrolls sideways: {width} px wide in a {inner_w} px window")
    for sel in selectors:
        box = page.locator(sel).first.bounding_box()
        if box is None:
            problems.append(f"{sel} is not shown")
            continue
        inside = box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= VIEWPORT["width"] + 0.5
        if not (inside and box["y"] + box["height"] <= VIEWPORT["height"] + 0.5):
            problems.append(f"{sel} is off screen: {box}")
    if problems:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "off-screen.png"), full_page=True)  # to look at
    assert not problems, problems


def assert_all_actions_on_screen(page: Any) -> None:
    """:func:`assert_one_screen` for the action bar, then for each tool tab's controls."""
    assert_one_screen(page)
    for name, selectors in TOOL_TABS.items():
        tool_tab(page, name)
        assert_one_screen(page, selectors)
    tool_tab(page, "Impression")


def viewer_box(page: Any) -> dict[str, float]:
    box = page.locator("#rr-viewer").bounding_box()
    assert box is not None
    return dict(box)

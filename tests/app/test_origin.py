"""Cross-origin state-changing requests are refused (app.origin)."""

from __future__ import annotations

import pytest

from app.origin import is_cross_origin


@pytest.mark.parametrize("method,origin,host,fwd,refused", [
    ("POST", "null", "127.0.0.1:7860", None, True),
    ("POST", "https://evil.example", "127.0.0.1:7860", None, True),
    ("POST", "http://127.0.0.1:7860", "127.0.0.1:7860", None, False),
    ("POST", "https://pacs.hospital.org", "127.0.0.1:7860", "pacs.hospital.org", False),
    ("POST", "https://evil.example", "127.0.0.1:7860", "pacs.hospital.org", True),
    ("POST", None, "127.0.0.1:7860", None, False),
    ("GET", "https://evil.example", "127.0.0.1:7860", None, False),
    ("DELETE", "http://127.0.0.1:9999", "127.0.0.1:7860", None, True),
])
def test_cross_origin_rule(method: str, origin: str | None, host: str, fwd: str | None,
                           refused: bool) -> None:
    assert is_cross_origin(method, origin, host, fwd) is refused

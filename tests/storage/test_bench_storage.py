"""``radreview bench storage`` produces DESIGN §8 measures for both synchronous settings."""

from __future__ import annotations

from bench import storage


def test_quick_run_shape() -> None:
    measures = storage.run(quick=True)
    assert [m["name"] for m in measures] == ["storage.record_action_full", "storage.record_action_normal"]
    for m in measures:
        assert m["n"] == 200 and m["ours_s"] > 0 and m["floor_s"] > 0
        assert abs(m["ratio"] - m["ours_s"] / m["floor_s"]) < 1e-9
        assert m["params"]["one_transaction_per_action"] is True

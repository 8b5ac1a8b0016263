"""Dashboard review metrics over ReviewedCase records, checked against hand-computed values."""

from __future__ import annotations

import math
import sys

import pytest

from storage.metrics import (
    box_iou,
    levenshtein,
    levenshtein_dp,
    metrics_table,
    normalised_edit_distance,
    review_metrics,
    time_series,
)
from tests.storage.export_cases import all_cases, case_c


def test_edit_distance() -> None:
    assert levenshtein("kitten", "sitting") == 3 and levenshtein("", "abc") == 3
    assert levenshtein("ab", "ab") == 0
    assert normalised_edit_distance("kitten", "sitting") == pytest.approx(3 / 7)
    assert normalised_edit_distance("", "") == 0.0


def test_bit_parallel_matches_the_dynamic_programme() -> None:
    import random

    rng = random.Random(7)
    for _ in range(500):
        a = "".join(rng.choice("ab c.") for _ in range(rng.randint(0, 40)))
        b = "".join(rng.choice("ab c.") for _ in range(rng.randint(0, 90)))
        assert levenshtein(a, b) == levenshtein_dp(a, b), (a, b)


def test_box_iou_2d_and_3d() -> None:
    assert box_iou((0, 0, 0.5, 0.5), (0.25, 0.25, 0.75, 0.75)) == pytest.approx(0.0625 / 0.4375)
    assert box_iou((0, 0, 0, 1, 1, 1), (0, 0, 0, 0.5, 1, 1)) == pytest.approx(0.5)
    assert box_iou((0, 0, 0.1, 0.1), (0.5, 0.5, 0.6, 0.6)) == 0.0
    with pytest.raises(ValueError, match="2D or both 3D"):
        box_iou((0, 0, 1, 1), (0, 0, 0, 1, 1, 1))


def _row(rows: list[dict], model: str, region: str) -> dict:
    return next(r for r in rows if r["model"] == model and r["region"] == region)


def test_rates_per_model() -> None:
    rows = metrics_table(all_cases())
    b = _row(rows, "builtin", "all")  # case-a, case-c, case-d (2 findings of case-d still pending)
    assert (b["n_cases"], b["n"], b["n_pending"], b["n_added"]) == (3, 6, 2, 1)
    assert b["accept_unchanged_rate"] == pytest.approx(3 / 6)
    assert b["edit_rate"] == pytest.approx(2 / 6) and b["reject_rate"] == pytest.approx(1 / 6)
    assert b["missed_finding_rate"] == pytest.approx(1 / 6)
    # per finding, summed over its actions: case-a f1 30+10, f2 20, f3 5, r1 40; case-c 12, 18; case-d 6
    assert b["mean_seconds_per_finding"] == pytest.approx((40 + 20 + 5 + 40 + 12 + 18 + 6) / 7)
    assert b["reasons"] == {"false_finding": 1, "grounding_error": 1, "missed_finding": 1, "style": 1}
    assert b["n_boxes_compared"] == 1 and b["box_iou"] == 0.0  # the moved box misses the drafted one
    m = _row(rows, "microsoft/maira-2", "all")
    assert (m["accept_unchanged_rate"], m["edit_distance"], m["rouge_l"]) == (1.0, 0.0, 1.0)
    assert m["bleu"] == pytest.approx(100.0)
    assert _row(rows, "all", "all")["n_cases"] == 4
    assert [(r["model"], r["region"]) for r in rows][:2] == [("all", "all"), ("all", "bones")]


def test_region_rows() -> None:
    rows = metrics_table(all_cases())
    pleura = _row(rows, "builtin", "pleura")
    assert (pleura["n"], pleura["reject_rate"]) == (1, 1.0)  # case-d's pleura is pending
    heart = _row(rows, "builtin", "heart")
    assert heart["reasons"] == {"style": 1} and heart["edit_rate"] == pytest.approx(1 / 2)
    assert _row(rows, "builtin", "bones")["n_added"] == 1


def test_time_series_of_edit_distance() -> None:
    points = time_series(all_cases())
    assert [p.case_id for p in points] == ["case-a", "case-c", "case-b"]  # unsigned case-d absent
    assert points[1].edit_distance == pytest.approx(8 / 85)  # " is seen" inserted into an 85-char report
    assert points[2].edit_distance == 0.0


def test_missing_metrics_extra_degrades_with_note(monkeypatch: pytest.MonkeyPatch) -> None:
    from storage.metrics import _scorers

    _scorers.cache_clear()
    for name in ("sacrebleu", "sacrebleu.metrics", "sacrebleu.metrics.bleu", "rouge_score",
                 "rouge_score.rouge_scorer"):
        monkeypatch.setitem(sys.modules, name, None)  # as if the 'metrics' extra were not installed
    try:
        result = review_metrics([case_c()])
    finally:
        _scorers.cache_clear()
    assert result.rows[0]["bleu"] is None and result.rows[0]["edit_distance"] == pytest.approx(8 / 85)
    assert any("radreview[metrics]" in n for n in result.notes)


def test_reference_metrics_per_region_hand_checked() -> None:
    pytest.importorskip("sacrebleu", reason="BLEU needs the 'metrics' extra")
    pytest.importorskip("rouge_score", reason="ROUGE-L needs the 'metrics' extra")
    from storage.metrics import reference_metrics
    from storage.records import ReferenceReport
    from tests.storage.export_cases import case_a, case_b, case_d

    text = "FINDINGS: No pneumothorax. Small right pleural effusion. Heart size is normal."
    refs = {c: ReferenceReport(c, text) for c in ("case-a", "case-b", "case-d")}
    rows = reference_metrics([case_a(), case_b(), case_d(), case_c()], refs)  # case-c has no reference
    assert {(r["model"], r["region"]) for r in rows} == {
        (m, r) for m in ("all", "builtin", "microsoft/maira-2") for r in ("all", "pleura", "heart")}
    # pleura: draft "Small right pleural effusion ." (5 tokens) vs "No pneumothorax . Small right pleural
    # effusion ." (8): every n-gram matches, BLEU = 100·exp(1 − 8/5); ROUGE-L LCS 4 of 4 and 6 words:
    # F = 2·1·(4/6)/(1 + 4/6) = 0.8. case-a rejected the effusion, so its signed pleura text is empty: 0, 0.
    pleura = _row(rows, "all", "pleura")
    assert (pleura["n_cases"], pleura["n_signed"]) == (3, 2)  # case-d is not signed
    assert pleura["draft_bleu"] == pytest.approx(100 * math.exp(-0.6))
    assert pleura["draft_rouge_l"] == pytest.approx(0.8)
    assert pleura["signed_bleu"] == pytest.approx(100 * math.exp(-0.6) / 2)
    assert pleura["signed_rouge_l"] == pytest.approx(0.4)
    assert _row(rows, "builtin", "pleura")["signed_bleu"] == 0.0
    heart = _row(rows, "microsoft/maira-2", "heart")
    assert (heart["draft_bleu"], heart["draft_rouge_l"], heart["signed_rouge_l"]) == (
        pytest.approx(100), pytest.approx(1), pytest.approx(1))
    # whole text: LCS 8 of 17 draft words and 10 reference words → F = 2·(8/17)·0.8 / (8/17 + 0.8)
    assert _row(rows, "all", "all")["draft_rouge_l"] == pytest.approx(12.8 / 21.6)
    assert reference_metrics([case_c()], refs) == []

"""Cutting a benchmark report by split (``bench/report.py``): every figure is recomputed
from the items of that split only."""

from __future__ import annotations

import pytest

from bench.report import select_rows, split_row, table
from bench.run_benchmark import aggregate, common_figures, select_items
from bench.split import split_of

DEV = [p for p in range(47) if split_of(p) == "dev"][:3]
TEST = [p for p in range(47) if split_of(p) == "test"][:2]


def _manifest() -> list[dict]:
    items = []
    for passage in DEV + TEST:
        miscues = [{"type": "omission", "ref_start": 2, "ref_end": 3}]
        items.append({"id": f"p{passage:02d}", "passage": passage, "miscues": miscues})
    return items


def _scored(item: dict, hit: bool) -> dict:
    predicted = [{"type": "omission", "start": 2 if hit else 9, "end": 3 if hit else 10,
                  "confidence": 0.9}]
    return {"id": item["id"], "passage": item["passage"], "clean": False,
            "predicted": predicted, "wer": [1 if hit else 3, 10], "wcpm": 100.0,
            "true_wcpm": 110.0, "latency_s": 1.0}


def _report() -> dict:
    manifest = _manifest()
    # Dev items are all found, test items all missed (with a false alarm each).
    scored = [_scored(item, item["passage"] in DEV) for item in manifest]
    by_id = {item["id"]: item for item in manifest}
    row = {"mode": "text", "model": "m", "items_key": "text:m", "kind": "service",
           "threshold": 0.0, **common_figures(scored, "text"),
           **aggregate(scored, by_id, 0.0, "predicted")}
    return {"rows": [row], "items": {"text:m": scored}, "seconds": 1, "args": {}}


def test_items_are_selected_by_split():
    items = _manifest()
    assert [i["passage"] for i in select_items(items, "dev")] == DEV
    assert [i["passage"] for i in select_items(items, "test", limit=1)] == TEST[:1]
    assert select_items(items, "all") == items


def test_a_report_is_recomputed_on_one_split():
    report = _report()
    whole = report["rows"][0]
    assert (whole["recall"], whole["exactly_right"]) == (pytest.approx(0.6), pytest.approx(0.6))
    dev, test = (select_rows(report, s)[0] for s in ("dev", "test"))
    assert (dev["items"], dev["recall"], dev["exactly_right"]) == (3, 1.0, 1.0)
    assert (test["items"], test["recall"], test["exactly_right"]) == (2, 0.0, 0.0)
    assert dev["wer"] == pytest.approx(0.1) and test["wer"] == pytest.approx(0.3)
    assert dev["ci"]["f1"] == (1.0, 1.0)
    assert "| m | 0.0 | 3 |" in table([dev], "text")


def test_an_old_report_cannot_be_split():
    report = _report()
    del report["rows"][0]["per_item"]
    assert select_rows(report, "all") == report["rows"]
    with pytest.raises(ValueError, match="per-item"):
        split_row(report["rows"][0], report["items"]["text:m"], "dev")

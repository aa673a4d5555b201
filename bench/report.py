"""Turn a ``bench/run_benchmark.py`` JSON report into the Markdown tables of docs/accuracy.md.

    python -m bench.report bench/results/latest.json [--split dev|test|all]

Figures carry their 95 % bootstrap interval (``bench/score.py``) in brackets. With
``--split dev`` or ``test`` every row is recomputed on the items of that half of the
passage split (``bench/split.py``) from the per-item counts the report stores; reports
written before those were stored can only be shown whole (``--split all``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.run_benchmark import SPLITS, common_figures, count_figures
from bench.score import TYPES, Counts, ItemCounts
from bench.split import split_of


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _ci(row: dict, name: str, digits: int = 2) -> str:
    """`` (low–high)`` of a figure's interval, or "" when the row has none."""
    interval = (row.get("ci") or {}).get(name)
    return "" if interval is None else f" ({interval[0]:.{digits}f}–{interval[1]:.{digits}f})"


def split_row(row: dict[str, Any], scored: list[dict], split: str) -> dict[str, Any]:
    """A report row recomputed on the items of ``split`` (``dev`` or ``test``).

    Args:
        row: A row of ``run_benchmark``'s report, with ``per_item`` counts.
        scored: The row's scored items (``report["items"][row["items_key"]]``).
        split: Which half of ``bench/split.py`` to keep.

    Raises:
        ValueError: The row has no per-item counts (a report from before they were kept).
    """
    if "per_item" not in row:
        raise ValueError("this report has no per-item counts; rerun bench.run_benchmark")
    kept = [r for r in row["per_item"] if split_of(int(r["passage"])) == split]
    ids = {r["id"] for r in kept}
    per_item = [ItemCounts(Counts.from_dict(r), bool(r["clean"])) for r in kept]
    out = {**row, **common_figures([s for s in scored if s["id"] in ids], row["mode"])}
    out |= count_figures(per_item)
    if row.get("kind") == "baseline":
        out["wcpm_mae"] = None
    elif row.get("kind") == "oracle":
        out |= {"wer": 0.0, "wcpm_mae": None}
    out["per_item"] = kept
    return out


def select_rows(report: dict[str, Any], split: str) -> list[dict[str, Any]]:
    """The report's rows, recomputed on one split unless ``split`` is ``all``."""
    if split == "all":
        return report["rows"]
    return [split_row(r, report["items"][r["items_key"]], split) for r in report["rows"]]


def table(rows: list[dict], mode: str) -> str:
    """One Markdown table of the rows of one mode (``text`` or ``image``)."""
    head = (
        "| audio model | min conf. | items | P | R | F1 | F1 sub / omi / ins "
        "| false errors per clean | exactly right | WER | CER | WCPM MAE | p50 s |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for row in (r for r in rows if r["mode"] == mode):
        threshold = "–" if row["threshold"] is None else f"{row['threshold']:.1f}"
        per_type = " / ".join(f"{row['per_type'][k][2]:.2f}" for k in row["per_type"])
        wcpm = "–" if row["wcpm_mae"] is None else f"{row['wcpm_mae']:.1f}"
        exact = row.get("exactly_right")
        exact_text = "–" if exact is None else f"{exact:.2f}{_ci(row, 'exactly_right')}"
        lines.append(
            f"| {row['model']} | {threshold} | {row.get('items', '–')} "
            f"| {row['precision']:.3f}{_ci(row, 'precision')} "
            f"| {row['recall']:.3f}{_ci(row, 'recall')} "
            f"| **{row['f1']:.3f}**{_ci(row, 'f1')} | {per_type} "
            f"| {row['false_errors_per_clean']:.2f}{_ci(row, 'false_errors_per_clean')} "
            f"| {exact_text} | {row['wer']:.3f} | {_pct(row['cer'])} "
            f"| {wcpm} | {row['latency_p50_s']:.1f} |"
        )
    return "\n".join(lines)


def type_table(rows: list[dict], mode: str) -> str:
    """Per-type precision, recall and F1 with intervals, for the rows that have them."""
    head = "| audio model | min conf. | type | P | R | F1 |\n|---|---|---|---|---|---|"
    lines = [head]
    for row in (r for r in rows if r["mode"] == mode and r.get("ci")):
        threshold = "–" if row["threshold"] is None else f"{row['threshold']:.1f}"
        for kind in TYPES:
            p, r, f1 = row["per_type"][kind]
            lines.append(
                f"| {row['model']} | {threshold} | {kind} "
                f"| {p:.2f}{_ci(row, f'{kind}.precision')} "
                f"| {r:.2f}{_ci(row, f'{kind}.recall')} "
                f"| {f1:.2f}{_ci(row, f'{kind}.f1')} |"
            )
    return "\n".join(lines) if len(lines) > 1 else ""


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path)
    parser.add_argument(
        "--split", choices=SPLITS, default="all", help="recompute on the dev or test items"
    )
    args = parser.parse_args(argv)
    report = json.loads(args.report.read_text())
    try:
        rows = select_rows(report, args.split)
    except ValueError as error:
        parser.error(str(error))
    print(f"Items: {args.split}; intervals: 95 % bootstrap over items.")
    for mode in ("text", "image"):
        if any(r["mode"] == mode for r in rows):
            print(f"\n### audio ↔ {mode}\n")
            print(table(rows, mode))
            per_type = type_table(rows, mode)
            if per_type:
                print(f"\nPer type, audio ↔ {mode}:\n")
                print(per_type)
    print(f"\nRun time: {report['seconds']:.0f} s; arguments: {report['args']}")


if __name__ == "__main__":
    main()

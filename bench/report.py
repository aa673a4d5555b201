"""Turn a ``bench/run_benchmark.py`` JSON report into the Markdown tables of docs/accuracy.md.

    python -m bench.report bench/results/latest.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def table(rows: list[dict], mode: str) -> str:
    """One Markdown table of the rows of one mode (``text`` or ``image``)."""
    head = (
        "| audio model | min conf. | P | R | F1 | F1 sub / omi / ins | false errors per clean "
        "| WER | CER | WCPM MAE | p50 s |\n|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for row in (r for r in rows if r["mode"] == mode):
        threshold = "–" if row["threshold"] is None else f"{row['threshold']:.1f}"
        per_type = " / ".join(f"{row['per_type'][k][2]:.2f}" for k in row["per_type"])
        wcpm = "–" if row["wcpm_mae"] is None else f"{row['wcpm_mae']:.1f}"
        lines.append(
            f"| {row['model']} | {threshold} | {row['precision']:.3f} | {row['recall']:.3f} "
            f"| **{row['f1']:.3f}** | {per_type} | {row['false_errors_per_clean']:.2f} "
            f"| {row['wer']:.3f} | {_pct(row['cer'])} "
            f"| {wcpm} | {row['latency_p50_s']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path)
    report = json.loads(parser.parse_args().report.read_text())
    for mode in ("text", "image"):
        if any(r["mode"] == mode for r in report["rows"]):
            print(f"\n### audio ↔ {mode}\n")
            print(table(report["rows"], mode))
    print(f"\nRun time: {report['seconds']:.0f} s; arguments: {report['args']}")


if __name__ == "__main__":
    main()

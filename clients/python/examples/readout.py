"""An experiment readout in plain Python, notebook style: `junction analyze --json` loaded and read.

    junction analyze --decisions decisions.jsonl --feedback feedback.jsonl --config config.yaml --json > readout.json
    python3 readout.py readout.json

or in a notebook:

    import json, subprocess
    from readout import cell_rows, metric_rows
    readout = json.loads(subprocess.run(["npx", "junction", "analyze", "--decisions", "decisions.jsonl",
                                         "--feedback", "feedback.jsonl", "--json"],
                                        capture_output=True, text=True, check=True).stdout)
    cell_rows(readout)     # list of dicts: pandas.DataFrame(cell_rows(readout)) if you have pandas
    metric_rows(readout)

The JSON's fields are documented in Junction's docs/experiments.md: per experiment its cells
(units, exposures, error rate, latency), the sample-ratio check, and per metric each cell's mean
and its difference to the first cell with a 95 % confidence interval and an always-valid p-value.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Dict, List


def cell_rows(readout: Dict[str, Any]) -> List[Dict[str, Any]]:
    """One row per experiment and cell."""
    rows = []
    for e in readout["experiments"]:
        for c in e["cells"]:
            rows.append({
                "experiment": e["experiment"],
                "cell": c["cell"],
                "target": c["target"],
                "weight": c["weight"],
                "units": c["units"],
                "exposures": c["exposures"],
                "error_rate": c["errorRate"],
                "p50_ms": c["latencyMs"]["p50"],
                "p99_ms": c["latencyMs"]["p99"],
            })  # fmt: skip
    return rows


def metric_rows(readout: Dict[str, Any]) -> List[Dict[str, Any]]:
    """One row per experiment, metric and cell: its mean, and its difference to the first cell."""
    rows = []
    for e in readout["experiments"]:
        for m in e["metrics"]:
            for c in m["cells"]:
                diff = c["difference"]
                rows.append({
                    "experiment": e["experiment"],
                    "metric": m["metric"],
                    "cell": c["cell"],
                    "units": c["units"],
                    "mean": c["mean"],
                    "difference": None if diff is None else diff["estimate"],
                    "ci95": None if diff is None else tuple(diff["ci95"]),
                    "p_value": None if diff is None else diff["pValue"],
                })  # fmt: skip
    return rows


def verdicts(readout: Dict[str, Any], alpha: float = 0.05) -> List[str]:
    """What a reader would say, one line each: a sample-ratio mismatch first (it voids the rest)."""
    out = []
    for e in readout["experiments"]:
        srm = e["srm"]
        if srm["flagged"]:
            out.append(f"{e['experiment']}: sample-ratio mismatch (p={srm['pValue']:.2g}): find the cause before reading results")
            continue
        for row in (r for r in metric_rows(readout) if r["experiment"] == e["experiment"] and r["difference"] is not None):
            lo, hi = row["ci95"]
            significant = row["p_value"] < alpha
            out.append(
                f"{e['experiment']} {row['metric']}: cell {row['cell']} {row['difference']:+.4g} vs the first cell "
                f"(95 % CI {lo:+.4g} to {hi:+.4g}, always-valid p={row['p_value']:.3g})"
                + (" — significant" if significant else " — not significant yet")
            )
    return out


def table(rows: List[Dict[str, Any]]) -> str:
    if not rows:
        return "(none)"
    keys = list(rows[0])
    shown = [[("" if r[k] is None else f"{r[k]:.4g}" if isinstance(r[k], float) else str(r[k])) for k in keys] for r in rows]
    widths = [max(len(k), *(len(s[i]) for s in shown)) for i, k in enumerate(keys)]
    lines = ["  ".join(k.ljust(w) for k, w in zip(keys, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(s, widths)) for s in shown]
    return "\n".join(lines)


def main() -> int:
    readout = json.load(open(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] != "-" else sys.stdin)
    print(table(cell_rows(readout)))
    print()
    print(table(metric_rows(readout)))
    print()
    for line in verdicts(readout):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

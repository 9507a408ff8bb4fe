"""Write makemore/budgets.json, the measured best configuration per architecture and time budget, from the
JSON of bench/quality.py sweeps: for each (budget, architecture) the candidate with the lowest mean test loss
(at the checkpoint chosen on validation) over its seeds.

    python scripts/budget_table.py bench/results/quality_60s.json bench/results/quality_300s.json
"""
import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from makemore.budgets import LEARNING, TABLE  # noqa: E402
from makemore.data import load_file  # noqa: E402
from makemore.models import ARCHITECTURES  # noqa: E402


def rows_of(result: dict, source: str) -> list[dict]:
    """One row per architecture of one sweep: its best candidate, with its configuration and figures."""
    runs = [r for r in result["runs"] if "error" not in r]
    rows = []
    for arch in sorted({s["arch"] for s in result["summary"]}):
        candidates = [s for s in result["summary"] if s["arch"] == arch and s["seeds"] >= 2]
        if not candidates:
            continue
        best = min(candidates, key=lambda s: s["test_loss"]["mean"])
        run = next(r for r in runs if r["arch"] == arch and r["variant"] == best["variant"])
        uses = ARCHITECTURES[arch].uses
        rows.append({"arch": arch, "budget": result["budget"], "variant": best["variant"],
                     "model": {k: v for k, v in run["model"].items() if k in uses},
                     "train": {k: v for k, v in run["train"].items() if k in LEARNING},
                     "test_loss": {k: round(v, 4) for k, v in best["test_loss"].items() if k != "n"},
                     "seeds": best["seeds"], "candidates": len(candidates), "data": result["data"],
                     "steps": best["steps"], "params": best["params"], "source": source})
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("results", nargs="+", help="bench/quality.py JSON files")
    p.add_argument("--measured", default="bench/quality.py, one torch thread per run on a 2-core CPU")
    args = p.parse_args(argv)
    rows = {}
    for path in args.results:
        for row in rows_of(json.loads(Path(path).read_text()), Path(path).as_posix()):
            key = (row["arch"], row["budget"])
            if key not in rows or row["test_loss"]["mean"] < rows[key]["test_loss"]["mean"]:
                rows[key] = row
    data = {row["data"] for row in rows.values()}
    if len(data) != 1:
        raise SystemExit(f"The sweeps ran on different data ({', '.join(sorted(data))}): one table, one data set.")
    lines = len(load_file(ROOT / "datasets" / data.pop()).lines)
    table = {"measured": args.measured, "lines": lines, "rows": [rows[k] for k in sorted(rows)]}
    TABLE.write_text(json.dumps(table, indent=1) + "\n")
    for row in table["rows"]:
        print(f"{row['arch']:12} {row['budget']:6g} s  {row['variant']:24} {row['test_loss']['mean']:.4f} ± "
              f"{row['test_loss']['std']:.4f}  of {row['candidates']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Quality in a time budget, over seeds: each (variant, architecture) trained for `--budget` seconds with
several seeds, reported as the mean ± spread of the test loss at the checkpoint chosen on validation, with
the classic's figure (the lowest test loss seen) beside it.

    python bench/quality.py --budget 60 --archs transformer gru --variant base= --variant ema="--ema 0.999"
    python bench/quality.py --budget 300 --seeds 3 --jobs 2 --out bench/results/quality_300s.json

A variant is a name and extra command-line flags for `python -m makemore` (`NAME@arch,arch=FLAGS`: only for
those architectures); every run is a whole CLI process
with one torch thread, `--jobs` of them side by side (two on this 2-core machine: each has a core, as the
shipped runs were trained). Spread is the sample standard deviation and the range (min-max) over seeds.
"""
import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import NAMES, ROOT, machine, save, table  # noqa: E402

SEEDS = [3407, 1, 2, 3, 4]
# issue 23's goals for the mean test loss over 3 seeds on names.txt with a 300 s budget
GOALS = {"transformer": 1.86, "gru": 1.88, "lstm": 1.88, "rnn": 1.90, "cnn": 1.91, "mlp": 1.93, "bow": 2.00}


def train_one(job: dict) -> dict:
    """Train one run with the CLI; its figures from status.json and the metrics log."""
    command = [sys.executable, "-m", "makemore", "-i", str(job["data"]), "-o", str(job["dir"]), "--type",
               job["arch"], "--time-budget", str(job["budget"]), "--max-steps", "-1", "--seed", str(job["seed"]),
               "--threads", "1", "--eval-interval", str(job["eval_interval"]), "--num-samples", "1",
               *shlex.split(job["flags"])]
    started = time.time()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    row = {k: job[k] for k in ("variant", "arch", "seed", "flags")}
    row["wall_s"] = round(time.time() - started, 1)
    if done.returncode != 0:
        return {**row, "error": (done.stderr or done.stdout).strip().splitlines()[-1:]}
    status = json.loads((job["dir"] / "status.json").read_text())
    config = json.loads((job["dir"] / "config.json").read_text())
    if status["state"] != "finished":  # stopped early (a signal): not a run of the whole budget
        return {**row, "error": [f"the run ended {status['state']} at step {status['step']}"]}
    return {**row, "steps": status["step"], "params": config["params"], "test_loss": status["best_test_loss"],
            "val_loss": status.get("best_val_loss"), "lowest_test_loss": status.get("lowest_test_loss"),
            "best_step": status["best_step"],
            "model": {k: v for k, v in config["model"].items() if k not in ("vocab_size", "block_size")},
            "train": config["train"]}


def spread(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values), "n": len(values)}


def summarize(rows: list[dict]) -> list[dict]:
    groups = {}
    for row in rows:
        if "error" not in row:
            groups.setdefault((row["variant"], row["arch"]), []).append(row)
    out = []
    for (variant, arch), group in groups.items():
        test = spread([r["test_loss"] for r in group])
        lowest = spread([r["lowest_test_loss"] for r in group])
        out.append({"variant": variant, "arch": arch, "seeds": len(group), "params": group[0]["params"],
                    "steps": round(statistics.fmean(r["steps"] for r in group)), "test_loss": test,
                    "lowest_test_loss": lowest})
    return out


COLUMNS = [("variant", "variant", ""), ("arch", "arch", ""), ("seeds", "seeds", "d"), ("params", "params", ",d"),
           ("steps", "steps", ",d"), ("test", "test at best val, mean ± sd", ""), ("range", "range", ""),
           ("lowest", "lowest test (classic)", ""), ("goal", "goal (300 s, names)", ".2f"), ("met", "met", "")]


def show(summary: list[dict], goals: bool):
    print(table([{"variant": s["variant"], "arch": s["arch"], "seeds": s["seeds"], "params": s["params"],
                  "steps": s["steps"], "test": f"{s['test_loss']['mean']:.4f} ± {s['test_loss']['std']:.4f}",
                  "range": f"{s['test_loss']['min']:.4f}-{s['test_loss']['max']:.4f}",
                  "lowest": f"{s['lowest_test_loss']['mean']:.4f} ± {s['lowest_test_loss']['std']:.4f}",
                  "goal": GOALS.get(s["arch"]) if goals else None,
                  "met": ("yes" if s["test_loss"]["mean"] <= GOALS[s["arch"]] else "no")
                  if goals and s["arch"] in GOALS else None}
                 for s in summary], COLUMNS))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--archs", nargs="+", default=["transformer", "gru", "lstm", "rnn", "cnn", "mlp", "bow"])
    p.add_argument("--variant", action="append", default=None, metavar="NAME=FLAGS",
                   help="a name and extra CLI flags (repeatable); default: one variant, the defaults")
    p.add_argument("--budget", type=float, default=300.0)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--first-seed", type=int, default=0, help="skip this many seeds of the list (to add seeds later)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--eval-interval", type=int, default=250)
    p.add_argument("--data", default=str(NAMES))
    p.add_argument("--keep", default=None, help="keep the run directories here (default: a temporary folder)")
    p.add_argument("--add", nargs="*", default=[], help="earlier runs' JSON lines (this script's output) to report with")
    p.add_argument("--out", default=None, help="the JSON file (default: bench/results/quality_<budget>s.json)")
    args = p.parse_args(argv)
    variants = dict(v.split("=", 1) for v in (args.variant or ["defaults="]))
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="quality-"))
    jobs = [{"variant": name.split("@")[0], "flags": flags, "arch": arch, "seed": seed, "budget": args.budget,
             "data": args.data, "eval_interval": args.eval_interval,
             "dir": folder / f"{name.split('@')[0]}-{arch}-{seed}"}
            for seed in SEEDS[args.first_seed: args.first_seed + args.seeds] for name, flags in variants.items()
            for arch in args.archs if "@" not in name or arch in name.split("@")[1].split(",")]
    rows = [json.loads(line) for path in args.add for line in Path(path).read_text().splitlines()
            if line.startswith("{")]
    with ThreadPoolExecutor(args.jobs) as pool:
        for row in pool.map(train_one, jobs):
            rows.append(row)
            print(json.dumps(row), flush=True)
    summary = summarize(rows)
    show(summary, goals=args.budget == 300 and Path(args.data).name == "names.txt")
    out = Path(args.out) if args.out else None
    save(out.stem if out else f"quality_{args.budget:g}s", {
        "bench": "quality", "budget": args.budget, "data": Path(args.data).name, "variants": variants,
        "machine": machine(), "summary": summary, "runs": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())

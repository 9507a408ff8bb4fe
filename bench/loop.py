"""Whole training loop speed: train_run end to end (evaluations, checkpoints, status and metrics writes
included), this code against another checkout of makemore, alternating in fresh processes.

    python bench/loop.py --other /tmp/makemore-old --rounds 5      # e.g. a `git worktree add` of an older commit
    python bench/loop.py --archs bigram transformer --steps 1500

Each round trains every architecture for --steps steps on names.txt with its default configuration
(evaluating every 500 steps) in a fresh process per code version, and reports the median over rounds of
the wall-clock seconds per 1000 steps, and this/other as the median of the per-round ratios.
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import NAMES, ROOT, machine, median, save, table  # noqa: E402


def worker(arch: str, steps: int):
    sys.path.insert(0, os.environ["MAKEMORE_CODE"])  # the checkout under test, ahead of this one
    from makemore.data import load_file
    from makemore.store import Run
    from makemore.train import create_run, make_train_config, train_run

    dataset = load_file(NAMES)
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(Path(tmp) / "run")
        create_run(run, dataset, arch, {}, make_train_config(arch, max_steps=steps, time_budget=0, eval_interval=500))
        start = time.perf_counter()
        train_run(run, dataset)
        seconds = time.perf_counter() - start
    import makemore
    print(json.dumps({"arch": arch, "seconds": seconds, "code": str(Path(makemore.__file__).parent.parent)}))


def run_code(code: Path, arch: str, steps: int) -> float:
    import subprocess
    env = {**os.environ, "MAKEMORE_CODE": str(code)}
    out = subprocess.run([sys.executable, __file__, "--worker", arch, "--steps", str(steps)], capture_output=True,
                         text=True, timeout=1800, cwd=code, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{code} {arch} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--other", required="--worker" not in sys.argv, help="another makemore checkout to compare with")
    p.add_argument("--archs", nargs="+", default=["bigram", "mlp", "gru", "transformer"])
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--out", default="loop")
    args = p.parse_args()
    if args.worker:
        return worker(args.worker, args.steps)
    other = Path(args.other).resolve()
    raw = {a: {"this": [], "other": []} for a in args.archs}
    for round_ in range(args.rounds):
        for arch in args.archs:
            for name, code in (("this", ROOT), ("other", other))[:: 1 if round_ % 2 == 0 else -1]:
                raw[arch][name].append(run_code(code, arch, args.steps) / args.steps * 1000)
    rows = []
    for arch, times in raw.items():
        ratios = [o / t for t, o in zip(times["this"], times["other"])]
        rows.append({"arch": arch, "this_s": median(times["this"]), "other_s": median(times["other"]),
                     "speed_ratio": median(ratios), "ratio_range": f"{min(ratios):.2f}-{max(ratios):.2f}"})
    columns = [("arch", "arch", ""), ("this_s", "this: s per 1000 steps", ".2f"),
               ("other_s", "other: s per 1000 steps", ".2f"), ("speed_ratio", "other / this (>1: this is faster)", ".3f"),
               ("ratio_range", "per round", "")]
    print(table(rows, columns))
    path = save(args.out, {"machine": machine(), "other": str(other), "steps": args.steps, "rounds": args.rounds,
                           "rows": rows, "raw": raw})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

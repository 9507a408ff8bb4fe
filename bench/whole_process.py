"""Whole process against the classic: the wall-clock seconds of `python makemore.py ... --max-steps N` (the
classic script) and of `python -m makemore ... --max-steps N` (ours), start-up, evaluations, checkpoints and
samples included, as a user times them. Rounds alternate the two; the ratio is per round.

    python bench/whole_process.py --rounds 3 --steps 1500 --arch transformer

Both train the classic's model and batch (ours given `--ours-flags`, default `-b 32 --dropout 0`: the
classic's transformer is ours at batch 32 without dropout), so both do the same work per step; each keeps its
own evaluation rhythm (the classic: every 500 steps, samples every 200; ours: about 20 evaluations over the
step limit, each on 1,000 training lines, the validation and the test split, with a checkpoint and samples). The classic's
tensorboard import is stubbed (tensorboard is not installed here); nothing else of it changes.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import NAMES, ROOT, find_classic, machine, save, table  # noqa: E402

CLASSIC_RUNNER = """
import runpy, sys, types
stub = types.ModuleType("torch.utils.tensorboard")
stub.SummaryWriter = lambda *a, **k: types.SimpleNamespace(add_scalar=lambda *a, **k: None, flush=lambda: None)
sys.modules["torch.utils.tensorboard"] = stub
script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
"""


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command[:4]} failed: {(done.stderr or done.stdout)[-800:]}")
    return seconds


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--arch", default="transformer")
    p.add_argument("--ours-flags", default="-b 32 --dropout 0", help="ours: the classic's batch and model")
    p.add_argument("--classic", default=None, help="the classic makemore.py (default: the fetched mirror)")
    args = p.parse_args(argv)
    classic = find_classic(args.classic)
    if classic is None:
        raise SystemExit("No classic makemore.py: fetch karpathy/makemore or pass --classic PATH.")
    rows = []
    for round_ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            theirs = timed([sys.executable, "-c", CLASSIC_RUNNER, str(classic), "-i", str(NAMES), "-o",
                            f"{tmp}/classic", "--type", args.arch, "--max-steps", str(args.steps), "--device",
                            "cpu"], Path(tmp))
            ours = timed([sys.executable, "-m", "makemore", "-i", str(NAMES), "-o", f"{tmp}/ours", "--type",
                          args.arch, "--max-steps", str(args.steps), "--device", "cpu", *args.ours_flags.split()],
                         ROOT)
        rows.append({"round": round_ + 1, "classic_s": theirs, "ours_s": ours, "ratio": theirs / ours})
        print(json.dumps(rows[-1]), flush=True)
    summary = {"round": "median", "classic_s": statistics.median(r["classic_s"] for r in rows),
               "ours_s": statistics.median(r["ours_s"] for r in rows),
               "ratio": statistics.median(r["ratio"] for r in rows)}
    print(table(rows + [summary], [("round", "round", ""), ("classic_s", "classic, s", ".2f"),
                                   ("ours_s", "ours, s", ".2f"), ("ratio", "classic / ours", ".2f")]))
    save("whole_process", {"bench": "whole_process", "arch": args.arch, "steps": args.steps, "machine": machine(),
                           "ours_flags": args.ours_flags,
                           "rounds": rows, "median": summary})
    return 0


if __name__ == "__main__":
    sys.exit(main())

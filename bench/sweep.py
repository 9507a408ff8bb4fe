"""All eight architectures as one sweep on Ray Tune: 2 trials at a time versus one after another.

    python bench/sweep.py --budget 60          # about 15 minutes on 2 cores: 8 x 60 s twice, plus Ray's overheads
    python bench/sweep.py --budget 15 --archs bigram mlp gru transformer

Each arch trains with its default configuration for `--budget` seconds, no early stopping (so both
modes train the same trials), on names.txt, in a local Ray of `--cpus` CPUs with 1 CPU and 1 torch
thread per trial. Reported: the sweep's wall time (Ray's start included), per architecture the wall time
from its trial's start to its end, its steps and best test loss, and the per-trial overhead (wall time
one after another / trials - budget), from which the README's cluster estimate is made. Writes
bench/results/sweep.json (or --out).
"""
import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import NAMES, machine, save, table  # noqa: E402
from makemore.models import ARCHITECTURES  # noqa: E402
from makemore.sweep import plan_sweep, run_sweep  # noqa: E402


def one_sweep(archs, budget, cpus, concurrent) -> dict:
    """Run the sweep in a fresh local Ray; its wall time and per-architecture results."""
    events = {}

    def progress(line):
        word, run_id = line.split()[:2]
        events.setdefault(run_id, {})[word] = time.time()

    with tempfile.TemporaryDirectory() as tmp:
        plan = plan_sweep(NAMES, Path(tmp) / "runs", archs, [], budget, scheduler="none", max_concurrent=concurrent)
        started = time.time()
        manifest = run_sweep(plan, "local", num_cpus=cpus, progress=progress)
        wall = time.time() - started
    rows = {}
    for trial in manifest["trials"]:
        times = events.get(trial["run_id"], {})
        wall = times["ended"] - times["started"] if {"started", "ended"} <= set(times) else None
        rows[trial["arch"]] = {"status": trial["status"], "steps": trial["steps"],
                               "best_test_loss": trial["best_test_loss"], "wall_s": wall}
    return {"concurrent": concurrent, "wall_s": wall, "archs": rows}


def cluster_estimate(per_trial_s: float, trials: int, nodes=10, cpus_per_node=8) -> dict:
    """Paper estimate: trials of 1 CPU packed into nodes x cpus slots, in waves of equal trials."""
    slots = nodes * cpus_per_node
    waves = math.ceil(trials / slots)
    return {"nodes": nodes, "cpus_per_node": cpus_per_node, "trials": trials, "waves": waves,
            "wall_s": waves * per_trial_s}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget", type=float, default=60)
    p.add_argument("--archs", nargs="+", default=list(ARCHITECTURES), choices=list(ARCHITECTURES))
    p.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray")
    p.add_argument("--learning-rates", type=int, default=5, help="grid size of the cluster estimate's lr search")
    p.add_argument("--out", default="sweep")
    args = p.parse_args()

    runs = [one_sweep(args.archs, args.budget, args.cpus, concurrent) for concurrent in (args.cpus, 1)]
    together, alone = runs
    per_trial = alone["wall_s"] / len(args.archs)
    rows = [{"arch": arch, **{f"{key}_{tag}": run["archs"][arch][key]
                              for run, tag in ((together, "par"), (alone, "seq"))
                              for key in ("steps", "best_test_loss", "wall_s")}} for arch in args.archs]
    estimate = cluster_estimate(per_trial, len(args.archs) * args.learning_rates)
    payload = {"budget": args.budget, "cpus": args.cpus, "machine": machine(), "rows": rows,
               "wall_s": {"together": together["wall_s"], "one_after_another": alone["wall_s"]},
               "per_trial_s": per_trial, "overhead_per_trial_s": per_trial - args.budget,
               "cluster_estimate": {**estimate, "learning_rates": args.learning_rates,
                                    "one_after_another_s": estimate["trials"] * per_trial}, "raw": runs}
    print(table(rows, [("arch", "arch", ""), ("steps_par", f"steps ({args.cpus} at a time)", ","),
                       ("best_test_loss_par", "best loss", ".4f"), ("wall_s_par", "trial wall s", ".1f"),
                       ("steps_seq", "steps (1 at a time)", ","), ("best_test_loss_seq", "best loss", ".4f"),
                       ("wall_s_seq", "trial wall s", ".1f")]))
    print(f"\nwall time: {together['wall_s']:.0f} s with {args.cpus} trials at a time, {alone['wall_s']:.0f} s one "
          f"after another ({alone['wall_s'] / together['wall_s']:.2f}x); {per_trial:.1f} s per trial of "
          f"{args.budget:g} s one after another")
    print(f"estimate: {estimate['trials']} trials ({len(args.archs)} archs x {args.learning_rates} learning rates) "
          f"on {estimate['nodes']} nodes x {estimate['cpus_per_node']} CPUs: {estimate['waves']} wave(s), "
          f"about {estimate['wall_s']:.0f} s")
    print(f"wrote {save(args.out, payload)}")


if __name__ == "__main__":
    main()

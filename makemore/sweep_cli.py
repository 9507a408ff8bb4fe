"""`python -m makemore sweep`: train architectures x a hyperparameter grid as ordinary runs on Ray Tune.

By default the runs go where the app lists runs (the base workspace's runs folder under $MAKEMORE_ROOT),
so the app shows every trial and Compare the sweep's leaderboard."""
import argparse
import os

from . import hparams
from .errors import OneLineParser, reporting_errors
from .models import ARCHITECTURES
from .sweep import SCHEDULERS, import_ray, plan_sweep, run_sweep
from .workspace import runs_folder


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m makemore sweep",
                      description="Train every architecture x grid point as one ordinary run each, many at once, "
                                  "on Ray Tune; writes the runs and a sweep-<id>.json manifest into -o.")
    p.add_argument("-i", "--input-file", default="datasets/names.txt", help="one example per line")
    p.add_argument("-o", "--work-dir", default=None,
                   help="the output root: one run directory per trial (default: the app's runs, "
                        "$MAKEMORE_ROOT/checkpoints)")
    p.add_argument("--archs", nargs="+", default=list(ARCHITECTURES), choices=list(ARCHITECTURES), metavar="ARCH",
                   help=f"architectures to train (default: all: {', '.join(ARCHITECTURES)})")
    p.add_argument("--grid", nargs="*", default=[], metavar="NAME=V1,V2",
                   help="hyperparameter values to try, e.g. learning_rate=1e-3,3e-3 n_embd=64,128; the names: "
                        f"{', '.join(n for n, h in hparams.ALL.items() if not h.not_swept)}")
    p.add_argument("--budget", type=float, required=True, help="seconds of training per trial")
    p.add_argument("--max-steps", type=int, default=None, help="also stop each trial after this many steps")
    p.add_argument("--scheduler", default="asha", choices=SCHEDULERS, help="asha: stop weak trials early")
    p.add_argument("--address", default="local",
                   help="local (start Ray here), auto (the running cluster) or ray://HOST:10001")
    p.add_argument("--num-cpus", type=int, default=None, help="CPUs of a local Ray (default: all)")
    p.add_argument("--cpus-per-trial", type=float, default=1.0, help="also the torch threads of a trial")
    p.add_argument("--gpus-per-trial", type=float, default=0.0, help="fractions share a GPU (0.25: 4 per GPU)")
    p.add_argument("--max-concurrent", type=int, default=0, help="trials at once (0: as resources allow)")
    p.add_argument("--max-failures", type=int, default=2, help="retries of a trial whose worker dies")
    p.add_argument("--storage-path", default=None,
                   help="where nodes without a shared disk send their runs: a shared path or s3://, gs://...")
    p.add_argument("--seed", type=int, default=3407, help="data split and training seed")
    return p


def sweep_main(argv) -> int:
    return reporting_errors(run_sweep_cli, parser().parse_args(argv))


def run_sweep_cli(args) -> int:
    import_ray()  # without the extra: one line saying what to install, before any other work
    plan = plan_sweep(args.input_file, args.work_dir or runs_folder(), args.archs, args.grid, args.budget,
                      scheduler=args.scheduler, cpus_per_trial=args.cpus_per_trial,
                      gpus_per_trial=args.gpus_per_trial, max_failures=args.max_failures,
                      max_concurrent=args.max_concurrent, max_steps=args.max_steps, seed=args.seed,
                      storage_path=args.storage_path)
    print(f"sweep {plan.sweep_id}: {len(plan.trials)} trials of {plan.budget:g} s on {plan.dataset['name']} "
          f"into {plan.root}", flush=True)
    manifest = run_sweep(plan, args.address, args.num_cpus, progress=lambda line: print(line, flush=True))
    print_leaderboard(manifest)
    print(f"manifest: {os.path.join(plan.root, plan.manifest_path.name)}")
    return 0


def print_leaderboard(manifest: dict):
    print(f"{'run':<40} {'arch':<12} {'status':<9} {'best test loss':>14}  params")
    trials = sorted(manifest["trials"], key=lambda t: (t.get("best_test_loss") is None, t.get("best_test_loss")))
    for t in trials:
        loss = f"{t['best_test_loss']:.4f}" if t.get("best_test_loss") is not None else "n/a"
        params = " ".join(f"{k}={v}" for k, v in t["params"].items())
        print(f"{t['run_id']:<40} {t['arch']:<12} {t['status']:<9} {loss:>14}  {params}")
    if manifest.get("best"):
        print(f"best: {manifest['best']['run_id']} ({manifest['best']['best_test_loss']:.4f})")

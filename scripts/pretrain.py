"""Train the shipped checkpoints: every architecture on names.txt and the transformer on companies.txt.

    python scripts/pretrain.py                          # 300 s each, into checkpoints/
    python scripts/pretrain.py --budget 180 --archs transformer gru --force

Each run uses its architecture's tuned defaults (makemore/models/__init__.py ARCHITECTURES) with a time
budget instead of a step limit, so the learning-rate schedule spans the budget. Runs train one after
the other (never two at once: they would share the cores). Finished runs get "shipped": true in their
config.json and are listed in checkpoints/SHIPPED; their last.safetensors (latest weights plus
optimizer state, only needed to resume) is deleted to keep the shipped files small.
"""
import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from makemore.models import ARCHITECTURES, DEFAULT_ARCH  # noqa: E402

ARCHS = list(ARCHITECTURES)
# (data set, architecture): names for every architecture, companies for the default one.
PLAN = [("names", a) for a in ARCHS] + [("companies", DEFAULT_ARCH)]


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--budget", type=float, default=300.0, help="seconds of training per run")
    p.add_argument("--archs", nargs="+", default=ARCHS, choices=ARCHS, help="names.txt architectures to train")
    p.add_argument("--no-companies", action="store_true", help=f"skip the companies.txt {DEFAULT_ARCH}")
    p.add_argument("--out", default=str(ROOT / "checkpoints"))
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1: these models are too small to gain from more, and on a "
                        "shared machine extra threads stall waiting for each other)")
    p.add_argument("--force", action="store_true", help="retrain runs that already exist")
    p.add_argument("--keep-last", action="store_true", help="keep last.safetensors (optimizer state)")
    args = p.parse_args(argv)

    import shutil

    import torch

    from makemore.data import load_file
    from makemore.store import LAST, Run
    from makemore.runs import new_run, prepare
    from makemore.train import train_run

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plan = [(d, a) for d, a in PLAN if (d == "names" and a in args.archs) or (d == "companies" and not args.no_companies)]
    for dataset_name, arch in plan:
        run = Run(out / f"{dataset_name}-{arch}")
        if run.exists() and not args.force and run.status().state == "finished":
            print(f"{run.id}: already trained, skipped (--force retrains)", flush=True)
            continue
        if run.path.exists():
            shutil.rmtree(run.path)
        data_file = Path("datasets") / f"{dataset_name}.txt"
        dataset = load_file(ROOT / data_file)
        budget = min(args.budget, ARCHITECTURES[arch].pretrain_seconds or args.budget)  # some converge early
        # evaluating every 500 steps, as the shipped checkpoints were trained (the rule's default would be 100)
        arch, model, config = prepare(arch, max_steps=-1, time_budget=budget, eval_interval=500)
        new_run(run, dataset, arch, model, config, dataset_file=data_file.as_posix())
        t0 = time.time()
        print(f"{run.id}: training {budget:g} s ...", flush=True)
        state = train_run(run, dataset)
        status = run.status()
        print(f"{run.id}: {state} in {time.time() - t0:.0f} s, best test loss {status.best_test_loss:.4f} "
              f"at step {status.best_step}", flush=True)
        if state != "finished":
            return 1
        run.update_config(shipped=True)
        if not args.keep_last:
            run.file(LAST).unlink(missing_ok=True)
    shipped = sorted(p.name for p in out.iterdir() if (p / "config.json").is_file() and
                     Run(p).read_config().get("shipped"))
    (out / "SHIPPED").write_text("".join(f"{name}\n" for name in shipped))
    total = sum(dir_size(out / name) for name in shipped)
    print(f"shipped {len(shipped)} runs, {total / 1e6:.2f} MB: {', '.join(shipped)}")
    if total > 10e6:
        print("warning: over 10 MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())

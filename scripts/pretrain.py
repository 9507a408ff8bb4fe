"""Train the shipped checkpoints: every architecture on names.txt and the transformer on companies.txt.

    python scripts/pretrain.py                          # 300 s each, into checkpoints/
    python scripts/pretrain.py --budget 180 --archs transformer gru --force
    python scripts/pretrain.py --adopt /tmp/final/defaults-gru-3407 ...   # ship runs bench/quality.py --keep trained

Each run uses the measured defaults for its time budget (makemore/budgets.json, else its architecture's
own), so the learning-rate schedule spans the budget. Runs train one after
the other (never two at once: they would share the cores). Finished runs get "shipped": true in their
config.json, with a "produced_by" record (the command, the commit, the defaults' source, the machine), and
are listed in checkpoints/SHIPPED; their last.safetensors (latest weights plus optimizer state, only needed
to resume) is deleted to keep the shipped files small.
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
    p.add_argument("--adopt", nargs="+", default=[], metavar="RUN_DIR",
                   help="ship these finished names.txt run folders (e.g. from bench/quality.py --keep) instead of "
                        "training them again; each replaces names-<its arch>")
    p.add_argument("--adopted-by", default="", help="the command that trained the adopted runs, for their record")
    args = p.parse_args(argv)
    if args.adopt:
        return adopt(args)

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
        ship(run, " ".join(["python scripts/pretrain.py", *(argv or sys.argv[1:])]), args.keep_last)
    return list_shipped(out)


def produced_by(command: str, config: dict) -> dict:
    """What made a shipped run: the command, this checkout's commit, where its defaults came from, the machine."""
    import subprocess

    import torch

    from makemore.budgets import defaults_for

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    defaults = defaults_for(config["arch"], config["train"].get("time_budget"))
    return {"command": command, "commit": commit or None, "defaults": defaults.note, "torch": torch.__version__,
            "machine": f"{os.cpu_count()} CPUs, one torch thread per run", "date": time.strftime("%Y-%m-%d")}


def ship(run, command: str, keep_last=False):
    from makemore.store import CONFIG, LAST, atomic_write_json

    config = run.update_config(shipped=True, produced_by=produced_by(command, run.read_config()))
    if "name" in config:  # a shipped run is named by the app ("names · gru · shipped"), not by when it trained
        del config["name"]
        atomic_write_json(run.file(CONFIG), config)
    if not keep_last:
        run.file(LAST).unlink(missing_ok=True)


def adopt(args) -> int:
    """Copy finished runs into checkpoints/names-<arch> and ship them."""
    import shutil

    from makemore.store import Run

    out = Path(args.out)
    for folder in map(Path, args.adopt):
        source = Run(folder)
        config, status = source.read_config(), source.status()
        if status.state != "finished" or config["dataset"]["name"] != "names":
            print(f"{folder}: not a finished names.txt run, skipped", file=sys.stderr)
            return 1
        target = out / f"names-{config['arch']}"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(folder, target)
        run = Run(target)
        run.update_config(run_id=run.id, dataset={**config["dataset"], "file": "datasets/names.txt"},
                          train={**config["train"], "num_samples": 10})
        fresh_samples(run)
        ship(run, args.adopted_by or f"adopted from {folder}", args.keep_last)
        print(f"{run.id}: shipped from {folder} (test loss {status.best_test_loss:.4f})")
    return list_shipped(out)


def fresh_samples(run):
    """Ten samples of the kept weights (a bench run may have asked for fewer), as training would write them."""
    from makemore.sample import generate

    model, config = run.load_model()
    step = run.status().best_step or 0
    run.write_samples([s.text for s in generate(model, run.vocab(config), num_samples=10, seed=step)], step)


def list_shipped(out: Path) -> int:
    from makemore.store import Run

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

"""The classic makemore command line: train on a file of lines, or sample from the best checkpoint."""
import argparse
import signal
import sys
from pathlib import Path

import torch

from . import hparams
from .data import SPLIT_SEED, load_file
from .errors import ConfigError, OneLineParser, reporting_errors
from .hparams import TrainConfig
from .limits import load_limits
from .models import ARCHITECTURES, DEFAULT_ARCH
from .runs import new_run, prepare
from .sample import generate, mark_origin
from .store import Run, migrate_legacy
from .train import extend_limits, print_progress, resolve_device, train_and_record


MODEL_FLAGS = list(hparams.MODEL)
OPTIMIZER_FLAGS = ["learning_rate", "batch_size", "weight_decay", "warmup_steps", "schedule", "min_lr_ratio",
                   "decay_share", "optimizer", "ema", "compile"]
RUN_FLAGS = [n for n in hparams.TRAIN if n not in OPTIMIZER_FLAGS]  # max steps, time budget, seed, intervals


def parser() -> argparse.ArgumentParser:
    """The classic flags; those of hyperparameters come from their declarations (makemore/hparams.py)."""
    p = OneLineParser(prog="python -m makemore", description="Make more of what is in a file of lines.")
    p.add_argument("-i", "--input-file", default="datasets/names.txt",
                   help="one example per line (.txt), or a table (.csv, .tsv, .jsonl: see --text-column)")
    p.add_argument("--text-column", default=None,
                   help="a table's column of lines (default: the one obvious text column, e.g. 'name')")
    p.add_argument("--label-column", default=None,
                   help="a table's column of labels: the model learns lines per label (default: a column 'label')")
    p.add_argument("-o", "--work-dir", default="out", help="the run directory to write (or read with --sample-only)")
    p.add_argument("--type", default=None, choices=list(ARCHITECTURES),
                   help=f"the architecture (default: {DEFAULT_ARCH}, or that of --init-from)")
    p.add_argument("--init-from", metavar="RUN_DIR", default=None,
                   help="start from the weights of this trained run (its architecture and shape; new characters "
                        "get fresh rows); on a small data set add --dropout 0.3")
    p.add_argument("--resume", action="store_true", help="continue training the run in --work-dir")
    p.add_argument("--sample-only", action="store_true", help="only sample from the best checkpoint")
    p.add_argument("-n", "--num-workers", type=int, default=0, help="accepted for compatibility; unused")
    p.add_argument("--device", default="auto", help="cpu, cuda, mps or auto")
    p.add_argument("--split-seed", type=int, default=SPLIT_SEED,
                   help="which lines are held out for testing (the web app uses the default too, so runs on the "
                        "same file are scored on the same test lines)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    hparams.add_arguments(p, RUN_FLAGS)
    g = p.add_argument_group("sampling (with the seed above)")
    g.add_argument("--top-k", type=int, default=-1, help="keep the k likeliest characters (-1: all)")
    g.add_argument("--top-p", type=float, default=None, help="nucleus sampling probability mass")
    g.add_argument("--temperature", type=float, default=1.0)
    g.add_argument("--num-samples", type=int, default=50)
    g.add_argument("--prefix", default="", help="every sample starts with this")
    g.add_argument("--label", default=None, help="a labelled run: samples of this label (default: any)")
    hparams.add_arguments(p.add_argument_group("model (defaults depend on --type)"), MODEL_FLAGS)
    hparams.add_arguments(p.add_argument_group("optimization (defaults depend on --type)"), OPTIMIZER_FLAGS)
    return p


def print_samples(run: Run, args, device, dataset=None):
    model, config = run.load_model(device)
    samples = generate(model, run.vocab(config), num_samples=args.num_samples, temperature=args.temperature,
                       top_k=args.top_k if args.top_k > 0 else None, top_p=args.top_p, prefix=args.prefix,
                       seed=TrainConfig.seed if args.seed is None else args.seed, device=device, label=args.label)
    if dataset is not None:
        mark_origin(samples, dataset)
    for origin, title in (("train", "in train"), ("test", "in test"), ("new", "new"), ("?", "samples")):
        group = [s.text for s in samples if s.origin == origin]
        if group:
            print("-" * 80)
            print(f"{len(group)} samples that are {title}:" if origin != "?" else f"{len(group)} samples:")
            for text in group:
                print(text)
    print("-" * 80)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "sweep":
        from .sweep_cli import sweep_main
        return sweep_main(argv[1:])
    if argv and argv[0] == "export":
        from .export_cli import export_main
        return export_main(argv[1:])
    return reporting_errors(run_cli, parser().parse_args(argv))


def run_cli(args) -> int:
    device = resolve_device(args.device)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    limits = load_limits()
    run = Run(args.work_dir)
    migrate_legacy(run)
    if args.sample_only:
        print_samples(run, args, device, matching_dataset(run, args.input_file, limits, args))
        return 0
    if run.exists() and not args.resume:
        print(f"error: {run.path} already holds a run; pass --resume to continue it, or choose another -o.",
              file=sys.stderr)
        return 1
    if args.resume and args.init_from:
        raise ConfigError("--init-from starts a new run; --resume continues one: give only one of them.")
    dataset = resume_run(run, args, limits) if args.resume else create_cli_run(run, args, limits)
    config = run.read_config()
    print(f"{config['arch']}: {config['params']:,} parameters; {len(dataset.train_lines):,} training and "
          f"{len(dataset.test_lines):,} test lines; vocabulary {len(dataset.vocab.chars)} characters"
          f"{'; labels ' + ', '.join(dataset.vocab.labels) if dataset.vocab.labels else ''}; device {device}")
    if config.get("init_from"):
        print(f"starting from the weights of {config['init_from']['run_id']}")
    train_until_signalled(run, dataset, device)
    return 0


def matching_dataset(run: Run, input_file, limits, args):
    """The -i file as the run's data set (so samples can be marked new or seen), or None if it is not that."""
    if not (run.exists() and Path(input_file).is_file()):
        return None
    config = run.read_config()
    candidate = load_file(input_file, config["split_seed"], limits, args.text_column, args.label_column)
    return candidate if candidate.sha256 == config["dataset"]["sha256"] else None


def resume_run(run: Run, args, limits):
    dataset = load_file(args.input_file, run.read_config()["split_seed"], limits, args.text_column, args.label_column)
    extend_limits(run, args.max_steps, args.time_budget, limits)
    return dataset


def create_cli_run(run: Run, args, limits):
    """A new run in -o, made the way every run is made (makemore/runs.py)."""
    dataset = load_file(args.input_file, args.split_seed, limits, args.text_column, args.label_column)
    source = Run(args.init_from) if args.init_from else None
    arch, model, train = prepare(args.type, limits, init_from=source, model=hparams.given(args, MODEL_FLAGS),
                                 lines=len(dataset.lines), **hparams.given(args, RUN_FLAGS + OPTIMIZER_FLAGS))
    new_run(run, dataset, arch, model, train, limits, init_from=source, dataset_file=args.input_file)
    return dataset


def train_until_signalled(run: Run, dataset, device):
    """Train in this process; Ctrl-C or SIGTERM stops it at the next step, with a checkpoint."""
    stop = {"now": False}

    def on_signal(signum, frame):
        stop["now"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    final = train_and_record(run, dataset, device, should_stop=lambda: stop["now"], report=print_progress)
    status = run.status()
    chosen = "" if status.best_val_loss is None else (
        f" (the checkpoint best on validation, {status.best_val_loss:.4f}; the lowest test loss seen, the classic's "
        f"figure, {status.lowest_test_loss:.4f})")
    print(f"{final}: best test loss {status.best_test_loss:.4f} at step {status.best_step}{chosen}; "
          f"weights in {run.file('model.safetensors')}")

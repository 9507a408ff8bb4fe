"""The classic makemore command line: train on a file of lines, or sample from the best checkpoint."""
import argparse
import signal
import sys
from pathlib import Path

import torch

from .data import SPLIT_SEED, load_file
from .errors import ConfigError, MakemoreError
from .finetune import create_finetune_run, source_arch
from .limits import load_limits
from .models import ARCHITECTURES
from .sample import generate, mark_origin
from .store import Run, migrate_legacy
from .train import create_run, extend_limits, make_train_config, print_progress, resolve_device, train_and_record


class OneLineParser(argparse.ArgumentParser):
    """A bad flag gives one line naming the problem, not the whole usage text."""

    def error(self, message):
        self.exit(2, f"error: {message} (see python -m makemore --help)\n")


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m makemore", description="Make more of what is in a file of lines.")
    p.add_argument("-i", "--input-file", default="datasets/names.txt", help="one example per line")
    p.add_argument("-o", "--work-dir", default="out", help="the run directory to write (or read with --sample-only)")
    p.add_argument("--type", default=None, choices=list(ARCHITECTURES),
                   help="the architecture (default: transformer, or that of --init-from)")
    p.add_argument("--init-from", metavar="RUN_DIR", default=None,
                   help="start from the weights of this trained run (its architecture and shape; new characters "
                        "get fresh rows); on a small data set add --dropout 0.3")
    p.add_argument("--resume", action="store_true", help="continue training the run in --work-dir")
    p.add_argument("--sample-only", action="store_true", help="only sample from the best checkpoint")
    p.add_argument("-n", "--num-workers", type=int, default=0, help="accepted for compatibility; unused")
    p.add_argument("--max-steps", type=int, default=None, help="training steps (-1: until stopped)")
    p.add_argument("--time-budget", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--device", default="auto", help="cpu, cuda, mps or auto")
    p.add_argument("--seed", type=int, default=3407, help="seed for initialisation, batches and sampling")
    p.add_argument("--split-seed", type=int, default=SPLIT_SEED,
                   help="which lines are held out for testing (the web app uses the default too, so runs on the "
                        "same file are scored on the same test lines)")
    p.add_argument("--eval-interval", type=int, default=None, help="steps between evaluations and checkpoints")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    g = p.add_argument_group("sampling")
    g.add_argument("--top-k", type=int, default=-1, help="keep the k likeliest characters (-1: all)")
    g.add_argument("--top-p", type=float, default=None, help="nucleus sampling probability mass")
    g.add_argument("--temperature", type=float, default=1.0)
    g.add_argument("--num-samples", type=int, default=50)
    g.add_argument("--prefix", default="", help="every sample starts with this")
    m = p.add_argument_group("model (defaults depend on --type)")
    m.add_argument("--n-layer", type=int, default=None)
    m.add_argument("--n-head", type=int, default=None)
    m.add_argument("--n-embd", type=int, default=None)
    m.add_argument("--n-embd2", type=int, default=None)
    m.add_argument("--block-size", "--context", dest="context", type=int, default=None,
                   help="context length of mlp (characters seen)")
    m.add_argument("--dropout", type=float, default=None)
    o = p.add_argument_group("optimization (defaults depend on --type)")
    o.add_argument("-b", "--batch-size", type=int, default=None)
    o.add_argument("-l", "--learning-rate", type=float, default=None)
    o.add_argument("-w", "--weight-decay", type=float, default=None)
    o.add_argument("--compile", action="store_true",
                   help="torch.compile the model for training (pays on a GPU; on a CPU the compile takes longer "
                        "than it saves); falls back to eager if compiling fails")
    return p


def print_samples(run: Run, args, device, dataset=None):
    model, config = run.load_model(device)
    samples = generate(model, run.vocab(config), num_samples=args.num_samples, temperature=args.temperature,
                       top_k=args.top_k if args.top_k > 0 else None, top_p=args.top_p, prefix=args.prefix,
                       seed=args.seed, device=device)
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


def reporting_errors(command, args) -> int:
    """command(args)'s exit code; a MakemoreError is one line on stderr (exit 1), Ctrl-C says so (130)."""
    try:
        return command(args)
    except MakemoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def run_cli(args) -> int:
    device = resolve_device(args.device)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    limits = load_limits()
    run = Run(args.work_dir)
    migrate_legacy(run)
    if args.sample_only:
        dataset = None
        if run.exists() and Path(args.input_file).is_file():
            config = run.read_config()
            candidate = load_file(args.input_file, config["split_seed"], limits)
            dataset = candidate if candidate.sha256 == config["dataset"]["sha256"] else None
        print_samples(run, args, device, dataset)
        return 0
    if run.exists() and not args.resume:
        print(f"error: {run.path} already holds a run; pass --resume to continue it, or choose another -o.",
              file=sys.stderr)
        return 1
    if args.resume and args.init_from:
        raise ConfigError("--init-from starts a new run; --resume continues one: give only one of them.")
    if args.resume:
        config = run.read_config()
        dataset = load_file(args.input_file, config["split_seed"], limits)
        extend_limits(run, args.max_steps, args.time_budget, limits)
    else:
        dataset = load_file(args.input_file, args.split_seed, limits)
        source = Run(args.init_from) if args.init_from else None
        arch = source_arch(source, args.type) if source else args.type or "transformer"
        train_config = make_train_config(
            arch, limits, learning_rate=args.learning_rate, batch_size=args.batch_size,
            weight_decay=args.weight_decay, max_steps=args.max_steps, time_budget=args.time_budget,
            eval_interval=args.eval_interval, seed=args.seed, compile=args.compile or None,
        )
        overrides = dict(n_layer=args.n_layer, n_head=args.n_head, n_embd=args.n_embd, n_embd2=args.n_embd2,
                         context=args.context, dropout=args.dropout)
        if source:
            create_finetune_run(run, dataset, source, train_config, limits, args.input_file, overrides)
        else:
            create_run(run, dataset, arch, overrides, train_config, limits, dataset_file=args.input_file)
        config = run.read_config()
    print(f"{config['arch']}: {config['params']:,} parameters; {len(dataset.train_lines):,} training and "
          f"{len(dataset.test_lines):,} test lines; vocabulary {dataset.vocab.size - 1} characters; device {device}")
    if config.get("init_from"):
        print(f"starting from the weights of {config['init_from']['run_id']}")
    stop = {"now": False}

    def on_signal(signum, frame):
        stop["now"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    final = train_and_record(run, dataset, device, should_stop=lambda: stop["now"], report=print_progress)
    status = run.status()
    print(f"{final}: best test loss {status.best_test_loss:.4f} at step {status.best_step}; "
          f"weights in {run.file('model.safetensors')}")
    return 0

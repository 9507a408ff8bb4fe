"""Sampling speed per architecture: samples/s generating 1000 samples, and the latency of one 50-sample request.

    python bench/sampling.py                    # shipped checkpoints where there are some, else default models
    python bench/sampling.py --archs transformer --repeats 7

Models come from checkpoints/names-<arch> when it exists (trained: lines end when the model says so),
otherwise a freshly initialised model with the default configuration. The transformer is also compared
with the classic makemore.py generate() (which re-runs the whole prefix for every new character) at the
classic configuration, both untrained so both run every row to the full length.
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (CLASSIC_SHAPES, NAMES, ROOT, find_classic, load_classic, machine, median,  # noqa: E402
                          save, table)

ARCHS = list(CLASSIC_SHAPES)


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return median(times)


def load_model(arch, dataset):
    from makemore.models import build_model, make_config
    from makemore.store import Run

    run = Run(ROOT / "checkpoints" / f"names-{arch}")
    if run.file("model.safetensors").is_file():
        model, config = run.load_model("cpu")
        return model, run.vocab(config), "shipped"
    import torch
    torch.manual_seed(0)
    model = build_model(arch, make_config(arch, dataset.vocab.size, dataset.block_size)).eval()
    return model, dataset.vocab, "untrained"


def classic_comparison(dataset, classic_path, n, repeats):
    """Ours vs classic generate() for the transformer at the classic configuration, both untrained."""
    import contextlib
    import io

    import torch

    from makemore.models import build_model, make_config
    from makemore.sample import generate

    torch.manual_seed(0)
    ours = build_model("transformer", make_config("transformer", dataset.vocab.size, dataset.block_size,
                                                  **CLASSIC_SHAPES["transformer"])).eval()
    ours_s = timed(lambda: generate(ours, dataset.vocab, num_samples=n, seed=1), repeats)
    C = load_classic(classic_path)
    with contextlib.redirect_stdout(io.StringIO()):
        train_dataset, _ = C.create_datasets(str(NAMES))
    from bench.common import classic_model
    model = classic_model(C, "transformer", train_dataset.get_vocab_size(), train_dataset.get_output_length()).eval()
    steps = train_dataset.get_output_length() - 1  # as the classic print_samples does
    start = torch.zeros(n, 1, dtype=torch.long)
    classic_s = timed(lambda: C.generate(model, start, steps, do_sample=True), repeats)
    return {"n": n, "ours_s": ours_s, "classic_s": classic_s, "ours_samples_per_s": n / ours_s,
            "classic_samples_per_s": n / classic_s, "speedup": classic_s / ours_s}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--archs", nargs="+", default=ARCHS, choices=ARCHS)
    p.add_argument("--num-samples", type=int, default=1000)
    p.add_argument("--request", type=int, default=50, help="samples in one latency request")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--classic", default=None)
    p.add_argument("--no-classic", action="store_true")
    args = p.parse_args(argv)

    import torch

    from makemore.data import load_file
    from makemore.sample import generate

    if args.threads:
        torch.set_num_threads(args.threads)
    dataset = load_file(NAMES)
    rows = []
    for arch in args.archs:
        model, vocab, source = load_model(arch, dataset)
        generate(model, vocab, num_samples=args.request, seed=0)  # warm-up
        bulk = timed(lambda: generate(model, vocab, num_samples=args.num_samples, seed=1), args.repeats)
        latency = timed(lambda: generate(model, vocab, num_samples=args.request, seed=2), 3 * args.repeats)
        rows.append({"arch": arch, "model": source, "params": model.num_params(),
                     "samples_per_s": args.num_samples / bulk, "bulk_s": bulk, "latency_ms": 1000 * latency})
        print(f"{arch:12s} {rows[-1]['samples_per_s']:9.0f} samples/s  {rows[-1]['latency_ms']:6.1f} ms per "
              f"{args.request}", file=sys.stderr, flush=True)
    print(table(rows, [("arch", "arch", ""), ("model", "model", ""), ("params", "params", ","),
                       ("samples_per_s", f"samples/s ({args.num_samples})", ",.0f"),
                       ("latency_ms", f"ms per {args.request}-sample request", ".1f")]))
    comparison = None
    classic = None if args.no_classic else find_classic(args.classic)
    if classic and "transformer" in args.archs:
        comparison = classic_comparison(dataset, classic, args.num_samples, max(7, args.repeats))
        print(f"\ntransformer, classic configuration, {args.num_samples} samples: ours "
              f"{comparison['ours_s'] * 1000:.0f} ms, classic generate() {comparison['classic_s'] * 1000:.0f} ms: "
              f"x{comparison['speedup']:.1f}")
    path = save("sampling", {"bench": "sampling", "num_samples": args.num_samples, "request": args.request,
                             "repeats": args.repeats, "machine": machine(), "rows": rows,
                             "classic_transformer": comparison})
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Training throughput per architecture at the classic configuration, ours and the classic side by side.

    python bench/throughput.py                      # all architectures, 3 rounds
    python bench/throughput.py --archs transformer gru --rounds 5 --steps 300
    python bench/throughput.py --compile --out throughput_compiled   # ours under torch.compile (--compile)

The classic configuration: batch 32, n_embd 64, n_embd2 64, 4 layers, 4 heads, names.txt, with our
models shaped like the classic ones (bench/common.py CLASSIC_SHAPES). Every measurement runs in a
fresh process (so peak RSS is that run's alone); ours and the classic alternate, round after round,
so that load from other processes hits both alike. A step is timed the way makemore.py times it:
fetching the batch, forward, backward and the optimizer step; ours draws batches as train_run does
(length-bucketed: makemore.data.BucketBatcher). Reported: the median over rounds of
each round's median step time, steps/s, tokens/s (targets that count in the loss, per second), peak
RSS, and ours/classic as the median of the per-round ratios.

The classic script runs with its own defaults (torch's thread count, AdamW lr 5e-4) except that it
loads batches in the main process (num_workers=0), as its 4 worker processes only compete for the
same cores here.
"""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (CLASSIC_BATCH, CLASSIC_HAS, CLASSIC_SHAPES, NAMES, classic_training, find_classic,  # noqa: E402
                          machine, median, peak_rss_mb, run_worker, save, table)

ARCHS = list(CLASSIC_SHAPES)


def worker_ours(arch, steps, warmup, batch_size, threads, shape, compile=False):
    import torch

    from makemore.data import load_file
    from makemore.models import build_model, get_architecture, make_config
    from makemore.data import BucketBatcher
    from makemore.train import TrainConfig, compile_model, make_optimizer, train_step

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    dataset = load_file(NAMES)
    if shape == "classic":
        overrides, c = CLASSIC_SHAPES[arch], TrainConfig(learning_rate=5e-4, weight_decay=0.01)
    else:  # our tuned defaults, at their own batch size
        overrides, c = {}, TrainConfig(**get_architecture(arch).training)
        batch_size = c.batch_size
    model = build_model(arch, make_config(arch, dataset.vocab.size, dataset.block_size, **overrides))
    optimizer = make_optimizer(model, c)
    batcher = BucketBatcher(*dataset.tensors("train"), "cpu", seed=0)  # as train_run draws batches
    model.train()
    step_model = compile_model(model) if compile else model
    times, tokens = [], 0
    started = time.perf_counter()
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        if i == warmup:
            warmup_s = t0 - started  # with --compile: mostly compiling
        xb, yb = batcher(batch_size)
        loss = train_step(step_model, optimizer, xb, yb)
        t1 = time.perf_counter()
        if i >= warmup:
            times.append(t1 - t0)
            tokens += int((yb != -1).sum())
    float(loss)
    return {"step_ms": 1000 * median(times), "tokens_per_s": tokens / sum(times), "batch_size": batch_size,
            "params": model.num_params(), "peak_rss_mb": peak_rss_mb(), "threads": torch.get_num_threads(),
            "warmup_s": warmup_s}


def worker_classic(arch, steps, warmup, batch_size, classic_path):
    import torch

    _, model, optimizer, loader, _ = classic_training(Path(classic_path), arch, batch_size)
    times, tokens = [], 0
    for i in range(warmup + steps):
        t0 = time.perf_counter()  # the classic training loop's own timing, step for step
        X, Y = loader.next()
        logits, loss = model(X, Y)
        model.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        t1 = time.perf_counter()
        if i >= warmup:
            times.append(t1 - t0)
            tokens += int((Y != -1).sum())
    return {"step_ms": 1000 * median(times), "tokens_per_s": tokens / sum(times), "batch_size": batch_size,
            "params": sum(p.numel() for p in model.parameters()), "peak_rss_mb": peak_rss_mb(),
            "threads": torch.get_num_threads()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--archs", nargs="+", default=ARCHS, choices=ARCHS)
    p.add_argument("--steps", type=int, default=200, help="timed steps per run")
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=CLASSIC_BATCH)
    p.add_argument("--threads", type=int, default=0, help="torch threads for ours (0: torch's default)")
    p.add_argument("--shape", choices=["classic", "default"], default="classic",
                   help="classic: the classic configuration; default: our tuned defaults (no classic run)")
    p.add_argument("--classic", default=None, help="path of the classic makemore.py (default: found automatically)")
    p.add_argument("--no-classic", action="store_true")
    p.add_argument("--compile", action="store_true", help="ours under torch.compile (steady state after warm-up)")
    p.add_argument("--out", default=None, help="results name under bench/results/ (default: throughput)")
    p.add_argument("--worker", choices=["ours", "classic"], help=argparse.SUPPRESS)
    p.add_argument("--arch", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker == "ours":
        print(json.dumps(worker_ours(args.arch, args.steps, args.warmup, args.batch_size, args.threads, args.shape,
                                     args.compile)))
        return 0
    if args.worker == "classic":
        print(json.dumps(worker_classic(args.arch, args.steps, args.warmup, args.batch_size, args.classic)))
        return 0

    classic = None if args.no_classic or args.shape != "classic" else find_classic(args.classic)
    if classic is None and not args.no_classic and args.shape == "classic":
        print("note: no classic makemore.py found (give --classic PATH); measuring ours only", file=sys.stderr)
    common = ["--steps", str(args.steps), "--warmup", str(args.warmup), "--batch-size", str(args.batch_size)]
    raw = {arch: {"ours": [], "classic": []} for arch in args.archs}
    for r in range(args.rounds):
        for arch in args.archs:
            raw[arch]["ours"].append(run_worker(Path(__file__), ["--worker", "ours", "--arch", arch, "--threads",
                                                                 str(args.threads), "--shape", args.shape, *common]
                                                + (["--compile"] if args.compile else [])))
            if classic and arch in CLASSIC_HAS:
                raw[arch]["classic"].append(run_worker(Path(__file__), ["--worker", "classic", "--arch", arch,
                                                                        "--classic", str(classic), *common]))
            o = raw[arch]["ours"][-1]
            c = raw[arch]["classic"][-1] if raw[arch]["classic"] else None
            print(f"round {r + 1}/{args.rounds} {arch:12s} ours {o['step_ms']:7.2f} ms"
                  + (f"  classic {c['step_ms']:7.2f} ms  x{c['step_ms'] / o['step_ms']:.2f}" if c else ""),
                  file=sys.stderr, flush=True)
    rows = []
    for arch in args.archs:
        ours, cl = raw[arch]["ours"], raw[arch]["classic"]
        row = {"arch": arch, "params": ours[0]["params"], "batch_size": ours[0]["batch_size"],
               "step_ms": median([o["step_ms"] for o in ours]),
               "tokens_per_s": median([o["tokens_per_s"] for o in ours]),
               "peak_rss_mb": median([o["peak_rss_mb"] for o in ours]), "threads": ours[0]["threads"],
               "warmup_s": median([o["warmup_s"] for o in ours])}
        row["steps_per_s"] = 1000 / row["step_ms"]
        if cl:
            row.update(classic_params=cl[0]["params"], classic_step_ms=median([c["step_ms"] for c in cl]),
                       classic_tokens_per_s=median([c["tokens_per_s"] for c in cl]),
                       classic_peak_rss_mb=median([c["peak_rss_mb"] for c in cl]), classic_threads=cl[0]["threads"])
            row["classic_steps_per_s"] = 1000 / row["classic_step_ms"]
            row["speedup"] = median([c["step_ms"] / o["step_ms"] for o, c in zip(ours, cl)])
            row["speedup_tokens"] = row["tokens_per_s"] / row["classic_tokens_per_s"]
        rows.append(row)
    columns = [("arch", "arch", ""), ("params", "params", ","), ("batch_size", "batch", ""),
               ("step_ms", "ms/step", ".2f"), ("steps_per_s", "steps/s", ".1f"), ("tokens_per_s", "tokens/s", ",.0f"),
               ("peak_rss_mb", "peak RSS MB", ".0f")]
    if classic:
        columns += [("classic_step_ms", "classic ms/step", ".2f"), ("classic_tokens_per_s", "classic tokens/s", ",.0f"),
                    ("classic_peak_rss_mb", "classic RSS MB", ".0f"), ("speedup", "ours/classic (steps/s)", ".2f"),
                    ("speedup_tokens", "ours/classic (tokens/s)", ".2f")]
    print(table(rows, columns))
    name = args.out or ("throughput" if args.shape == "classic" else "throughput-defaults")
    if args.compile:
        columns.insert(4, ("warmup_s", f"first {args.warmup} steps s", ".1f"))
    path = save(name, {"bench": "throughput", "shape": args.shape, "compile": args.compile, "rounds": args.rounds,
                       "steps": args.steps,
                       "warmup": args.warmup, "machine": machine(), "rows": rows, "raw": raw})
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

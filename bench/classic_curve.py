"""The classic makemore.py's test-loss curve over a wall-clock budget: the reference thresholds that
bench/time_to_quality.py compares ours against.

    python bench/classic_curve.py --archs transformer --budget 180

The issue gives the classic's best test loss within 180 s for bigram, mlp, rnn, gru and bow, but for
the transformer only its best after 8 minutes. This script measures the missing number the way the
classic trains: its own models, data split (seed 3407), AdamW (lr 5e-4, weight decay 0.01), batch 32,
torch's default threads, and its evaluation (the whole test split, every 500 steps). Wall time includes
the evaluations, as it does for ours.
"""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import CLASSIC_HAS, classic_training, find_classic, machine, run_worker, save, table  # noqa: E402


def worker(arch: str, budget: float, eval_every: int, classic_path: str) -> dict:
    import torch

    C, model, optimizer, loader, test_dataset = classic_training(Path(classic_path), arch)
    evals, step, start = [], 0, time.perf_counter()
    while time.perf_counter() - start < budget:
        X, Y = loader.next()
        _, loss = model(X, Y)
        model.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        if step % eval_every == 0:
            test_loss = C.evaluate(model, test_dataset, batch_size=100, max_batches=10)
            evals.append({"step": step, "elapsed": round(time.perf_counter() - start, 3), "test_loss": test_loss})
    best = min(evals, key=lambda r: r["test_loss"]) if evals else None
    return {"arch": arch, "steps": step, "threads": torch.get_num_threads(), "evals": evals,
            "best_test_loss": best["test_loss"] if best else None, "best_at_s": best["elapsed"] if best else None}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--archs", nargs="+", default=["transformer"], choices=CLASSIC_HAS)
    p.add_argument("--budget", type=float, default=180.0, help="seconds of training per architecture")
    p.add_argument("--eval-every", type=int, default=500, help="steps between evaluations (the classic's 500)")
    p.add_argument("--classic", default=None, help="path of the classic makemore.py (default: found automatically)")
    p.add_argument("--out", default="classic_curve", help="results name under bench/results/")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args.archs[0], args.budget, args.eval_every, args.classic)))
        return 0
    classic = find_classic(args.classic)
    if classic is None:
        print("no classic makemore.py found: give --classic PATH or set MAKEMORE_CLASSIC", file=sys.stderr)
        return 2
    rows = []
    for arch in args.archs:
        print(f"classic {arch} for {args.budget:g} s ...", file=sys.stderr, flush=True)
        rows.append(run_worker(Path(__file__), ["--worker", "--archs", arch, "--budget", str(args.budget),
                                                "--eval-every", str(args.eval_every), "--classic", str(classic)]))
    print(table(rows, [("arch", "arch", ""), ("steps", "steps", ","), ("threads", "threads", ""),
                       ("best_test_loss", f"best test loss within {args.budget:g} s", ".4f"),
                       ("best_at_s", "at s", ".0f")]))
    path = save(args.out, {"bench": "classic_curve", "budget": args.budget, "machine": machine(), "rows": rows})
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Fine-tuning versus training from scratch on a small data set, for the same short time budget.

    python bench/finetune.py                      # 2,000 company names, 30 s and 60 s, 3 repeats
    python bench/finetune.py --budgets 30 --repeats 1
    python bench/finetune.py --jobs 12            # 12 runs at a time, on a machine with 12 idle cores
    python bench/finetune.py --unit steps --budgets 400 800 --out finetune_steps   # the same work per run

The data: 2,000 lines sampled (fixed seed) from datasets/companies.txt, split as every run splits
(10% held out for testing). Both variants are transformers of the shape of checkpoints/names-transformer
with the same training configuration (the architecture's defaults, the given time budget, the same
seed per repeat); they start from fresh weights or from names-transformer (makemore/finetune.py: known
characters keep their rows, the capitals, digits and punctuation names.txt lacks start fresh), each with
the shipped dropout (0.1) and with 0.3, as 1,800 training lines are soon overfitted.
Reported: the test loss at step 0, at the end of the budget, and the best one (the run keeps the weights
with the best test loss). Each run is its own process with one torch thread; the runs of one budget run
side by side (--jobs), so machine load hits every variant alike.
"""
import argparse
import json
import random
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, machine, run_worker, save, table  # noqa: E402

COMPANIES = ROOT / "datasets" / "companies.txt"
SOURCE = ROOT / "checkpoints" / "names-transformer"
# name: (run to start from, dropout); None: the source's dropout, 0.1
VARIANTS = {"scratch": (None, None), "scratch, dropout 0.3": (None, 0.3),
            "finetune": (SOURCE, None), "finetune, dropout 0.3": (SOURCE, 0.3)}


def sample_lines(count: int, seed: int) -> list[str]:
    lines = [line.strip() for line in COMPANIES.read_text(encoding="utf-8").splitlines() if line.strip()]
    return random.Random(seed).sample(lines, count)


def train_once(data_file: Path, out: Path, budget: float, seed: int, init_from: Path | None, dropout: float | None,
               eval_interval: int, unit: str = "s") -> dict:
    from makemore.data import load_file
    from makemore.finetune import create_finetune_run
    from makemore.store import Run
    from makemore.train import create_run, make_train_config, train_run

    dataset = load_file(data_file)
    run = Run(out)
    limit = dict(max_steps=-1, time_budget=budget) if unit == "s" else dict(max_steps=int(budget), time_budget=0)
    train_config = make_train_config("transformer", seed=seed, eval_interval=eval_interval, **limit)
    if init_from:
        create_finetune_run(run, dataset, Run(init_from), train_config, model_overrides={"dropout": dropout})
    else:
        shape = {k: v for k, v in Run(SOURCE).read_config()["model"].items()
                 if k in ("n_layer", "n_head", "n_embd", "dropout")}
        create_run(run, dataset, "transformer", {**shape, "dropout": dropout or shape["dropout"]}, train_config)
    train_run(run, dataset)
    evals = [r for r in run.read_metrics() if r.get("kind") == "eval"]
    return {"start_test_loss": evals[0]["test_loss"], "final_test_loss": evals[-1]["test_loss"],
            "best_test_loss": min(r["test_loss"] for r in evals), "steps": evals[-1]["step"],
            "curve": [(r["step"], round(r["elapsed"], 2), round(r["test_loss"], 4)) for r in evals]}


def summarise(results: list[dict]) -> list[dict]:
    rows = []
    for budget in sorted({r["budget"] for r in results}):
        for variant in VARIANTS:
            group = [r for r in results if r["budget"] == budget and r["variant"] == variant]
            if not group:
                continue
            med = {k: statistics.median(r[k] for r in group)
                   for k in ("start_test_loss", "final_test_loss", "best_test_loss", "steps")}
            rows.append({"budget": budget, "variant": variant, "repeats": len(group), **med,
                         "best_all": [round(r["best_test_loss"], 4) for r in group]})
    return rows


def run_job(job: dict) -> dict:
    """One training run in a fresh interpreter with one torch thread (so that parallel jobs do not compete
    for threads); the result of train_once."""
    return run_worker(Path(__file__), ["--worker", json.dumps(job)], timeout=job["budget"] * 3 + 300)


def worker(job: dict):
    import torch
    torch.set_num_threads(1)
    init = SOURCE if VARIANTS[job["variant"]][0] else None
    result = train_once(Path(job["data"]), Path(job["out"]), job["budget"], job["seed"], init,
                        VARIANTS[job["variant"]][1], job["eval_interval"], job["unit"])
    print(json.dumps(result))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lines", type=int, default=2000)
    p.add_argument("--data-seed", type=int, default=1234)
    p.add_argument("--budgets", type=float, nargs="+", default=[30.0, 60.0])
    p.add_argument("--unit", choices=["s", "steps"], default="s",
                   help="budgets in seconds, or in steps (the same work whatever else loads the machine)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--eval-interval", type=int, default=100)
    p.add_argument("--jobs", type=int, default=1, help="runs at a time, each in its own process with one thread "
                                                       "(more only on a machine with that many idle cores)")
    p.add_argument("--out", default="finetune", help="results name under bench/results/")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(json.loads(args.worker))

    work = Path(tempfile.mkdtemp(prefix="makemore-finetune-"))
    data_file = work / "companies-2000.txt"
    data_file.write_text("\n".join(sample_lines(args.lines, args.data_seed)) + "\n", encoding="utf-8")
    results = []
    for budget in args.budgets:  # one budget at a time: its runs share the machine alike
        jobs = [{"variant": variant, "budget": budget, "repeat": repeat, "seed": 3407 + repeat,
                 "data": str(data_file), "out": str(work / f"{variant.replace(' ', '_').replace(',', '')}-{budget:g}-{repeat}"),
                 "eval_interval": args.eval_interval, "unit": args.unit}
                for repeat in range(args.repeats) for variant in VARIANTS]
        print(f"{len(jobs)} runs of {budget:g} {args.unit}, {args.jobs} at a time ...", file=sys.stderr, flush=True)
        with ThreadPoolExecutor(args.jobs) as pool:
            for job, result in zip(jobs, pool.map(run_job, jobs)):
                results.append({k: job[k] for k in ("variant", "budget", "repeat")} | result)
    rows = summarise(results)
    print(table(rows, [("budget", f"budget ({args.unit})", ".0f"), ("variant", "start", ""), ("repeats", "repeats", ""),
                       ("steps", "steps", ",.0f"), ("start_test_loss", "test loss at step 0", ".3f"),
                       ("final_test_loss", "test loss at the end", ".4f"),
                       ("best_test_loss", "best test loss", ".4f"), ("best_all", "best, each repeat", "")]))
    from makemore.data import load_file
    dataset = load_file(data_file)
    path = save(args.out, {"bench": "finetune", "source": "checkpoints/names-transformer",
                           "data": {"file": "datasets/companies.txt", "lines": args.lines, "seed": args.data_seed,
                                    "train": len(dataset.train_lines), "test": len(dataset.test_lines),
                                    "vocab": dataset.vocab.size - 1},
                           "unit": args.unit, "jobs": args.jobs, "threads_per_run": 1, "machine": machine(), "rows": rows,
                           "runs": results})
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How long each Look inside view takes for each shipped model, and what the training-health probe costs.

    python bench/inspect_views.py                     # every shipped run, the health overhead of every architecture
    python bench/inspect_views.py --repeats 21 --e2e-archs transformer gru

Views: the median time of the core computation (makemore.introspect, what an API client waits for
besides the network) and of the computation plus building the plotly figure (what the tab does); the
target is under 200 ms each. The data set a bigram-count view reads is loaded once beforehand, as the
app caches it.

Health overhead at the default evaluation interval (500 steps), two ways:
- per step: the median time of a training step with the probe armed (hooks, parameter copy, the record
  appended to metrics.jsonl) against a plain step, on the same model and batches; overhead = the extra
  time of one armed step / the time of the 500 plain steps it comes with. This is exact and steady.
- end to end: train_run for --e2e-steps steps with the probe and with it replaced by a no-op, alternating
  --rounds times in one process; whole-run times move by several percent on a shared machine, so this
  only checks that nothing else got slower.
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, machine, median, save, table  # noqa: E402

LINES = {"names": "olivia", "companies": "Dropbox"}
VIEWS = ["next_char_probs", "next_char_choices", "embedding_map", "attention_map", "hidden_activations",
         "training_health", "bigram_counts"]


def timed(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * median(times)


def view_calls(run, model, config, dataset):
    """{view: (compute, compute and draw)} for one run; views that do not apply to its architecture are left out."""
    from makemore import introspect as I
    from makemore.ui import figures as F

    vocab, arch = run.vocab(config), config["arch"]
    line = LINES.get(config["dataset"]["name"], dataset.lines[0])
    calls = {
        "next_char_probs": (lambda: I.next_char_probs(model, vocab, line), F.probs_figure),
        "next_char_choices": (lambda: I.next_char_choices(model, vocab, line[:4], 8), F.choices_figure),
        "embedding_map": (lambda: I.embedding_map(model, vocab, arch), F.embedding_figure),
        "training_health": (lambda: I.training_health(run), F.health_figures),
        "bigram_counts": (lambda: I.bigram_counts(dataset), lambda r: F.bigram_figure(r, dataset.name)),
    }
    if arch == "transformer":
        calls["attention_map"] = (lambda: I.attention_map(model, vocab, line), F.attention_figure)
    if arch != "bigram":
        calls["hidden_activations"] = (lambda: I.hidden_activations(model, vocab, line, 16), F.hidden_figure)
    return {view: (compute, lambda c=compute, d=draw: d(c())) for view, (compute, draw) in calls.items()}


def bench_views(runs, repeats):
    from makemore.data import load_file
    from makemore.store import Run

    datasets, rows = {}, []
    for path in runs:
        run = Run(path)
        model, config = run.load_model("cpu")
        name = config["dataset"]["name"]
        if name not in datasets:
            datasets[name] = load_file(ROOT / "datasets" / f"{name}.txt")
        row = {"run": run.id, "arch": config["arch"]}
        for view, (compute, with_figure) in view_calls(run, model, config, datasets[name]).items():
            row[view] = timed(compute, repeats)
            row[view + "_figure"] = timed(with_figure, max(3, repeats // 3))
        row["slowest_ms"] = max(row.get(v + "_figure", 0) for v in VIEWS)
        rows.append(row)
        print(f"{run.id:22s} " + " ".join(f"{v}={row[v]:.1f}" for v in VIEWS if v in row), file=sys.stderr, flush=True)
    return rows


def step_overhead(arch, dataset, steps, eval_interval):
    """Median plain step vs median armed step (arm + step + collect + append) for one architecture."""
    import torch

    from makemore.data import BucketBatcher
    from makemore.health import HealthProbe
    from makemore.models import build_model, make_config
    from makemore.store import Run
    from makemore.train import make_optimizer, make_train_config, train_step

    torch.manual_seed(0)
    model = build_model(arch, make_config(arch, dataset.vocab.size, dataset.block_size)).train()
    c = make_train_config(arch)
    optimizer = make_optimizer(model, c)
    batcher = BucketBatcher(*dataset.tensors("train"), "cpu", seed=0)
    probe = HealthProbe(model)
    with tempfile.TemporaryDirectory() as folder:
        run = Run(folder)
        plain, armed = [], []
        for i in range(2 * steps):
            xb, yb = batcher(c.batch_size)
            watched = i % 2 == 1
            t0 = time.perf_counter()
            if watched:
                probe.arm()
            train_step(model, optimizer, xb, yb)
            if watched:
                record = probe.collect(i)
                run.append_metrics(record)
            (armed if watched else plain).append(time.perf_counter() - t0)
    step, extra = median(plain[5:]), median(armed[5:]) - median(plain[5:])
    return {"arch": arch, "params": model.num_params(), "step_ms": 1000 * step, "armed_step_ms": 1000 * (step + extra),
            "extra_ms": 1000 * extra, "record_bytes": len(json.dumps(record)),
            "overhead_pct": 100 * extra / (eval_interval * step)}


class NoProbe:
    """Stands in for HealthProbe in the 'without' runs."""

    def __init__(self, model):
        pass

    def arm(self):
        pass

    def collect(self, step):
        return {"kind": "note", "step": step, "text": ""}


def end_to_end(arch, dataset, steps, rounds):
    """Whole train_run times with and without the probe, alternating, in this process."""
    import makemore.train as T
    from makemore.store import Run

    real = T.HealthProbe
    times = {"with": [], "without": []}
    try:
        for i in range(2 * rounds):
            variant = ("with", "without")[(i + (i // 2)) % 2]  # with, without, without, with, ...
            T.HealthProbe = real if variant == "with" else NoProbe
            with tempfile.TemporaryDirectory() as folder:
                run = Run(Path(folder) / "run")
                T.create_run(run, dataset, arch, {}, T.make_train_config(arch, max_steps=steps, num_samples=2))
                t0 = time.perf_counter()
                T.train_run(run, dataset)
                times[variant].append(time.perf_counter() - t0)
    finally:
        T.HealthProbe = real
    with_s, without_s = median(times["with"]), median(times["without"])
    return {"arch": arch, "steps": steps, "with_s": with_s, "without_s": without_s,
            "overhead_pct": 100 * (with_s / without_s - 1), "rounds": rounds}


def main(argv=None):
    from makemore.models import ARCHITECTURES

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", nargs="+", default=None, help="run directories (default: the shipped runs)")
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--archs", nargs="+", default=list(ARCHITECTURES), help="architectures for the step overhead")
    p.add_argument("--steps", type=int, default=200, help="timed plain and armed steps each, per architecture")
    p.add_argument("--e2e-archs", nargs="*", default=["transformer", "gru"])
    p.add_argument("--e2e-steps", type=int, default=1500)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=1, help="torch threads (the app gives a lone job every core)")
    args = p.parse_args(argv)

    import torch

    from makemore.data import load_file
    from makemore.train import TrainConfig

    torch.set_num_threads(args.threads)
    shipped = (ROOT / "checkpoints" / "SHIPPED").read_text().split()
    runs = args.runs or [ROOT / "checkpoints" / name for name in shipped]
    view_rows = bench_views(runs, args.repeats)
    columns = [("run", "run", "")] + [(v, v.replace("_", " ") + " ms", ".1f") for v in VIEWS] + \
              [("slowest_ms", "slowest with figure ms", ".1f")]
    print(table(view_rows, columns))

    eval_interval = TrainConfig.eval_interval
    dataset = load_file(ROOT / "datasets" / "names.txt")
    step_rows = [step_overhead(arch, dataset, args.steps, eval_interval) for arch in args.archs]
    print(f"\nTraining-health probe, one armed step per {eval_interval} steps:")
    print(table(step_rows, [("arch", "arch", ""), ("step_ms", "plain step ms", ".2f"),
                            ("armed_step_ms", "armed step ms", ".2f"), ("extra_ms", "extra ms", ".2f"),
                            ("record_bytes", "record bytes", ","), ("overhead_pct", "overhead %", ".3f")]))
    e2e_rows = [end_to_end(arch, dataset, args.e2e_steps, args.rounds) for arch in args.e2e_archs]
    if e2e_rows:
        print(f"\nEnd to end, train_run for {args.e2e_steps} steps (evaluations included), median of {args.rounds}:")
        print(table(e2e_rows, [("arch", "arch", ""), ("without_s", "without s", ".2f"), ("with_s", "with s", ".2f"),
                               ("overhead_pct", "difference %", "+.1f")]))
    path = save("inspect_views", {"bench": "inspect_views", "repeats": args.repeats, "threads": args.threads,
                                  "machine": machine(), "target_ms": 200, "views": view_rows,
                                  "eval_interval": eval_interval, "health_steps": step_rows, "health_e2e": e2e_rows})
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

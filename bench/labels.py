"""Does the label matter? Held-out lines scored under their own label and under the wrong one.

    python bench/labels.py                                  # names-or-companies, bigram, gru, transformer
    python bench/labels.py --archs gru --steps 2000 --repeats 3

The data: the bundled two-label set datasets/names-or-companies.jsonl (1,000 US baby names labelled "name",
1,000 startup names labelled "company"), split as every run splits (10% held out). Per architecture and
seed, a run trains for --steps steps, then:

- the mean NLL per character (end included) of the held-out lines with their own label's start token, with
  the other label's, and with no label. Goal: at least 0.1 nats lower under the right label;
- character statistics of 500 samples per label (temperature 1) beside those of the data's lines of that
  label: mean length, share starting with a capital, share with a space, distinct characters.

Medians over --repeats seeds. Results: bench/results/labels.json.
"""
import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, machine, save, table  # noqa: E402

DATA = ROOT / "datasets" / "names-or-companies.jsonl"
GOAL = 0.1


def char_stats(lines: list[str]) -> dict:
    lines = [line for line in lines if line] or [""]
    return {"mean_length": statistics.mean(map(len, lines)),
            "capital_first": sum(line[:1].isupper() for line in lines) / len(lines),
            "with_space": sum(" " in line for line in lines) / len(lines),
            "distinct_chars": len(set("".join(lines)))}


def held_out_nll(model, dataset, labels) -> float:
    """Mean NLL per character of the test lines, each started with the given label (None: no label)."""
    from makemore.data import encode_lines
    from makemore.train import evaluate
    x, y = encode_lines(dataset.test_lines, dataset.vocab, dataset.block_size, labels)
    return evaluate(model, x, y)


def one_run(arch: str, steps: int, seed: int) -> dict:
    import torch

    from makemore.data import load_file
    from makemore.sample import generate
    from makemore.store import Run
    from makemore.train import create_run, make_train_config, train_run
    torch.set_num_threads(1)
    dataset = load_file(DATA)
    other = {a: b for a, b in zip(dataset.vocab.labels, reversed(dataset.vocab.labels))}
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(Path(tmp) / "run")
        create_run(run, dataset, arch, {}, make_train_config(arch, max_steps=steps, eval_interval=steps, seed=seed))
        train_run(run, dataset)
        model, config = run.load_model()
    right = held_out_nll(model, dataset, dataset.test_labels)
    wrong = held_out_nll(model, dataset, [other[label] for label in dataset.test_labels])
    none = held_out_nll(model, dataset, [""] * len(dataset.test_lines))
    samples = {}
    for label in dataset.vocab.labels:
        texts = [s.text for s in generate(model, run.vocab(config), num_samples=500, seed=seed, label=label)]
        data = [line for line, lab in zip(dataset.lines, dataset.labels) if lab == label]
        samples[label] = {"samples": char_stats(texts), "data": char_stats(data), "examples": texts[:8]}
    return {"arch": arch, "seed": seed, "steps": steps, "right": right, "wrong": wrong, "no_label": none,
            "gap": wrong - right, "per_label": samples}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--archs", nargs="+", default=["bigram", "gru", "transformer"])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    runs = [one_run(arch, args.steps, 3407 + r) for arch in args.archs for r in range(args.repeats)]
    rows = []
    for arch in args.archs:
        mine = [r for r in runs if r["arch"] == arch]
        row = {k: statistics.median(r[k] for r in mine) for k in ("right", "wrong", "no_label", "gap")}
        rows.append({"arch": arch, **row, "goal_met": row["gap"] >= GOAL})
    print(f"Held-out mean NLL (nats per character), median of {args.repeats} seeds, {args.steps} steps each:\n")
    print(table(rows, [("arch", "architecture", ""), ("right", "right label", ".3f"), ("wrong", "wrong label", ".3f"),
                       ("no_label", "no label", ".3f"), ("gap", "wrong - right", ".3f"),
                       ("goal_met", f"gap >= {GOAL}", "")]))
    stats = []
    for r in runs:
        if r["seed"] == 3407:
            for label, s in r["per_label"].items():
                for source in ("data", "samples"):
                    stats.append({"arch": r["arch"], "label": label, "of": source, **s[source]})
    print("\nCharacter statistics per label (seed 3407; 500 samples per label at temperature 1):\n")
    print(table(stats, [("arch", "architecture", ""), ("label", "label", ""), ("of", "of", ""),
                        ("mean_length", "mean length", ".1f"), ("capital_first", "capital first", ".0%"),
                        ("with_space", "with a space", ".0%"), ("distinct_chars", "distinct chars", "d")]))
    path = save("labels", {"machine": machine(), "data": str(DATA.relative_to(ROOT)), "steps": args.steps,
                           "repeats": args.repeats, "goal": GOAL, "summary": rows, "runs": runs})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()

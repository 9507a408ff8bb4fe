"""Build the bundled labelled data set datasets/names-or-companies.jsonl from the two bundled lists.

    python scripts/labelled_dataset.py            # 1,000 lines of each, seed 3407

Each line is {"text": ..., "label": "name"} for a line of datasets/names.txt (US baby names, SSA) or
{"text": ..., "label": "company"} for a line of datasets/companies.txt (Crunchbase startup names); the lines
are drawn at random without replacement, then shuffled together. See datasets/README.md.
"""
import argparse
import json
import random
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--per-label", type=int, default=1000)
    p.add_argument("--seed", type=int, default=3407)
    p.add_argument("-o", "--output", default=str(REPO / "datasets" / "names-or-companies.jsonl"))
    args = p.parse_args()
    rng = random.Random(args.seed)
    rows = []
    for label, file in (("name", "names.txt"), ("company", "companies.txt")):
        lines = sorted({line.strip() for line in (REPO / "datasets" / file).read_text().splitlines() if line.strip()})
        rows += [(text, label) for text in rng.sample(lines, args.per_label)]
    rng.shuffle(rows)
    Path(args.output).write_text("".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in rows))
    print(f"{len(rows)} lines -> {args.output}")


if __name__ == "__main__":
    main()

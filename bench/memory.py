"""Peak memory of the worst case the limits allow: the largest data set and the largest model.

For each preset (local, public) it writes a data file at the limits (max lines, one line of the
maximum length, max vocabulary, within the upload size), builds the largest transformer under the
parameter cap, and trains it for a few steps in a child process; the child's peak RSS is reported.

    python bench/memory.py            # prints a table, writes bench/results/memory.json
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from makemore.limits import load_limits  # noqa: E402
from makemore.models import count_params, make_config  # noqa: E402

CHILD = """
import sys, time, resource
sys.path.insert(0, {root!r})
from makemore.data import load_file
from makemore.store import Run
from makemore.train import create_run, make_train_config, train_run
from makemore.limits import load_limits
limits = load_limits()
t = time.time()
ds = load_file({data!r}, limits=limits)
run = Run({run!r})
create_run(run, ds, "transformer", {model!r}, make_train_config("transformer", limits, max_steps={steps}, eval_interval={steps}, batch_size=32, num_samples=1), limits)
train_run(run, ds)
print(len(ds.lines), ds.vocab.size, ds.block_size, round(time.time() - t, 1))
"""


def worst_case_file(path: Path, limits):
    alphabet = [chr(0x4E00 + i) for i in range(limits.max_vocab - 1)]  # 3 bytes each in UTF-8; "a" is the last
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(alphabet[i % len(alphabet)] for i in range(limits.max_line_chars)) + "\n")
        budget = limits.max_upload_bytes - path.stat().st_size - 4 * len(alphabet)
        short = max(1, min(limits.max_lines - 1 - len(alphabet), budget // 3))
        for i in range(len(alphabet)):  # every character used
            f.write(alphabet[i] + "\n")
        f.write("a\n" * short)  # as many lines as the size and line limits allow
    return path


def largest_model(limits, vocab_size, block_size):
    best = None
    for n_layer in (2, 4, 6, 8, 12):
        for n_embd in range(64, 4097, 64):
            config = make_config("transformer", vocab_size, block_size, n_layer=n_layer, n_embd=n_embd, n_head=4)
            if count_params("transformer", config) > limits.max_params:
                break
            best = max(best or (0, {}), (count_params("transformer", config), dict(n_layer=n_layer, n_embd=n_embd, n_head=4)))
    return best


def measure(preset_env: dict, steps=5):
    env = {k: v for k, v in os.environ.items() if k not in ("SPACE_ID", "MAKEMORE_PUBLIC")}
    env.update(preset_env)
    limits = load_limits(env)
    with tempfile.TemporaryDirectory() as tmp:
        data = worst_case_file(Path(tmp) / "worst.txt", limits)
        params, model = largest_model(limits, limits.max_vocab + 1, limits.max_line_chars + 1)
        code = CHILD.format(root=str(ROOT), data=str(data), run=str(Path(tmp) / "run"), model=model, steps=steps)
        start = time.time()
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        if out.returncode:
            raise SystemExit(out.stderr)
        lines, vocab, block, seconds = out.stdout.split()
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return dict(preset="public" if limits.public else "local", file_mb=round(data_size_mb(limits), 1),
                lines=int(lines), vocab=int(vocab), block_size=int(block), params=params, model=model,
                steps=steps, seconds=round(time.time() - start, 1), peak_rss_mb=round(rss))


def data_size_mb(limits):
    return limits.max_upload_bytes / 1e6


def main():
    rows = [measure({"MAKEMORE_PUBLIC": "1"}), measure({})]
    print(f"{'preset':8} {'file MB':>8} {'lines':>10} {'vocab':>6} {'block':>6} {'params':>12} {'peak RSS MB':>12}")
    for r in rows:
        print(f"{r['preset']:8} {r['file_mb']:>8} {r['lines']:>10,} {r['vocab']:>6} {r['block_size']:>6} "
              f"{r['params']:>12,} {r['peak_rss_mb']:>12,}")
    out = ROOT / "bench" / "results" / "memory.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

"""Shared helpers of the benchmarks: the classic reference, medians, tables and the JSON results.

The classic karpathy/makemore script is only *run* for comparison, never copied into this
repository: it is read from --classic, from $MAKEMORE_CLASSIC, or extracted from a local git
mirror into /tmp/makemore-classic/ (see `find_classic`).
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
NAMES = ROOT / "datasets" / "names.txt"
CLASSIC_MIRROR = Path("/work/.mirror/karpathy+makemore/repo")
CLASSIC_COPY = Path("/tmp/makemore-classic/makemore.py")

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The classic configuration (makemore.py's defaults) and, per architecture, our model shaped like the
# classic one: its MLP reads the whole block (16 characters), its BoW and RNN/GRU have one block/cell.
# cnn and lstm have no classic counterpart.
CLASSIC_BATCH = 32
CLASSIC_SHAPES = {
    "bigram": {},
    "mlp": dict(n_embd=64, n_embd2=64, context=16, dropout=0.0),
    "cnn": dict(n_layer=4, n_embd2=64, dropout=0.0),
    "rnn": dict(n_layer=1, n_embd=64, n_embd2=64, dropout=0.0),
    "lstm": dict(n_layer=1, n_embd=64, n_embd2=64, dropout=0.0),
    "gru": dict(n_layer=1, n_embd=64, n_embd2=64, dropout=0.0),
    "bow": dict(n_layer=1, n_embd=64, n_embd2=64, dropout=0.0),
    "transformer": dict(n_layer=4, n_head=4, n_embd=64, dropout=0.0),
}
CLASSIC_HAS = ("bigram", "mlp", "rnn", "gru", "bow", "transformer")


def find_classic(path=None) -> Path | None:
    """The classic makemore.py to run side by side, or None when there is none at hand."""
    for candidate in (path, os.environ.get("MAKEMORE_CLASSIC")):
        if candidate:
            return Path(candidate) if Path(candidate).is_file() else None
    if CLASSIC_COPY.is_file():
        return CLASSIC_COPY
    if CLASSIC_MIRROR.exists():
        try:
            text = subprocess.run(["git", "-C", str(CLASSIC_MIRROR), "show", "HEAD:makemore.py"],
                                  check=True, capture_output=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return None
        CLASSIC_COPY.parent.mkdir(parents=True, exist_ok=True)
        CLASSIC_COPY.write_bytes(text)
        return CLASSIC_COPY
    return None


def load_classic(path: Path):
    """Import the classic script as a module (its tensorboard import is stubbed: we never log)."""
    import importlib.util
    import types

    if "torch.utils.tensorboard" not in sys.modules:
        stub = types.ModuleType("torch.utils.tensorboard")
        stub.SummaryWriter = object
        sys.modules["torch.utils.tensorboard"] = stub
    spec = importlib.util.spec_from_file_location("makemore_classic", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def classic_model(C, arch: str, vocab_size: int, block_size: int):
    config = C.ModelConfig(vocab_size=vocab_size, block_size=block_size, n_layer=4, n_head=4, n_embd=64, n_embd2=64)
    return {
        "bigram": lambda: C.Bigram(config), "mlp": lambda: C.MLP(config), "rnn": lambda: C.RNN(config, "rnn"),
        "gru": lambda: C.RNN(config, "gru"), "bow": lambda: C.BoW(config), "transformer": lambda: C.Transformer(config),
    }[arch]()


def classic_training(classic_path: Path, arch: str, batch_size: int = CLASSIC_BATCH):
    """The classic makemore.py set up as its own training loop sets it up: its data split (seed 3407),
    model, AdamW (lr 5e-4, weight decay 0.01) and batches, loaded in the main process (its worker
    processes would only compete for the same cores). Returns (module, model, optimizer, loader, test set)."""
    import argparse
    import contextlib
    import io

    import torch

    C = load_classic(classic_path)
    C.args = argparse.Namespace(device="cpu")  # its evaluate() reads the device from its global args
    torch.manual_seed(3407)
    with contextlib.redirect_stdout(io.StringIO()):
        train_dataset, test_dataset = C.create_datasets(str(NAMES))
    model = classic_model(C, arch, train_dataset.get_vocab_size(), train_dataset.get_output_length())
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.01, betas=(0.9, 0.99), eps=1e-8)
    loader = C.InfiniteDataLoader(train_dataset, batch_size=batch_size, pin_memory=False, num_workers=0)
    return C, model, optimizer, loader, test_dataset


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def peak_rss_mb() -> float:
    import resource
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 1024 / 1024


def run_worker(script: Path, args: list[str], timeout=900) -> dict:
    """Run `script --worker ...` in a fresh interpreter (clean RSS, clean imports); its last line is JSON."""
    out = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=timeout,
                         cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> dict:
    import torch
    return {"python": platform.python_version(), "torch": torch.__version__, "cpus": os.cpu_count(),
            "threads": torch.get_num_threads(), "processor": platform.processor() or platform.machine(),
            "load_avg": os.getloadavg() if hasattr(os, "getloadavg") else None,
            "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}


def save(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=1) + "\n")
    return path


def table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """Markdown table; columns are (key, title, format)."""
    def cell(row, key, fmt):
        value = row.get(key)
        if value is None:
            return "n/a"
        if isinstance(value, bool):
            return "yes" if value else "**no**"
        text = format(value, fmt) if fmt else str(value)
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(title for _, title, _ in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(cell(row, key, fmt) for key, _, fmt in columns) + " |")
    return "\n".join(lines)

"""Export a trained run as a static web page that samples in the visitor's browser.

`export_page(run, out_dir)` writes a folder that works from `file://`, from any static host, and as a
Hugging Face static Space (its README.md front matter says `sdk: static`):

- index.html and makemore.js (copied from makemore/web/): the page and the engine, with no dependency and
  no network access; every architecture's decoding step mirrors the Python one (KV cache, recurrent state,
  a window of recent characters, running sums), so a character costs one step;
- model.js: the weights, vocabulary and model card as one `window.MAKEMORE_MODEL = {...}` script (a page
  opened from file:// cannot fetch() a local file, but it can load a script);
- README.md: the front matter and the model card.

Weights are stored per tensor in the smallest of three forms that keeps the next-character probabilities
within TOLERANCE of the fp32 model on lines the model writes: "f16" (IEEE half), "f24" (fp32 with the low
8 mantissa bits rounded off: 3 bytes, a relative error of 2**-16) or "f32". fp16 alone moves the shipped
models' probabilities by 1e-4 to 6e-4, which is why the middle form exists.

Opting in to `include_training_lines` ships the training lines as sorted 32-bit FNV-1a hashes of their UTF-8
bytes, so the page can offer "only new"; hashes of short lines can be guessed back, so it is off by default.
"""
import base64
import json
import shutil
import struct
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from . import __version__
from .data import SPLIT_SEED, Vocab, load_file
from .errors import CheckpointError, ConfigError
from .limits import load_limits
from .models import ARCHITECTURES, get_architecture
from .sample import generate
from .store import WEIGHTS, Run

WEB = Path(__file__).resolve().parent / "web"
PAGE_FILES = ("index.html", "makemore.js")
FILES = (*PAGE_FILES, "model.js", "README.md")
EXPORT_FORMAT = 1  # of model.js; makemore.js refuses another
RUN_FORMATS = (1, 2)  # config.json formats this exporter reads
TOLERANCE = 2.5e-5  # the export-time budget; the browser tests allow 1e-4, the rest is left for other lines
CHECK_LINES = 48
SMALL = 1024  # tensors this small stay fp32: they cost nothing and checking them costs time
DTYPES = ("f16", "f24")  # the compact forms tried, smallest first


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote (names relative to its folder, never a server path)."""

    folder: str
    files: tuple
    bytes: int
    weights_bytes: int
    dtypes: dict  # "f16" / "f24" / "f32" -> number of tensors stored that way
    arch: str
    params: int
    max_prob_error: float  # the largest next-character probability change from compact weights, measured
    training_lines: int  # hashed lines shipped for "only new"; 0 when not opted in

    def describe(self) -> str:
        kinds = ", ".join(f"{n} {k}" for k, n in self.dtypes.items() if n)
        only_new = f"; {self.training_lines:,} training lines hashed for 'only new'" if self.training_lines else ""
        return (f"Exported the {self.arch} ({self.params:,} parameters) to {self.folder}/: "
                f"{len(self.files)} files, {self.bytes / 1e3:,.0f} KB (weights {self.weights_bytes / 1e3:,.0f} KB; "
                f"tensors {kinds}; probabilities within {self.max_prob_error:.1e} of fp32){only_new}. "
                "Open index.html, or push the folder to a new static Space.")


def export_page(run: Run, out_dir: Path, *, include_training_lines: bool = False, force: bool = False,
                data_root: Path | None = None, dataset=None) -> ExportSummary:
    """Write `run` as a static page into `out_dir` (see the module docstring); raises a MakemoreError that
    says what to do when the run cannot be exported or the folder is in the way.

    For `include_training_lines`, the training lines come from `dataset` (a data.Dataset: the app's
    workspace knows it) or else from the file the run's config records, relative to `data_root` (default:
    the current directory); either must be the content the run was trained on."""
    out_dir = Path(out_dir)
    config = check_run(run)
    check_folder(out_dir, run, force)
    model, _ = run.load_model()
    vocab = run.vocab(config)
    tensors, dtypes, error = compact_weights(model, vocab)
    hashes = training_hashes(run, config, data_root, dataset) if include_training_lines else []
    card = model_card(run, config)
    data = model_script(config, card, tensors, hashes)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in PAGE_FILES:
        shutil.copyfile(WEB / name, out_dir / name)
    (out_dir / "model.js").write_bytes(data)
    (out_dir / "README.md").write_text(readme(card, include_training_lines), encoding="utf-8")
    counts = {kind: list(dtypes.values()).count(kind) for kind in ("f16", "f24", "f32")}
    return ExportSummary(out_dir.name, FILES, sum((out_dir / f).stat().st_size for f in FILES), len(data),
                         counts, config["arch"], int(config.get("params") or model.num_params()), error, len(hashes))


def check_run(run: Run) -> dict:
    """The run's config if it can be exported; CheckpointError naming what is missing otherwise."""
    if not run.exists():
        raise CheckpointError(f"{run.id} is not a run (it has no config.json): give the folder of a trained run.")
    raw = run.raw_config()
    if raw.get("format", 1) not in RUN_FORMATS:
        raise CheckpointError(f"The run {run.id} has config format {raw.get('format')!r}, which this makemore "
                              f"({__version__}) cannot read: update makemore, then export again.")
    config = run.read_config()  # an unknown architecture or a damaged config says so here
    if not get_architecture(config["arch"]).in_page:
        runs = ", ".join(a.name for a in ARCHITECTURES.values() if a.in_page)
        raise CheckpointError(f"The page cannot run a {config['arch']!r} model yet; it runs {runs}.")
    if not run.file(WEIGHTS).is_file():
        raise CheckpointError(f"The run {run.id} has no saved weights yet ({WEIGHTS}): train it until it "
                              "saves a checkpoint (the first evaluation), then export.")
    return config


def check_folder(out_dir: Path, run: Run, force: bool):
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{out_dir.name} is a file, not a folder: choose a folder for the page.")
    if out_dir.resolve() == run.path.resolve():
        raise ConfigError("The page cannot go into the run's own folder: choose another output folder.")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise ConfigError(f"The folder {out_dir.name} exists and is not empty: choose a new folder, or pass "
                          "--force to write the page's files over it (other files there are left alone).")


# --- weights ------------------------------------------------------------------------------------------
def rounded(tensor: torch.Tensor, kind: str) -> torch.Tensor:
    """The fp32 values the page will see after storing `tensor` as `kind`."""
    if kind == "f16":
        return tensor.half().float()
    if kind == "f24":
        bits = tensor.float().contiguous().view(torch.int32).to(torch.int64) & 0xFFFFFFFF
        bits = ((bits + 0x80) >> 8) << 8  # round the magnitude to the nearest; the sign bit is untouched
        return torch.where(bits >= 2**31, bits - 2**32, bits).to(torch.int32).view(torch.float32)
    return tensor.float()


def encode(tensor: torch.Tensor, kind: str) -> bytes:
    """Little-endian bytes of `tensor` stored as `kind`."""
    flat = rounded(tensor, kind).contiguous().flatten()
    if kind == "f16":
        return flat.half().numpy().astype("<f2").tobytes()
    raw = flat.numpy().astype("<f4")
    return raw.view("u1").reshape(-1, 4)[:, 1:].tobytes() if kind == "f24" else raw.tobytes()


def check_lines(model, vocab: Vocab) -> torch.Tensor:
    """(rows, block) token rows for the export-time check: lines the model writes itself (of every label, in a
    labelled model, each from its label's start), BOUNDARY-padded (every model is causal, so padding after a
    line changes nothing before it)."""
    starts = [None, *vocab.labels]
    per_start = max(1, CHECK_LINES // len(starts))
    lines = [(label, s.text) for label in starts
             for s in generate(model, vocab, num_samples=per_start, seed=SPLIT_SEED, label=label)]
    rows = torch.zeros(len(lines), model.config.block_size, dtype=torch.long)
    for i, (label, line) in enumerate(lines):
        tokens = [vocab.start(label)] + vocab.encode(line)
        rows[i, : len(tokens)] = torch.tensor(tokens)
    return rows


@torch.no_grad()
def compact_weights(model, vocab: Vocab):
    """(tensors, dtypes, max error): each large tensor in the smallest form that, together with the forms
    chosen before it (largest tensors first), keeps the probabilities within TOLERANCE."""
    rows = check_lines(model, vocab)
    original = {k: v.detach().clone().float() for k, v in model.state_dict().items()}
    reference = model(rows)[0].softmax(-1)

    def error(choice: dict) -> float:
        model.load_state_dict({k: rounded(v, choice.get(k, "f32")) for k, v in original.items()})
        return float((model(rows)[0].softmax(-1) - reference).abs().max())

    dtypes, worst = {}, 0.0
    for name in sorted(original, key=lambda k: -original[k].numel()):
        if original[name].numel() < SMALL:
            break
        for kind in DTYPES:
            e = error({**dtypes, name: kind})
            if e <= TOLERANCE:
                dtypes[name], worst = kind, e
                break
    model.load_state_dict(original)
    dtypes = {k: dtypes.get(k, "f32") for k in original}
    tensors = {k: dict(shape=list(v.shape), dtype=dtypes[k], data=base64.b64encode(encode(v, dtypes[k])).decode())
               for k, v in original.items()}
    return tensors, dtypes, worst


# --- the training lines, the model card, the files ------------------------------------------------------
def fnv1a(text: str) -> int:
    """32-bit FNV-1a of the UTF-8 bytes (makemore.js computes the same)."""
    h = 0x811C9DC5
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def training_hashes(run: Run, config: dict, data_root: Path | None, dataset=None) -> list[int]:
    """The sorted distinct hashes of the run's training lines; ConfigError when its data set is not at hand."""
    if dataset is None:
        recorded = (config.get("dataset") or {}).get("file")
        path = Path(data_root or ".") / recorded if recorded else None
        if path is None or not path.is_file():
            raise ConfigError(f"The data set of {run.id} is not at hand, so its training lines cannot be shipped "
                              "for 'only new': export without them.")
        dataset = load_file(path, config["split_seed"], load_limits())
    if dataset.sha256 != config["dataset"].get("sha256"):
        raise ConfigError(f"The data set file of {run.id} has changed since it was trained: export without the "
                          "training lines (or train again on the new file).")
    return sorted({fnv1a(line) for line in dataset.train_lines})


def model_card(run: Run, config: dict) -> dict:
    status = run.status()
    name = config.get("name") or run.summary().name
    return dict(name=name, dataset=(config.get("dataset") or {}).get("name") or "?", arch=config["arch"],
                params=int(config.get("params") or 0), best_test_loss=status.best_test_loss,
                training_seconds=round(status.elapsed, 1), trained=time.strftime(
                    "%Y-%m-%d", time.gmtime(config.get("created") or 0)),
                exported=time.strftime("%Y-%m-%d", time.gmtime()), makemore=__version__)


def model_script(config: dict, card: dict, tensors: dict, hashes: list[int]) -> bytes:
    """model.js: one assignment of plain JSON (ASCII only, so no character can end the script early)."""
    model = dict(format=EXPORT_FORMAT, arch=config["arch"], config=config["model"], vocab=config["vocab"],
                 labels=config.get("labels", []), card=card, tensors=tensors,
                 train_hashes=base64.b64encode(struct.pack(f"<{len(hashes)}I", *hashes)).decode() if hashes else "")
    return b"window.MAKEMORE_MODEL = " + json.dumps(model, ensure_ascii=True, separators=(",", ":")).encode() + b";\n"


def readme(card: dict, training_lines: bool) -> str:
    """README.md: the static Space's front matter, then the model card."""
    title = f"makemore {card['dataset']} {card['arch']}"[:60]
    loss = "?" if card["best_test_loss"] is None else f"{card['best_test_loss']:.4f}"
    private = ("The training lines are shipped as 32-bit hashes for 'only new'; short lines can be guessed back "
               "from them." if training_lines else "No training line is shipped ('only new' is off).")
    return f"""---
title: {json.dumps(title)}
emoji: 🔤
colorFrom: indigo
colorTo: pink
sdk: static
app_file: index.html
pinned: false
---

# {card['name']}

A character-level {card['arch']} trained with makemore playground, sampling in your browser: open
`index.html` (it needs no server and sends no request), or push this folder to a Hugging Face Space.

| | |
| --- | --- |
| data set | {card['dataset']} |
| architecture | {card['arch']} |
| parameters | {card['params']:,} |
| best test loss (nats per character) | {loss} |
| training time | {card['training_seconds']:g} s |
| trained | {card['trained']} |
| exported | {card['exported']} (makemore {card['makemore']}) |

{private}

In a script on the page: `window.makemore.info`, `await window.makemore.nextCharProbs(prefix, label)` (a
`{{char: probability}}` object, `"<end>"` for the end) and `await window.makemore.sample({{count, temperature,
top_k, top_p, prefix, seed, label}})` (an array of strings); `label` (a model trained on labels, listed in
`info.labels`) asks for lines of that label, blank for any.
"""

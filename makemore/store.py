"""The run directory: config JSON, safetensors weights, metrics log, status file and samples.

Every write goes to a temporary file that is renamed over the target, so a crash at any moment
leaves either the old file or the new one. Nothing is ever unpickled.
"""
import json
import math
import os
import re
import tempfile
import time
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from . import __version__
from .data import Vocab
from .errors import CheckpointError, NameError_
from .models import ARCHITECTURES, ModelConfig, build_model, validate

CONFIG, WEIGHTS, LAST, METRICS, STATUS, SAMPLES, STOP = (
    "config.json", "model.safetensors", "last.safetensors", "metrics.jsonl", "status.json", "samples.json", "STOP",
)
FINAL_STATES = ("finished", "stopped", "failed", "interrupted")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_name(name: str, what: str = "name") -> str:
    """Accept a data set or run name only if it cannot point anywhere but its own folder."""
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        shown = repr(name)[:80]
        raise NameError_(
            f"{shown} is not a valid {what}: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (no slashes, no '..')."
        )
    return name


def sanitize_name(name: str, fallback: str = "dataset") -> str:
    """Turn any user-given file name into a safe one (used for uploads)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(str(name).replace("\x00", "")).stem).strip("-._")
    stem = re.sub(r"\.{2,}", ".", stem)[:64].strip("-._")
    return stem or fallback


def atomic_write_bytes(path: Path, data: bytes):
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_json(path: Path, obj):
    atomic_write_bytes(path, json.dumps(obj, indent=1, allow_nan=False).encode())


def read_json(path: Path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{Path(path).name} in {Path(path).parent.name} is damaged ({e}).") from None


def finite_or_none(x):
    return None if x is None or not math.isfinite(x) else float(x)


class Run:
    """One run directory. The training process writes it; everyone else only reads it."""

    def __init__(self, path):
        self.path = Path(path)
        self.id = self.path.name

    def file(self, name) -> Path:
        return self.path / name

    def exists(self) -> bool:
        return self.file(CONFIG).is_file()

    # --- config -------------------------------------------------------------------------
    def create(self, arch: str, model_config: ModelConfig, vocab: Vocab, dataset: dict, train: dict, params: int):
        self.path.mkdir(parents=True, exist_ok=True)
        config = {
            "format": 1,
            "version": __version__,
            "run_id": self.id,
            "arch": arch,
            "model": vars(model_config).copy(),
            "vocab": vocab.chars,
            "dataset": dataset,
            "split_seed": dataset["split_seed"],
            "train": train,
            "params": params,
            "created": time.time(),
            "step": 0,
            "best_test_loss": None,
            "best_step": None,
        }
        atomic_write_json(self.file(CONFIG), config)
        self.write_status("created")
        return config

    def read_config(self) -> dict:
        if not self.exists():
            raise CheckpointError(f"No run at {self.path}: there is no {CONFIG}. Train a model there first.")
        config = read_json(self.file(CONFIG))
        try:
            arch = config["arch"]
            if arch not in ARCHITECTURES:
                raise CheckpointError(
                    f"The run {self.id} names an unknown architecture {arch!r}; this version knows "
                    f"{', '.join(ARCHITECTURES)}. It may come from a newer makemore."
                )
            vocab = config["vocab"]
            if not isinstance(vocab, list) or not all(isinstance(c, str) and len(c) == 1 for c in vocab):
                raise CheckpointError(f"The vocabulary in {self.id}/{CONFIG} is damaged.")
            model_config = ModelConfig(**config["model"])
            if model_config.vocab_size != len(vocab) + 1:
                raise CheckpointError(f"{self.id}/{CONFIG}: vocab_size does not match the vocabulary.")
            validate(model_config, arch)
        except CheckpointError:
            raise
        except Exception as e:  # missing keys, wrong types, out-of-range values
            raise CheckpointError(f"{self.id}/{CONFIG} is not a valid run config ({type(e).__name__}: {e}).") from None
        return config

    def update_config(self, **changes):
        config = self.read_config()
        config.update(changes)
        atomic_write_json(self.file(CONFIG), config)
        return config

    def model_config(self, config=None) -> ModelConfig:
        return ModelConfig(**(config or self.read_config())["model"])

    def vocab(self, config=None) -> Vocab:
        return Vocab((config or self.read_config())["vocab"])

    # --- weights ------------------------------------------------------------------------
    def save_weights(self, model, step, test_loss, name=WEIGHTS, extra=None):
        # copies: in training the parameters are views into one buffer, and safetensors refuses shared memory
        tensors = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}
        tensors.update(extra or {})
        meta = {"step": str(step), "test_loss": repr(test_loss), "format": "makemore-1"}
        atomic_write_bytes(self.file(name), save_safetensors(tensors, metadata=meta))

    def read_tensors(self, name=WEIGHTS) -> dict:
        path = self.file(name)
        if not path.is_file():
            raise CheckpointError(f"The run {self.id} has no saved weights yet ({name}); train it first.")
        try:
            return load_safetensors(path.read_bytes())
        except (SafetensorError, ValueError, RuntimeError, OSError) as e:
            raise CheckpointError(
                f"The weights file {self.id}/{name} is damaged or not a safetensors file ({e}); "
                "delete the run or train it again."
            ) from None

    def load_model(self, device="cpu", name=WEIGHTS):
        """Rebuild the model from config.json and fill it from safetensors; (model, config)."""
        config = self.read_config()
        model = build_model(config["arch"], self.model_config(config))
        tensors = self.read_tensors(name)
        load_state(model, {k: v for k, v in tensors.items() if not k.startswith("optim.")}, self.id)
        return model.to(device).eval(), config

    # --- metrics, status, samples -----------------------------------------------------------
    def append_metrics(self, record: dict):
        line = json.dumps(record, allow_nan=False) + "\n"
        with open(self.file(METRICS), "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()

    def read_metrics(self) -> list[dict]:
        """Every complete record; a line cut by a crash is skipped.

        A "resume" record at step S drops the earlier records past S: that work was lost with the
        process that did it and is done again from the last checkpoint.
        """
        try:
            text = self.file(METRICS).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        records = []
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and record.get("kind") == "resume":
                records = [r for r in records if r.get("step", 0) <= record.get("step", 0)]
            records.append(record)
        return records

    def write_status(self, state: str, **fields):
        atomic_write_json(self.file(STATUS), {"state": state, "updated": time.time(), **fields})

    def read_status(self) -> dict:
        try:
            status = read_json(self.file(STATUS))
            return status if isinstance(status, dict) and "state" in status else {"state": "unknown"}
        except FileNotFoundError:
            return {"state": "unknown"}
        except CheckpointError as e:
            return {"state": "unknown", "error": str(e)}

    def write_samples(self, samples: list[str], step: int):
        atomic_write_json(self.file(SAMPLES), {"step": step, "samples": samples})

    def read_samples(self) -> list[str]:
        try:
            return list(read_json(self.file(SAMPLES)).get("samples", []))
        except (FileNotFoundError, CheckpointError, AttributeError):
            return []

    def request_stop(self):
        self.file(STOP).touch()

    def stop_requested(self) -> bool:
        return self.file(STOP).exists()


def load_state(model, tensors: dict, run_id: str):
    expected = model.state_dict()
    missing = sorted(expected.keys() - tensors.keys())
    unexpected = sorted(tensors.keys() - expected.keys())
    if missing or unexpected:
        raise CheckpointError(
            f"The weights of {run_id} do not fit its config (missing {missing[:3]}, unexpected {unexpected[:3]}); "
            "the run is damaged: train it again."
        )
    for key, value in expected.items():
        if tensors[key].shape != value.shape:
            raise CheckpointError(
                f"The weights of {run_id} do not fit its config: {key} has shape {tuple(tensors[key].shape)}, "
                f"the config needs {tuple(value.shape)}. The run is damaged: train it again."
            )
    model.load_state_dict({k: tensors[k].to(value.dtype) for k, value in expected.items()})


def list_runs(root) -> list[Run]:
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted((Run(p) for p in root.iterdir() if p.is_dir() and (p / CONFIG).is_file()), key=lambda r: r.id)


def new_run_id(root, arch: str, dataset: str) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = f"{dataset}-{arch}-{stamp}"[:60]
    run_id, n = base, 1
    while (Path(root) / run_id).exists():
        n += 1
        run_id = f"{base}-{n}"
    return run_id

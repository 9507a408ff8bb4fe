"""The run directory: config JSON, safetensors weights, metrics log, status file and samples.

config.json holds what the run *is* (architecture, hyperparameters, vocabulary, data set, split seed);
status.json holds how far it *got*, as one typed record (RunStatus) that only `Run.update_status` writes.
Every write goes to a temporary file that is renamed over the target, so a crash at any moment leaves
either the old file or the new one. Nothing is ever unpickled.
"""
import dataclasses
import hashlib
import json
import math
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from . import __version__
from .data import Vocab
from .errors import CheckpointError, ConfigError, UnsafeNameError, without_paths
from .models import ARCHITECTURES, ModelConfig, build_model, validate

CONFIG, WEIGHTS, LAST, METRICS, STATUS, SAMPLES, STOP = (
    "config.json", "model.safetensors", "last.safetensors", "metrics.jsonl", "status.json", "samples.json", "STOP",
)
INIT = "init.safetensors"  # weights a new run starts from (a fork of another run, or fine-tuning)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_RUN_NAME = 60
MAX_ERROR = 1000  # characters of a run's recorded error
_MARKUP = re.compile(r"[\[\]<>`]|://|www\.", re.IGNORECASE)


class RunState(str, Enum):
    CREATED = "created"
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    def __str__(self):
        return self.value


ACTIVE_STATES = frozenset({RunState.QUEUED, RunState.RUNNING})
FINAL_STATES = frozenset({RunState.FINISHED, RunState.STOPPED, RunState.FAILED, RunState.INTERRUPTED})
RESUMABLE_STATES = frozenset({RunState.CREATED, RunState.FINISHED, RunState.STOPPED, RunState.INTERRUPTED})


@dataclass(frozen=True)
class RunStatus:
    """How far a run got. Written only through Run.update_status, which merges changes into the last record."""

    state: RunState = RunState.CREATED
    step: int = 0
    max_steps: int | None = None  # -1: no step limit
    time_budget: float | None = None  # seconds; 0: none
    elapsed: float = 0.0  # training seconds, over every session of the run
    tokens_per_s: float | None = None
    best_test_loss: float | None = None  # the test loss of the saved (best) checkpoint
    best_step: int | None = None
    best_val_loss: float | None = None  # its validation loss, when the run chose it on validation
    lowest_test_loss: float | None = None  # the lowest test loss seen: the classic makemore's "best test"
    error: str | None = None
    retryable: bool | None = None  # failed for a reason that may pass (a full disk): resume may try again
    pid: int | None = None
    queued_at: float | None = None
    started: float | None = None
    updated: float | None = None

    @classmethod
    def from_dict(cls, record: dict) -> "RunStatus":
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in record.items() if k in known}
        try:
            values["state"] = RunState(values.get("state", RunState.CREATED))
        except ValueError:
            values = {"state": RunState.FAILED, "error": f"Unknown run state {record.get('state')!r} in {STATUS}."}
        return cls(**values)

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "state": self.state.value}

    @property
    def progress(self) -> float:
        """The fraction of the step limit or time budget done, whichever is further; 1 once finished."""
        if self.state == RunState.FINISHED:
            return 1.0
        done = [self.step / self.max_steps] if self.max_steps and self.max_steps > 0 else []
        done += [self.elapsed / self.time_budget] if self.time_budget and self.time_budget > 0 else []
        return min(1.0, max(done, default=0.0))


@dataclass(frozen=True)
class RunSummary:
    """One typed row about a run: what every listing, table and chart legend shows."""

    id: str
    dataset: str | None
    arch: str | None
    params: int | None
    created: float
    shipped: bool
    has_weights: bool
    status: RunStatus
    owner: str | None = None
    published: bool = False  # in the gallery, readable by everyone
    readonly: bool = False  # shown to a visitor who does not own it (shipped or someone's published run)
    name: str = ""  # the human name shown instead of the id (config "name", or one derived for older runs)
    seed: int | None = None
    recipe: str = ""  # equal for runs that differ only in their seed (recipe_of)

    @property
    def state(self) -> RunState:
        return self.status.state


# what a run reports and how often: not part of what it learns
NOT_RECIPE = ("seed", "num_samples", "log_interval", "eval_interval")


def recipe_of(config: dict) -> str:
    """A short digest of what makes runs the same experiment but for the seed: the data, the architecture, the
    model and the training options; "" for a config without them."""
    train = config.get("train")
    if not isinstance(train, dict) or not config.get("arch"):
        return ""
    what = [(config.get("dataset") or {}).get("sha256"), config.get("arch"), config.get("model"),
            {k: v for k, v in train.items() if k not in NOT_RECIPE}]
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:12]


def check_name(name: str, what: str = "name") -> str:
    """Accept a data set or run name only if it cannot point anywhere but its own folder."""
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        shown = repr(name)[:80]
        raise UnsafeNameError(
            f"{shown} is not a valid {what}: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (no slashes, no '..')."
        )
    return name


def default_run_name(dataset, arch, created: float, shipped: bool = False) -> str:
    """A short human name for a run: data set, architecture and the time it was made ("names · gru · 14:05")."""
    when = "shipped" if shipped else time.strftime("%H:%M", time.localtime(created or 0))
    return f"{dataset or '?'} · {arch or '?'} · {when}"


def check_run_name(name) -> str:
    """A run's human name, stripped: 1 to 60 printable characters (any script), none of them markup that could
    make a name a link or a tag where it is shown (brackets, angle brackets, backticks, a URL); raises ConfigError."""
    text = name.strip() if isinstance(name, str) else ""
    if not text or len(text) > MAX_RUN_NAME or not text.isprintable():
        raise ConfigError(f"A run name is 1 to {MAX_RUN_NAME} printable characters (letters, digits, spaces, "
                          f"punctuation; no line breaks or tabs), not {str(name)[:80]!r}.")
    if _MARKUP.search(text):
        raise ConfigError(f"A run name cannot hold [ ] < > ` or a web address (it is shown to others as plain "
                          f"text): {text!r}. Use other characters.")
    return text


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


def read_str_map(path: Path) -> dict[str, str]:
    """A JSON object of strings to strings (an index such as gallery.json); a missing or damaged file, or
    entries of other types, count as absent."""
    try:
        data = read_json(path)
    except (FileNotFoundError, CheckpointError):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} \
        if isinstance(data, dict) else {}


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
    def create(self, arch: str, model_config: ModelConfig, vocab: Vocab, dataset: dict, train: dict, params: int,
               **extra) -> dict:
        """Write a new run's config (configuration only) and its first status."""
        self.path.mkdir(parents=True, exist_ok=True)
        config = {
            "format": 2,
            "version": __version__,
            "run_id": self.id,
            "arch": arch,
            "model": vars(model_config).copy(),
            "vocab": vocab.chars,
            **({"labels": vocab.labels} if vocab.labels else {}),  # a labelled run: one start token per label
            "dataset": dataset,
            "split_seed": dataset["split_seed"],
            "train": train,
            "params": params,
            "created": time.time(),
            **extra,
        }
        # the status first: a listing finds runs by their config, and must never find one without a status
        self.update_status(state=RunState.CREATED, max_steps=train.get("max_steps"),
                           time_budget=train.get("time_budget"))
        atomic_write_json(self.file(CONFIG), config)
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
            labels = config.get("labels", [])
            if not isinstance(labels, list) or not all(isinstance(label, str) and label for label in labels):
                raise CheckpointError(f"The labels in {self.id}/{CONFIG} are damaged.")
            model_config = ModelConfig(**config["model"])
            if model_config.vocab_size != len(vocab) + 1 + len(labels):
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

    def rename(self, name: str) -> str:
        """Give the run a new human name (the id and directory stay); returns the name as stored."""
        name = check_run_name(name)
        if self.raw_config().get("shipped") is True:
            raise ConfigError(f"{self.id} is a shipped run, shared by everyone: its name stays. "
                              "Rename the runs you trained.")
        self.update_config(name=name)
        return name

    def model_config(self, config=None) -> ModelConfig:
        return ModelConfig(**(config or self.read_config())["model"])

    def vocab(self, config=None) -> Vocab:
        return vocab_of(config or self.read_config())

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

    def status(self) -> RunStatus:
        """The run's status; a missing or damaged status file reads as a failed run that says so."""
        try:
            record = read_json(self.file(STATUS))
        except FileNotFoundError:
            return RunStatus(state=RunState.FAILED, error=f"The run {self.id} has no {STATUS}.")
        except CheckpointError as e:
            return RunStatus(state=RunState.FAILED, error=str(e))
        if not isinstance(record, dict):
            return RunStatus(state=RunState.FAILED, error=f"{self.id}/{STATUS} is not a status record.")
        return RunStatus.from_dict(record)

    def update_status(self, **changes) -> RunStatus:
        """Merge `changes` (RunStatus fields) into the current status and write it: no field is ever dropped."""
        current = self.status() if self.file(STATUS).exists() else RunStatus()
        if "state" in changes:
            changes["state"] = RunState(changes["state"])
        for key in ("best_test_loss", "tokens_per_s"):
            if key in changes:
                changes[key] = finite_or_none(changes[key])
        if isinstance(changes.get("error"), str):  # shown to everyone once the run is published
            changes["error"] = without_paths(changes["error"])[:MAX_ERROR]
        status = dataclasses.replace(current, **changes, updated=time.time())
        atomic_write_json(self.file(STATUS), status.to_dict())
        return status

    def summary(self, owner: str | None = None) -> RunSummary:
        """The run as one typed row; never raises for a damaged run (it shows as failed)."""
        config = self.raw_config()
        created = config.get("created")
        created = created if isinstance(created, (int, float)) else 0.0
        dataset, arch = (config.get("dataset") or {}).get("name"), config.get("arch")
        shipped = config.get("shipped") is True
        name = config.get("name")
        if not (isinstance(name, str) and name.strip()):
            name = default_run_name(dataset, arch, created, shipped)
        return RunSummary(
            id=self.id, dataset=dataset, arch=arch, params=config.get("params"), created=created, shipped=shipped,
            has_weights=self.file(WEIGHTS).is_file(), status=self.status(), owner=owner, name=name,
            seed=(config.get("train") or {}).get("seed"), recipe=recipe_of(config))

    def stamp(self) -> tuple:
        """Changes whenever anything shown about the run changes (status, metrics, samples, weights)."""
        def stamp(name):
            try:
                info = self.file(name).stat()
                return info.st_mtime_ns, info.st_size
            except OSError:
                return None
        return tuple(stamp(name) for name in (STATUS, METRICS, SAMPLES, WEIGHTS))

    def raw_config(self) -> dict:
        """The config as written, without validation; {} if unreadable (for listings that must not fail)."""
        try:
            config = read_json(self.file(CONFIG))
        except (OSError, CheckpointError):
            return {}
        return config if isinstance(config, dict) else {}

    def write_samples(self, samples: list[str], step: int):
        atomic_write_json(self.file(SAMPLES), {"step": step, "samples": samples})

    def read_samples(self) -> list[str]:
        return self.read_samples_at()[0]

    def read_samples_at(self) -> tuple[list[str], int | None]:
        """(the latest samples, the step whose weights wrote them; None if unknown)."""
        try:
            record = read_json(self.file(SAMPLES))
            step = record.get("step")
            return list(record.get("samples", [])), step if isinstance(step, int) else None
        except (FileNotFoundError, CheckpointError, AttributeError):
            return [], None

    def request_stop(self):
        self.file(STOP).touch()

    def stop_requested(self) -> bool:
        return self.file(STOP).exists()

    def clear_stop(self):
        self.file(STOP).unlink(missing_ok=True)


PROGRESS_KEYS = ("step", "best_test_loss", "best_step", "elapsed", "step_reached")


def migrate_legacy(run: Run) -> bool:
    """Format 1 kept progress in config.json too; move it into the status (once). True if it changed."""
    config = run.raw_config()
    if config.get("format", 1) >= 2 or not config:
        return False
    status = run.status()
    changes = {k: config[k] for k in ("best_test_loss", "best_step") if config.get(k) is not None
               and getattr(status, k) is None}
    changes.update({k: v for k, v in (config.get("train") or {}).items()
                    if k in ("max_steps", "time_budget") and getattr(status, k) is None})
    if changes:
        run.update_status(**changes)
    atomic_write_json(run.file(CONFIG), {**{k: v for k, v in config.items() if k not in PROGRESS_KEYS}, "format": 2})
    return True


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
    """A fresh id: readable, and with a random part so that ids are unique across owners (share links)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = f"{dataset[:30]}-{arch}-{stamp}-{secrets.token_hex(3)}"
    run_id, n = base, 1
    while (Path(root) / run_id).exists():
        n += 1
        run_id = f"{base}-{n}"
    return run_id


def vocab_of(config: dict) -> Vocab:
    """A run's vocabulary (its characters, then its labels' start tokens) from its config."""
    return Vocab(config["vocab"], list(config.get("labels", [])))

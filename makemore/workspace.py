"""Where data sets and runs live: ROOT/datasets and ROOT/checkpoints, ROOT from $MAKEMORE_ROOT.

The bundled data sets (names, companies) are copied in from the repository when ROOT is elsewhere
and can never be deleted or overwritten; uploads are validated first, then stored under a safe name.
"""
import os
import shutil
import time
from pathlib import Path

from .data import Dataset, load_bytes, load_file
from .errors import DataError
from .limits import Limits, load_limits
from .store import CONFIG, Run, atomic_write_bytes, check_name, list_runs, read_json, sanitize_name

REPO = Path(__file__).resolve().parent.parent
BUNDLED = ("names", "companies")
SPLIT_SEED = 3407  # one split per data set, so runs on the same data are compared on the same test lines


def default_root() -> Path:
    return Path(os.environ.get("MAKEMORE_ROOT") or REPO)


class Workspace:
    def __init__(self, root=None, limits: Limits | None = None):
        self.root = Path(root or default_root()).resolve()
        self.limits = limits or load_limits()
        self.datasets = self.root / "datasets"
        self.runs = self.root / "checkpoints"
        self.datasets.mkdir(parents=True, exist_ok=True)
        self.runs.mkdir(parents=True, exist_ok=True)
        for name in BUNDLED:
            source, target = REPO / "datasets" / f"{name}.txt", self.datasets / f"{name}.txt"
            if source.is_file() and not target.exists():
                shutil.copyfile(source, target)
        self._cache = {}

    # --- data sets ------------------------------------------------------------------------
    def list_datasets(self) -> list[str]:
        names = sorted(p.stem for p in self.datasets.glob("*.txt") if p.is_file())
        return [n for n in BUNDLED if n in names] + [n for n in names if n not in BUNDLED]

    def dataset_path(self, name: str) -> Path:
        path = self.datasets / f"{check_name(name, 'data set name')}.txt"
        if not path.is_file():
            raise DataError(f"There is no data set called {name!r}: pick one from the list or upload a .txt file.")
        return path

    def load_dataset(self, name: str) -> Dataset:
        """The validated data set, cached until its file changes."""
        path = self.dataset_path(name)
        key = (path, path.stat().st_mtime_ns, path.stat().st_size)
        if key not in self._cache:
            self._cache = {k: v for k, v in self._cache.items() if k[0] != path}
            self._cache[key] = load_file(path, SPLIT_SEED, self.limits)
        return self._cache[key]

    def save_upload(self, filename: str, raw: bytes) -> str:
        """Validate an uploaded file and store it; returns its data set name. Raises DataError."""
        load_bytes(raw, "upload", SPLIT_SEED, self.limits)  # raises DataError before anything is stored
        stem = sanitize_name(filename)
        name, n = stem, 1
        while True:
            path = self.datasets / f"{name}.txt"
            if not path.exists():
                break
            if name not in BUNDLED and path.read_bytes() == raw:
                return name  # the same file uploaded again
            n += 1
            name = f"{stem[:60]}-{n}"
        atomic_write_bytes(path, raw)
        return name

    def delete_dataset(self, name: str):
        if name in BUNDLED:
            raise DataError(f"{name} is a bundled data set and cannot be deleted.")
        self.dataset_path(name).unlink()

    # --- runs -----------------------------------------------------------------------------
    def run(self, run_id: str) -> Run:
        return Run(self.runs / check_name(run_id, "run id"))

    def list_runs(self) -> list[Run]:
        """Every run, newest first."""
        return sorted(list_runs(self.runs), key=created, reverse=True)

    def is_shipped(self, run: Run) -> bool:
        try:
            shipped = (self.runs / "SHIPPED").read_text(encoding="utf-8").split()
        except OSError:
            shipped = []
        return run.id in shipped or bool(safe_config(run).get("shipped"))


def safe_config(run: Run) -> dict:
    """The config as written, without validation; {} if unreadable (for listings that must not fail)."""
    try:
        return read_json(run.file(CONFIG))
    except Exception:
        return {}


def created(run: Run) -> float:
    value = safe_config(run).get("created")
    return value if isinstance(value, (int, float)) else time.time()

"""Where data sets and runs live: ROOT/datasets and ROOT/checkpoints, ROOT from $MAKEMORE_ROOT.

The bundled data sets (names, companies) are copied in from the repository when ROOT is elsewhere
and can never be deleted or overwritten; uploads are validated first, then stored under a safe name.
"""
import os
import shutil
import time
from pathlib import Path

from .data import SPLIT_SEED, Dataset, load_bytes, load_file
from .errors import CheckpointError, DataError, MakemoreError
from .limits import Limits, load_limits
from .store import Run, RunSummary, atomic_write_bytes, check_name, list_runs, migrate_legacy, sanitize_name

REPO = Path(__file__).resolve().parent.parent
BUNDLED = ("names", "companies")


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
        self._cache, self._models = {}, {}
        for run in list_runs(self.runs):
            migrate_legacy(run)

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
        return [Run(self.runs / summary.id) for summary in self.summaries()]

    def summaries(self, with_weights=False) -> list[RunSummary]:
        """Every run as a typed row, newest first."""
        rows = sorted((run.summary() for run in list_runs(self.runs)), key=lambda s: s.created, reverse=True)
        return [s for s in rows if s.has_weights or not with_weights]

    def run_ids(self, with_weights=False) -> list[str]:
        return [s.id for s in self.summaries(with_weights)]

    def model(self, run_id: str):
        """(model, config) of a run's best weights on the CPU, cached until the weights change."""
        run = self.run(run_id)
        weights = run.stamp()[3]
        if weights is None:
            raise CheckpointError(f"{run_id} has no saved weights yet: wait for its first evaluation.")
        key = (run_id, weights)
        if key not in self._models:
            if len(self._models) > 16:
                self._models.clear()
            self._models[key] = run.load_model("cpu")
        return self._models[key]

    def dataset_of(self, config: dict) -> Dataset | None:
        """The data set a run was trained on, if it is still here with the same content; else None."""
        try:
            dataset = self.load_dataset(config["dataset"]["name"])
        except (MakemoreError, KeyError, TypeError):
            return None
        return dataset if dataset.sha256 == config["dataset"].get("sha256") else None

    def stamp(self) -> tuple:
        """Changes whenever a run appears, goes, or changes its status (for cheap UI refreshes)."""
        return tuple((run.id, run.stamp()[0]) for run in list_runs(self.runs))

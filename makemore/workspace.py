"""Where one owner's data sets and runs live: FOLDER/datasets and FOLDER/checkpoints.

The base workspace sits at ROOT ($MAKEMORE_ROOT, default ./workspace beside the code, ignored by git):
the bundled data sets (names, companies) and the shipped runs are seeded into it from the repository, and
are never deleted nor modified. Locally it is also the one user's workspace. On a public server each
visitor gets a private workspace of their own (makemore/owners.py) that sees the bundled data sets
through the base. Uploads are validated first, then stored under a safe name, within the owner's quota.
"""
import os
import shutil
import threading
from collections import OrderedDict
from pathlib import Path

from .data import SPLIT_SEED, Dataset, decode_text, load_bytes, load_file
from .errors import CheckpointError, DataError, MakemoreError, QuotaError
from .limits import Limits, load_limits
from .shortlist import Shortlist
from .store import Run, RunSummary, atomic_write_bytes, check_name, list_runs, migrate_legacy, sanitize_name
from .tables import TABLE_SUFFIXES, read_rows, to_jsonl

REPO = Path(__file__).resolve().parent.parent
BUNDLED = ("names", "companies", "names-or-companies")
STORED = (".txt", ".jsonl")  # plain lines; labelled lines ({"text", "label"} per line, makemore/tables.py)
CACHED_DATASETS = 8  # parsed data sets kept in memory, for every workspace together
_parsed: "OrderedDict[tuple, Dataset]" = OrderedDict()  # (path, mtime, size) -> Dataset, least recently used first
_parsed_lock = threading.Lock()


def parsed_dataset(path: Path, limits: Limits) -> Dataset:
    """A data set file parsed once and shared by every workspace (the bundled ones above all), until it changes;
    at most CACHED_DATASETS are kept, so memory does not grow with the number of visitors."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _parsed_lock:
        if key in _parsed:
            _parsed.move_to_end(key)
            return _parsed[key]
    dataset = load_file(path, SPLIT_SEED, limits)
    with _parsed_lock:
        for old in [k for k in _parsed if k[0] == key[0]]:
            del _parsed[old]
        _parsed[key] = dataset
        while len(_parsed) > CACHED_DATASETS:
            _parsed.popitem(last=False)
    return dataset


def default_root() -> Path:
    return Path(os.environ.get("MAKEMORE_ROOT") or REPO / "workspace")


def runs_folder(root=None) -> Path:
    """Where the runs of the workspace at `root` (default: the base, $MAKEMORE_ROOT) live: the one place
    that decides it, for the app, the command line's sweeps and the seeding of shipped runs."""
    return Path(root or default_root()) / "checkpoints"


def seed(root: Path):
    """Copy the bundled data sets and the shipped runs into a root that lacks them (a first start)."""
    for name in BUNDLED:
        for suffix in STORED:
            source, target = REPO / "datasets" / f"{name}{suffix}", root / "datasets" / f"{name}{suffix}"
            if source.is_file() and not target.exists():
                shutil.copyfile(source, target)
    for source in list_runs(runs_folder(REPO)):
        target = runs_folder(root) / source.id
        if source.raw_config().get("shipped") is True and not target.exists() and source.path != target:
            temporary = target.with_name(f".{source.id}.seeding")
            shutil.rmtree(temporary, ignore_errors=True)
            shutil.copytree(source.path, temporary)
            os.replace(temporary, target)


class Workspace:
    """One owner's data sets and runs. `base` is the workspace whose bundled data sets this one sees."""

    def __init__(self, root=None, limits: Limits | None = None, owner: str = "local", base: "Workspace | None" = None):
        self.root = Path(root or default_root()).resolve()
        self.limits = limits or load_limits()
        self.owner, self.base = owner, base
        self.ledger = None  # on a public server, the per-client allowances (clients.Ledger) this owner counts to
        self.datasets = self.root / "datasets"
        self.runs = runs_folder(self.root)
        if base is None:  # a visitor's folders appear with their first upload or run, not their first visit
            self.datasets.mkdir(parents=True, exist_ok=True)
            self.runs.mkdir(parents=True, exist_ok=True)
            seed(self.root)
        self._models = {}
        for run in list_runs(self.runs):
            migrate_legacy(run)

    # --- data sets ------------------------------------------------------------------------
    def list_datasets(self) -> list[str]:
        """The bundled data sets, then this owner's uploads."""
        own = sorted({p.stem for suffix in STORED for p in self.datasets.glob(f"*{suffix}")
                      if p.is_file() and p.stem not in BUNDLED})
        bundled = [n for n in BUNDLED if (self.base or self).bundled_path(n).is_file()]
        return bundled + own

    def stored_path(self, name: str) -> Path:
        """Where a data set of this workspace is (or would be): its .jsonl if it has one, else its .txt."""
        labelled = self.datasets / f"{name}.jsonl"
        return labelled if labelled.is_file() else self.datasets / f"{name}.txt"

    def bundled_path(self, name: str) -> Path:
        return self.stored_path(name)

    def dataset_path(self, name: str) -> Path:
        check_name(name, "data set name")
        path = (self.base or self).bundled_path(name) if name in BUNDLED else self.stored_path(name)
        if not path.is_file():
            raise DataError(f"There is no data set called {name!r}: pick one from the list or upload a file.")
        return path

    def disk_bytes(self) -> int:
        """What this owner's uploads and runs take on disk."""
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file()) if self.root.is_dir() else 0

    def load_dataset(self, name: str) -> Dataset:
        """The validated data set, parsed once for every workspace until its file changes."""
        return parsed_dataset(self.dataset_path(name), self.limits)

    def save_upload(self, filename: str, raw: bytes, text_column=None, label_column=None) -> str:
        """Validate an uploaded file and store it; returns its data set name. Raises DataError or QuotaError."""
        return self.store_upload(filename, raw, text_column, label_column)[0]

    def store_upload(self, filename: str, raw: bytes, text_column=None, label_column=None) -> tuple[str, str]:
        """save_upload, and a sentence saying which columns of a table were used ("" for a text file)."""
        stored, suffix, used = self.stored_form(filename, raw, text_column, label_column)
        load_bytes(stored, "upload", SPLIT_SEED, self.limits, suffix)  # raises DataError before anything is stored
        stem = sanitize_name(filename)
        name, n = stem, 1
        while name in BUNDLED or any((self.datasets / f"{name}{s}").exists() for s in STORED):
            if name not in BUNDLED and (self.datasets / f"{name}{suffix}").is_file() and \
                    (self.datasets / f"{name}{suffix}").read_bytes() == stored:
                return name, used  # the same file uploaded again
            n += 1
            name = f"{stem[:60]}-{n}"
        self.check_quota(extra_bytes=len(stored), new_dataset=True)
        self.datasets.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.datasets / f"{name}{suffix}", stored)
        return name, used

    def stored_form(self, filename: str, raw: bytes, text_column=None, label_column=None) -> tuple[bytes, str, str]:
        """(bytes to store, their suffix, which columns were used): a table becomes plain lines (.txt) or
        labelled lines (.jsonl), never a text file of its raw rows; a text file is stored as it is."""
        suffix = Path(str(filename)).suffix.lower()
        if suffix not in TABLE_SUFFIXES:
            if text_column or label_column:
                raise DataError(f"{Path(str(filename)).name} is not a table (.csv, .tsv or .jsonl), so it has no "
                                "columns to choose: leave the text and label columns blank.")
            return raw, ".txt", ""
        lines, labels, used = read_rows(decode_text(raw, self.limits), suffix, self.limits, text_column, label_column)
        if labels is None:
            return ("\n".join(lines) + "\n").encode(), ".txt", used
        return to_jsonl(lines, labels), ".jsonl", used

    def check_quota(self, extra_bytes: int = 0, new_dataset: bool = False):
        """Refuse (QuotaError) what would take this owner over the data set count or disk quota."""
        limits = self.limits
        if new_dataset and limits.max_datasets_per_owner and \
                len(self.list_datasets()) - len(BUNDLED) >= limits.max_datasets_per_owner:
            raise QuotaError(f"You already have {limits.max_datasets_per_owner} data sets, this server's limit: "
                             "delete one you no longer need, then upload again.")
        if limits.max_owner_bytes and self.disk_bytes() + extra_bytes > limits.max_owner_bytes:
            raise QuotaError(f"Your workspace would go over its {limits.max_owner_bytes / 1e6:.0f} MB of disk: "
                             "delete runs or data sets you no longer need.")
        if self.ledger is not None:
            self.ledger.check_storage(self.owner, extra_bytes, new_dataset)

    def shortlist(self) -> Shortlist:
        """This owner's shortlist of starred ideas (its folder appears with the first star), within the quota."""
        return Shortlist(self.root / "shortlist", check_quota=lambda extra: self.check_quota(extra_bytes=extra))

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

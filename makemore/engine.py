"""The engine: everything a visitor can do, bound to one owner. Every face is a thin adapter over it.

`Engine` is the server (its owners, its job manager, its limits); `Engine.session(key, user)` is one
visitor's view of it: a `Session` bound to that owner's workspace. A session's methods take run ids and
data set names, never paths, and return typed summaries (RunSummary, RunStatus, Dataset, Sample, the
introspection views), never Run objects or files. A session without an owner refuses every call
(AccessError): nothing falls back to another owner's workspace.

The web page (makemore/ui), the named API endpoints and the MCP tools all call these methods; so the
owner's rights and the server's limits hold for every face alike.
"""
import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import ideas as ideas_core
from . import introspect
from .clients import acting_as
from .data import Dataset, decode_text
from .errors import AccessError, ConfigError
from .export import ExportSummary, export_page
from .jobs import JobManager
from .owners import KEY, Owners
from .sample import Sample, generate, mark_origin, score_line
from .shortlist import Shortlist
from .store import ACTIVE_STATES, RunState, RunStatus, RunSummary, vocab_of
from .manifests import read_manifests
from .tables import TABLE_SUFFIXES, preview
from .workspace import BUNDLED

NO_OWNER = ("This request has no owner: reload the page (API clients: get a key from /new_workspace and pass it "
            "as `workspace`).")


@dataclass(frozen=True)
class QueuePlace:
    """Where a queued run stands: its position among the queued runs, and how busy the training slots are."""

    position: int
    queued: int
    busy: int
    slots: int


@dataclass(frozen=True)
class ExportedPage:
    """A run as a static web page, zipped: the file's name, its bytes, and what the export wrote."""

    filename: str
    data: bytes
    summary: ExportSummary


@dataclass(frozen=True)
class NotApplicable:
    """A Look inside view that does not exist for this architecture, and why."""

    reason: str

    def to_dict(self) -> dict:
        return {"applicable": False, "reason": self.reason}


class Engine:
    """The server: its owners and its training jobs. `session` binds a visitor to their own workspace."""

    def __init__(self, owners: Owners | None = None, jobs: JobManager | None = None):
        self.owners = owners or (jobs.owners if jobs else Owners())
        self.jobs = jobs or JobManager(self.owners)
        self.limits = self.owners.limits

    @property
    def public(self) -> bool:
        return self.owners.public

    def session(self, key: str | None = None, user: str | None = None, client: str | None = None) -> "Session":
        """The session of the visitor with workspace `key` (or the signed-in `user`, from OAuth only);
        locally, the one user's. `client` is the address the request came from (clients.client_address): on a
        public server what the session takes counts against it (a signed-in user is their own client). Raises
        AccessError for a missing or malformed key on a public server."""
        return Session(self, self.owners.workspace(key, user), f"hf-{user}" if user else client)

    def new_key(self, client: str | None = None) -> str:
        """A fresh anonymous workspace key; on a public server, counted against `client`'s keys per hour."""
        return self.owners.new_key(client)

    @property
    def uploads(self):
        """The files posted to the upload route, held per client (uploads.UploadGuard bounds them)."""
        return self.owners.uploads

    def key_or_new(self, key: str | None) -> str:
        """The browser's key if it is one, else a fresh one (a first visit)."""
        return key if isinstance(key, str) and KEY.match(key) else self.new_key()

    def secret(self) -> str:
        return self.owners.secret()

    def gallery(self, with_weights=False) -> list[RunSummary]:
        """What everyone may read: the shipped runs, then the published ones (no owner needed)."""
        return self.owners.gallery(with_weights)

    def bundled_datasets(self) -> list[str]:
        return [name for name in BUNDLED if name in self.owners.base.list_datasets()]


def owned(method):
    """A session method that refuses to run without an owner, and counts what it takes against the client."""
    @functools.wraps(method)
    def checked(self, *args, **kwargs):
        if self.ws is None:
            raise AccessError(NO_OWNER)
        with acting_as(self.client):
            return method(self, *args, **kwargs)
    checked.owned = True
    return checked


class Session:
    """What one owner can do: their data sets, their runs, the gallery's runs read-only, their shortlist."""

    def __init__(self, engine: Engine, ws, client: str | None = None):
        self.engine, self.ws, self.client = engine, ws, client
        self.owners, self.jobs = engine.owners, engine.jobs

    # --- data sets -------------------------------------------------------------------------
    @owned
    def datasets(self) -> list[str]:
        """The bundled data sets, then the owner's uploads."""
        return self.ws.list_datasets()

    @owned
    def dataset(self, name: str) -> Dataset:
        return self.ws.load_dataset(name)

    @owned
    def upload_dataset(self, filename: str, raw: bytes, text_column=None, label_column=None) -> str:
        """Validate and store an uploaded file; returns the data set's name."""
        return self.ws.save_upload(filename, raw, text_column, label_column)

    @owned
    def store_upload(self, filename: str, raw: bytes, text_column=None, label_column=None) -> tuple[str, str]:
        """upload_dataset, and a sentence saying which columns of a table it used ("" for a text file)."""
        return self.ws.store_upload(filename, raw, text_column, label_column)

    @owned
    def table_preview(self, filename: str, raw: bytes) -> tuple[list[str], list[list[str]]]:
        """(columns, first rows) of an uploaded table before it is stored; ([], []) for a text file."""
        if Path(str(filename)).suffix.lower() not in TABLE_SUFFIXES:
            return [], []
        return preview(decode_text(raw, self.engine.limits), Path(str(filename)).suffix)

    @owned
    def delete_dataset(self, name: str) -> None:
        self.ws.delete_dataset(name)

    # --- runs ------------------------------------------------------------------------------
    @owned
    def runs(self, with_weights=False) -> list[RunSummary]:
        """The owner's runs, newest first, then the gallery."""
        return self.owners.visible(self.ws, with_weights)

    @owned
    def run(self, run_id: str) -> RunSummary:
        """A run the owner may read (theirs, or the gallery's)."""
        return self._readable(run_id).summary()

    @owned
    def labels(self, run_id: str) -> list[str]:
        """The labels a run's model writes lines of ([] for a run trained without labels)."""
        if not run_id:
            return []
        return list(self._readable(run_id).raw_config().get("labels", []))

    @owned
    def example_line(self, run_id: str) -> str | None:
        """A line of the run's own data set (its first test line) to look at; None when the data is gone."""
        model, config = self._model(run_id)
        dataset = self.ws.dataset_of(config)
        return dataset.test_lines[0] if dataset else None

    @owned
    def latest_dataset(self) -> str | None:
        """The data set a returning visitor most likely wants: that of their newest upload or of their newest
        run, whichever came last; None for a visitor with neither."""
        own = [name for name in self.ws.list_datasets() if name not in self.engine.bundled_datasets()]
        times = [(self.ws.dataset_path(name).stat().st_mtime, name) for name in own]
        newest_run = next((s for s in self.runs() if not s.readonly), None)
        if newest_run and newest_run.dataset in self.ws.list_datasets():
            times.append((newest_run.created, newest_run.dataset))
        return max(times)[1] if times else None

    @owned
    def latest_run(self) -> str | None:
        """The run a returning visitor most likely wants: their newest queued or running one, else the newest."""
        summaries = self.runs()
        active = [s for s in summaries if s.state in ACTIVE_STATES and not s.readonly]
        candidates = active or summaries
        return candidates[0].id if candidates else None

    @owned
    def status(self, run_id: str) -> RunStatus:
        return self._readable(run_id).status()

    @owned
    def metrics(self, run_id: str) -> list[dict]:
        return self._readable(run_id).read_metrics()

    @owned
    def samples(self, run_id: str) -> list[str]:
        """The samples the run wrote at its latest evaluation."""
        return self._readable(run_id).read_samples()

    @owned
    def samples_at(self, run_id: str) -> tuple[list[str], int | None]:
        """(the samples the run wrote at its latest evaluation, that evaluation's step)."""
        return self._readable(run_id).read_samples_at()

    @owned
    def run_stamp(self, run_id: str) -> tuple:
        """Changes whenever any file of the run changes (for cheap redraws)."""
        return self._readable(run_id).stamp()

    @owned
    def runs_stamp(self) -> tuple:
        """Changes whenever one of the owner's runs appears, goes, or changes its status."""
        return self.ws.stamp()

    @owned
    def queue_place(self, run_id: str) -> QueuePlace:
        queue = self.jobs.queued()
        position = queue.index(run_id) + 1 if run_id in queue else 1
        return QueuePlace(position, len(queue), len(self.jobs.active()), self.engine.limits.max_jobs)

    @owned
    def start_training(self, dataset: str, arch: str | None, model: dict | None = None, **options) -> RunSummary:
        """Create a run and queue it; returns at once. `options`: seconds or steps, and the training options of
        JobManager.create (learning_rate, batch_size, weight_decay, seed, eval_interval, init_from)."""
        return self.run(self.jobs.create(dataset, arch, model, ws=self.ws, **options))

    @owned
    def stop_training(self, run_id: str) -> str:
        """Ask one of the owner's runs to stop; returns "stopping", "stopped" or the state it is in."""
        return self.jobs.stop(run_id, ws=self.ws)

    @owned
    def resume_training(self, run_id: str, max_steps: int | None = None,
                        time_budget: float | None = None) -> RunSummary:
        """Queue a run again; a read-only one is first copied into the owner's workspace. Returns the run queued."""
        return self.run(self.jobs.train_more(run_id, max_steps, time_budget, ws=self.ws))

    @owned
    def rename_run(self, run_id: str, name: str) -> str:
        """Give one of the owner's runs a new human name; returns the name it got."""
        return self.owners.own_run(self.ws, run_id).rename(name)

    @owned
    def publish_run(self, run_id: str, published: bool = True) -> None:
        self.owners.publish(self.ws, run_id, bool(published))

    @owned
    def delete_run(self, run_id: str) -> None:
        self.jobs.delete(run_id, ws=self.ws)

    @owned
    def train_all(self, dataset: str, seconds: float, seed: int, archs) -> list[str]:
        """Queue one run per architecture on one data set, each with the same budget; their ids."""
        if not seconds or seconds <= 0:
            raise ConfigError("Give a positive time budget in seconds.")
        return [self.jobs.create(dataset, arch, seconds=seconds, seed=int(seed), ws=self.ws) for arch in archs]

    @owned
    def sweeps(self) -> list[dict]:
        """The manifests of the sweeps whose trials sit among the owner's runs, newest first."""
        return read_manifests(self.ws.runs)

    # --- what a model does -----------------------------------------------------------------
    @owned
    def sample(self, run_id: str, num_samples=20, temperature=1.0, top_k=None, top_p=None, prefix="",
               seed=None, label=None) -> list[Sample]:
        """New lines from a run's best weights (of `label`, for a labelled run), each marked new / in train /
        in test when its data is at hand."""
        model, config = self._model(run_id)
        samples = generate(model, vocab_of(config), num_samples=num_samples, temperature=temperature,
                           top_k=top_k, top_p=top_p, prefix=prefix, seed=seed, label=label or None)
        dataset = self.ws.dataset_of(config)
        return mark_origin(samples, dataset) if dataset else samples

    @owned
    def score_line(self, run_id: str, text: str, label=None) -> dict:
        """{"line", "mean_nll", "logprob", "perplexity", "origin": train, test, new or None (data gone)}."""
        model, config = self._model(run_id)
        scored = score_line(model, vocab_of(config), text, label=label or None)
        dataset = self.ws.dataset_of(config)
        return {**scored, "origin": dataset.origin(scored["line"]) if dataset else None}

    @owned
    def ideas(self, run_id: str, count: int, only_new: bool, constraints: dict, time_limit: float,
              label=None) -> tuple:
        """(IdeasResult, whether the run's data set was at hand to tell new ideas from known lines)."""
        model, config = self._model(run_id)
        dataset = self.ws.dataset_of(config)
        known = set(dataset.lines) if dataset else set()
        result = ideas_core.generate_ideas(model, vocab_of(config), known, count, only_new,
                                           time_limit=time_limit, label=label or None, **constraints)
        return result, dataset is not None

    @owned
    def export_page(self, run_id: str, include_training_lines: bool = False) -> ExportedPage:
        """A readable run as a web page that samples in the browser (index.html, makemore.js, model.js and a
        README.md that makes the folder a static Space), zipped. The training lines (hashed, for "only new")
        go in only when asked for, and only if the owner has the run's data set."""
        run = self._readable(run_id)
        dataset = self.ws.dataset_of(run.read_config()) if include_training_lines else None
        with tempfile.TemporaryDirectory() as folder:
            page = Path(folder) / f"{run.id}-web-page"
            summary = export_page(run, page, include_training_lines=bool(include_training_lines), dataset=dataset)
            archive = shutil.make_archive(str(page), "zip", page)
            return ExportedPage(Path(archive).name, Path(archive).read_bytes(), summary)

    # --- looking inside --------------------------------------------------------------------
    @owned
    def check_line(self, run_id: str, line: str) -> str:
        """Refuse (ConfigError) a line the run's model cannot read; returns the run's data set name."""
        model, config = self._model(run_id)
        introspect.encode_line(model, vocab_of(config), line)
        return config["dataset"]["name"]

    @owned
    def next_char_probs(self, run_id: str, line: str, label=None):
        model, vocab = self._model_and_vocab(run_id)
        return introspect.next_char_probs(model, vocab, line, label=label or None)

    @owned
    def next_char_choices(self, run_id: str, prefix: str, top_n: int = 8, label=None):
        model, vocab = self._model_and_vocab(run_id)
        return introspect.next_char_choices(model, vocab, prefix, top_n, label=label or None)

    @owned
    def embedding_map(self, run_id: str):
        model, config = self._model(run_id)
        return introspect.embedding_map(model, vocab_of(config))

    @owned
    def attention_map(self, run_id: str, line: str, label=None):
        model, config = self._model(run_id)
        reason = introspect.unavailable(config["arch"], "attention_map", run_id)
        if reason:
            return NotApplicable(reason)
        return introspect.attention_map(model, vocab_of(config), line, label=label or None)

    @owned
    def hidden_activations(self, run_id: str, line: str, top_units: int = 16, rank_by: str = "activity",
                           label=None):
        model, config = self._model(run_id)
        reason = introspect.unavailable(config["arch"], "hidden_activations", run_id)
        if reason:
            return NotApplicable(reason)
        return introspect.hidden_activations(model, vocab_of(config), line, top_units, rank_by,
                                             label=label or None)

    @owned
    def training_health(self, run_id: str):
        return introspect.training_health(self._readable(run_id))

    @owned
    def is_training(self, run_id: str) -> bool:
        return self.status(run_id).state in (RunState.QUEUED, RunState.RUNNING)

    @owned
    def bigram_counts(self, dataset: str):
        return introspect.bigram_counts(self.ws.load_dataset(dataset))

    # --- the shortlist ---------------------------------------------------------------------
    @owned
    def shortlist(self) -> list[dict]:
        return self._shortlist().list()

    @owned
    def shortlist_add(self, text: str, score=None, is_new=None, run_id=None) -> list[dict]:
        return self._shortlist().add(text, score, is_new, run_id)

    @owned
    def shortlist_remove(self, text: str) -> list[dict]:
        return self._shortlist().remove(text)

    # --- below the interface ---------------------------------------------------------------
    def _readable(self, run_id: str):
        if not run_id:
            raise ConfigError("Pick a run first.")
        return self.owners.readable_run(self.ws, run_id)

    def _model(self, run_id: str):
        """(model, config) of a readable run's best weights, cached until they change."""
        if not run_id:
            raise ConfigError("Pick a run first.")
        return self.owners.model(self.ws, run_id)

    def _model_and_vocab(self, run_id: str):
        model, config = self._model(run_id)
        return model, vocab_of(config)

    def _shortlist(self) -> Shortlist:
        return self.ws.shortlist()  # within the owner's quota; the folder appears with the first star


def owned_methods() -> list[str]:
    """The names of every Session method that acts for an owner (all of its public ones)."""
    return [name for name, value in vars(Session).items() if getattr(value, "owned", False)]

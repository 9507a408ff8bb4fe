"""Who owns what on a shared server: a private workspace per visitor, and the read-only gallery.

Locally (no public preset) there is one owner, "local", whose workspace is ROOT itself: nothing to sign in to.
On a public server every visitor owns a workspace under ROOT/users/:
- a visitor signed in with Hugging Face owns "hf-<user name>", the same on every device;
- an anonymous visitor owns "anon-<hash of their workspace key>": the key is an unguessable token kept in their
  browser (or by an API client) and never stored on the server.
The gallery is what everyone may read and nobody may change: the shipped runs, and the runs their owners chose
to publish (ROOT/gallery.json maps a published run id to its owner). Everything here is core: the web page, the
API and MCP all go through it.
"""
import hashlib
import re
import secrets
import shutil
import threading
import time
from collections import OrderedDict
from dataclasses import replace as _replace
from pathlib import Path

from .clients import Ledger
from .errors import AccessError, ConfigError
from .limits import Limits, load_limits
from .store import (INIT, LAST, METRICS, SAMPLES, WEIGHTS, Run, RunState, RunSummary, atomic_write_bytes,
                    atomic_write_json, check_name, new_run_id, read_str_map)
from .uploads import Uploads
from .workspace import Workspace

KEY = re.compile(r"^mk-[A-Za-z0-9_-]{32}$")
LAST_SEEN = ".last_seen"
CACHED_WORKSPACES = 64  # Workspace objects kept in memory (each caches its runs' models); the rest are made again


class Owners:
    def __init__(self, root=None, limits: Limits | None = None, base: Workspace | None = None):
        self.limits = limits or (base.limits if base else load_limits())
        self.base = base or Workspace(root, self.limits)
        self.root = self.base.root
        self.users = self.root / "users"
        self.gallery_file = self.root / "gallery.json"
        self._lock = threading.RLock()
        self._spaces: OrderedDict[str, Workspace] = OrderedDict()  # least recently used first
        self.ledger = Ledger(self.root, self.limits)
        self.uploads = Uploads(self.limits)  # files posted to Gradio's upload route (uploads.UploadGuard)

    @property
    def public(self) -> bool:
        return self.limits.public

    def secret(self) -> str:
        """A server secret kept under ROOT (made once), e.g. to seal what browsers keep across restarts."""
        path = self.root / ".secret"
        if not path.is_file():
            atomic_write_bytes(path, secrets.token_urlsafe(32).encode())
            path.chmod(0o600)
        return path.read_text().strip()

    # --- whose workspace ------------------------------------------------------------------
    def new_key(self, client: str | None = None) -> str:
        """A fresh anonymous workspace key (what the browser keeps, and an API client passes as `workspace`);
        with `client`, counted against that client's keys per hour (QuotaError beyond)."""
        if self.public:
            self.ledger.mint(client)
        return "mk-" + secrets.token_urlsafe(24)

    def workspace(self, key: str | None = None, user: str | None = None) -> Workspace:
        """The caller's own workspace. `user` is a signed-in user name from OAuth, never from a request field."""
        if not self.public:
            return self.base
        if user:
            return self.open("hf-" + check_name(user, "user name"))
        if isinstance(key, str) and KEY.match(key):
            return self.open("anon-" + hashlib.sha256(key.encode()).hexdigest()[:32])
        raise AccessError("This request has no valid workspace key: reload the page (API clients: get a key from "
                          "/new_workspace and pass it as `workspace`).")

    def open(self, owner: str) -> Workspace:
        """An owner's workspace, for a visit by that owner (noted, for the idle clean-up)."""
        ws = self._get(owner)
        if ws.root.is_dir():
            (ws.root / LAST_SEEN).touch()
        return ws

    def _get(self, owner: str) -> Workspace:
        """An owner's Workspace: kept in a bounded cache once the owner has a folder; an owner with nothing on
        disk (any made-up key) gets a fresh object that nothing keeps."""
        with self._lock:
            if owner in self._spaces:
                self._spaces.move_to_end(owner)
                return self._spaces[owner]
            ws = Workspace(self.users / owner, self.limits, owner=owner, base=self.base)
            ws.ledger = self.ledger if self.public else None
            if ws.root.is_dir():
                self._spaces[owner] = ws
                while len(self._spaces) > CACHED_WORKSPACES:
                    self._spaces.popitem(last=False)
            return ws

    def workspaces(self) -> list[Workspace]:
        """Every workspace on the server, the base first (the scheduler's view)."""
        owners = sorted(p.name for p in self.users.iterdir() if p.is_dir()) if self.users.is_dir() else []
        return [self.base] + [self._get(owner) for owner in owners]

    def owner_of(self, run: Run) -> Workspace:
        """The workspace a run directory belongs to."""
        if run.path.parent == self.base.runs:
            return self.base
        if run.path.parent.parent.parent == self.users:
            return self._get(run.path.parent.parent.name)
        raise AccessError(f"{run.id} belongs to no workspace.")

    # --- what a visitor may read or change ---------------------------------------------------
    def own_run(self, ws: Workspace, run_id: str) -> Run:
        """A run the caller may change: theirs, and not shipped."""
        run = ws.run(run_id)
        summary = run.summary() if run.exists() else None
        if summary is None:
            raise AccessError(f"There is no run {run_id!r} in your workspace.")
        if summary.shipped:
            raise AccessError(f"{run_id} is a shipped run: it is read-only (resuming it trains a copy of your own).")
        return run

    def readable_run(self, ws: Workspace, run_id: str) -> Run:
        """A run the caller may read: theirs, or one in the gallery."""
        run = ws.run(run_id)
        if run.exists():
            return run
        shared = self.gallery_run(run_id)
        if shared is None:
            raise AccessError(f"There is no run {run_id!r} in your workspace or the gallery.")
        return shared

    def visible(self, ws: Workspace, with_weights=False) -> list[RunSummary]:
        """What a visitor's run lists show: their own runs, newest first, then the gallery."""
        published = self.published()
        own = [_replace(s, published=s.id in published, readonly=s.shipped) for s in ws.summaries(with_weights)]
        mine = {s.id for s in own}
        return own + [s for s in self.gallery(with_weights) if s.id not in mine]

    def model(self, ws: Workspace, run_id: str):
        """(model, config) of a readable run's best weights on the CPU, cached until the weights change."""
        return self.owner_of(self.readable_run(ws, run_id)).model(run_id)

    # --- the gallery ----------------------------------------------------------------------------
    def published(self) -> dict[str, str]:
        """Published run id -> its owner."""
        return read_str_map(self.gallery_file)

    def gallery_run(self, run_id: str) -> Run | None:
        check_name(run_id, "run id")
        owner = self.published().get(run_id)
        run = self._get(owner).run(run_id) if owner and owner != self.base.owner else self.base.run(run_id)
        if not run.exists():
            return None
        return run if owner or run.summary().shipped else None

    def gallery(self, with_weights=False) -> list[RunSummary]:
        """The shipped runs, then the published ones, newest first."""
        shipped = [_replace(s, readonly=True) for s in self.base.summaries(with_weights) if s.shipped]
        rows = []
        for run_id, owner in self.published().items():
            run = self.gallery_run(run_id)
            if run is not None and (run.summary().has_weights or not with_weights):
                rows.append(_replace(run.summary(owner=owner), published=True, readonly=True))
        return shipped + sorted(rows, key=lambda s: s.created, reverse=True)

    def publish(self, ws: Workspace, run_id: str, published=True):
        """Put one of the caller's runs in the gallery (or take it back out)."""
        run = self.own_run(ws, run_id)
        if published and not run.summary().has_weights:
            raise ConfigError(f"{run_id} has no weights yet: publish it after its first evaluation.")
        with self._lock:
            index = self.published()
            if index.get(run_id, ws.owner) != ws.owner:
                raise AccessError(f"There is no run {run_id!r} in your workspace.")
            if published:
                index[run_id] = ws.owner
            else:
                index.pop(run_id, None)
            atomic_write_json(self.gallery_file, index)

    def fork(self, ws: Workspace, source: Run) -> Run:
        """Copy a readable run into the caller's workspace as a new run that goes on from its weights."""
        config = source.read_config()
        run = ws.run(new_run_id(ws.runs, config["arch"], config["dataset"]["name"]))
        ws.check_quota(extra_bytes=sum(p.stat().st_size for p in source.path.iterdir() if p.is_file()))
        run.path.mkdir(parents=True)
        resumable = source.file(LAST).is_file()
        names = (WEIGHTS, LAST, METRICS, SAMPLES) if resumable else (WEIGHTS, SAMPLES)
        for name in names:
            if source.file(name).is_file():
                shutil.copyfile(source.file(name), run.file(name))
        weights = source.file(WEIGHTS).read_bytes()
        if not resumable:  # a shipped run keeps no optimizer state: the copy starts from its weights at step 0
            shutil.copyfile(source.file(WEIGHTS), run.file(INIT))
        status = source.status()
        run.update_status(**({"state": status.state, "step": status.step, "elapsed": status.elapsed,
                              "best_test_loss": status.best_test_loss, "best_step": status.best_step}
                             if resumable else {"state": RunState.CREATED}),
                          max_steps=config["train"]["max_steps"], time_budget=config["train"]["time_budget"])
        config.update(run_id=run.id, created=time.time(), shipped=False, name=f"{source.summary().name[:50]} (copy)",
                      forked_from={"run_id": source.id, "weights_sha256": hashlib.sha256(weights).hexdigest()})
        config["dataset"].pop("file", None)
        atomic_write_json(run.file("config.json"), config)
        return run

    # --- idle anonymous workspaces ---------------------------------------------------------------
    def evict_idle(self, free_bytes: int, now: float | None = None) -> list[str]:
        """When disk runs low, remove anonymous workspaces idle for longer than the limit, oldest first, after
        the uploads no event kept (expired ones go whatever the disk). Signed-in owners' work and published runs
        are kept. Returns the owners removed."""
        limits, now = self.limits, now or time.time()
        free_bytes += self.uploads.free(free_bytes, now)
        if not (limits.min_free_bytes and limits.idle_workspace_seconds) or free_bytes >= limits.min_free_bytes:
            return []
        publishers = set(self.published().values())
        idle = []
        for ws in self.workspaces()[1:]:
            seen = _mtime(ws.root / LAST_SEEN) or _mtime(ws.root)
            busy = any(s.state in (RunState.QUEUED, RunState.RUNNING) for s in ws.summaries())
            if ws.owner.startswith("anon-") and ws.owner not in publishers and not busy and \
                    now - seen > limits.idle_workspace_seconds:
                idle.append((seen, ws))
        removed = []
        for _, ws in sorted(idle, key=lambda pair: pair[0]):
            if free_bytes >= limits.min_free_bytes:
                break
            free_bytes += ws.disk_bytes()
            shutil.rmtree(ws.root, ignore_errors=True)
            with self._lock:
                self._spaces.pop(ws.owner, None)
            self.ledger.forget(ws.owner)
            removed.append(ws.owner)
        return removed


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0

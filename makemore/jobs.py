"""Training jobs: each run trains in its own child process, at most limits.max_jobs at a time.

The run directories are the only shared state. A run waiting for a slot has status "queued" on
disk, so the queue survives a restart; a small scheduler thread starts queued runs when a slot
frees, reaps children that ended, and marks runs whose process vanished as "interrupted".

On a shared server the fair-use rules live here, not in the page, so the API gets them too: jobs
per owner, per client (every workspace one address uses, clients.py) and on the whole server are
capped, a job's memory is estimated before it starts, the next slot goes to the client with the
fewest jobs running (a client holding two slots while another waits has its newer job preempted:
it checkpoints and queues again), and workers run at a lower CPU priority than the web server.

The scheduler keeps an index of the queued runs (rebuilt from disk at start, then updated wherever a run is
queued), so a pass costs in proportion to the runs queued or training, not to every run ever made.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

from .errors import ConfigError, DataError, QuotaError
from .limits import usable_cpus
from .models import estimate_memory_mb
from .owners import Owners
from .runs import new_run, prepare
from .store import ACTIVE_STATES, FINAL_STATES, RESUMABLE_STATES, Run, RunState, default_run_name, new_run_id
from .train import extend_limits
from .workspace import REPO, Workspace


DISK_LOOK_INTERVAL = 10.0  # seconds between looks at free disk (expired uploads, idle workspaces when it is low)


def pid_alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (ended, not yet reaped) is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def is_worker_of(pid, run: Run) -> bool:
    """Is `pid` a live makemore worker training `run` (and not some other process that reused the pid)?"""
    if not pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return sys.platform != "linux"  # no /proc to check: trust the pid
    return b"makemore.worker" in cmdline and str(run.path).encode() in cmdline


def unique_name(name: str, taken: set[str]) -> str:
    """`name`, or `name (2)`, `name (3)`... whichever no other run has."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name} ({n})"
    return candidate


def kill_workers(root) -> list[int]:
    """Kill every makemore worker training a run under `root` (found by its status's pid, checked to be ours):
    for tests and benchmarks that leave no process behind. Returns the pids killed."""
    killed = []
    for path in Path(root).glob("**/checkpoints/*/status.json"):
        run = Run(path.parent)
        pid = run.status().pid
        if is_worker_of(pid, run):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    return killed


class JobManager:
    """Creates, queues, starts, stops and resumes training jobs, for every owner.

    A request identical to one made less than `repeat_window` seconds ago (a double click, a retried call)
    returns the run that one made instead of creating a second.
    """

    def __init__(self, owners: Owners | Workspace | None = None, poll_interval: float = 0.5, scheduler: bool = True,
                 device: str | None = None, repeat_window: float = 5.0):
        if isinstance(owners, Workspace):
            owners = Owners(owners.root, owners.limits, base=owners)
        self.owners = owners or Owners()
        self.ws = self.owners.base  # the local user's workspace (the default for every call)
        self.limits = self.owners.limits
        self.device = device or os.environ.get("MAKEMORE_DEVICE", "auto")
        self.children: dict[Path, subprocess.Popen] = {}  # run directory -> the process we started
        self.adopted: dict[Path, int] = {}  # run directory -> pid of a worker left running by an earlier app
        self.preempted: set[Path] = set()  # stopped to free a slot for another owner: queued again on exit
        self.waiting: dict[Path, float] = {}  # the index of queued runs: run directory -> when it was queued
        self.lock = threading.RLock()
        self.poll_interval = poll_interval
        self.repeat_window = repeat_window
        self.recent: dict[str, tuple[float, str]] = {}  # request key -> (when, run id), for repeated requests
        self.recover()
        self._stop = threading.Event()
        if scheduler:
            threading.Thread(target=self._loop, name="makemore-scheduler", daemon=True).start()

    @property
    def threads_per_job(self) -> int:
        return max(1, usable_cpus() // max(1, self.limits.max_jobs))

    # --- creating, stopping, resuming -----------------------------------------------------
    def create(self, dataset: str, arch: str | None, model: dict | None = None, *, seconds: float | None = None,
               steps: int | None = None, eval_interval: int | None = None, init_from: str | None = None,
               ws: Workspace | None = None, **train) -> str:
        """Create a run on a stored data set of `ws` (default: the local workspace) and queue it; returns the
        run id at once.

        Give exactly one of `seconds` (a time budget) or `steps`; evaluation and logging intervals follow from
        it (train.intervals, the rule of every run) unless `eval_interval` is given (0: automatic). `model`
        holds model hyperparameters, `train` training options (learning_rate, batch_size, weight_decay,
        seed, ...: those declared in hparams.TrainConfig); None (or a blank) means the architecture's
        default. With `init_from` (a run the caller may read) the new run starts from that run's weights,
        with its architecture and shape.
        """
        ws = ws or self.ws
        if not dataset:
            raise ConfigError("Pick a data set first.")
        if (seconds is None) == (steps is None) or not (seconds or steps) or (seconds or steps) <= 0:
            raise ConfigError("Give how long to train: a positive number of seconds or steps.")
        if {"max_steps", "time_budget"} & set(train):
            raise ConfigError("Give how long to train as seconds or steps, not max_steps or time_budget.")
        max_steps, budget = (int(steps), 0.0) if steps is not None else (-1, float(seconds))
        data = ws.load_dataset(dataset)
        source = self.owners.readable_run(ws, init_from) if init_from else None
        arch, overrides, config = prepare(
            arch, self.limits, init_from=source, model=model, lines=len(data.lines), **train, max_steps=max_steps,
            time_budget=budget,
            eval_interval=int(eval_interval) if eval_interval and eval_interval > 0 else None)
        request = json.dumps([ws.owner, dataset, data.sha256, arch, overrides, asdict(config), init_from],
                             sort_keys=True)
        with self.lock:
            repeated = self._repeated(request, ws)
            if repeated:
                return repeated
            self.check_room(ws)
            run_id = new_run_id(ws.runs, arch, dataset)
            run = ws.run(run_id)
            name = unique_name(default_run_name(dataset, arch, time.time()), {s.name for s in ws.summaries()})
            try:
                new_run(run, data, arch, overrides, config, self.limits, init_from=source, name=name)
                self.check_memory(run)
            except Exception:
                remove_tree(run.path)
                raise
            self._enqueue(run)
            self.recent[request] = (time.monotonic(), run_id)
        self.prune(dataset, keep=run_id, ws=ws)
        self.schedule()
        return run_id

    def check_room(self, ws: Workspace):
        """Refuse a new job (QuotaError) over the owner's or the client's job cap, the server's queue cap or the
        disk quota."""
        limits = self.limits
        mine = sum(s.state in ACTIVE_STATES for s in ws.summaries())
        if limits.max_jobs_per_owner and mine >= limits.max_jobs_per_owner:
            raise QuotaError(f"You already have {mine} runs queued or training, this server's limit: wait for one "
                             "to finish, or stop one.")
        busy = [path for path in self.active() if path.is_dir()] + [run.path for run in self._queued_runs()]
        if limits.max_jobs_per_client and limits.public:
            client = self.owners.ledger.link(ws.owner)
            theirs = sum(self.client_of(path) == client for path in busy)
            if theirs >= limits.max_jobs_per_client:
                raise QuotaError(f"The workspaces used from your address already have {theirs} runs queued or "
                                 "training, this server's limit per visitor: wait for one to finish, or stop one.")
        if limits.max_queue and len(busy) >= limits.max_queue:
            raise QuotaError("The demo is busy: every training slot and the queue are full. Try again in a minute.")
        ws.check_quota()

    def client_of(self, run_path: Path) -> str:
        """Whose allowance a run counts to: its owner's client (the local user's runs: "local")."""
        if run_path.parent == self.ws.runs:
            return self.ws.owner
        return self.owners.ledger.client_of(run_path.parent.parent.name)

    def check_memory(self, run: Run):
        if not self.limits.max_job_memory_mb:
            return
        config = run.read_config()
        needed = estimate_memory_mb(config["arch"], run.model_config(config), config["train"]["batch_size"])
        if needed > self.limits.max_job_memory_mb:
            raise QuotaError(f"This run would need about {needed:,.0f} MB of memory to train, over this server's "
                             f"{self.limits.max_job_memory_mb:,} MB per job: use a smaller batch size or model.")

    def _repeated(self, request: str, ws: Workspace) -> str | None:
        """The run an identical request made within the repeat window, if it still exists (call under the lock)."""
        now = time.monotonic()
        self.recent = {k: v for k, v in self.recent.items() if now - v[0] < self.repeat_window}
        made = self.recent.get(request)
        return made[1] if made and ws.run(made[1]).exists() else None

    def stop(self, run_id: str, ws: Workspace | None = None) -> str:
        """Ask a run to stop: it saves a checkpoint and ends within a second. Returns its state."""
        run = self.owners.own_run(ws or self.ws, run_id)
        with self.lock:
            self.preempted.discard(run.path)
            status = run.status()
            if status.state == RunState.QUEUED:
                run.update_status(state=RunState.STOPPED)
                self.waiting.pop(run.path, None)
                return RunState.STOPPED.value
            if status.state != RunState.RUNNING:
                return status.state.value
            self._signal_stop(run, status.pid)
            return "stopping"

    def _signal_stop(self, run: Run, pid):
        run.request_stop()
        pid = self.children[run.path].pid if run.path in self.children else pid
        if is_worker_of(pid, run):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def resume(self, run_id: str, max_steps: int | None = None, time_budget: float | None = None,
               ws: Workspace | None = None) -> str:
        """Queue one of the caller's stopped, interrupted or finished runs again (from its last checkpoint, if
        any); a finished one needs a higher limit. Returns its state."""
        ws = ws or self.ws
        run = self.owners.own_run(ws, run_id)
        with self.lock:
            config, status = run.read_config(), run.status()
            if status.state in ACTIVE_STATES:
                raise ConfigError(f"{run_id} is already {status.state}.")
            if status.state not in RESUMABLE_STATES and not status.retryable:
                raise ConfigError(
                    f"{run_id} {status.state} ({status.error or 'no details'}); it cannot be resumed: "
                    "start a new run (with a lower learning rate if it diverged).")
            self.check_room(ws)
            self.check_data(ws, config)
            extend_limits(run, max_steps, time_budget, self.limits)
            run.clear_stop()
            self._enqueue(run)
        self.schedule()
        return run.status().state.value

    def train_more(self, run_id: str, max_steps: int | None = None, time_budget: float | None = None,
                   ws: Workspace | None = None) -> str:
        """Resume a run of the caller's; a read-only one (shipped, or someone's published run) is first copied
        into the caller's workspace, leaving the original untouched. Returns the id of the run queued."""
        ws = ws or self.ws
        run = self.owners.readable_run(ws, run_id)
        if run.path.parent != ws.runs or run.summary().shipped:
            with self.lock:
                self.check_room(ws)
                self.check_data(ws, run.read_config())  # before copying anything
                run = self.owners.fork(ws, run)
        self.resume(run.id, max_steps, time_budget, ws)
        return run.id

    def delete(self, run_id: str, ws: Workspace | None = None):
        """Delete one of the caller's runs that is not training (its published copy goes too)."""
        ws = ws or self.ws
        run = self.owners.own_run(ws, run_id)
        with self.lock:
            if run.status().state in ACTIVE_STATES:
                raise ConfigError(f"{run_id} is {run.status().state}: stop it first.")
            if run_id in self.owners.published():
                self.owners.publish(ws, run_id, published=False)
            remove_tree(run.path)
            self.waiting.pop(run.path, None)

    def _enqueue(self, run: Run):
        now = time.time()
        run.update_status(state=RunState.QUEUED, queued_at=now, error=None, pid=None, retryable=None)
        with self.lock:
            self.waiting[run.path] = now

    def check_data(self, ws: Workspace, config: dict):
        """The run's data set must still be there with the content it was trained on."""
        name = config["dataset"]["name"]
        try:
            dataset = ws.load_dataset(name)
        except DataError:
            raise DataError(f"The data set {name!r} this run was trained on is gone; upload the same file again "
                            "under that name to continue training.") from None
        if dataset.sha256 != config["dataset"]["sha256"]:
            raise DataError(f"The data set {name!r} has changed since this run trained on it (different content): "
                            "it cannot go on with other data. Start a new run on it instead.")

    # --- the scheduler --------------------------------------------------------------------
    def active(self) -> list[Path]:
        with self.lock:
            return [r for r, p in self.children.items() if p.poll() is None] + list(self.adopted)

    def queued(self) -> list[str]:
        """Queued run ids of every workspace, first come first served."""
        return [run.id for run in self._queued_runs()]

    def _queued_runs(self) -> list[Run]:
        """The queued runs, oldest first, from the index; a run no longer queued on disk (stopped, deleted)
        leaves it."""
        with self.lock:
            for path in list(self.waiting):
                if not path.is_dir() or Run(path).status().state != RunState.QUEUED:
                    del self.waiting[path]
            return [Run(path) for path, _ in sorted(self.waiting.items(), key=lambda pair: pair[1])]

    def schedule(self):
        """Reap ended jobs, then start queued runs while slots are free, the client with fewest jobs first."""
        with self.lock:
            self._reap()
            running = [self.client_of(path) for path in self.active()]
            for run in sorted(self._queued_runs(), key=lambda r: running.count(self.client_of(r.path))):
                if len(running) >= self.limits.max_jobs:
                    self._preempt_for(run, running)
                    break
                self._launch(run)
                running.append(self.client_of(run.path))

    def _preempt_for(self, waiting: Run, running: list[str]):
        """A waiting client with no job running while another holds two slots or more: the other's newest job
        checkpoints and goes back to the queue."""
        if not running or self.client_of(waiting.path) in running or not self.limits.public:
            return
        hog = max(set(running), key=running.count)
        if running.count(hog) < 2 or any(self.client_of(path) == hog for path in self.preempted):
            return
        newest = max((path for path in self.active() if self.client_of(path) == hog),
                     key=lambda p: Run(p).status().started or 0)
        self.preempted.add(newest)
        self._signal_stop(Run(newest), None)

    def _loop(self):
        last_look = 0.0
        while not self._stop.wait(self.poll_interval):
            try:
                self.schedule()
                if time.monotonic() - last_look > DISK_LOOK_INTERVAL:  # a look at every owner: not every pass
                    last_look = time.monotonic()
                    self.owners.evict_idle(shutil.disk_usage(self.owners.root).free)
            except Exception as e:  # keep scheduling whatever one run did
                print(f"makemore scheduler: {type(e).__name__}: {e}", file=sys.stderr)

    def close(self):
        """Stop the scheduler thread; running jobs keep training."""
        self._stop.set()

    def data_file(self, run: Run) -> Path:
        """The file a run trains on: the data set of its name in its owner's workspace."""
        config = run.read_config()
        path = Path(config["dataset"].get("file", ""))  # runs made before data sets were per owner
        if path.is_file():
            return path
        return self.owners.owner_of(run).dataset_path(config["dataset"]["name"])

    def _launch(self, run: Run):
        try:
            data_file = self.data_file(run)
        except DataError as e:
            self.waiting.pop(run.path, None)
            run.update_status(state=RunState.STOPPED, error=str(e))
            return
        self.waiting.pop(run.path, None)
        run.update_status(state=RunState.RUNNING, pid=None)
        threads = str(self.threads_per_job)
        env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        with open(run.file("log.txt"), "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "makemore.worker", str(run.path), str(data_file), "--threads", threads,
                 "--device", self.device, "--max-seconds", str(self.limits.max_job_seconds)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                cwd=REPO, env=env)
        self.children[run.path] = proc
        now = run.status()
        if now.state == RunState.RUNNING and now.pid is None:  # the worker has not written its own yet
            run.update_status(pid=proc.pid)

    def _reap(self):
        for path, proc in list(self.children.items()):
            code = proc.poll()
            if code is not None:
                del self.children[path]
                self._after_exit(Run(path), code)
        for path, pid in list(self.adopted.items()):
            run = Run(path)
            if not is_worker_of(pid, run):
                del self.adopted[path]
                self._after_exit(run, None)

    def _after_exit(self, run: Run, code):
        """A worker ended: a preempted run queues again; one that could not record why it ended says so."""
        status = run.status()
        if run.path in self.preempted:
            self.preempted.discard(run.path)
            if status.state == RunState.STOPPED and run.path.is_dir():
                self._enqueue(run)
                return
        if status.state in FINAL_STATES or status.state == RunState.QUEUED:
            return
        how = "was stopped" if run.stop_requested() else \
            f"ended unexpectedly (exit code {code})" if code is not None else "ended unexpectedly"
        run.update_status(state=RunState.INTERRUPTED, pid=None,
                          error=f"The training process {how} before saving its state; resume continues from "
                                "the last checkpoint.")
        run.clear_stop()

    def recover(self):
        """At start: index the queued runs, adopt workers still training, mark runs whose process is gone as
        interrupted."""
        with self.lock:
            for ws in self.owners.workspaces():
                for run in ws.list_runs():
                    status = run.status()
                    if status.state == RunState.QUEUED:
                        self.waiting[run.path] = status.queued_at or 0.0
                    if status.state != RunState.RUNNING or run.path in self.children:
                        continue
                    if is_worker_of(status.pid, run):
                        self.adopted[run.path] = status.pid
                    else:
                        run.update_status(state=RunState.INTERRUPTED, pid=None,
                                          error="The app stopped while this run was training; resume it to continue.")

    # --- pruning --------------------------------------------------------------------------
    def prune(self, dataset: str, keep: str | None = None, ws: Workspace | None = None) -> list[str]:
        """Keep the newest limits.max_runs_per_dataset runs of a data set in one owner's workspace; shipped and
        published runs never count nor go."""
        limit = self.limits.max_runs_per_dataset
        if limit <= 0:
            return []
        ws, published = ws or self.ws, self.owners.published()
        runs = [s for s in ws.summaries() if s.dataset == dataset and not s.shipped and s.id not in published]
        removable = [s for s in runs if s.id != keep and s.state not in ACTIVE_STATES]
        removed = []
        for summary in removable[::-1][:max(0, len(runs) - limit)]:
            remove_tree(ws.run(summary.id).path)
            removed.append(summary.id)
        return removed


def remove_tree(path: Path):
    shutil.rmtree(path, ignore_errors=True)

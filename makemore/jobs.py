"""Training jobs: each run trains in its own child process, at most limits.max_jobs at a time.

The run directories are the only shared state. A run waiting for a slot has status "queued" on
disk, so the queue survives a restart; a small scheduler thread starts queued runs when a slot
frees, reaps children that ended, and marks runs whose process vanished as "interrupted".
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

from .errors import ConfigError, DataError
from .models import get_architecture
from .store import ACTIVE_STATES, FINAL_STATES, RESUMABLE_STATES, Run, RunState, default_run_name, new_run_id
from .train import create_run, extend_limits, make_train_config
from .workspace import REPO, Workspace


def auto_intervals(max_steps: int) -> tuple[int, int]:
    """(eval_interval, log_interval) giving a chart with a few dozen points whatever the length."""
    evals = 100 if max_steps <= 0 else max(10, min(500, max_steps // 20))
    return evals, max(1, min(50, evals // 5))


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


class JobManager:
    """Creates, queues, starts, stops and resumes training jobs.

    A request identical to one made less than `repeat_window` seconds ago (a double click, a retried call)
    returns the run that one made instead of creating a second.
    """

    def __init__(self, workspace: Workspace | None = None, poll_interval: float = 0.5, scheduler: bool = True,
                 device: str | None = None, repeat_window: float = 5.0):
        self.ws = workspace or Workspace()
        self.limits = self.ws.limits
        self.device = device or os.environ.get("MAKEMORE_DEVICE", "auto")
        self.children: dict[str, subprocess.Popen] = {}  # run id -> the process we started
        self.adopted: dict[str, int] = {}  # run id -> pid of a worker left running by an earlier app
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
        return max(1, (os.cpu_count() or 1) // max(1, self.limits.max_jobs))

    # --- creating, stopping, resuming -----------------------------------------------------
    def create(self, dataset: str, arch: str, model: dict | None = None, *, seconds: float | None = None,
               steps: int | None = None, learning_rate: float | None = None, batch_size: int | None = None,
               weight_decay: float | None = None, seed: int | None = None, eval_interval: int | None = None) -> str:
        """Create a run on a stored data set and queue it; returns the run id at once.

        Give exactly one of `seconds` (a time budget) or `steps`; evaluation and logging intervals follow from
        it unless `eval_interval` is given. None (or a blank) means the architecture's default.
        """
        if not dataset:
            raise ConfigError("Pick a data set first.")
        if (seconds is None) == (steps is None) or not (seconds or steps) or (seconds or steps) <= 0:
            raise ConfigError("Give how long to train: a positive number of seconds or steps.")
        max_steps, budget = (int(steps), 0.0) if steps is not None else (-1, float(seconds))
        evals, logs = auto_intervals(max_steps)
        if eval_interval and eval_interval > 0:
            evals, logs = int(eval_interval), max(1, min(50, int(eval_interval) // 5))
        data = self.ws.load_dataset(dataset)
        spec = get_architecture(arch)
        overrides = {k: v for k, v in (model or {}).items() if k in spec.uses}
        config = make_train_config(arch, self.limits, learning_rate=learning_rate, batch_size=batch_size,
                                   weight_decay=weight_decay, seed=seed, max_steps=max_steps, time_budget=budget,
                                   eval_interval=evals, log_interval=logs)
        request = json.dumps([dataset, data.sha256, arch, overrides, asdict(config)], sort_keys=True)
        with self.lock:
            repeated = self._repeated(request)
            if repeated:
                return repeated
            run_id = new_run_id(self.ws.runs, arch, dataset)
            run = self.ws.run(run_id)
            name = unique_name(default_run_name(dataset, arch, time.time()), {s.name for s in self.ws.summaries()})
            try:
                create_run(run, data, arch, overrides, config, self.limits, self.ws.dataset_path(dataset), name)
            except Exception:
                remove_tree(run.path)
                raise
            self._enqueue(run)
            self.recent[request] = (time.monotonic(), run_id)
        self.prune(dataset, keep=run_id)
        self.schedule()
        return run_id

    def _repeated(self, request: str) -> str | None:
        """The run an identical request made within the repeat window, if it still exists (call under the lock)."""
        now = time.monotonic()
        self.recent = {k: v for k, v in self.recent.items() if now - v[0] < self.repeat_window}
        made = self.recent.get(request)
        return made[1] if made and self.ws.run(made[1]).exists() else None

    def stop(self, run_id: str) -> str:
        """Ask a run to stop: it saves a checkpoint and ends within a second. Returns its state."""
        run = self.ws.run(run_id)
        with self.lock:
            status = run.status()
            if status.state == RunState.QUEUED:
                run.update_status(state=RunState.STOPPED)
                return RunState.STOPPED.value
            if status.state != RunState.RUNNING:
                return status.state.value
            run.request_stop()
            pid = self.children[run_id].pid if run_id in self.children else status.pid
            if is_worker_of(pid, run):
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            return "stopping"

    def resume(self, run_id: str, max_steps: int | None = None, time_budget: float | None = None) -> str:
        """Queue a stopped, interrupted or finished run again (from its last checkpoint, if any);
        a finished one needs a higher limit."""
        run = self.ws.run(run_id)
        with self.lock:
            config, status = run.read_config(), run.status()
            if status.state in ACTIVE_STATES:
                raise ConfigError(f"{run_id} is already {status.state}.")
            if status.state not in RESUMABLE_STATES:
                raise ConfigError(
                    f"{run_id} {status.state} ({status.error or 'no details'}); it cannot be resumed: "
                    "start a new run (with a lower learning rate if it diverged).")
            self.data_file(config)
            extend_limits(run, max_steps, time_budget, self.limits)
            run.clear_stop()
            self._enqueue(run)
        self.schedule()
        return run.status().state.value

    def _enqueue(self, run: Run):
        run.update_status(state=RunState.QUEUED, queued_at=time.time(), error=None, pid=None)

    # --- the scheduler --------------------------------------------------------------------
    def active(self) -> list[str]:
        with self.lock:
            return [r for r, p in self.children.items() if p.poll() is None] + list(self.adopted)

    def queued(self) -> list[str]:
        """Queued run ids, first come first served."""
        waiting = [(s.status.queued_at or 0, s.id) for s in self.ws.summaries() if s.state == RunState.QUEUED]
        return [run_id for _, run_id in sorted(waiting)]

    def schedule(self):
        """Reap ended jobs, then start queued runs while slots are free."""
        with self.lock:
            self._reap()
            free = self.limits.max_jobs - len(self.active())
            for run_id in self.queued()[:max(0, free)]:
                self._launch(self.ws.run(run_id))

    def _loop(self):
        while not self._stop.wait(self.poll_interval):
            try:
                self.schedule()
            except Exception as e:  # keep scheduling whatever one run did
                print(f"makemore scheduler: {type(e).__name__}: {e}", file=sys.stderr)

    def close(self):
        """Stop the scheduler thread; running jobs keep training."""
        self._stop.set()

    def data_file(self, config: dict) -> Path:
        """The run's data file: where it was, else the data set of that name (the root may have moved)."""
        path = Path(config["dataset"].get("file", ""))
        if path.is_file():
            return path
        path = self.ws.datasets / f"{config['dataset']['name']}.txt"
        if not path.is_file():
            raise DataError(f"The data set {config['dataset']['name']!r} this run was trained on is gone; "
                            "upload the same file again under that name to continue training.")
        return path

    def _launch(self, run: Run):
        config = run.read_config()
        try:
            data_file = self.data_file(config)
        except DataError as e:
            run.update_status(state=RunState.STOPPED, error=str(e))
            return
        run.update_status(state=RunState.RUNNING, pid=None)
        threads = str(self.threads_per_job)
        env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        with open(run.file("log.txt"), "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "makemore.worker", str(run.path), str(data_file), "--threads", threads,
                 "--device", self.device],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                cwd=REPO, env=env)
        self.children[run.id] = proc
        now = run.status()
        if now.state == RunState.RUNNING and now.pid is None:  # the worker has not written its own yet
            run.update_status(pid=proc.pid)

    def _reap(self):
        for run_id, proc in list(self.children.items()):
            code = proc.poll()
            if code is not None:
                del self.children[run_id]
                self._after_exit(self.ws.run(run_id), code)
        for run_id, pid in list(self.adopted.items()):
            run = self.ws.run(run_id)
            if not is_worker_of(pid, run):
                del self.adopted[run_id]
                self._after_exit(run, None)

    def _after_exit(self, run: Run, code):
        """A worker ended: if it could not record why, say so."""
        status = run.status()
        if status.state in FINAL_STATES or status.state == RunState.QUEUED:
            return
        how = "was stopped" if run.stop_requested() else \
            f"ended unexpectedly (exit code {code})" if code is not None else "ended unexpectedly"
        run.update_status(state=RunState.INTERRUPTED, pid=None,
                          error=f"The training process {how} before saving its state; resume continues from "
                                "the last checkpoint (see log.txt).")
        run.clear_stop()

    def recover(self):
        """At start: adopt workers still training, mark runs whose process is gone as interrupted."""
        with self.lock:
            for run in self.ws.list_runs():
                status = run.status()
                if status.state != RunState.RUNNING or run.id in self.children:
                    continue
                if is_worker_of(status.pid, run):
                    self.adopted[run.id] = status.pid
                else:
                    run.update_status(state=RunState.INTERRUPTED, pid=None,
                                      error="The app stopped while this run was training; resume it to continue.")

    # --- pruning --------------------------------------------------------------------------
    def prune(self, dataset: str, keep: str | None = None) -> list[str]:
        """Keep the newest limits.max_runs_per_dataset runs of a data set; shipped runs never count nor go."""
        limit = self.limits.max_runs_per_dataset
        if limit <= 0:
            return []
        runs = [s for s in self.ws.summaries() if s.dataset == dataset and not s.shipped]  # newest first
        removable = [s for s in runs if s.id != keep and s.state not in ACTIVE_STATES]
        removed = []
        for summary in removable[::-1][:max(0, len(runs) - limit)]:
            remove_tree(self.ws.run(summary.id).path)
            removed.append(summary.id)
        return removed


def remove_tree(path: Path):
    shutil.rmtree(path, ignore_errors=True)

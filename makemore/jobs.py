"""Training jobs: each run trains in its own child process, at most limits.max_jobs at a time.

The run directories are the only shared state. A run waiting for a slot has status "queued" on
disk, so the queue survives a restart; a small scheduler thread starts queued runs when a slot
frees, reaps children that ended, and marks runs whose process vanished as "interrupted".
"""
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from .errors import ConfigError, DataError
from .models import get_architecture
from .store import FINAL_STATES, STOP, Run, new_run_id
from .train import create_run, make_train_config, raise_limits
from .workspace import REPO, Workspace, created, safe_config

RESUMABLE = ("stopped", "interrupted", "finished", "created")


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


class JobManager:
    def __init__(self, workspace: Workspace | None = None, poll_interval: float = 0.5, scheduler: bool = True,
                 device: str | None = None):
        self.ws = workspace or Workspace()
        self.limits = self.ws.limits
        self.device = device or os.environ.get("MAKEMORE_DEVICE", "auto")
        self.children: dict[str, subprocess.Popen] = {}  # run id -> the process we started
        self.adopted: dict[str, int] = {}  # run id -> pid of a worker left running by an earlier app
        self.lock = threading.RLock()
        self.poll_interval = poll_interval
        self.recover()
        self._stop = threading.Event()
        if scheduler:
            threading.Thread(target=self._loop, name="makemore-scheduler", daemon=True).start()

    @property
    def threads_per_job(self) -> int:
        return max(1, (os.cpu_count() or 1) // max(1, self.limits.max_jobs))

    # --- creating, stopping, resuming -----------------------------------------------------
    def create(self, dataset: str, arch: str, model: dict | None = None, **train) -> str:
        """Create a run on a stored data set and queue it; returns the run id at once."""
        data = self.ws.load_dataset(dataset)
        spec = get_architecture(arch)
        overrides = {k: v for k, v in (model or {}).items() if k in spec.uses}
        config = make_train_config(arch, self.limits, **train)
        with self.lock:
            run_id = new_run_id(self.ws.runs, arch, dataset)
            run = self.ws.run(run_id)
            try:
                create_run(run, data, arch, overrides, config, self.limits, self.ws.dataset_path(dataset))
            except Exception:
                remove_tree(run.path)
                raise
            self._enqueue(run)
        self.prune(dataset, keep=run_id)
        self.schedule()
        return run_id

    def stop(self, run_id: str) -> str:
        """Ask a run to stop: it saves a checkpoint and ends within a second. Returns its state."""
        run = self.ws.run(run_id)
        with self.lock:
            status = run.read_status()
            if status["state"] == "queued":
                run.write_status("stopped", **progress_fields(status))
                return "stopped"
            if status["state"] != "running":
                return status["state"]
            run.request_stop()
            pid = self.children[run_id].pid if run_id in self.children else status.get("pid")
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
            config, status = run.read_config(), run.read_status()
            state = status["state"]
            if state in ("running", "queued"):
                raise ConfigError(f"{run_id} is already {state}.")
            if state not in RESUMABLE:
                raise ConfigError(
                    f"{run_id} {state} ({status.get('error') or 'no details'}); it cannot be resumed: "
                    "start a new run (with a lower learning rate if it diverged).")
            self.data_file(config)
            raise_limits(run, max_steps, time_budget, self.limits)
            run.file(STOP).unlink(missing_ok=True)
            self._enqueue(run, status)
        self.schedule()
        return run.read_status()["state"]

    def _enqueue(self, run: Run, status=None):
        status = status or run.read_status()
        train = safe_config(run).get("train", {})
        run.write_status("queued", queued_at=time.time(), **{
            **progress_fields(status), "max_steps": train.get("max_steps"), "time_budget": train.get("time_budget")})

    # --- the scheduler --------------------------------------------------------------------
    def active(self) -> list[str]:
        with self.lock:
            return [r for r, p in self.children.items() if p.poll() is None] + list(self.adopted)

    def queued(self) -> list[str]:
        """Queued run ids, first come first served."""
        waiting = [(r.read_status(), r) for r in self.ws.list_runs()]
        waiting = [(s.get("queued_at") or 0, r.id) for s, r in waiting if s["state"] == "queued"]
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
            run.write_status("stopped", **progress_fields(run.read_status()), error=str(e))
            return
        status = run.read_status()
        run.write_status("running", pid=None, **{**progress_fields(status), "max_steps": config["train"]["max_steps"],
                                                 "time_budget": config["train"]["time_budget"]})
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
        now = run.read_status()
        if now["state"] == "running" and now.get("pid") is None:  # the worker has not written its own yet
            run.write_status("running", pid=proc.pid, **progress_fields(now))

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
        status = run.read_status()
        if status["state"] in FINAL_STATES or status["state"] == "queued":
            return
        how = "was stopped" if run.file(STOP).exists() else \
            f"ended unexpectedly (exit code {code})" if code is not None else "ended unexpectedly"
        run.write_status("interrupted", **progress_fields(status),
                         error=f"The training process {how} before saving its state; resume continues from "
                               "the last checkpoint (see log.txt).")
        run.file(STOP).unlink(missing_ok=True)

    def recover(self):
        """At start: adopt workers still training, mark runs whose process is gone as interrupted."""
        with self.lock:
            for run in self.ws.list_runs():
                status = run.read_status()
                if status["state"] != "running" or run.id in self.children:
                    continue
                if is_worker_of(status.get("pid"), run):
                    self.adopted[run.id] = status["pid"]
                else:
                    run.write_status("interrupted", **progress_fields(status),
                                     error="The app stopped while this run was training; resume it to continue.")

    # --- pruning --------------------------------------------------------------------------
    def prune(self, dataset: str, keep: str | None = None) -> list[str]:
        """Keep the newest limits.max_runs_per_dataset runs of a data set; shipped runs never count nor go."""
        limit = self.limits.max_runs_per_dataset
        if limit <= 0:
            return []
        runs = [r for r in self.ws.list_runs()
                if safe_config(r).get("dataset", {}).get("name") == dataset and not self.ws.is_shipped(r)]
        removable = [r for r in runs if r.id != keep and r.read_status()["state"] not in ("running", "queued")]
        removed = []
        for run in sorted(removable, key=created)[:max(0, len(runs) - limit)]:
            remove_tree(run.path)
            removed.append(run.id)
        return removed


def progress_fields(status: dict) -> dict:
    keys = ("step", "max_steps", "time_budget", "elapsed", "tokens_per_s", "best_test_loss")
    return {k: status[k] for k in keys if status.get(k) is not None}


def remove_tree(path: Path):
    shutil.rmtree(path, ignore_errors=True)

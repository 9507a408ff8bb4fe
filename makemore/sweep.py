"""Sweeps: architectures x hyperparameter grids, trained as many ordinary runs at once on Ray Tune.

A sweep is first planned (`plan_sweep`: the data file loaded, the grid parsed and every trial's
configuration checked against the limits, all before Ray starts), then run (`run_sweep`). Each trial
is one ordinary run directory, written by create_run + train_and_record as the command line writes
one, so the app shows sweep results like any other run. Trials report their test loss to Tune at each
evaluation; ASHA may stop weak ones early (the run ends 'stopped', its best weights kept); a trial
whose worker dies is retried (`max_failures`) and resumes from its last checkpoint. A manifest,
sweep-<id>.json beside the runs, records the grid, the trials and the best by test loss.

Where every node sees the output root (one machine, or a shared filesystem mounted at the same path
everywhere), trials write their runs there directly. With a `storage_path` (a path or URI such as
s3://bucket/sweeps that every node reaches), a trial writes its run in its Tune working directory
instead; Tune uploads it as a checkpoint with each result (a retry on another node starts from it) and
the driver copies each run's last one into the output root.

Ray is an optional extra (requirements-scale.txt): it is imported only when a sweep runs.
"""
import itertools
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from . import hparams
from .data import SPLIT_SEED, load_file
from .errors import ConfigError, MakemoreError
from .hparams import TrainConfig
from .limits import load_limits
from .manifests import leaderboard
from .models import ARCHITECTURES, get_architecture, make_config
from .runs import new_run, prepare
from .store import METRICS, Run, atomic_write_json, check_name, finite_or_none
from .train import train_and_record

INSTALL_HINT = "Sweeps need Ray Tune: pip install -r requirements-scale.txt"
SCHEDULERS = ("asha", "none")


@dataclass
class SweepPlan:
    """Everything a sweep will do, validated; `trials` are dicts (run_id, arch, params, model, train)."""
    sweep_id: str
    root: Path
    input_file: Path
    dataset: dict
    archs: list
    grid: dict
    budget: float
    trials: list = field(default_factory=list)
    scheduler: str = "asha"
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    max_failures: int = 2
    max_concurrent: int = 0  # 0: as many as the cluster's CPUs (and GPUs) allow
    storage_path: str | None = None

    @property
    def manifest_path(self) -> Path:
        return self.root / f"sweep-{self.sweep_id}.json"


# --- the grid -----------------------------------------------------------------------------------
def parse_grid(items: list[str], archs: list[str]) -> dict:
    """`name=v1,v2` items -> {name: [values]}. A name must be a training option or a model hyperparameter
    that one of `archs` uses (hparams.grid_names); each value must parse as that hyperparameter's type."""
    allowed = hparams.grid_names([get_architecture(arch) for arch in archs])
    grid = {}
    for item in items:
        name, sep, text = (part.strip() for part in item.partition("="))
        if not sep or not name:
            raise ConfigError(f"Grid item {item!r} is not name=value1,value2: e.g. learning_rate=1e-3,3e-3.")
        if name in grid:
            raise ConfigError(f"{name} appears twice in the grid: give all its values in one item.")
        if name in hparams.ALL and hparams.get(name).not_swept:
            raise ConfigError(f"{name} cannot be swept: {hparams.get(name).not_swept}.")
        if name not in allowed:
            train = [n for n, group in allowed.items() if group == "train"]
            model = sorted(n for n, group in allowed.items() if group == "model")
            raise ConfigError(
                f"Unknown hyperparameter {name!r} for {', '.join(archs)}: the grid takes the training options "
                f"({', '.join(train)}) and the model hyperparameters these architectures use "
                f"({', '.join(model) or 'none'}).")
        texts = [v.strip() for v in text.split(",")]
        if not text or not all(texts):
            raise ConfigError(f"{name} has an empty value in its list {text!r}: give values like {name}=a,b.")
        grid[name] = list(dict.fromkeys(hparams.parse_value(name, v) for v in texts))
    return grid


def make_trials(archs: list[str], grid: dict, sweep_id: str) -> list[dict]:
    """The product of architectures and grid values; a grid name an architecture does not use (n_embd for
    cnn) is left out of that architecture's trials rather than repeating identical ones."""
    trials = []
    for arch in archs:
        names = [n for n in grid if n in hparams.TRAIN or n in get_architecture(arch).uses]
        for values in itertools.product(*(grid[n] for n in names)):
            trials.append({"run_id": f"sweep-{sweep_id}-{len(trials):02d}-{arch}", "arch": arch,
                           "params": dict(zip(names, values))})
    return trials


def configure_trial(trial: dict, dataset, budget: float, max_steps, seed: int, limits) -> dict:
    """Fill in the trial's model overrides and full training config; ConfigError names the grid point."""
    arch, params = trial["arch"], trial["params"]
    model = {k: v for k, v in params.items() if k in hparams.MODEL}
    train = {k: v for k, v in params.items() if k in hparams.TRAIN}
    train.update(time_budget=float(budget))
    train.setdefault("max_steps", max_steps or -1)  # the budget ends a trial, not an architecture's step default
    train.setdefault("seed", seed)
    try:
        arch, model, train_config = prepare(arch, limits, model=model, lines=len(dataset.lines), **train)
        make_config(arch, dataset.vocab.size, dataset.block_size, limits.max_params, **model)
    except ConfigError as e:
        point = " ".join(f"{k}={v}" for k, v in params.items()) or "defaults"
        raise ConfigError(f"Trial {arch} with {point}: {e}") from None
    return {**trial, "model": model, "train": asdict(train_config)}


def new_sweep_id(root: Path) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    sweep_id, n = stamp, 1
    while (root / f"sweep-{sweep_id}.json").exists() or any(root.glob(f"sweep-{sweep_id}-*")):
        n += 1
        sweep_id = f"{stamp}-{n}"
    return sweep_id


def plan_sweep(input_file, root, archs: list[str], grid_items: list[str], budget: float, *, scheduler="asha",
               cpus_per_trial=1.0, gpus_per_trial=0.0, max_failures=2, max_concurrent=0, max_steps=None,
               seed=3407, storage_path=None, sweep_id=None, limits=None) -> SweepPlan:
    """Check everything a sweep needs before any trial starts; raises ConfigError or DataError."""
    limits = limits or load_limits()
    if not archs:
        raise ConfigError(f"Name at least one architecture: {', '.join(ARCHITECTURES)}.")
    for arch in archs:
        get_architecture(arch)
    if len(set(archs)) != len(archs):
        raise ConfigError("An architecture is named twice in --archs: name each once.")
    if not (isinstance(budget, (int, float)) and budget > 0):
        raise ConfigError(f"The budget must be a positive number of seconds per trial, not {budget!r}.")
    if scheduler not in SCHEDULERS:
        raise ConfigError(f"Unknown scheduler {scheduler!r}: use {' or '.join(SCHEDULERS)}.")
    if not cpus_per_trial > 0 or gpus_per_trial < 0:
        raise ConfigError("CPUs per trial must be above 0 and GPUs per trial at least 0 (fractions allowed).")
    if max_failures < 0 or max_concurrent < 0:
        raise ConfigError("max failures and max concurrent trials must be 0 or more.")
    dataset = load_file(input_file, SPLIT_SEED, limits)  # the test split every run on this file uses
    root = Path(root).resolve()
    sweep_id = check_name(sweep_id or new_sweep_id(root), "sweep id")
    grid = parse_grid(grid_items, archs)
    trials = [configure_trial(t, dataset, budget, max_steps, seed, limits) for t in make_trials(archs, grid, sweep_id)]
    for trial in trials:
        check_name(trial["run_id"], "run id")
        if Run(root / trial["run_id"]).path.exists():
            raise ConfigError(f"{root / trial['run_id']} already exists: choose another sweep id or output root.")
    if storage_path and "://" not in str(storage_path):
        storage_path = Path(storage_path).resolve()  # Ray takes an absolute path or a URI
    info = {"name": dataset.name, "sha256": dataset.sha256, "lines": len(dataset.lines), "split_seed": SPLIT_SEED,
            "suffix": Path(input_file).suffix or ".txt"}  # a table (.csv, .jsonl) is read as one in the trials
    return SweepPlan(sweep_id, root, Path(input_file).resolve(), info, list(archs), grid, float(budget), trials,
                     scheduler, float(cpus_per_trial), float(gpus_per_trial), int(max_failures),
                     int(max_concurrent), str(storage_path) if storage_path else None)


# --- one trial, inside a Ray worker -----------------------------------------------------------------
def trial_trainable():
    """The Tune Trainable class of a sweep trial (made here so that importing this module needs no Ray).

    A class rather than a function trainable so that stopping is synchronous: when Tune (ASHA) stops a
    trial, `cleanup` asks the run to stop and waits until it has written its final state."""
    from ray import tune

    return type("SweepTrial", (SweepTrialSteps, tune.Trainable), {})


class SweepTrialSteps:
    """What a sweep trial does, as the methods of a Tune Trainable (trial_trainable adds the Ray base class):
    train the run in a thread and report each evaluation to Tune as one result."""

    def setup(self, config, data=None):
        import ray

        self.spec, self.data = config["trial"], data
        torch.set_num_threads(self.spec["threads"])
        # without a shared output root the run lives in the trial's working directory, which Tune uploads
        self.run = Run(Path(self.spec["root"] or Path.cwd()) / self.spec["run_id"])
        self.node_id = ray.get_runtime_context().get_node_id()
        self.records, self.stop_event, self.thread, self.last = queue.Queue(), threading.Event(), None, {}
        self.error = None

    def step(self):
        if self.thread is None:
            self.thread = threading.Thread(target=self.train_in_thread, daemon=True)
            self.thread.start()
        items = [self.records.get()]  # wait for the next evaluation; then take any that queued up
        while not self.records.empty():
            items.append(self.records.get())
        if self.error is not None:
            raise self.error  # not a training failure the run recorded: let Tune retry the trial
        done = any(item is None for item in items)
        evals = [item for item in items if item is not None]
        if evals:
            last = evals[-1]
            self.last = {"test_loss": last["test_loss"], "train_loss": last["train_loss"], "step": last["step"],
                         "choice_loss": last.get("val_loss", last["test_loss"]),
                         "elapsed": last["elapsed"], "node_id": self.node_id, "run_id": self.run.id}
        result = dict(self.last or {"test_loss": float("inf"), "choice_loss": float("inf"), "elapsed": 0.0},
                      done=done)
        result["should_checkpoint"] = not self.spec["root"]  # the run travels through storage: upload it
        return result

    def train_in_thread(self):
        try:
            dataset = dataset_from_bytes(self.data, self.spec["dataset"])
            if not self.run.exists():
                new_run(self.run, dataset, self.spec["arch"], self.spec["model"], TrainConfig(**self.spec["train"]),
                        dataset_file=self.spec["dataset_file"])
            train_and_record(self.run, dataset, self.spec["device"], should_stop=self.stop_event.is_set,
                             report=lambda r: self.records.put(r) if r["kind"] == "eval" else None)
        except MakemoreError:
            pass  # recorded in the run's status ('failed', with the reason); a retry would fail the same way
        except Exception as e:
            self.error = e
        finally:
            self.records.put(None)

    def save_checkpoint(self, checkpoint_dir):
        copy_run(self.run.path, Path(checkpoint_dir))

    def load_checkpoint(self, checkpoint_dir):
        if not self.run.exists():  # retried on a node without the run (a local copy is at least as new)
            copy_run(Path(checkpoint_dir), self.run.path)

    def cleanup(self):
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join()


def copy_run(source: Path, target: Path):
    """Copy a run directory that may be being written: each file is replaced atomically, and the metrics log
    goes last, so the copy's log reaches at least the step of its last.safetensors."""
    target.mkdir(parents=True, exist_ok=True)
    files = sorted((p for p in source.iterdir() if p.is_file() and not p.name.startswith(".")),
                   key=lambda p: p.name == METRICS)
    for path in files:
        shutil.copy2(path, target / path.name)


def dataset_from_bytes(data: bytes, info: dict):
    """The sweep's data set, from the bytes the driver shared through Ray's object store."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{info['name']}{info.get('suffix', '.txt')}"
        path.write_bytes(data)
        dataset = load_file(path, info["split_seed"])
    if dataset.sha256 != info["sha256"]:
        raise MakemoreError("The data set reached the trial damaged (its sha256 differs); run the sweep again.")
    return dataset


# --- the driver ---------------------------------------------------------------------------------------
def import_ray():
    try:
        import ray
        from ray import tune  # noqa: F401  (ray without its tune extra fails here)
    except ImportError:
        raise MakemoreError(INSTALL_HINT) from None
    return ray


def connect(address: str, num_cpus=None, object_store_mb=200) -> bool:
    """Start or join Ray; True when this call started it (and so should shut it down)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # with verbose=0: no tables; progress() says what happens
    ray = import_ray()
    logging.getLogger("ray.tune").setLevel(logging.ERROR)
    if ray.is_initialized():
        return False
    if address == "local":
        ray.init(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, log_to_driver=False,
                 object_store_memory=object_store_mb * 2**20, configure_logging=False)
    else:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    return True


def run_sweep(plan: SweepPlan, address="local", num_cpus=None, progress=print, on_result=None) -> dict:
    """Run every trial of the plan on Ray (started locally, or joined at `address`), write the manifest
    and return it. `on_result(result)` sees each result Tune receives (for tests and progress)."""
    started = connect(address, num_cpus)
    try:
        plan.root.mkdir(parents=True, exist_ok=True)
        manifest = new_manifest(plan)
        atomic_write_json(plan.manifest_path, manifest)
        tuner = build_tuner(plan, plan.input_file.read_bytes(), progress, on_result)
        results = {r.config["trial"]["run_id"]: r for r in tuner.fit()}
        manifest["trials"] = [settle_trial(plan, t, results.get(t["run_id"])) for t in plan.trials]
        manifest.update(state="finished", finished=time.time(), **leaderboard(manifest["trials"]))
        atomic_write_json(plan.manifest_path, manifest)
        return manifest
    finally:
        if started:
            import ray
            ray.shutdown()


def build_tuner(plan: SweepPlan, data: bytes, progress, on_result):
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    resources = {"cpu": plan.cpus_per_trial, "gpu": plan.gpus_per_trial}
    trainable = tune.with_resources(tune.with_parameters(trial_trainable(), data=data), resources)
    shared = {"root": None if plan.storage_path else str(plan.root), "dataset": plan.dataset,
              "dataset_file": str(plan.input_file), "threads": max(1, int(plan.cpus_per_trial)),
              "device": "cuda" if plan.gpus_per_trial > 0 else "cpu"}
    specs = [{**shared, **t} for t in plan.trials]
    scheduler = None
    if plan.scheduler == "asha":  # rungs at a quarter, half and all of the budget, in seconds of training
        scheduler = ASHAScheduler(time_attr="elapsed", max_t=plan.budget, grace_period=plan.budget / 4,
                                  reduction_factor=2)
    # trials are compared as runs choose their checkpoint: on validation (the test split only for old configs)
    tune_config = tune.TuneConfig(metric="choice_loss", mode="min", scheduler=scheduler,
                                  max_concurrent_trials=plan.max_concurrent or None,
                                  trial_name_creator=trial_name, trial_dirname_creator=trial_name)
    run_config = tune.RunConfig(
        name=f"sweep-{plan.sweep_id}", storage_path=plan.storage_path or str(plan.root / ".tune"), verbose=0,
        failure_config=tune.FailureConfig(max_failures=plan.max_failures),
        checkpoint_config=tune.CheckpointConfig(num_to_keep=1, checkpoint_at_end=bool(plan.storage_path)),
        callbacks=[progress_callback(progress, on_result)])
    return tune.Tuner(trainable, param_space={"trial": tune.grid_search(specs)}, tune_config=tune_config,
                      run_config=run_config)


def trial_name(trial) -> str:
    return trial.config["trial"]["run_id"]


def progress_callback(progress, on_result):
    """A Tune callback printing one line per trial event (Tune's own output is off)."""
    from ray import tune

    def describe(trial):
        spec = trial.config["trial"]
        return f"{spec['run_id']} ({' '.join(f'{k}={v}' for k, v in spec['params'].items()) or 'defaults'})"

    class Progress(tune.Callback):
        def on_trial_start(self, iteration, trials, trial, **info):
            progress(f"started {describe(trial)}")

        def on_trial_result(self, iteration, trials, trial, result, **info):
            if on_result:
                on_result(result)

        def on_trial_recover(self, iteration, trials, trial, **info):
            progress(f"retrying {describe(trial)}: its worker died")

        def on_trial_complete(self, iteration, trials, trial, **info):
            loss = (trial.last_result or {}).get("test_loss")
            progress(f"ended {describe(trial)}: latest test loss {loss:.4f}" if loss else f"ended {describe(trial)}")

        def on_trial_error(self, iteration, trials, trial, **info):
            progress(f"failed {describe(trial)}: out of retries")

    return Progress()


# --- after the trials: runs in the output root, the manifest ------------------------------------------
def settle_trial(plan: SweepPlan, trial: dict, result) -> dict:
    """The trial's run in the output root (copied from storage when it travelled), in a final state, and
    its line in the manifest."""
    run = Run(plan.root / trial["run_id"])
    error = str(result.error)[:1000] if result is not None and result.error else None
    if plan.storage_path and result is not None and not run.exists():
        fetch_run(result, run)
    line = {"run_id": trial["run_id"], "arch": trial["arch"], "params": trial["params"], **placement(result)}
    if not run.exists():
        return {**line, "status": "missing", "error": error or (
            f"No run directory at {run.path}: the trial did not start, or it ran on a node that does not share "
            "this disk (then give the sweep a --storage-path every node reaches).")}
    settle_status(run, error)
    return {**line, **summarize_run(run)}


def fetch_run(result, run: Run):
    """Copy a run from its trial's last checkpoint in the storage path (taken with its last result)."""
    if result.checkpoint is not None:
        result.checkpoint.to_directory(str(run.path))


def settle_status(run: Run, error):
    """A trial's actor may end before its run records how it ended (Tune stopped it, or its last retry
    died): say so in the run's status."""
    if run.status().state.value in ("finished", "stopped", "failed"):
        return
    evals = eval_records(run)
    progress = dict(step=evals[-1]["step"], elapsed=evals[-1]["elapsed"],
                    best_test_loss=chosen(evals)["test_loss"]) if evals else {}
    if error:
        run.update_status(state="failed", error=f"The sweep trial's worker failed and its retries ran out: {error}",
                          pid=None, **progress)
    else:
        run.update_status(state="stopped", error="Stopped early by the sweep's scheduler (ASHA).", pid=None,
                          **progress)


def eval_records(run: Run) -> list[dict]:
    return [r for r in run.read_metrics() if r.get("kind") == "eval" and finite_or_none(r.get("test_loss"))]


def chosen(evals: list[dict]) -> dict | None:
    """The evaluation a run keeps as its checkpoint: the lowest validation loss (test loss without one)."""
    return min(evals, key=lambda r: r.get("val_loss", r["test_loss"]), default=None)


def summarize_run(run: Run) -> dict:
    evals = eval_records(run)
    best = chosen(evals)
    status = run.status()
    return {"status": status.state.value, "error": status.error,
            "best_test_loss": best["test_loss"] if best else None,
            "best_val_loss": best.get("val_loss") if best else None, "best_step": best["step"] if best else None,
            "steps": evals[-1]["step"] if evals else 0, "elapsed": evals[-1]["elapsed"] if evals else 0.0,
            "resumes": sum(r.get("kind") == "resume" for r in run.read_metrics())}


def placement(result) -> dict:
    """The Ray nodes and worker processes that ran a trial (more than one of each after a retry)."""
    frame = getattr(result, "metrics_dataframe", None)
    if frame is None or "node_id" not in frame or "pid" not in frame:
        return {"nodes": [], "pids": []}
    return {"nodes": sorted(set(frame["node_id"].dropna())), "pids": sorted({int(p) for p in frame["pid"].dropna()})}


def new_manifest(plan: SweepPlan) -> dict:
    return {"format": 1, "sweep_id": plan.sweep_id, "state": "running", "created": time.time(), "finished": None,
            "dataset": {**plan.dataset, "file": str(plan.input_file)}, "archs": plan.archs, "grid": plan.grid,
            "budget": plan.budget, "scheduler": plan.scheduler, "cpus_per_trial": plan.cpus_per_trial,
            "gpus_per_trial": plan.gpus_per_trial, "max_failures": plan.max_failures,
            "max_concurrent": plan.max_concurrent, "storage_path": plan.storage_path,
            "trials": [{"run_id": t["run_id"], "arch": t["arch"], "params": t["params"]} for t in plan.trials],
            "best": None, "best_per_arch": {}}

"""The one way to make a run, for the command line, the app's JobManager and sweeps alike.

    arch, model, train = prepare(arch, limits, init_from=source, model=overrides, max_steps=..., seed=...)
    new_run(run, dataset, arch, model, train, limits, init_from=source, name=name)

`prepare` settles everything that can be checked before a folder exists: the architecture (a run
started from another takes that one's), the model overrides the architecture uses, and the training
config (its defaults, the measured best for a time budget (budgets.py), the caller's values, the one
evaluation-interval rule of train.intervals, the limits). `new_run` writes the run: from scratch, or from
the weights of `init_from` (finetune.py). Where the run's folder lives is the caller's (a Workspace's runs
folder, the command line's -o, a sweep's output root): this module only fills it.
"""
from . import budgets
from .data import Dataset
from .finetune import create_finetune_run, source_arch
from .hparams import TrainConfig
from .models import DEFAULT_ARCH, get_architecture
from .store import Run
from .train import create_run, make_train_config


def prepare(arch: str | None, limits=None, *, init_from: Run | None = None, model: dict | None = None,
            lines: int | None = None, **train) -> tuple[str, dict, TrainConfig]:
    """(architecture, model overrides it uses, TrainConfig); None means the default everywhere. `lines`: how
    many lines the data set has (the measured defaults for a time budget depend on it). Raises ConfigError for
    a bad value, before anything is written."""
    arch = source_arch(init_from, arch) if init_from else arch or DEFAULT_ARCH
    uses = get_architecture(arch).uses
    overrides = {k: v for k, v in (model or {}).items() if k in uses and v is not None}
    if init_from is None:  # a fresh model: the measured best for its time budget, under what the caller gave
        row = budgets.defaults_for(arch, train.get("time_budget"), lines)
        overrides = {**{k: v for k, v in row.model.items() if k in uses}, **overrides}
        train = {**row.train, **{k: v for k, v in train.items() if v is not None}}
    return arch, overrides, make_train_config(arch, limits, **train)


def new_run(run: Run, dataset: Dataset, arch: str, model: dict, train: TrainConfig, limits=None, *,
            init_from: Run | None = None, name: str | None = None, dataset_file=None) -> dict:
    """Write a new run's config (and, with `init_from`, its starting weights); returns the config."""
    if init_from is not None:
        return create_finetune_run(run, dataset, init_from, train, limits, dataset_file, model, name)
    create_run(run, dataset, arch, model, train, limits, dataset_file, name)
    return run.read_config()

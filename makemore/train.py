"""Training: the Trainer that trains the model of a run directory, used by the CLI, the web app's worker
and sweeps.

It evaluates every `eval_interval` steps, appends metrics, keeps the best weights in model.safetensors and
the latest weights plus optimizer state in last.safetensors (for resume). "Best" is on a validation split
held out of the training lines (`choose_on`), so the saved model's test loss is an honest estimate; the
classic makemore chose on the test split itself, and its figure, the lowest test loss seen, is kept beside
(status `lowest_test_loss`). With `ema`, evaluation, samples and the best weights use an exponential moving
average of the weights (optimizer.WeightAverage).

Speed (measured by bench/throughput.py): batches of similar-length lines (BucketBatcher) so little
padding is computed, AdamW over one flat parameter buffer (optimizer.py), and no device sync per step
(the loss and the token count are read only every `log_interval` steps). Torch's default thread count
suits a quiet machine; on a busy shared one, one thread (`--threads 1`) can be faster, as it never
waits for another.
"""
import contextlib
import math
import os
import time
from dataclasses import asdict

import torch

from . import hparams
from .data import BOUNDARY, IGNORE, BucketBatcher, Dataset, trim
from .errors import ConfigError, DataError, Diverged, MakemoreError, TrainingFailed
from .health import HealthProbe
from .hparams import TrainConfig
from .models import build_model, count_params, get_architecture, make_config
from .optimizer import FlatAdamW, WeightAverage
from .sample import generate
from .store import INIT, LAST, Run, RunState, check_run_name, default_run_name, load_state


# A labelled run also learns lines with no label: this share of its training lines start with the boundary
# token instead of their label's, so sampling without a label writes lines of any label.
NO_LABEL_RATE = 0.1


def drop_labels(xb: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A batch whose lines start, at NO_LABEL_RATE, with "no label" (the boundary) instead of their label."""
    dropped = (torch.rand(len(xb), generator=generator) < NO_LABEL_RATE).to(xb.device)
    xb = xb.clone()
    xb[:, 0] = torch.where(dropped, BOUNDARY, xb[:, 0])
    return xb


def intervals(max_steps: int, eval_interval: int | None = None) -> tuple[int, int]:
    """The one rule for (eval_interval, log_interval): a chart of a few dozen points whatever the run's length
    (every 100 steps without a step limit), unless `eval_interval` is given; a log line five times per
    evaluation, at most every 50 steps."""
    if eval_interval is None:
        limited = isinstance(max_steps, int) and max_steps > 0
        eval_interval = max(10, min(500, max_steps // 20)) if limited else 100
    return eval_interval, max(1, min(50, eval_interval // 5)) if isinstance(eval_interval, int) else 50


def make_train_config(arch: str, limits=None, **overrides) -> TrainConfig:
    """Architecture defaults, then overrides (None means default), checked against the limits; the evaluation
    and log intervals follow the step limit (`intervals`) unless given."""
    values = dict(get_architecture(arch).training)
    if limits is not None:  # a default never breaks this server's limit (an explicit value may, and is refused)
        values["batch_size"] = min(values.get("batch_size", 64), limits.max_batch_size)
    unknown = [k for k in overrides if k not in hparams.TRAIN]
    if unknown:
        raise ConfigError(f"Unknown training option {unknown[0]!r}: the options are {', '.join(hparams.TRAIN)}.")
    values.update({k: hparams.coerce(k, v) for k, v in overrides.items() if v is not None})
    evals, logs = intervals(values.get("max_steps", TrainConfig.max_steps), values.get("eval_interval"))
    values.setdefault("eval_interval", evals)
    values.setdefault("log_interval", logs)
    config = TrainConfig(**values)
    check_train_config(config, limits)
    return config


def check_train_config(c: TrainConfig, limits=None):
    """The declared ranges (hparams.py), then this server's limits."""
    hparams.check_train(c)
    if limits is None:
        return
    if c.batch_size > limits.max_batch_size:
        raise ConfigError(f"batch size {c.batch_size:,} is over this server's limit of {limits.max_batch_size:,}.")
    if c.max_steps == -1 and not c.time_budget and limits.public:
        raise ConfigError("This server needs a step limit or a time budget.")
    if c.max_steps > limits.max_steps:
        raise ConfigError(f"max steps {c.max_steps:,} is over this server's limit of {limits.max_steps:,}.")
    if c.time_budget > limits.max_time_budget:
        raise ConfigError(f"time budget {c.time_budget:g} s is over this server's limit of "
                          f"{limits.max_time_budget:g} s.")


def create_run(run: Run, dataset: Dataset, arch: str, model_overrides: dict, train_config: TrainConfig,
               limits=None, dataset_file=None, name: str | None = None) -> dict:
    """Write the config of a new run; raises ConfigError for bad hyperparameters. `name` is its human name
    (default: data set · architecture · the time, e.g. "names · gru · 14:05")."""
    if run.exists():
        raise ConfigError(f"{run.path} already holds a run: resume it, or choose another directory.")
    model_config = make_config(arch, dataset.vocab.size, dataset.block_size,
                               limits.max_params if limits else None, **model_overrides)
    info = {"name": dataset.name, "sha256": dataset.sha256, "lines": len(dataset.lines),
            "split_seed": dataset.split_seed}
    if dataset_file:
        info["file"] = str(dataset_file)
    name = check_run_name(name) if name is not None else default_run_name(dataset.name, arch, time.time())
    return run.create(arch, model_config, dataset.vocab, info, asdict(train_config),
                      count_params(arch, model_config), name=name)


def learning_rate(c: TrainConfig, step: int, elapsed: float) -> float:
    """Linear warm-up, then the schedule's decay to min_lr_ratio over the step limit or the time budget:
    cosine over all of it, or wsd (hold, then linear over the last decay_share)."""
    if step < c.warmup_steps:
        return c.learning_rate * (step + 1) / c.warmup_steps
    if c.schedule == "constant":
        return c.learning_rate
    progress = 0.0
    if c.max_steps > 0:
        progress = (step - c.warmup_steps) / max(1, c.max_steps - c.warmup_steps)
    if c.time_budget > 0:
        progress = max(progress, elapsed / c.time_budget)
    progress = min(1.0, progress)
    if c.schedule == "wsd":
        decay = max(0.0, progress - (1 - c.decay_share)) / c.decay_share
        return c.learning_rate * (1 - (1 - c.min_lr_ratio) * decay)
    ratio = c.min_lr_ratio + (1 - c.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return c.learning_rate * ratio


@torch.no_grad()
def evaluate(model, x, y, batch_size=250) -> float:
    """Mean loss per target over the rows, taken in order of length so each batch is trimmed to its own longest
    line: the same figure as one padded batch, with less padding computed."""
    model.eval()
    order = (y != IGNORE).sum(1).argsort()
    total, count = 0.0, 0
    for i in range(0, len(x), batch_size):
        rows = order[i : i + batch_size]
        xb, yb = trim(x[rows].long(), y[rows].long())
        _, loss = model(xb, yb)
        n = int((yb != IGNORE).sum())
        total, count = total + loss.item() * n, count + n
    model.train()
    return total / max(1, count)


def resolve_device(name: str = "auto") -> str:
    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if name not in ("cpu", "cuda", "mps") and not name.startswith("cuda:"):
        raise ConfigError(f"Unknown device {name!r}: use cpu, cuda, mps or auto.")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("CUDA was asked for but no CUDA GPU is available: use --device cpu or auto.")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("MPS was asked for but is not available here: use --device cpu or auto.")
    return name


def extend_limits(run: Run, max_steps=None, time_budget=None, limits=None):
    """Before resuming: apply new step / time limits (if given) to the run's config, and refuse a run that
    has already reached its limits, instead of resuming it only to stop at once."""
    config, status = run.read_config(), run.status()
    train = dict(config["train"])
    if max_steps:
        train["max_steps"] = int(max_steps)
    if time_budget:
        train["time_budget"] = float(time_budget)
    check_train_config(stored_train_config(train), limits)
    if (train["max_steps"] > 0 and status.step >= train["max_steps"]) or \
            (train["time_budget"] > 0 and status.elapsed >= train["time_budget"]):
        raise ConfigError(
            f"{run.id} already reached its limit (step {status.step:,} of {train['max_steps']:,}, "
            f"{status.elapsed:.0f} s of a {train['time_budget']:g} s budget): raise max steps or the time budget "
            "to train further.")
    run.update_config(train=train)
    run.update_status(max_steps=train["max_steps"], time_budget=train["time_budget"])


def make_optimizer(model, c: TrainConfig, vocab_size: int = 0) -> FlatAdamW:
    """AdamW with weight decay on matrices only, over one flat parameter buffer (makemore/optimizer.py); with
    c.optimizer "muon", Muon on the hidden matrices."""
    return FlatAdamW(model, lr=c.learning_rate, weight_decay=c.weight_decay, betas=(0.9, 0.99), eps=1e-8,
                     muon=c.optimizer == "muon", vocab_size=vocab_size)


def stored_train_config(train: dict) -> TrainConfig:
    """A run's TrainConfig from its config.json; a run stored before `choose_on` existed chose on test."""
    return TrainConfig(**{"choose_on": "test", **train})


def held_out(x: torch.Tensor, y: torch.Tensor, count: int):
    """(training rows, validation rows): the first `count` training rows (already in random order) held out."""
    return (x[count:], y[count:]), (x[:count], y[:count])


def training_splits(dataset: Dataset, choose_on: str):
    """(training rows, validation rows or None, test rows). Validation is as many training lines as the test
    split, held out when the run chooses its checkpoint on it and at least as many lines are left to train on
    (a data set of a handful of lines chooses on test, as the classic did)."""
    train, test = dataset.tensors("train"), dataset.tensors("test")
    if choose_on == "test" or len(train[0]) < 2 * len(test[0]):
        return train, None, test
    train, validation = held_out(*train, len(test[0]))
    return train, validation, test


def print_progress(record: dict):
    """Print a metrics record as one console (or worker log) line; most training records print nothing."""
    if record["kind"] == "note":
        line = f"note: {record['text']}"
    elif record["kind"] == "eval":
        line = f"step {record['step']} | train loss {record['train_loss']:.4f} | test loss {record['test_loss']:.4f}"
        if "val_loss" in record:
            line += f" | val loss {record['val_loss']:.4f}"
    elif record["kind"] == "train" and (record["step"] % 500 == 0 or record["step"] == 50):
        line = (f"step {record['step']} | loss {record['loss']:.4f} | lr {record['lr']:.2e} | "
                f"{record['tokens_per_s']:,.0f} tokens/s")
    else:
        return
    print(line, flush=True)


def compile_model(model):
    """The model under torch.compile, for training steps of any sequence length (dynamic shapes).

    Off by default: on a 2-core CPU it compiles for 5-20 s, then saves 0-20% per step depending on the
    model (bench/throughput.py --compile), and it needs a C++ compiler. Compilation happens at the first
    call, so a machine that cannot compile fails there; train_run then goes on eagerly.
    """
    return torch.compile(model, dynamic=True)


def train_step(model, optimizer, xb, yb) -> torch.Tensor:
    """One optimization step; returns the loss as a tensor (reading it would wait for the device)."""
    _, loss = model(xb, yb)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


class Trainer:
    """Trains (or resumes) the model of one run directory: restore, then step / evaluate-and-checkpoint until a
    limit or a stop request, then finish. `report(record)` sees each metrics record (for progress printing)."""

    def __init__(self, run: Run, dataset: Dataset, device="cpu", should_stop=lambda: False, report=None):
        self.run, self.device, self.should_stop, self.report = run, device, should_stop, report or (lambda r: None)
        self.config = run.read_config()
        if self.config["dataset"]["sha256"] != dataset.sha256 or self.config["split_seed"] != dataset.split_seed:
            raise DataError(
                f"The data file is not the one run {run.id} was trained on (sha256 differs): "
                f"give the original {self.config['dataset']['name']} file.")
        self.c = c = stored_train_config(self.config["train"])
        torch.manual_seed(c.seed)
        model_config = run.model_config(self.config)
        self.model = build_model(self.config["arch"], model_config).to(device)
        self.optimizer = make_optimizer(self.model, c, model_config.vocab_size)
        self.average = WeightAverage(self.optimizer, c.ema) if c.ema else None
        self.step_model = compile_model(self.model) if c.compile else self.model
        self.probe = HealthProbe(self.model)
        self.step, self.elapsed_before = 0, 0.0
        self.restore()
        (x_train, y_train), validation, (x_test, y_test) = training_splits(dataset, c.choose_on)
        status = run.status()
        self.best = status.best_val_loss if validation else status.best_test_loss
        self.lowest_test = status.lowest_test_loss or status.best_test_loss
        self.batcher = BucketBatcher(x_train, y_train, device, c.seed + self.step)
        self.eval_train = x_train[:1000].to(device), y_train[:1000].to(device)
        self.eval_test = x_test.to(device), y_test.to(device)
        self.eval_val = (validation[0].to(device), validation[1].to(device)) if validation else None
        self.vocab, self.uniform_loss = run.vocab(self.config), math.log(dataset.vocab.size)
        self.label_generator = torch.Generator().manual_seed(c.seed + self.step) if self.vocab.labels else None
        self.lr, self.speed, self.started = c.learning_rate, 0.0, None

    def restore(self):
        """Continue from last.safetensors (weights, optimizer state, step and time) if the run has one; a new
        run with init.safetensors (a fork, or fine-tuning) starts from those weights."""
        if not self.run.file(LAST).exists():
            if self.run.file(INIT).exists():
                load_state(self.model, self.run.read_tensors(INIT), self.run.id)
            return
        tensors = self.run.read_tensors(LAST)
        weights = {k: v for k, v in tensors.items() if not k.startswith(("optim.", "progress.", "ema."))}
        load_state(self.model, weights, self.run.id)
        self.optimizer.load_state_tensors(tensors, self.run.id)
        if self.average:
            self.average.load_state_tensors(tensors, self.run.id)
        self.step = int(tensors["progress.step"])
        self.elapsed_before = float(tensors["progress.elapsed"])
        self.log({"kind": "resume", "step": self.step, "elapsed": round(self.elapsed_before, 3), "time": time.time()})

    def train(self) -> RunState:
        """The loop; returns the final state (finished or stopped). Failures raise."""
        c = self.c
        self.started = time.time()
        self.run.update_status(state=RunState.RUNNING, pid=os.getpid(), step=self.step, started=self.started,
                               max_steps=c.max_steps, time_budget=c.time_budget, error=None)
        self.model.train()
        last_log, tokens = time.time(), 0
        while True:
            if self.step % c.eval_interval == 0 or self.out_of_budget():
                self.evaluate_and_checkpoint()
            if self.out_of_budget():
                return self.finish(RunState.FINISHED)
            if self.should_stop() or self.run.stop_requested():
                return self.finish(RunState.STOPPED)
            loss, yb = self.train_step()
            tokens = tokens + (yb != IGNORE).sum()  # a tensor: no device sync until the next log line
            if self.step % c.log_interval == 0:
                now = time.time()
                self.speed = int(tokens) / max(1e-9, now - last_log)
                self.log_progress(loss.item())
                tokens, last_log = 0, now

    def elapsed(self) -> float:
        return self.elapsed_before + time.time() - self.started

    def out_of_budget(self) -> bool:
        c = self.c
        return (c.max_steps > 0 and self.step >= c.max_steps) or (c.time_budget > 0 and self.elapsed() >= c.time_budget)

    def train_step(self):
        """One optimization step at the scheduled learning rate; (loss tensor, targets)."""
        self.lr = learning_rate(self.c, self.step, self.elapsed())
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr
        xb, yb = self.batcher(self.c.batch_size)
        if self.label_generator is not None:
            xb = drop_labels(xb, self.label_generator)
        watched = self.step % self.c.eval_interval == 0  # training health once per evaluation (hooks: uncompiled)
        if watched:
            self.probe.arm()
        try:
            loss = train_step(self.model if watched else self.step_model, self.optimizer, xb, yb)
        except Exception as e:
            if self.step_model is self.model:
                raise
            self.step_model = self.model  # compiling failed (at the first call): the same step, eagerly
            reason = (str(e).strip().splitlines() or [""])[0][:200]
            self.log({"kind": "note", "step": self.step, "time": time.time(),
                      "text": f"torch.compile failed ({type(e).__name__}: {reason}); training without it"})
            loss = train_step(self.model, self.optimizer, xb, yb)
        if self.average:
            self.average.update()
        if watched:
            self.log(self.probe.collect(self.step))
        self.step += 1
        return loss, yb

    def log_progress(self, loss_value: float):
        self.check_diverged(loss_value)
        now = time.time()
        self.log({"kind": "train", "step": self.step, "loss": loss_value, "lr": self.lr,
                  "tokens_per_s": round(self.speed, 1), "elapsed": round(self.elapsed(), 3), "time": now})
        self.run.update_status(step=self.step, elapsed=round(self.elapsed(), 3), tokens_per_s=round(self.speed, 1))

    def evaluate_and_checkpoint(self):
        """Losses on each split (of the averaged weights, when averaging); the best weights, the resume state and
        fresh samples to disk."""
        at = round(self.elapsed(), 3)  # when the model reached these losses (measuring them takes a moment more)
        with self.average.swapped() if self.average else contextlib.nullcontext():
            record = self.measure(at)
            progress = {"step": self.step, "elapsed": at, **self.keep_if_best(record)}
            samples = generate(self.model, self.vocab, num_samples=self.c.num_samples, seed=self.step,
                               device=self.device)
        resume_point = {"progress.step": torch.tensor(self.step), "progress.elapsed": torch.tensor(self.elapsed())}
        averaged = self.average.state_tensors() if self.average else {}
        self.run.save_weights(self.model, self.step, record["test_loss"], name=LAST,
                              extra={**self.optimizer.state_tensors(), **averaged, **resume_point})
        self.run.write_samples([s.text for s in samples], self.step)
        self.model.train()
        self.run.update_status(**progress)  # one status write per evaluation (each write is an fsync)
        self.log(record)

    def measure(self, at: float) -> dict:
        """The eval record: the loss on 1,000 training lines, the test split and the validation lines (if any)."""
        splits = {"train_loss": self.eval_train, "test_loss": self.eval_test, "val_loss": self.eval_val}
        losses = {name: evaluate(self.model, *data) for name, data in splits.items() if data is not None}
        for value in losses.values():
            self.check_diverged(value)
        return {"kind": "eval", "step": self.step, **losses, "lr": self.lr, "tokens_per_s": self.speed,
                "elapsed": at, "time": time.time()}

    def keep_if_best(self, record: dict) -> dict:
        """Save the weights if they are the best yet on the choosing split; the status fields that changed."""
        test_loss = record["test_loss"]
        self.lowest_test = test_loss if self.lowest_test is None else min(self.lowest_test, test_loss)
        changed = {"lowest_test_loss": self.lowest_test}
        chosen = record["val_loss"] if self.eval_val is not None else test_loss
        if self.best is None or chosen < self.best:
            self.best = chosen
            self.run.save_weights(self.model, self.step, test_loss)
            changed.update(best_test_loss=test_loss, best_step=self.step,
                           best_val_loss=record.get("val_loss"))
        return changed

    def check_diverged(self, loss_value: float):
        # far worse than guessing uniformly: the weights have blown up and will not come back usefully
        if not math.isfinite(loss_value) or loss_value > max(10.0, 3 * self.uniform_loss):
            raise Diverged(
                f"Training diverged: the loss reached {loss_value:.4g} at step {self.step} (a uniform guess scores "
                f"{self.uniform_loss:.2f}). Lower the learning rate (it was {self.c.learning_rate:g}); "
                "the best checkpoint from before is kept.")

    def log(self, record: dict):
        self.run.append_metrics(record)
        self.report(record)

    def finish(self, final: RunState) -> RunState:
        if final == RunState.STOPPED and self.step % self.c.eval_interval != 0:
            self.evaluate_and_checkpoint()
        self.run.update_status(state=final, step=self.step, elapsed=round(self.elapsed(), 3), pid=None)
        self.run.clear_stop()
        return final


def train_run(run: Run, dataset: Dataset, device="cpu", should_stop=lambda: False, report=None) -> RunState:
    """Train (or resume) the run; returns the final state: finished or stopped. Failures raise."""
    return Trainer(run, dataset, device, should_stop, report).train()


def train_and_record(run: Run, dataset: Dataset, device="cpu", should_stop=lambda: False, report=None) -> RunState:
    """train_run, but any failure ends as a 'failed' status (with the step it reached) and a readable error
    instead of a traceback."""
    trainer, retryable = None, None
    try:
        trainer = Trainer(run, dataset, device, should_stop, report)
        return trainer.train()
    except MakemoreError as e:
        error = str(e)
    except OSError as e:
        error = (f"Could not write the run directory ({e.strerror or e}): free some disk space or fix permissions, "
                 "then resume; earlier checkpoints are intact.")
        retryable = True
    except Exception as e:  # a bug: still recorded, so the UI can show it
        error = f"Training failed: {type(e).__name__}: {e}"
    reached = {"step": trainer.step, "elapsed": round(trainer.elapsed(), 3)} if trainer and trainer.started else {}
    try:
        run.update_status(state=RunState.FAILED, error=error, pid=None, retryable=retryable, **reached)
    except OSError:
        pass
    raise TrainingFailed(error)

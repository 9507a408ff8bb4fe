"""Training: one function that trains the model of a run directory, used by the CLI and the web app.

It evaluates every `eval_interval` steps, appends metrics, keeps the best-by-test-loss weights in
model.safetensors and the latest weights plus optimizer state in last.safetensors (for resume).

Speed (measured by bench/throughput.py): batches of similar-length lines (BucketBatcher) so little
padding is computed, AdamW over one flat parameter buffer (optimizer.py), and no device sync per step
(the loss and the token count are read only every `log_interval` steps). Torch's default thread count
suits a quiet machine; on a busy shared one, one thread (`--threads 1`) can be faster, as it never
waits for another.
"""
import math
import os
import time
from dataclasses import asdict, dataclass

import torch

from .data import BucketBatcher, Dataset, trim
from .errors import ConfigError, DataError, MakemoreError
from .models import build_model, count_params, get_architecture, make_config
from .optimizer import FlatAdamW
from .sample import generate
from .store import LAST, Run, finite_or_none, load_state


@dataclass
class TrainConfig:
    learning_rate: float = 3e-3
    batch_size: int = 64
    weight_decay: float = 0.01
    max_steps: int = 10000  # -1: no step limit
    time_budget: float = 0.0  # seconds; 0: no time limit
    eval_interval: int = 500
    log_interval: int = 50
    warmup_steps: int = 100
    schedule: str = "cosine"  # or "constant"
    min_lr_ratio: float = 0.1
    seed: int = 3407
    num_samples: int = 10
    compile: bool = False  # torch.compile the training step's model; see compile_model


def make_train_config(arch: str, limits=None, **overrides) -> TrainConfig:
    """Architecture defaults, then overrides (None means default), checked against the limits."""
    values = dict(get_architecture(arch).training)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        config = TrainConfig(**values)
    except TypeError as e:
        raise ConfigError(f"Unknown training option: {e}.") from None
    check_train_config(config, limits)
    return config


def check_train_config(c: TrainConfig, limits=None):
    def bad(msg):
        raise ConfigError(msg)

    if not (isinstance(c.learning_rate, (int, float)) and math.isfinite(c.learning_rate) and 0 < c.learning_rate <= 10):
        bad(f"learning rate must be above 0 and at most 10 (typical: 1e-3 to 1e-2), not {c.learning_rate!r}.")
    if not (isinstance(c.weight_decay, (int, float)) and 0 <= c.weight_decay <= 10):
        bad(f"weight decay must be from 0 to 10, not {c.weight_decay!r}.")
    if not 1 <= c.batch_size <= 65536:
        bad(f"batch size must be from 1 to 65536, not {c.batch_size!r}.")
    if c.max_steps == 0 or c.max_steps < -1:
        bad(f"max steps must be a positive number (or -1 for no limit), not {c.max_steps!r}.")
    if not (math.isfinite(c.time_budget) and c.time_budget >= 0):
        bad(f"time budget must be 0 (none) or a positive number of seconds, not {c.time_budget!r}.")
    if c.eval_interval < 1 or c.log_interval < 1:
        bad("eval interval and log interval must be at least 1 step.")
    if c.schedule not in ("cosine", "constant"):
        bad(f"schedule must be 'cosine' or 'constant', not {c.schedule!r}.")
    if limits is not None:
        if c.max_steps == -1 and not c.time_budget and limits.public:
            bad("This server needs a step limit or a time budget.")
        if c.max_steps > limits.max_steps:
            bad(f"max steps {c.max_steps:,} is over this server's limit of {limits.max_steps:,}.")
        if c.time_budget > limits.max_time_budget:
            bad(f"time budget {c.time_budget:g} s is over this server's limit of {limits.max_time_budget:g} s.")


def create_run(run: Run, dataset: Dataset, arch: str, model_overrides: dict, train_config: TrainConfig,
               limits=None, dataset_file=None) -> dict:
    """Write the config of a new run; raises ConfigError for bad hyperparameters."""
    if run.exists():
        raise ConfigError(f"{run.path} already holds a run: resume it, or choose another directory.")
    model_config = make_config(arch, dataset.vocab.size, dataset.block_size,
                               limits.max_params if limits else None, **model_overrides)
    info = {"name": dataset.name, "sha256": dataset.sha256, "lines": len(dataset.lines),
            "split_seed": dataset.split_seed}
    if dataset_file:
        info["file"] = str(dataset_file)
    return run.create(arch, model_config, dataset.vocab, info, asdict(train_config),
                      count_params(arch, model_config))


def learning_rate(c: TrainConfig, step: int, elapsed: float) -> float:
    """Linear warm-up, then cosine decay to min_lr_ratio over the step limit or the time budget."""
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
    ratio = c.min_lr_ratio + (1 - c.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return c.learning_rate * ratio


@torch.no_grad()
def evaluate(model, x, y, batch_size=1000) -> float:
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(x), batch_size):
        xb, yb = trim(x[i : i + batch_size].long(), y[i : i + batch_size].long())
        _, loss = model(xb, yb)
        n = int((yb != -1).sum())
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


def raise_limits(run: Run, max_steps=None, time_budget=None, limits=None):
    """Before resuming: apply new step / time limits (if given) to the run's config, and refuse a run that
    has already reached its limits, instead of resuming it only to stop at once."""
    config, status = run.read_config(), run.read_status()
    train = dict(config["train"])
    if max_steps:
        train["max_steps"] = int(max_steps)
    if time_budget:
        train["time_budget"] = float(time_budget)
    check_train_config(TrainConfig(**train), limits)
    step, elapsed = int(status.get("step") or 0), float(status.get("elapsed") or 0)
    if (train["max_steps"] > 0 and step >= train["max_steps"]) or \
            (train["time_budget"] > 0 and elapsed >= train["time_budget"]):
        raise ConfigError(
            f"{run.id} already reached its limit (step {step:,} of {train['max_steps']:,}, "
            f"{elapsed:.0f} s of a {train['time_budget']:g} s budget): raise max steps or the time budget "
            "to train further.")
    run.update_config(train=train)


def make_optimizer(model, c: TrainConfig) -> FlatAdamW:
    """AdamW with weight decay on matrices only, over one flat parameter buffer (makemore/optimizer.py)."""
    return FlatAdamW(model, lr=c.learning_rate, weight_decay=c.weight_decay, betas=(0.9, 0.99), eps=1e-8)


def print_progress(record: dict):
    """Print a metrics record as one console (or worker log) line; most training records print nothing."""
    if record["kind"] == "note":
        line = f"note: {record['text']}"
    elif record["kind"] == "eval":
        line = f"step {record['step']} | train loss {record['train_loss']:.4f} | test loss {record['test_loss']:.4f}"
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


class Diverged(MakemoreError):
    pass


def train_run(run: Run, dataset: Dataset, device="cpu", should_stop=lambda: False, report=None) -> str:
    """Train (or resume) the run; returns the final state: finished, stopped or failed.

    `report(record)` is called with each metrics record, for progress printing.
    """
    config = run.read_config()
    if config["dataset"]["sha256"] != dataset.sha256 or config["split_seed"] != dataset.split_seed:
        raise DataError(
            f"The data file is not the one run {run.id} was trained on (sha256 differs): "
            f"give the original {config['dataset']['name']} file."
        )
    c = TrainConfig(**config["train"])
    torch.manual_seed(c.seed)
    model = build_model(config["arch"], run.model_config(config)).to(device)
    optimizer = make_optimizer(model, c)
    step, elapsed_before, best = 0, 0.0, config.get("best_test_loss")
    if run.file(LAST).exists():
        tensors = run.read_tensors(LAST)
        load_state(model, {k: v for k, v in tensors.items() if not k.startswith(("optim.", "progress."))}, run.id)
        optimizer.load_state_tensors(tensors, run.id)
        step = int(tensors["progress.step"])
        elapsed_before = float(tensors["progress.elapsed"])
        run.append_metrics({"kind": "resume", "step": step, "elapsed": round(elapsed_before, 3), "time": time.time()})
    elif config.get("init_from"):  # a fine-tuning run starts from the weights makemore/finetune.py wrote
        load_state(model, run.read_tensors("init.safetensors"), run.id)
    x_train, y_train = dataset.tensors("train")
    x_test, y_test = dataset.tensors("test")
    batcher = BucketBatcher(x_train, y_train, device, c.seed + step)
    eval_train = x_train[:1000].to(device), y_train[:1000].to(device)
    eval_test = x_test.to(device), y_test.to(device)
    started, last_log, tokens = time.time(), time.time(), 0
    run.write_status("running", pid=os.getpid(), step=step, max_steps=c.max_steps, time_budget=c.time_budget,
                     started=started)
    model.train()

    step_model = compile_model(model) if c.compile else model

    uniform_loss = math.log(dataset.vocab.size)

    def check_diverged(loss_value, at_step):
        # far worse than guessing uniformly: the weights have blown up and will not come back usefully
        if not math.isfinite(loss_value) or loss_value > max(10.0, 3 * uniform_loss):
            raise Diverged(
                f"Training diverged: the loss reached {loss_value:.4g} at step {at_step} (a uniform guess scores "
                f"{uniform_loss:.2f}). Lower the learning rate (it was {c.learning_rate:g}); "
                "the best checkpoint from before is kept."
            )

    def elapsed():
        return elapsed_before + time.time() - started

    def checkpoint(lr, speed):
        nonlocal best
        at = round(elapsed(), 3)  # when the model reached these losses (measuring them takes a moment more)
        train_loss, test_loss = evaluate(model, *eval_train), evaluate(model, *eval_test)
        check_diverged(train_loss, step)
        check_diverged(test_loss, step)
        record = {"kind": "eval", "step": step, "train_loss": train_loss, "test_loss": test_loss, "lr": lr,
                  "tokens_per_s": speed, "elapsed": at, "time": time.time()}
        run.append_metrics(record)
        if best is None or test_loss < best:
            best = test_loss
            run.save_weights(model, step, test_loss)
            run.update_config(step=step, best_test_loss=test_loss, best_step=step, elapsed=at)
        progress = {"progress.step": torch.tensor(step), "progress.elapsed": torch.tensor(elapsed())}
        run.save_weights(model, step, test_loss, name=LAST, extra={**optimizer.state_tensors(), **progress})
        samples = generate(model, run.vocab(config), num_samples=c.num_samples, seed=step, device=device)
        run.write_samples([s.text for s in samples], step)
        model.train()
        if report:
            report(record)

    def out_of_budget():
        return (c.max_steps > 0 and step >= c.max_steps) or (c.time_budget > 0 and elapsed() >= c.time_budget)

    final = "finished"
    lr, speed, loss_value = c.learning_rate, 0.0, float("nan")
    while True:
        if step % c.eval_interval == 0 or out_of_budget():
            checkpoint(lr, speed)
        if out_of_budget():
            break
        if should_stop() or run.stop_requested():
            final = "stopped"
            break
        lr = learning_rate(c, step, elapsed())
        for group in optimizer.param_groups:
            group["lr"] = lr
        xb, yb = batcher(c.batch_size)
        try:
            loss = train_step(step_model, optimizer, xb, yb)
        except Exception as e:
            if step_model is model:
                raise
            step_model = model  # compiling failed (at the first call): the same step, eagerly
            reason = (str(e).strip().splitlines() or [""])[0][:200]
            note = {"kind": "note", "step": step, "time": time.time(),
                    "text": f"torch.compile failed ({type(e).__name__}: {reason}); training without it"}
            run.append_metrics(note)
            if report:
                report(note)
            loss = train_step(model, optimizer, xb, yb)
        step += 1
        tokens = tokens + (yb != -1).sum()  # a tensor: no device sync until the next log line
        if step % c.log_interval == 0:
            loss_value = loss.item()
            tokens = int(tokens)
            check_diverged(loss_value, step)
            now = time.time()
            speed = tokens / max(1e-9, now - last_log)
            tokens, last_log = 0, now
            record = {"kind": "train", "step": step, "loss": loss_value, "lr": lr, "tokens_per_s": round(speed, 1),
                      "elapsed": round(elapsed(), 3), "time": now}
            run.append_metrics(record)
            run.write_status("running", pid=os.getpid(), step=step, max_steps=c.max_steps,
                             time_budget=c.time_budget, started=started, elapsed=round(elapsed(), 3),
                             tokens_per_s=round(speed, 1), best_test_loss=finite_or_none(best))
            if report:
                report(record)
    if final == "stopped" and step % c.eval_interval != 0:
        checkpoint(lr, speed)
    run.update_config(step_reached=step, elapsed=round(elapsed(), 3))
    run.write_status(final, step=step, max_steps=c.max_steps, elapsed=round(elapsed(), 3),
                     best_test_loss=finite_or_none(best))
    try:
        run.file("STOP").unlink()
    except FileNotFoundError:
        pass
    return final


def train_and_record(run: Run, dataset: Dataset, device="cpu", should_stop=lambda: False, report=None) -> str:
    """train_run, but any failure ends as a 'failed' status with a readable error instead of a traceback."""
    try:
        return train_run(run, dataset, device, should_stop, report)
    except MakemoreError as e:
        error = str(e)
    except OSError as e:
        error = f"Could not write the run directory ({e.strerror or e}): free some disk space or fix permissions; earlier checkpoints are intact."
    except Exception as e:  # a bug: still recorded, so the UI can show it
        error = f"Training failed: {type(e).__name__}: {e}"
    try:
        run.write_status("failed", error=error)
    except OSError:
        pass
    raise TrainingFailed(error)


class TrainingFailed(MakemoreError):
    pass

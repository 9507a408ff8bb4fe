"""One declaration per hyperparameter: its name, type, range, words for messages, label, help and flags.

The two dataclasses below are the model's and the training's hyperparameters, as config.json stores them
("model" and "train"). Each field is declared once, with `hparam(default, ...)`; everything else is
generated from these declarations:

- range checks with one clear message each (`check_model`, `check_train`, `check_value`),
- the command-line flags (`add_arguments`),
- a plain description the page renders as fields (`describe`: label, kind, bounds, step, help, which
  architectures use it and its default for each),
- the parameters of an API signature (`api_parameters`, `api_doc`),
- the names a sweep grid takes and how its values parse (`grid_names`, `parse_value`).

Per-architecture defaults are not declared here: each architecture's spec in models/ holds its own
(`defaults` for the model, `training` for learning rate, batch size, weight decay and max steps).
This module imports nothing of makemore but its errors, so every layer may use it.
"""
import argparse
import inspect
import math
from dataclasses import MISSING, dataclass, field, fields, replace

from .errors import ConfigError


@dataclass(frozen=True)
class Hparam:
    """What one hyperparameter is: `low`/`high` bound it (None: unbounded; `open_low`/`open_high` exclude the
    bound itself), `also` are values allowed outside the range, `rule` says the allowed values in words."""

    kind: type
    words: str  # its name in messages: "learning rate", "n_embd"
    label: str  # its field label on the page
    help: str
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    also: tuple = ()
    choices: tuple = ()
    rule: str = ""
    step: float | None = None  # the page's increment
    flags: tuple = ()  # command-line flags; none: not on the command line
    api: bool = False  # a parameter of the start-a-run API (blank: the architecture's default)
    not_swept: str = ""  # why a sweep grid cannot take it; blank: it can
    auto: str = ""  # where its value comes from when none is given, if not from a default
    per_arch: bool = False  # each architecture's spec gives its default (always so for a model hyperparameter)
    name: str = ""  # filled in from the dataclass field

    def allowed(self) -> str:
        """The allowed values in words."""
        if self.rule:
            return self.rule
        if self.choices:
            return " or ".join(repr(c) for c in self.choices)
        if self.kind is bool:
            return "true or false"
        if self.kind is int:
            return f"a whole number from {self.low} to {self.high}"
        low = f"above {self.low:g}" if self.open_low else f"at least {self.low:g}"
        high = f"below {self.high:g}" if self.open_high else f"at most {self.high:g}"
        return f"{low} and {high}" if self.open_low or self.open_high else f"from {self.low:g} to {self.high:g}"

    def ok(self, value) -> bool:
        if value in self.also and not isinstance(value, bool):
            return True
        if self.kind is bool:
            return isinstance(value, bool)
        if self.kind is str:
            return value in self.choices if self.choices else isinstance(value, str)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        above = self.low is None or (value > self.low if self.open_low else value >= self.low)
        below = self.high is None or (value < self.high if self.open_high else value <= self.high)
        return above and below

    def check(self, value):
        if not self.ok(value):
            raise ConfigError(f"{self.words} must be {self.allowed()}, not {value!r}.")


def hparam(default=MISSING, **meta):
    """A dataclass field carrying its Hparam declaration."""
    return field(default=default, metadata={"hparam": Hparam(**meta)})


@dataclass
class ModelConfig:
    """A model's shape. vocab_size and block_size come from the data set, the rest from the architecture's
    defaults and the caller; each architecture reads only the fields its spec `uses`."""

    vocab_size: int
    block_size: int
    n_layer: int = hparam(4, kind=int, words="n_layer", label="layers (n_layer)", low=1, high=32, step=1,
                          flags=("--n-layer",), api=True, help="layers (blocks) of the model")
    n_head: int = hparam(4, kind=int, words="n_head", label="attention heads (n_head)", low=1, high=64, step=1,
                         flags=("--n-head",), api=True, help="attention heads per layer (must divide n_embd)")
    n_embd: int = hparam(64, kind=int, words="n_embd", label="embedding size (n_embd)", low=1, high=4096, step=1,
                         flags=("--n-embd",), api=True, help="width of the character embeddings")
    n_embd2: int = hparam(64, kind=int, words="n_embd2", label="hidden size (n_embd2)", low=1, high=8192, step=1,
                          flags=("--n-embd2",), api=True, help="width of the hidden layer or state")
    context: int = hparam(8, kind=int, words="context", label="context in characters", low=1, high=256, step=1,
                          flags=("--block-size", "--context"), api=True,
                          help="characters the mlp sees before the next one")
    dropout: float = hparam(0.0, kind=float, words="dropout", label="dropout", low=0.0, high=1.0, open_high=True,
                            step=0.05, flags=("--dropout",), api=True,
                            help="share of activations zeroed in training (on a small data set try 0.3)")


@dataclass
class TrainConfig:
    """How a run trains; the architecture's spec gives its own learning rate, batch size, weight decay and
    max steps, and `eval_interval` follows the step limit unless given (see train.intervals)."""

    learning_rate: float = hparam(3e-3, kind=float, words="learning rate", label="learning rate", low=0.0, high=10.0,
                                  open_low=True, rule="above 0 and at most 10 (typical: 1e-3 to 1e-2)",
                                  flags=("-l", "--learning-rate"), api=True, per_arch=True,
                                  help="AdamW's peak learning rate")
    batch_size: int = hparam(64, kind=int, words="batch size", label="batch size", low=1, high=65536, step=1,
                             flags=("-b", "--batch-size"), api=True, per_arch=True, help="lines per training step")
    weight_decay: float = hparam(0.01, kind=float, words="weight decay", label="weight decay", low=0.0, high=10.0,
                                 flags=("-w", "--weight-decay"), api=True, per_arch=True,
                                 help="AdamW's decoupled weight decay")
    max_steps: int = hparam(10000, kind=int, words="max steps", label="max steps", low=1, high=None, also=(-1,),
                            rule="a positive number (or -1 for no limit)", flags=("--max-steps",), per_arch=True,
                            help="training steps (-1: until stopped or the time budget ends)")
    time_budget: float = hparam(0.0, kind=float, words="time budget", label="time budget, seconds", low=0.0,
                                rule="0 (none) or a positive number of seconds", flags=("--time-budget",),
                                not_swept="every trial gets --budget seconds", help="stop after this many seconds")
    eval_interval: int = hparam(500, kind=int, words="eval interval", label="evaluate every N steps", low=1,
                                rule="at least 1 step", flags=("--eval-interval",), api=True,
                                auto="about 20 over the step limit, every 10 to 500 steps (100 without one)",
                                help="steps between evaluations and checkpoints")
    log_interval: int = hparam(50, kind=int, words="log interval", label="log every N steps", low=1,
                               rule="at least 1 step", auto="5 per evaluation, at most every 50 steps",
                               help="steps between loss lines")
    warmup_steps: int = hparam(100, kind=int, words="warm-up steps", label="warm-up steps", low=0,
                               rule="0 or more steps", flags=("--warmup-steps",),
                               help="steps of linear learning-rate warm-up")
    schedule: str = hparam("wsd", kind=str, words="schedule", label="learning-rate schedule",
                           choices=("wsd", "cosine", "constant"), flags=("--schedule",), per_arch=True,
                           help="wsd (warm-up, stable, decay): hold the learning rate, then decay it linearly to "
                                "min_lr_ratio over the last decay_share of the step limit or the time budget; "
                                "cosine: decay along a cosine over all of it")
    min_lr_ratio: float = hparam(0.0, kind=float, words="min lr ratio", label="final learning rate share", low=0.0,
                                 high=1.0, flags=("--min-lr-ratio",), per_arch=True,
                                 help="the schedule ends at this share of the learning rate")
    decay_share: float = hparam(0.3, kind=float, words="decay share", label="decay share (wsd)", low=0.0,
                                high=1.0, open_low=True, step=0.05, flags=("--decay-share",), per_arch=True,
                                help="the wsd schedule decays over this last share of the steps or the budget")
    optimizer: str = hparam("adamw", kind=str, words="optimizer", label="optimizer", choices=("adamw", "muon"),
                            flags=("--optimizer",), per_arch=True,
                            help="muon: torch.optim.Muon on the hidden weight matrices, AdamW on the rest")
    ema: float = hparam(0.0, kind=float, words="weight average decay", label="weight average (EMA) decay",
                        low=0.0, high=1.0, open_high=True, step=0.001, flags=("--ema",), per_arch=True,
                        help="evaluate and save an exponential moving average of the weights with this decay "
                             "per step (0: off; typical 0.99 to 0.999)")
    choose_on: str = hparam("validation", kind=str, words="choose on", label="choose the best checkpoint on",
                            choices=("validation", "test"), flags=("--choose-on",),
                            help="validation: hold out as many training lines as the test split and keep the "
                                 "checkpoint best on them (the test loss is then an honest estimate); test: the "
                                 "classic makemore's choice, on the test split itself")
    seed: int = hparam(3407, kind=int, words="seed", label="seed", rule="a whole number", flags=("--seed",),
                       api=True, help="seed for initialisation, batches and sampling")
    num_samples: int = hparam(10, kind=int, words="samples per evaluation", label="samples per evaluation", low=0,
                              high=1000, help="lines sampled at each evaluation")
    compile: bool = hparam(False, kind=bool, words="compile", label="torch.compile", flags=("--compile",),
                           help="torch.compile the model for training (pays on a GPU; on a CPU the compile takes "
                                "longer than it saves); falls back to eager if compiling fails")


MODEL = {f.name: replace(f.metadata["hparam"], name=f.name, per_arch=True) for f in fields(ModelConfig)
         if "hparam" in f.metadata}
TRAIN = {f.name: replace(f.metadata["hparam"], name=f.name) for f in fields(TrainConfig)}
ALL = {**MODEL, **TRAIN}
DEFAULTS = {f.name: f.default for f in fields(ModelConfig) + fields(TrainConfig) if f.default is not MISSING}


def get(name: str) -> Hparam:
    if name not in ALL:
        raise ConfigError(f"Unknown hyperparameter {name!r}: the known ones are {', '.join(ALL)}.")
    return ALL[name]


def coerce(name: str, value):
    """A whole float (64.0, from a number field or JSON) as the int a whole-number hyperparameter takes."""
    if get(name).kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if get(name).kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def check_value(name: str, value):
    get(name).check(value)


def check_model(config: ModelConfig):
    for name, spec in MODEL.items():
        spec.check(getattr(config, name))


def check_train(config: TrainConfig):
    for name, spec in TRAIN.items():
        spec.check(getattr(config, name))


# --- the command line -----------------------------------------------------------------------------------
def add_arguments(group, names):
    """Add each named hyperparameter's flags to an argparse parser or group; every default is None (the
    architecture's, or the declared one)."""
    for name in names:
        spec = get(name)
        if not spec.flags:
            continue
        options = dict(dest=name, default=None, help=f"{spec.help}; {spec.allowed()}; default: {blank(spec)}")
        if spec.kind is bool:
            group.add_argument(*spec.flags, action="store_true", **options)
            continue
        if spec.choices:
            options["choices"] = list(spec.choices)
        group.add_argument(*spec.flags, type=spec.kind, **options)


def given(args: argparse.Namespace, names) -> dict:
    """{name: value} of the named hyperparameters given on the command line (a bool flag only when set)."""
    values = {n: getattr(args, n, None) for n in names}
    return {n: v for n, v in values.items() if v is not None and v is not False}


# --- the page and the API -------------------------------------------------------------------------------
def describe(specs) -> list[dict]:
    """One plain dict per hyperparameter, for a form: name, label, kind, minimum, maximum (open ends said),
    step, choices, help, group, which architectures use it and its default for each (from their specs;
    None where the value is worked out when none is given, as `auto` says)."""
    rows = []
    for name, spec in ALL.items():
        model = name in MODEL
        users = [a for a in specs if name in a.uses] if model else list(specs)
        defaults = {a.name: None if spec.auto else (a.defaults if model else a.training).get(name, DEFAULTS[name])
                    for a in users}
        rows.append({"name": name, "label": spec.label, "kind": spec.kind.__name__, "minimum": spec.low,
                     "maximum": spec.high, "open_minimum": spec.open_low, "open_maximum": spec.open_high,
                     "also": list(spec.also), "step": spec.step, "choices": list(spec.choices), "help": spec.help,
                     "group": "model" if model else "train", "api": spec.api, "used_by": [a.name for a in users],
                     "defaults": defaults, "auto": spec.auto, "per_arch": spec.per_arch})
    return rows


def api_parameters() -> list[inspect.Parameter]:
    """The start-a-run API's hyperparameter parameters, typed, each None by default (the architecture's)."""
    return [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=spec.kind | None)
            for name, spec in ALL.items() if spec.api]


def blank(spec: Hparam) -> str:
    """What a hyperparameter left blank becomes, in words."""
    return spec.auto or ("the architecture's default" if spec.per_arch else f"{DEFAULTS[spec.name]!r}")


def api_doc() -> str:
    """Their lines for a Google-style docstring's Args section."""
    return "\n".join(f"{name} ({spec.kind.__name__} | None): {spec.help}; {spec.allowed()}. Blank: {blank(spec)}."
                     for name, spec in ALL.items() if spec.api)


# --- sweeps -----------------------------------------------------------------------------------------------
def grid_names(specs) -> dict[str, str]:
    """{name: "train" or "model"} of what a sweep over these architectures may vary: every training option a
    grid takes, and the model hyperparameters at least one of them uses."""
    uses = {name for spec in specs for name in spec.uses}
    names = {n: "train" for n, s in TRAIN.items() if not s.not_swept}
    names.update({n: "model" for n in MODEL if n in uses})
    return names


def parse_value(name: str, text: str):
    """A grid value from its text, by the hyperparameter's type (true/false, yes/no, 1/0 for a bool)."""
    kind = get(name).kind
    try:
        if kind is bool:
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return text.lower() in ("true", "1", "yes")
        return kind(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a valid {kind.__name__}.") from None

"""The registry: architecture name -> model class, the hyperparameters it uses and their defaults."""
from dataclasses import asdict, dataclass, field, fields

import torch

from ..errors import ConfigError
from .base import CharModel, ModelConfig
from .bigram import Bigram
from .bow import BoW
from .cnn import CNN
from .mlp import MLP
from .recurrent import GRU, LSTM, RNN
from .transformer import Transformer


@dataclass(frozen=True)
class Architecture:
    name: str
    cls: type
    title: str
    uses: tuple  # the ModelConfig fields this architecture reads
    defaults: dict = field(default_factory=dict)  # model hyperparameters
    training: dict = field(default_factory=dict)  # learning_rate, batch_size, weight_decay, max_steps


# Defaults tuned on names.txt for a ~5 minute budget on a 2-core CPU (1 torch thread): see README "Results".
# max_steps (for runs without a time budget) stays within the public preset's 20,000-step limit; with a
# time budget the learning-rate schedule follows the budget instead.
ARCHITECTURES = {
    a.name: a
    for a in [
        Architecture("bigram", Bigram, "Bigram (count table)", (), {},
                     dict(learning_rate=0.3, batch_size=256, weight_decay=0.0, max_steps=10000)),
        Architecture("mlp", MLP, "MLP (Bengio 2003)", ("n_embd", "n_embd2", "context", "dropout"),
                     dict(n_embd=24, n_embd2=256, context=6, dropout=0.1),
                     dict(learning_rate=3e-3, batch_size=64, weight_decay=0.01, max_steps=20000)),
        Architecture("cnn", CNN, "CNN (WaveNet 2016)", ("n_layer", "n_embd2", "dropout"),
                     dict(n_layer=3, n_embd2=96, dropout=0.1),
                     dict(learning_rate=3e-3, batch_size=64, weight_decay=0.01, max_steps=16000)),
        Architecture("rnn", RNN, "RNN (Mikolov 2010)", ("n_layer", "n_embd", "n_embd2", "dropout"),
                     dict(n_layer=1, n_embd=64, n_embd2=256, dropout=0.1),
                     dict(learning_rate=3e-3, batch_size=64, weight_decay=0.1, max_steps=20000)),
        Architecture("lstm", LSTM, "LSTM (Graves 2014)", ("n_layer", "n_embd", "n_embd2", "dropout"),
                     dict(n_layer=1, n_embd=64, n_embd2=160, dropout=0.3),
                     dict(learning_rate=3e-3, batch_size=64, weight_decay=0.1, max_steps=20000)),
        Architecture("gru", GRU, "GRU (Cho 2014)", ("n_layer", "n_embd", "n_embd2", "dropout"),
                     dict(n_layer=1, n_embd=64, n_embd2=160, dropout=0.3),
                     dict(learning_rate=3e-3, batch_size=64, weight_decay=0.1, max_steps=20000)),
        Architecture("bow", BoW, "Bag of words", ("n_layer", "n_embd", "n_embd2", "dropout"),
                     dict(n_layer=2, n_embd=64, n_embd2=128, dropout=0.0),
                     dict(learning_rate=3e-3, batch_size=64, weight_decay=0.01, max_steps=20000)),
        Architecture("transformer", Transformer, "Transformer (GPT)", ("n_layer", "n_head", "n_embd", "dropout"),
                     dict(n_layer=4, n_head=4, n_embd=64, dropout=0.1),
                     dict(learning_rate=3e-3, batch_size=64, weight_decay=0.05, max_steps=20000)),
    ]
}

BOUNDS = dict(n_layer=(1, 32), n_head=(1, 64), n_embd=(1, 4096), n_embd2=(1, 8192), context=(1, 256))


def get_architecture(name: str) -> Architecture:
    if name not in ARCHITECTURES:
        raise ConfigError(f"Unknown architecture {name!r}: choose one of {', '.join(ARCHITECTURES)}.")
    return ARCHITECTURES[name]


def make_config(arch: str, vocab_size: int, block_size: int, max_params: int | None = None, **overrides) -> ModelConfig:
    """Defaults of `arch` with the given overrides (None means default), validated."""
    spec = get_architecture(arch)
    known = {f.name for f in fields(ModelConfig)}
    values = dict(spec.defaults)
    for key, value in overrides.items():
        if key not in known:
            raise ConfigError(f"Unknown hyperparameter {key!r}.")
        if value is not None:
            values[key] = value
    config = ModelConfig(vocab_size=vocab_size, block_size=block_size, **values)
    validate(config, arch, max_params)
    return config


def validate(config: ModelConfig, arch: str, max_params: int | None = None):
    for key, (low, high) in BOUNDS.items():
        value = getattr(config, key)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ConfigError(f"{key} must be a whole number from {low} to {high}, not {value!r}.")
    if not 0.0 <= config.dropout < 1.0:
        raise ConfigError(f"dropout must be at least 0 and below 1, not {config.dropout!r}.")
    if config.vocab_size < 2 or config.block_size < 2:
        raise ConfigError("The vocabulary and the block size must each be at least 2.")
    if arch == "transformer" and config.n_embd % config.n_head:
        raise ConfigError(
            f"n_embd ({config.n_embd}) must be divisible by n_head ({config.n_head}): "
            f"try n_embd={config.n_embd - config.n_embd % config.n_head or config.n_head}."
        )
    if arch == "cnn" and config.n_layer > 10:
        raise ConfigError(f"cnn n_layer must be at most 10 (a context of 1024 characters), not {config.n_layer}.")
    if max_params:
        n = count_params(arch, config)
        if n > max_params:
            raise ConfigError(
                f"This {arch} would have {n:,} parameters, over the limit of {max_params:,}: "
                "make n_embd, n_embd2 or n_layer smaller."
            )


def count_params(arch: str, config: ModelConfig) -> int:
    """Parameter count without allocating the weights."""
    with torch.device("meta"):
        return get_architecture(arch).cls(config).num_params()


def build_model(arch: str, config: ModelConfig) -> CharModel:
    return get_architecture(arch).cls(config)


def config_to_dict(config: ModelConfig) -> dict:
    return asdict(config)


__all__ = ["ARCHITECTURES", "Architecture", "CharModel", "ModelConfig", "build_model", "count_params",
           "get_architecture", "make_config", "validate", "config_to_dict"]

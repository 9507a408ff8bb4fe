"""The registry: architecture name -> the spec its module declares (class, hyperparameters used, defaults).

Defaults are tuned on names.txt for a ~5 minute budget on a 2-core CPU: see README "Results". max_steps
(for runs without a time budget) stays within the public preset's 20,000-step limit; with a time budget
the learning-rate schedule follows the budget instead.
"""
from dataclasses import asdict, fields

import torch

from ..errors import ConfigError
from . import bigram, bow, cnn, mlp, recurrent, transformer
from .base import Architecture, CharModel, ModelConfig

ARCHITECTURES: dict[str, Architecture] = {
    spec.name: spec
    for spec in [bigram.SPEC, mlp.SPEC, cnn.SPEC, *recurrent.SPECS, bow.SPEC, transformer.SPEC]
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
    spec = get_architecture(arch)
    if spec.check:
        spec.check(config)
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

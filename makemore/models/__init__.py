"""The registry: architecture name -> the spec its module declares (class, hyperparameters used, defaults).

An architecture is one file: every module of this package that declares `SPEC` (or a list `SPECS`) of
Architecture is found at import (pkgutil), and so is every module named in $MAKEMORE_ARCHITECTURES (a
comma-separated list of importable module names, for architectures kept outside the package; training
workers inherit it). `register(spec)` adds one at run time. Nothing outside models/ needs an
architecture's name: what differs between them lives on the spec (base.Architecture).

Defaults are tuned on names.txt for a ~5 minute budget on a 2-core CPU: see README "Results". max_steps
(for runs without a time budget) stays within the public preset's 20,000-step limit; with a time budget
the learning-rate schedule follows the budget instead.
"""
import importlib
import os
import pkgutil
from dataclasses import asdict, fields

import torch

from .. import hparams
from ..errors import ConfigError
from .base import ALL_VIEWS, Architecture, CharModel, ModelConfig

ARCHITECTURES: dict[str, Architecture] = {}
DEFAULT_ARCH = "transformer"


def specs_of(module) -> list[Architecture]:
    return [getattr(module, "SPEC")] if hasattr(module, "SPEC") else list(getattr(module, "SPECS", []))


def discover():
    """Fill ARCHITECTURES from this package's modules and $MAKEMORE_ARCHITECTURES, ordered by rank."""
    names = [f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__) if m.name != "base"]
    names += [n.strip() for n in os.environ.get("MAKEMORE_ARCHITECTURES", "").split(",") if n.strip()]
    for name in names:
        for spec in specs_of(importlib.import_module(name)):
            register(spec)


def register(spec: Architecture) -> Architecture:
    """Add an architecture (or replace the one of its name); the registry stays ordered by rank, then name."""
    if not isinstance(spec, Architecture):
        raise ConfigError(f"register() takes an Architecture, not {type(spec).__name__}.")
    unknown = [n for n in (*spec.uses, *spec.defaults) if n not in hparams.MODEL]
    unknown += [n for n in spec.training if n not in hparams.TRAIN or not hparams.TRAIN[n].per_arch]
    if unknown:
        raise ConfigError(f"{spec.name} names hyperparameters {unknown} that makemore/hparams.py does not declare "
                          "(per architecture, for its training options).")
    entries = {**ARCHITECTURES, spec.name: spec}
    ARCHITECTURES.clear()
    ARCHITECTURES.update(sorted(entries.items(), key=lambda item: (item[1].rank, item[0])))
    return spec


def unregister(name: str):
    ARCHITECTURES.pop(name, None)


def get_architecture(name: str) -> Architecture:
    if name not in ARCHITECTURES:
        raise ConfigError(f"Unknown architecture {name!r}: choose one of {', '.join(ARCHITECTURES)}.")
    return ARCHITECTURES[name]


def spec_of(model) -> Architecture | None:
    """The spec whose class built `model` (None for a module of no registered architecture)."""
    return next((spec for spec in ARCHITECTURES.values() if type(model) is spec.cls), None)


def make_config(arch: str, vocab_size: int, block_size: int, max_params: int | None = None, **overrides) -> ModelConfig:
    """Defaults of `arch` with the given overrides (None means default), validated."""
    spec = get_architecture(arch)
    known = {f.name for f in fields(ModelConfig)}
    values = dict(spec.defaults)
    for key, value in overrides.items():
        if key not in known:
            raise ConfigError(f"Unknown hyperparameter {key!r}.")
        if value is not None:
            values[key] = hparams.coerce(key, value)
    config = ModelConfig(vocab_size=vocab_size, block_size=block_size, **values)
    validate(config, arch, max_params)
    return config


def validate(config: ModelConfig, arch: str, max_params: int | None = None):
    hparams.check_model(config)
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


def estimate_memory_mb(arch: str, config: ModelConfig, batch_size: int) -> float:
    """A deliberately generous estimate of a training job's memory: the process itself, weights, gradients and
    AdamW's two moments, and the activations kept for backward (the architecture's per position, plus the
    logits and their gradient)."""
    per_position = get_architecture(arch).activations(config) + 3 * config.vocab_size
    activations = batch_size * config.block_size * per_position
    return 400 + (16 * count_params(arch, config) + 4 * activations) / 1e6


def build_model(arch: str, config: ModelConfig) -> CharModel:
    return get_architecture(arch).cls(config)


def config_to_dict(config: ModelConfig) -> dict:
    return asdict(config)


def hyperparameter_fields() -> list[dict]:
    """hparams.describe over every registered architecture: the Train form's fields."""
    return hparams.describe(list(ARCHITECTURES.values()))


discover()

__all__ = ["ALL_VIEWS", "ARCHITECTURES", "Architecture", "CharModel", "DEFAULT_ARCH", "ModelConfig", "build_model",
           "count_params", "estimate_memory_mb", "get_architecture", "hyperparameter_fields", "make_config",
           "register", "spec_of", "unregister", "validate", "config_to_dict"]

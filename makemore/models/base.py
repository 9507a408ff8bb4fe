"""What every architecture shares: the loss, parameter counting and step-by-step decoding.

Decoding is how sampling stays fast: `start_decoding` returns a cache and `decode_step` feeds
one token per row and returns the next-token logits. The default keeps the recent tokens and
reruns the model over its receptive field only; models with state (KV cache, RNN state) override it.
"""
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data import IGNORE


@dataclass(frozen=True)
class Architecture:
    """What a model module declares about itself: its class, the ModelConfig fields it reads, its default
    hyperparameters and training options, and any check of its own on a config (raising ConfigError)."""

    name: str
    cls: type
    title: str
    uses: tuple  # the ModelConfig fields this architecture reads
    defaults: dict = field(default_factory=dict)  # model hyperparameters
    training: dict = field(default_factory=dict)  # learning_rate, batch_size, weight_decay, max_steps
    check: Callable | None = None  # check(config) -> None, raises ConfigError


@dataclass
class ModelConfig:
    vocab_size: int
    block_size: int
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 64
    n_embd2: int = 64
    context: int = 8
    dropout: float = 0.0


class CharModel(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config

    @property
    def receptive_field(self) -> int:
        """How many trailing tokens the last position's logits depend on."""
        return self.config.block_size

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @staticmethod
    def loss(logits, targets):
        if targets is None:
            return None
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=IGNORE)

    def start_decoding(self, batch_size: int, device) -> dict:
        return {"tokens": torch.empty(batch_size, 0, dtype=torch.long, device=device)}

    def decode_step(self, tokens: torch.Tensor, cache: dict) -> torch.Tensor:
        history = torch.cat([cache["tokens"], tokens[:, None]], dim=1)[:, -self.receptive_field :]
        cache["tokens"] = history
        logits, _ = self(history)
        return logits[:, -1, :]

    def small_output_init(self, head: nn.Linear):
        """Start near the uniform prediction, so the untrained loss is close to ln(vocab)."""
        nn.init.normal_(head.weight, std=0.01)
        if head.bias is not None:
            nn.init.zeros_(head.bias)

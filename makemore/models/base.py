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
from ..hparams import ModelConfig


ALL_VIEWS = ("next_char_probs", "next_char_choices", "embedding_map", "hidden_activations", "training_health")


def layer_activations(config: ModelConfig) -> float:
    """Floats per position kept for backward: a few dozen per unit of width per layer."""
    return 24 * max(config.n_embd, config.n_embd2) * config.n_layer


def token_embeddings(model) -> tuple[torch.Tensor, str]:
    """One row per token of the token embedding table `wte` (past-the-vocabulary rows, such as the MLP's
    "before the start" token, left out), and what it is in words."""
    table = model.wte.weight.detach().float()[: model.config.vocab_size]
    return table, f"the token embedding table ({table.size(0)} characters x {table.size(1)} numbers)"


def no_watch_points(model) -> list:
    return []


@dataclass(frozen=True)
class Architecture:
    """What a model module declares about itself, so that nothing outside models/ needs to know it by name:
    its class, the ModelConfig fields it reads, its default hyperparameters and training options, any check
    of its own on a config (raising ConfigError), and what training and the Look inside views need:

    activations(config): floats per position kept for backward (the memory estimate);
    embedding(model): (one row per token, in words) for the embedding map; `embedding_kind` names rows that
        are not embeddings ("bigram": next-character log-probabilities);
    watch(model): training-health watch points beyond the standard nonlinearities (health.py), each
        (name, module, "output" or "input", "tanh" or "gelu");
    views: the Look inside views that apply; hidden_layer: what hidden_activations shows, in words;
    pretrain_seconds: the shipped checkpoint's budget when it converges long before scripts/pretrain.py's;
    rank: its place in lists (lower first);
    in_page: the static page's makemore.js (makemore/web) runs it, so a run of it can be exported as a page.
    """

    name: str
    cls: type
    title: str
    uses: tuple  # the ModelConfig fields this architecture reads
    defaults: dict = field(default_factory=dict)  # model hyperparameters
    training: dict = field(default_factory=dict)  # learning_rate, batch_size, weight_decay, max_steps
    check: Callable | None = None  # check(config) -> None, raises ConfigError
    activations: Callable = layer_activations
    embedding: Callable = token_embeddings
    embedding_kind: str = ""
    watch: Callable = no_watch_points
    views: tuple = ALL_VIEWS
    hidden_layer: str = "the input of the output layer"
    pretrain_seconds: float | None = None
    rank: int = 100
    in_page: bool = False


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

"""Causal bag of words: each position averages the embeddings of itself and all earlier positions."""
import torch
import torch.nn as nn

from .base import CharModel


class CausalAverage(nn.Module):
    def forward(self, x):  # (B, T, C) -> running mean over time
        counts = torch.arange(1, x.size(1) + 1, device=x.device, dtype=x.dtype)[:, None]
        return x.cumsum(dim=1) / counts


class BoWBlock(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.average = CausalAverage()
        self.mlp = nn.Sequential(
            nn.Linear(config.n_embd, config.n_embd2), nn.Tanh(),
            nn.Linear(config.n_embd2, config.n_embd), nn.Dropout(config.dropout),
        )

    def forward(self, x):
        x = x + self.average(x)
        return x + self.mlp(x)


class BoW(CharModel):
    def __init__(self, config):
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)
        self.blocks = nn.Sequential(*[BoWBlock(config) for _ in range(config.n_layer)])
        self.head = nn.Linear(config.n_embd, config.vocab_size)
        self.small_output_init(self.head)

    def forward(self, idx, targets=None):
        pos = torch.arange(idx.size(1), device=idx.device)
        x = self.blocks(self.wte(idx) + self.wpe(pos))
        logits = self.head(x)
        return logits, self.loss(logits, targets)

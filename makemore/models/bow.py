"""Causal bag of words: each position averages the embeddings of itself and all earlier positions."""
import torch
import torch.nn as nn

from .base import Architecture, CharModel


class CausalAverage(nn.Module):
    def __init__(self, block_size):
        super().__init__()
        self.register_buffer("inverse_counts", 1 / torch.arange(1, block_size + 1).float()[:, None], persistent=False)

    def forward(self, x):  # (B, T, C) -> running mean over time
        return x.cumsum(dim=1) * self.inverse_counts[: x.size(1)]


class BoWBlock(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.average = CausalAverage(config.block_size)
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
        x = self.blocks(self.wte(idx) + self.wpe.weight[: idx.size(1)])
        logits = self.head(x)
        return logits, self.loss(logits, targets)


SPEC = Architecture("bow", BoW, "Bag of words", ("n_layer", "n_embd", "n_embd2", "dropout"),
                    dict(n_layer=2, n_embd=64, n_embd2=128, dropout=0.0),
                    dict(learning_rate=3e-3, batch_size=64, weight_decay=0.01, max_steps=20000),
                    hidden_layer="the last block's output (the residual stream the head reads)", rank=6, in_page=True)

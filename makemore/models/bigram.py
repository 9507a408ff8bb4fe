"""Bigram: a table of next-character logits indexed by the current character."""
import torch
import torch.nn as nn

from .base import Architecture, CharModel


class Bigram(CharModel):
    def __init__(self, config):
        super().__init__(config)
        self.logits = nn.Parameter(torch.zeros(config.vocab_size, config.vocab_size))

    @property
    def receptive_field(self):
        return 1

    def forward(self, idx, targets=None):
        logits = self.logits[idx]
        return logits, self.loss(logits, targets)


SPEC = Architecture("bigram", Bigram, "Bigram (count table)", (), {},
                    dict(learning_rate=0.3, batch_size=256, weight_decay=0.0, max_steps=10000))

"""MLP over a fixed window of previous characters (Bengio et al. 2003)."""
import torch.nn as nn
import torch.nn.functional as F

from .base import CharModel


class MLP(CharModel):
    def __init__(self, config):
        super().__init__(config)
        v = config.vocab_size
        self.blank = v  # an extra token for "before the start of the line"
        self.wte = nn.Embedding(v + 1, config.n_embd)
        self.hidden = nn.Linear(config.context * config.n_embd, config.n_embd2)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.n_embd2, v)
        self.small_output_init(self.head)

    @property
    def receptive_field(self):
        return self.config.context

    def forward(self, idx, targets=None):
        k = self.config.context
        padded = F.pad(idx, (k - 1, 0), value=self.blank)
        windows = padded.unfold(1, k, 1)  # (B, T, k): the k characters ending at each position
        x = self.wte(windows).flatten(2)
        x = self.drop(F.tanh(self.hidden(x)))
        logits = self.head(x)
        return logits, self.loss(logits, targets)

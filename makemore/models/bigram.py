"""Bigram: a table of next-character logits indexed by the current character."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import ALL_VIEWS, Architecture, CharModel


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


def table_rows(model) -> tuple[torch.Tensor, str]:
    """The embedding map's rows: each character's row of next-character log-probabilities."""
    return (F.log_softmax(model.logits.detach().float(), dim=-1),
            "rows of the bigram table (log-probabilities of the next character)")


SPEC = Architecture("bigram", Bigram, "Bigram (count table)", (), {},
                    dict(learning_rate=0.3, batch_size=256, weight_decay=0.0, max_steps=10000),
                    embedding=table_rows, embedding_kind="bigram",
                    views=tuple(v for v in ALL_VIEWS if v != "hidden_activations"), pretrain_seconds=60,
                    rank=0, in_page=True)

"""A ninth architecture in one file, for tests: the current character's embedding through one GELU layer.

Nothing else in the project names it: the test registers it (and puts this module in
$MAKEMORE_ARCHITECTURES, so the training worker finds it too).
"""
import torch.nn as nn

from makemore.models import ALL_VIEWS, Architecture, CharModel


class Toy(CharModel):
    def __init__(self, config):
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.hidden = nn.Sequential(nn.Linear(config.n_embd, 4 * config.n_embd), nn.GELU(), nn.Dropout(config.dropout))
        self.head = nn.Linear(4 * config.n_embd, config.vocab_size)
        self.small_output_init(self.head)

    @property
    def receptive_field(self):
        return 1

    def forward(self, idx, targets=None):
        logits = self.head(self.hidden(self.wte(idx)))
        return logits, self.loss(logits, targets)


def activations(config) -> float:
    """Floats per position kept for backward: the embedding, the 4x wider layer before and after the GELU."""
    return 9 * config.n_embd


SPEC = Architecture("toy", Toy, "Toy (one GELU layer)", ("n_embd", "dropout"), dict(n_embd=12, dropout=0.0),
                    dict(learning_rate=1e-2, batch_size=32, weight_decay=0.0, max_steps=200),
                    activations=activations, views=ALL_VIEWS, hidden_layer="the GELU layer's output")

"""MLP over a fixed window of previous characters (Bengio et al. 2003)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Architecture, CharModel


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

    def factored_hidden(self, windows):
        """The same as hidden(concatenated embeddings), computed the cheap way.

        The first layer is linear in each window slot's embedding, so for slot j the product of every
        embedding with that slot's weights is a (vocab, n_embd2) table; a position's pre-activation is the
        sum of one row from each slot's table. Building the tables costs context*vocab rows instead of
        context*B*T rows, several times fewer multiply-adds for a batch of training rows.
        """
        k, v = windows.size(-1), self.wte.num_embeddings
        weight = self.hidden.weight.view(-1, k, self.config.n_embd)  # (n_embd2, k, n_embd)
        tables = torch.einsum("ve,hke->kvh", self.wte.weight, weight).reshape(k * v, -1)
        rows = windows + torch.arange(k, device=windows.device) * v  # slot j's rows start at j*v
        summed = F.embedding_bag(rows.reshape(-1, k), tables, mode="sum")
        return summed.view(*windows.shape[:2], -1) + self.hidden.bias

    @property
    def receptive_field(self):
        return self.config.context

    def forward(self, idx, targets=None):
        k = self.config.context
        padded = F.pad(idx, (k - 1, 0), value=self.blank)
        windows = padded.unfold(1, k, 1)  # (B, T, k): the k characters ending at each position
        if windows[..., 0].numel() > self.wte.num_embeddings:
            x = self.factored_hidden(windows)
        else:  # few positions (decoding): the direct way is cheaper
            x = self.hidden(self.wte(windows).flatten(2))
        x = self.drop(F.tanh(x))
        logits = self.head(x)
        return logits, self.loss(logits, targets)


def one_layer(config) -> float:
    """Floats per position kept for backward: one hidden layer, whatever n_layer says."""
    return 24 * max(config.n_embd, config.n_embd2)


def watch(model) -> list:
    return [("hidden.tanh", model.drop, "input", "tanh")]  # the tanh is applied functionally before the dropout


SPEC = Architecture("mlp", MLP, "MLP (Bengio 2003)", ("n_embd", "n_embd2", "context", "dropout"),
                    dict(n_embd=24, n_embd2=256, context=6, dropout=0.1),
                    dict(learning_rate=3e-3, batch_size=64, weight_decay=0.01, max_steps=20000),
                    activations=one_layer, watch=watch, hidden_layer="the tanh hidden layer", rank=1, in_page=True)

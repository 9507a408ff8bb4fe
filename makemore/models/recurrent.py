"""Recurrent models over the whole sequence: RNN (Mikolov 2010), LSTM (Graves 2014), GRU (Cho 2014).

They use PyTorch's fused recurrent layers; the state is carried between decoding steps.
"""
import torch
import torch.nn as nn

from .base import Architecture, CharModel


class Recurrent(CharModel):
    layer_class = nn.RNN

    def __init__(self, config):
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.rnn = self.layer_class(
            config.n_embd, config.n_embd2, num_layers=config.n_layer, batch_first=True,
            dropout=config.dropout if config.n_layer > 1 else 0.0,
        )
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.n_embd2, config.vocab_size)
        self.small_output_init(self.head)

    @property
    def receptive_field(self):
        return None  # unbounded: decoding carries the state instead

    def initial_state(self, batch_size, device):
        shape = (self.config.n_layer, batch_size, self.config.n_embd2)
        h = torch.zeros(shape, device=device)
        return (h, torch.zeros_like(h)) if self.layer_class is nn.LSTM else h

    def run(self, idx, state):
        out, state = self.rnn(self.wte(idx), state)
        return self.head(self.drop(out)), state

    def forward(self, idx, targets=None):
        logits, _ = self.run(idx, self.initial_state(idx.size(0), idx.device))
        return logits, self.loss(logits, targets)

    def start_decoding(self, batch_size, device):
        return {"state": self.initial_state(batch_size, device)}

    def decode_step(self, tokens, cache):
        logits, cache["state"] = self.run(tokens[:, None], cache["state"])
        return logits[:, -1, :]


class RNN(Recurrent):
    layer_class = nn.RNN


class LSTM(Recurrent):
    layer_class = nn.LSTM


class GRU(Recurrent):
    layer_class = nn.GRU


RECURRENT_TRAINING = dict(learning_rate=3e-3, batch_size=64, weight_decay=0.1, max_steps=20000)
USES = ("n_layer", "n_embd", "n_embd2", "dropout")
SPECS = [
    Architecture("rnn", RNN, "RNN (Mikolov 2010)", USES, dict(n_layer=1, n_embd=64, n_embd2=256, dropout=0.1),
                 RECURRENT_TRAINING, hidden_layer="the recurrent hidden state h", rank=3, in_page=True),
    Architecture("lstm", LSTM, "LSTM (Graves 2014)", USES, dict(n_layer=1, n_embd=64, n_embd2=160, dropout=0.3),
                 RECURRENT_TRAINING, hidden_layer="the LSTM hidden state h (its output, not the cell)",
                 rank=4, in_page=True),
    Architecture("gru", GRU, "GRU (Cho 2014)", USES, dict(n_layer=1, n_embd=64, n_embd2=160, dropout=0.3),
                 RECURRENT_TRAINING, hidden_layer="the GRU hidden state h", rank=5, in_page=True),
]

"""WaveNet-style CNN (2016): a stack of causal convolutions of width 2 with dilations 1, 2, 4, ...

Layer i sees 2**i steps back, so n_layer layers cover a context of 2**n_layer characters,
merging neighbours hierarchically as in WaveNet.
"""
import torch.nn as nn
import torch.nn.functional as F

from ..errors import ConfigError
from .base import Architecture, CharModel


class CausalConvBlock(nn.Module):
    def __init__(self, channels, dilation, dropout):
        super().__init__()
        self.dilation = dilation
        self.norm = nn.LayerNorm(channels)
        self.conv = nn.Conv1d(channels, 2 * channels, kernel_size=2, dilation=dilation)
        self.proj = nn.Linear(channels, channels)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):  # x: (B, T, C)
        h = self.norm(x).transpose(1, 2)
        h = self.conv(F.pad(h, (self.dilation, 0))).transpose(1, 2)
        filt, gate = h.chunk(2, dim=-1)
        return x + self.drop(self.proj(filt.tanh() * gate.sigmoid()))  # WaveNet's gated activation


class CNN(CharModel):
    def __init__(self, config):
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.n_embd2)
        self.blocks = nn.ModuleList(
            CausalConvBlock(config.n_embd2, 2**i, config.dropout) for i in range(config.n_layer)
        )
        self.norm = nn.LayerNorm(config.n_embd2)
        self.head = nn.Linear(config.n_embd2, config.vocab_size)
        self.small_output_init(self.head)

    @property
    def receptive_field(self):
        return 2**self.config.n_layer

    def forward(self, idx, targets=None):
        x = self.wte(idx)
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.norm(x))
        return logits, self.loss(logits, targets)


def check(config):
    if config.n_layer > 10:
        raise ConfigError(f"cnn n_layer must be at most 10 (a context of 1024 characters), not {config.n_layer}.")


def watch(model) -> list:
    """Each block's gated activation tanh(filter) * sigmoid(gate), tanh-like, at the input of its projection."""
    return [(f"{name}.gated", module.proj, "input", "tanh") for name, module in model.named_modules()
            if isinstance(module, CausalConvBlock)]


SPEC = Architecture("cnn", CNN, "CNN (WaveNet 2016)", ("n_layer", "n_embd2", "dropout"),
                    dict(n_layer=3, n_embd2=96, dropout=0.1),
                    dict(learning_rate=3e-3, batch_size=64, weight_decay=0.01, max_steps=16000), check,
                    watch=watch, hidden_layer="the final layer norm's output after the convolution stack",
                    rank=2, in_page=True)

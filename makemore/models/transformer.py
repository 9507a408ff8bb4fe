"""GPT-style Transformer (Vaswani 2017): pre-norm blocks of causal self-attention and an MLP.

Decoding keeps each layer's keys and values, so a new character costs one position, not the prefix.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import CharModel


class CausalSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.proj = nn.Linear(config.n_embd, config.n_embd)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x, cache=None):
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))
        if cache is not None:  # decoding one position: attend to every cached one
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], dim=2), torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        # No dropout on the attention weights: with it, CPU attention leaves the fused kernel (about 20% of a
        # training step at these sizes); the residual branches below carry the dropout instead.
        y = F.scaled_dot_product_attention(q, k, v, is_causal=cache is None)
        return self.drop(self.proj(y.transpose(1, 2).reshape(b, t, c)))


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln2 = nn.LayerNorm(config.n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(config.n_embd, 4 * config.n_embd), nn.GELU(),
            nn.Linear(4 * config.n_embd, config.n_embd), nn.Dropout(config.dropout),
        )

    def forward(self, x, cache=None):
        x = x + self.attn(self.ln1(x), cache)
        return x + self.mlp(self.ln2(x))


class Transformer(CharModel):
    def __init__(self, config):
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.small_output_init(self.head)

    def forward(self, idx, targets=None, caches=None, start=0):
        t = idx.size(1)
        if start + t > self.config.block_size:
            raise ValueError(f"sequence of {start + t} tokens is longer than the block size {self.config.block_size}")
        pos = torch.arange(start, start + t, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i])
        logits = self.head(self.ln_f(x))
        return logits, self.loss(logits, targets)

    def start_decoding(self, batch_size, device):
        return {"layers": [{} for _ in self.blocks], "position": 0}

    def decode_step(self, tokens, cache):
        logits, _ = self(tokens[:, None], caches=cache["layers"], start=cache["position"])
        cache["position"] += 1
        return logits[:, -1, :]

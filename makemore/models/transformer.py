"""GPT-style Transformer (Vaswani 2017): pre-norm blocks of causal self-attention and an MLP.

Decoding keeps each layer's keys and values in buffers as long as the block, so a new character costs
one position, not the prefix, and no copying of what is already cached.
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

    def forward(self, x, cache=None, start=0):
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))
        if cache is not None:  # decoding one position: store its keys and values, attend to all so far
            cache["k"][:, :, start : start + t] = k
            cache["v"][:, :, start : start + t] = v
            k, v = cache["k"][:, :, : start + t], cache["v"][:, :, : start + t]
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

    def forward(self, x, cache=None, start=0):
        x = x + self.attn(self.ln1(x), cache, start)
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
            x = block(x, None if caches is None else caches[i], start)
        logits = self.head(self.ln_f(x))
        return logits, self.loss(logits, targets)

    def start_decoding(self, batch_size, device):
        c = self.config
        shape = (batch_size, c.n_head, c.block_size, c.n_embd // c.n_head)
        options = dict(dtype=self.wte.weight.dtype, device=device)
        # empty, not zeros: a position is only read after decode_step has written it
        layers = [{"k": torch.empty(shape, **options), "v": torch.empty(shape, **options)} for _ in self.blocks]
        return {"layers": layers, "position": 0}

    def decode_step(self, tokens, cache):
        logits, _ = self(tokens[:, None], caches=cache["layers"], start=cache["position"])
        cache["position"] += 1
        return logits[:, -1, :]

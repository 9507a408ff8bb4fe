"""Sampling and scoring: batched generation with temperature, top-k, top-p, a prefix and a seed."""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .data import BOUNDARY, Vocab
from .errors import ConfigError


@dataclass
class Sample:
    text: str
    logprob: float  # log-probability of the whole line, end included, under the model (temperature 1)
    origin: str = "?"  # "train", "test", "new", or "?" when the data set is not at hand


def check_sampling(num_samples, temperature, top_k, top_p, max_samples=10_000):
    if not 1 <= num_samples <= max_samples:
        raise ConfigError(f"number of samples must be from 1 to {max_samples:,}, not {num_samples}.")
    if not (math.isfinite(temperature) and 0 < temperature <= 10):
        raise ConfigError(f"temperature must be above 0 and at most 10 (1 = as trained), not {temperature}.")
    if top_k is not None and top_k < 0:
        raise ConfigError(f"top-k must be 0 (off) or a positive number, not {top_k}.")
    if top_p is not None and not 0 < top_p <= 1:
        raise ConfigError(f"top-p must be above 0 and at most 1 (1 = off), not {top_p}.")


def filter_logits(logits, temperature=1.0, top_k=None, top_p=None):
    logits = logits / temperature
    if top_k:
        kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        drop = cumulative - sorted_logits.softmax(-1) >= top_p  # keep the smallest set reaching top_p
        logits = logits.masked_fill(drop.scatter(1, order, drop), float("-inf"))
    return logits


def only_chars(logits: torch.Tensor, vocab: Vocab) -> torch.Tensor:
    """Logits with the label start tokens ruled out: a model writes characters and the end, never a label."""
    if not vocab.labels:
        return logits
    logits = logits.clone()
    logits[..., len(vocab.chars) + 1:] = float("-inf")
    return logits


@torch.no_grad()
def generate(model, vocab: Vocab, num_samples=10, temperature=1.0, top_k=None, top_p=None, prefix="",
             seed=None, max_chars=None, device="cpu", label=None) -> list[Sample]:
    """Generate lines (of `label`, in a labelled model); each row stops at its end token or after max_chars
    characters."""
    check_sampling(num_samples, temperature, top_k, top_p)
    start = vocab.start(label)
    prefix_tokens = vocab.encode(prefix)
    limit = model.config.block_size - 1
    max_chars = limit if max_chars is None else min(max_chars, limit)
    if len(prefix_tokens) > max_chars:
        raise ConfigError(f"The prefix is {len(prefix_tokens)} characters; the model makes at most {max_chars}.")
    was_training = model.training
    model.eval()
    generator = torch.Generator(device=device)
    generator.manual_seed(seed if seed is not None else torch.seed())
    n = num_samples
    cache = model.start_decoding(n, device)
    token = torch.full((n,), start, dtype=torch.long, device=device)
    out = torch.zeros(n, max_chars, dtype=torch.long, device=device)
    logprob = torch.zeros(n, device=device)
    done = torch.zeros(n, dtype=torch.bool, device=device)
    for t in range(max_chars + 1):
        logits = only_chars(model.decode_step(token, cache), vocab)
        logp = F.log_softmax(logits.float(), dim=-1)
        if t < len(prefix_tokens):
            token = torch.full((n,), prefix_tokens[t], dtype=torch.long, device=device)
        elif t == max_chars:
            token = torch.full((n,), BOUNDARY, dtype=torch.long, device=device)
        else:
            probs = filter_logits(logits.float(), temperature, top_k, top_p).softmax(-1)
            token = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        logprob += torch.where(done, 0.0, logp.gather(1, token[:, None]).squeeze(1))
        done |= token == BOUNDARY
        if t < max_chars:
            out[:, t] = torch.where(done, BOUNDARY, token)
        if bool(done.all()):
            break
    model.train(was_training)
    return [Sample(vocab.decode(row), float(lp)) for row, lp in zip(out.tolist(), logprob.tolist())]


ORIGIN_LABELS = {"new": "new", "train": "in train set", "test": "in test set", "?": "? (data set gone)"}


def mark_origin(samples: list[Sample], dataset) -> list[Sample]:
    """Tag each sample with where its line occurs in `dataset` (a data.Dataset): train, test or new."""
    for s in samples:
        s.origin = dataset.origin(s.text)
    return samples


@torch.no_grad()
def score_line(model, vocab: Vocab, line: str, device="cpu", label=None) -> dict:
    """How likely the model finds `line` (as a line of `label`): total log-probability and mean NLL per character
    (end included)."""
    line = line.strip()
    if not line:
        raise ConfigError("Type a line to score.")
    tokens = vocab.encode(line)
    if len(tokens) > model.config.block_size - 1:
        raise ConfigError(f"The line is {len(tokens)} characters; this model handles at most {model.config.block_size - 1}.")
    x = torch.tensor([[vocab.start(label)] + tokens], device=device)
    y = torch.tensor([tokens + [BOUNDARY]], device=device)
    was_training = model.training
    model.eval()
    logits, loss = model(x, y)
    model.train(was_training)
    nll = loss.item()
    return {"line": line, "mean_nll": nll, "logprob": -nll * (len(tokens) + 1), "perplexity": math.exp(nll)}

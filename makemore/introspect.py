"""Looking inside a trained model: the numbers behind each view of the web app's "Look inside" tab.

One function per view; each takes a loaded model (and its vocabulary, and a line where the view
reads one) and returns plain numbers (a dataclass of lists), which the UI only draws:

- next_char_probs: the distribution over the next character at every position of a line
- next_char_choices: the most likely next characters after a prefix (through the decoding cache)
- embedding_map: the learned character embeddings projected to 2-D
- bigram_counts: how often each character follows each other one in a data set
- attention_map: the transformer's attention weights over a line, per layer and head
- hidden_activations: the last hidden layer before the output head, along a line
- training_health: the "health" records the trainer wrote (makemore/health.py), as series over steps

Internals are read with forward hooks and the modules' own weights; the models are not changed.
"""
import math
import threading
import unicodedata
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from .data import BOUNDARY, Vocab
from .errors import ConfigError
from .models import ARCHITECTURES, get_architecture, spec_of
from .sample import only_chars

BOUNDARY_LABEL = "."  # the <start>/<end> token, drawn as the lectures draw it
END_LABEL = "<end>"


class View:
    def to_dict(self) -> dict:
        return asdict(self)


def char_label(c: str) -> str:
    """A character as it can be shown on an axis: space and invisible characters made visible."""
    if c == " ":
        return "␣"
    return c if c.isprintable() else repr(c)[1:-1]


def boundary_label(vocab: Vocab) -> str:
    return BOUNDARY_LABEL if BOUNDARY_LABEL not in vocab.chars else "•"


def token_labels(vocab: Vocab) -> list[str]:
    """Label of every token id: the boundary first, then the characters, then the labels' start tokens."""
    return [boundary_label(vocab)] + [char_label(c) for c in vocab.chars] + [f"<{label}>" for label in vocab.labels]


def char_kind(c: str) -> str:
    """vowel / consonant (Latin letters), letter (other scripts), digit or other."""
    base = unicodedata.normalize("NFD", c)[0].lower()
    if base in "aeiou":
        return "vowel"
    if "a" <= base <= "z":
        return "consonant"
    if c.isalpha():
        return "letter"
    return "digit" if c.isdigit() else "other"


@contextmanager
def evaluating(model):
    """Eval mode (no dropout) and no gradients for the duration; the previous mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


@contextmanager
def capturing_inputs(modules):
    """Lists that collect the first input of each module, for the forward passes this thread runs inside the block.

    The web app shares a loaded model between requests: a pass another thread makes meanwhile is not captured.
    """
    owner = threading.get_ident()
    captured = [[] for _ in modules]

    def hook_into(store):
        def hook(module, args):
            if threading.get_ident() == owner:
                store.append(args[0])
        return hook

    handles = [module.register_forward_pre_hook(hook_into(store)) for module, store in zip(modules, captured)]
    try:
        yield captured
    finally:
        for handle in handles:
            handle.remove()


def encode_line(model, vocab: Vocab, line: str) -> list[int]:
    """The line's tokens, refused with a clear message when empty, too long or not in the vocabulary."""
    line = (line or "").strip()
    if not line:
        raise ConfigError("Type a line to look at (for example a name).")
    tokens = vocab.encode(line)
    limit = model.config.block_size - 1
    if len(tokens) > limit:
        raise ConfigError(f"The line is {len(tokens)} characters; this model handles at most {limit}.")
    return tokens


def device_of(model):
    return next(model.parameters()).device


# --- 1. next-character probabilities along a line ----------------------------------------------
@dataclass
class NextCharProbs(View):
    line: str
    labels: list[str]  # label of every token id (index = id)
    context: list[str]  # the input at each position: boundary, then the line's characters
    targets: list[int]  # the token that actually came next at each position (the last is the boundary)
    probs: list[list[float]]  # (positions, vocabulary): the model's full next-token distribution at each position
    surprisal: list[float]  # -ln p(actual next token) per position, in nats
    total_surprisal: float  # their sum: minus the line's log-probability (what score_line reports)
    top: list[list[tuple[str, float]]]  # per position, the most likely (label, probability) pairs
    shown: list[int]  # token ids worth a heatmap row: all for a small vocabulary, else the top ones and the targets


def next_char_probs(model, vocab: Vocab, line: str, top: int = 30, label=None) -> NextCharProbs:
    tokens = encode_line(model, vocab, line)
    start = vocab.start(label)
    x = torch.tensor([[start] + tokens], device=device_of(model))
    with evaluating(model):
        logits, _ = model(x)
    logp = F.log_softmax(logits[0].float(), dim=-1).cpu()
    targets = tokens + [BOUNDARY]
    surprisal = (-logp[torch.arange(len(targets)), targets]).tolist()
    probs = logp.exp()
    labels = token_labels(vocab)
    k = min(top, vocab.size)
    best = probs.topk(k, dim=-1)
    top_pairs = [[(labels[i], p) for i, p in zip(ids, ps)] for ids, ps in zip(best.indices.tolist(), best.values.tolist())]
    if vocab.size <= top:
        shown = list(range(vocab.size))
    else:  # the most probable tokens along the whole line, plus the ones that actually came
        by_mass = probs.sum(0).argsort(descending=True).tolist()
        shown = sorted(set(by_mass[:top]) | set(targets))
    return NextCharProbs(line.strip(), labels, [labels[t] for t in [start] + tokens], targets, probs.tolist(),
                         surprisal, math.fsum(surprisal), top_pairs, shown)


# --- 2. the interactive writer -----------------------------------------------------------------
class Writer:
    """Writes a line one character at a time through the model's decoding cache: each step costs one position."""

    def __init__(self, model, vocab: Vocab, label=None):
        self.model, self.vocab = model, vocab
        self.limit = model.config.block_size - 1
        self.text = ""
        with evaluating(model):
            self.cache = model.start_decoding(1, device_of(model))
            self.logits = self._step(vocab.start(label))

    def _step(self, token: int) -> torch.Tensor:
        tokens = torch.tensor([token], device=device_of(self.model))
        return self.model.decode_step(tokens, self.cache)[0].float().cpu()

    def append(self, text: str):
        tokens = self.vocab.encode(text)
        if len(self.text) + len(tokens) > self.limit:
            raise ConfigError(f"The line would be {len(self.text) + len(tokens)} characters; "
                              f"this model writes at most {self.limit}.")
        with evaluating(self.model):
            for token in tokens:
                self.logits = self._step(token)
        self.text += text

    def probs(self) -> torch.Tensor:
        return only_chars(self.logits, self.vocab).softmax(-1)


@dataclass
class NextCharChoices(View):
    prefix: str
    choices: list[tuple[str, str, float]]  # (label, text to append or "" for the end, probability), most likely first
    end_prob: float  # probability that the line ends here
    room: int  # characters the model can still add (0: only the end is possible)


def next_char_choices(model, vocab: Vocab, prefix: str, top_n: int = 8, label=None) -> NextCharChoices:
    """The top_n most likely continuations of `prefix` (the end of the line shown as <end>)."""
    if not 1 <= top_n <= 100:
        raise ConfigError(f"Show from 1 to 100 choices, not {top_n}.")
    writer = Writer(model, vocab, label)
    writer.append(prefix or "")
    probs = writer.probs()
    values, ids = probs.topk(min(top_n, len(vocab.chars) + 1))
    choices = [(END_LABEL, "", p) if i == BOUNDARY else (char_label(vocab.chars[i - 1]), vocab.chars[i - 1], p)
               for i, p in zip(ids.tolist(), values.tolist())]
    return NextCharChoices(writer.text, choices, float(probs[BOUNDARY]), writer.limit - len(writer.text))


# --- 3. character embedding map ------------------------------------------------------------------
@dataclass
class EmbeddingMap(View):
    labels: list[str]
    kinds: list[str]  # start/end, vowel, consonant, letter, digit, other
    x: list[float]
    y: list[float]
    method: str  # "pca", "exact" (the table is 2-D already) or "bigram-pca" (the bigram's rows)
    explained: list[float]  # share of the spread each axis keeps (1.0 in total for "exact")
    source: str  # which table the points come from, in words


def embedding_table(model) -> tuple[torch.Tensor, str]:
    """One row per token, and what the rows are in words: the architecture's own (its spec's `embedding`)."""
    return spec_for(model).embedding(model)


def spec_for(model):
    spec = spec_of(model)
    if spec is None:
        raise ConfigError(f"A {type(model).__name__} is no registered architecture: nothing to look inside.")
    return spec


def unavailable(arch: str, view: str, run_id: str) -> str | None:
    """Why a Look inside view does not apply to a run of `arch`, in words; None when it does."""
    if view in get_architecture(arch).views:
        return None
    if view == "hidden_activations":
        return (f"The {arch} has no hidden layer: it maps each character straight to next-character scores "
                "(see its map above).")
    having = " and the ".join(a.name for a in ARCHITECTURES.values() if view in a.views) or "no architecture"
    what = "Attention" if view == "attention_map" else f"The view {view}"
    return f"{what} exists only in the {having}; {run_id} is a {arch}."


def project_2d(table: torch.Tensor) -> tuple[torch.Tensor, list[float], str]:
    """Rows -> (rows, 2) coordinates by PCA (exact when there are only two columns)."""
    if table.size(1) <= 2:
        coords = F.pad(table, (0, 2 - table.size(1)))
        return coords, [1.0, 0.0] if table.size(1) == 1 else [0.5, 0.5], "exact"
    centered = table - table.mean(0)
    _, s, vh = torch.linalg.svd(centered, full_matrices=False)
    axes = vh[:2]
    signs = torch.sign(axes.gather(1, axes.abs().argmax(1, keepdim=True)))  # a deterministic orientation
    coords = centered @ (axes * signs).T
    variance = s**2
    explained = (variance[:2] / variance.sum().clamp_min(1e-12)).tolist()
    return coords, explained + [0.0] * (2 - len(explained)), "pca"


def embedding_map(model, vocab: Vocab, arch: str | None = None) -> EmbeddingMap:
    """The embedding rows projected to 2-D (`arch` is accepted for older callers; the model says it)."""
    table, source = embedding_table(model)
    coords, explained, method = project_2d(table.cpu())
    if method == "exact":
        explained = [float(v) for v in table.var(0)] if table.size(1) == 2 else explained
        total = sum(explained) or 1.0
        explained = [v / total for v in explained]
    kind = spec_for(model).embedding_kind
    method = f"{kind}-{method}" if kind else method
    kinds = ["start/end"] + [char_kind(c) for c in vocab.chars]
    return EmbeddingMap(token_labels(vocab), kinds, coords[:, 0].tolist(), coords[:, 1].tolist(), method, explained,
                        source)


# --- 4. bigram counts of a data set -----------------------------------------------------------------
@dataclass
class BigramCounts(View):
    labels: list[str]  # the rows and columns shown: the boundary first, then characters
    counts: list[list[int]]  # counts[i][j]: how often labels[j] follows labels[i]
    total: int  # bigrams in the data set (every line counts its start and end)
    shown_share: float  # share of all bigrams that fall inside the shown rows and columns
    vocab_chars: int  # distinct characters in the data set


def bigram_counts(dataset, top: int = 40) -> BigramCounts:
    """The count matrix of the first lecture; for a large vocabulary only the `top` most frequent characters."""
    vocab, v = dataset.vocab, dataset.vocab.size
    sequence = tokens_with_boundaries(dataset.lines, vocab)
    counts = torch.bincount(sequence[:-1] * v + sequence[1:], minlength=v * v).view(v, v)
    if v - 1 <= top:
        shown = list(range(v))
    else:
        frequency = counts.sum(0)[1:]
        shown = [BOUNDARY] + (frequency.argsort(descending=True)[:top] + 1).tolist()
    index = torch.tensor(shown)
    part = counts[index][:, index]
    total = int(counts.sum())
    labels = token_labels(vocab)
    return BigramCounts([labels[i] for i in shown], part.tolist(), total, int(part.sum()) / max(1, total), v - 1)


def tokens_with_boundaries(lines: list[str], vocab: Vocab) -> torch.Tensor:
    """All lines as one token sequence, one boundary between lines and at both ends: ".emma.olivia.".

    Vectorised (a 200,000-line file in milliseconds): the text's code points are looked up in the sorted
    code points of the vocabulary; the newline, which no line contains, stands for the boundary.
    """
    text = "\n" + "\n".join(lines) + "\n"
    points = torch.frombuffer(bytearray(text.encode("utf-32-le")), dtype=torch.int32).long()
    alphabet = torch.tensor([ord(c) for c in vocab.chars])  # sorted, as the vocabulary is
    tokens = torch.searchsorted(alphabet, points) + 1
    return torch.where(points == ord("\n"), BOUNDARY, tokens)


# --- 5. attention maps ----------------------------------------------------------------------------------
@dataclass
class AttentionMap(View):
    line: str
    labels: list[str]  # the positions: boundary, then the line's characters (queries = rows, keys = columns)
    weights: list[list[list[list[float]]]]  # [layer][head][query][key]; each row sums to 1, zero above the diagonal


def attention_map(model, vocab: Vocab, line: str, label=None) -> AttentionMap:
    """Every layer's and head's attention weights, recomputed from the attention module's input and weights."""
    blocks = getattr(model, "blocks", None)
    if blocks is None or not all(hasattr(b, "attn") for b in blocks):
        having = " and the ".join(a.name for a in ARCHITECTURES.values() if "attention_map" in a.views)
        raise ConfigError(f"Only the {having} has attention; this model is a {type(model).__name__}.")
    tokens = encode_line(model, vocab, line)
    with capturing_inputs([b.attn for b in blocks]) as inputs, evaluating(model):
        model(torch.tensor([[vocab.start(label)] + tokens], device=device_of(model)))
        weights = [attention_weights(block.attn, x[0]) for block, x in zip(blocks, inputs)]
    labels = token_labels(vocab)
    return AttentionMap(line.strip(), [labels[t] for t in [vocab.start(label)] + tokens],
                        [w[0].float().cpu().tolist() for w in weights])


def attention_weights(attn, x: torch.Tensor) -> torch.Tensor:
    """(batch, heads, T, T) causal softmax(q k^T / sqrt(head size)) from the module's qkv projection."""
    b, t, c = x.shape
    q, k, _ = attn.qkv(x).split(c, dim=2)
    q, k = (z.view(b, t, attn.n_head, c // attn.n_head).transpose(1, 2) for z in (q, k))
    scores = (q @ k.transpose(-2, -1)) * (c // attn.n_head) ** -0.5
    future = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
    return scores.masked_fill(future, float("-inf")).softmax(dim=-1)


# --- 6. hidden units along a line -----------------------------------------------------------------------
@dataclass
class HiddenActivations(View):
    line: str
    labels: list[str]  # the positions: boundary, then the line's characters (what the model has just read)
    units: list[int]  # indices of the units shown, the most active first
    values: list[list[float]]  # [unit][position]
    layer: str  # which layer, in words
    total_units: int
    rank_by: str


def hidden_activations(model, vocab: Vocab, line: str, top_units: int = 16, rank_by: str = "activity",
                       label=None) -> HiddenActivations:
    """The input of the output head (the last hidden layer) at each position of the line.

    rank_by "activity": units with the largest mean |activation| along the line;
    "change": units whose activation varies most (standard deviation) along the line.
    """
    head = getattr(model, "head", None)
    if head is None:
        raise ConfigError(f"A {type(model).__name__} has no hidden layer: it maps each character straight to "
                          "next-character scores.")
    if rank_by not in ("activity", "change"):
        raise ConfigError(f"rank units by 'activity' or 'change', not {rank_by!r}.")
    tokens = encode_line(model, vocab, line)
    with capturing_inputs([head]) as (captured,), evaluating(model):
        model(torch.tensor([[vocab.start(label)] + tokens], device=device_of(model)))
    hidden = captured[0][0].float().cpu()  # (positions, units)
    score = hidden.abs().mean(0) if rank_by == "activity" else hidden.std(0, correction=0)
    units = score.argsort(descending=True)[: max(1, top_units)].tolist()
    labels = token_labels(vocab)
    return HiddenActivations(line.strip(), [labels[t] for t in [vocab.start(label)] + tokens], units,
                             hidden[:, units].T.tolist(), hidden_layer_name(model), hidden.size(1), rank_by)


def hidden_layer_name(model) -> str:
    spec = spec_of(model)
    return spec.hidden_layer if spec else "the input of the output layer"


# --- 7. training health over steps -------------------------------------------------------------------------
@dataclass
class TrainingHealth(View):
    state: str  # the run's status (running, finished, ...): "running" means more records are coming
    steps: list[int]
    layers: dict  # name -> {"kind", "mean": [...], "std": [...], "saturated": [...], "grad_std": [...]} per step
    params: dict  # name -> {"shape", "grad_to_data": [...], "update_to_data_log10": [...]} per step


def training_health(run) -> TrainingHealth:
    """The "health" records of a run (written by makemore.health at each evaluation) as series over steps."""
    records = [r for r in run.read_metrics() if r.get("kind") == "health"]
    steps = [r["step"] for r in records]
    layers, params = {}, {}
    for i, record in enumerate(records):
        for layer in record.get("layers", []):
            entry = layers.setdefault(layer["name"], {"kind": layer.get("kind"), "mean": [None] * len(records),
                                                      "std": [None] * len(records),
                                                      "saturated": [None] * len(records),
                                                      "grad_std": [None] * len(records)})
            for key in ("mean", "std", "saturated", "grad_std"):
                entry[key][i] = layer.get(key)
        for param in record.get("params", []):
            entry = params.setdefault(param["name"], {"shape": param.get("shape"),
                                                      "grad_to_data": [None] * len(records),
                                                      "update_to_data_log10": [None] * len(records)})
            for key in ("grad_to_data", "update_to_data_log10"):
                entry[key][i] = param.get(key)
    return TrainingHealth(run.status().state.value, steps, layers, params)


def is_training(run) -> bool:
    return run.status().state.value in ("running", "queued")

"""Name ideas: batches of samples under constraints, kept if new, ranked by how likely the model finds them.

Constraints act inside generation where they can, and a final check keeps only lines that meet them all:

- starts_with: the prefix is fed through the decoding cache, so every row continues it;
- exclude: those characters are masked out (exactly as typed: excluding 'a' keeps 'A');
- min_len / max_len: the end is masked before min_len characters and forced at max_len;
- ends_with / contains: where a row samples the end before it has them, it writes out what it lacks
  instead (`ends_with`, then the end; or `contains`, then it samples on), so a line ends where the model
  wanted it to, with the ending appended; a row about to run out of room writes out the shortest text
  that adds both. Rows that meet them on their own are kept as they are. The score says how likely
  the model finds the written-out part;
- case (for mixed-case data): "lower" and "upper" mask the letters of the other case; "title" masks
  lowercase letters at the start of a word (the line's start, or after a space) and capitals inside one.
  None and "as-is" leave case alone. A case the vocabulary has no letters for is a ConfigError;
- only_new: lines of `train_lines` are dropped; duplicates within a request are always dropped.

What masking cannot guarantee (a written-out ending that breaks title case, a request with too few new
lines to fill it) is left to re-sampling in batches until the request is filled or `time_limit` seconds
pass; then the result carries a message saying what could not be filled. Requests that cannot be met
at all (a prefix and an ending longer than max_len together) get that message at once.

The score of an idea is its mean log-probability per character, the end included, under the model at
temperature 1 (so it is comparable across temperatures and lengths). rank="logprob" samples at least
three candidates per idea asked for (a batch is at least 256 rows) and keeps the likeliest; rank="diverse"
samples at 0.7, 1 and 1.4 times the requested temperature and takes the likeliest of each in turn.
"""
import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .data import BOUNDARY, Vocab
from .errors import ConfigError

MAX_IDEAS = 1000
MAX_TIME_LIMIT = 60.0
MAX_CONSTRAINT = 256  # characters of starts_with, ends_with, contains or exclude (a line is at most 256)
CASES = (None, "as-is", "lower", "title", "upper")
RANKS = ("logprob", "diverse")
DIVERSE_FACTORS = (0.7, 1.0, 1.4)  # temperatures of rank="diverse", relative to the requested one
OVERSAMPLE = 3  # candidates sampled per idea asked for, to rank from


@dataclass
class Idea:
    text: str
    score: float  # mean log-probability per character (end included) at temperature 1
    is_new: bool  # not a line of the training data
    temperature: float  # the temperature it was sampled at


@dataclass
class IdeasResult:
    ideas: list[Idea]
    message: str = ""  # why fewer than `count` ideas came back; empty when the request was filled
    candidates: int = 0  # lines sampled
    elapsed: float = 0.0


@dataclass(frozen=True)
class Constraints:
    min_len: int
    max_len: int
    starts_with: str
    ends_with: str
    contains: str
    exclude: str
    case: str | None

    def accepts(self, text: str) -> bool:
        return (self.min_len <= len(text) <= self.max_len and text.startswith(self.starts_with)
                and text.endswith(self.ends_with) and self.contains in text
                and not set(text) & set(self.exclude) and case_fits(text, self.case))

    def describe(self, length=True) -> str:
        """The constraints in words: 'are 3 to 8 characters long, start with 'al', ...'."""
        parts = []
        if length:
            span = f"{self.min_len}" if self.min_len == self.max_len else f"{self.min_len} to {self.max_len}"
            parts.append(f"are {span} characters long")
        for name, value in (("start with", self.starts_with), ("end with", self.ends_with),
                            ("contain", self.contains), ("avoid the characters", self.exclude)):
            if value:
                parts.append(f"{name} {value!r}")
        if self.case not in (None, "as-is"):
            parts.append(f"are in {self.case} case")
        return ", ".join(parts)


def case_fits(text: str, case: str | None) -> bool:
    if case == "lower":
        return not any(c.isupper() for c in text)
    if case == "upper":
        return not any(c.islower() for c in text)
    if case == "title":
        return all(not w[:1].islower() and not any(c.isupper() for c in w[1:]) for w in text.split(" "))
    return True


def merge(head: str, tail: str) -> str:
    """The shortest text that starts with `head` and ends with `tail`."""
    for k in range(min(len(head), len(tail)), -1, -1):
        if head.endswith(tail[:k]):
            return head + tail[k:]
    return head + tail


def check_request(vocab: Vocab, limit: int, count, min_len, max_len, temperature, rank, case, time_limit,
                  **texts) -> Constraints:
    """Validate the arguments (ConfigError) and return the constraints, max_len capped at the model's limit."""
    if not (isinstance(count, int) and 1 <= count <= MAX_IDEAS):
        raise ConfigError(f"count must be a whole number from 1 to {MAX_IDEAS}, not {count!r}.")
    if not (isinstance(min_len, int) and min_len >= 1):
        raise ConfigError(f"min_len must be a whole number of at least 1, not {min_len!r}.")
    if max_len is not None and not (isinstance(max_len, int) and max_len >= min_len):
        raise ConfigError(f"max_len must be a whole number of at least min_len ({min_len}), not {max_len!r}.")
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and 0 < temperature <= 10):
        raise ConfigError(f"temperature must be above 0 and at most 10 (1 = as trained), not {temperature!r}.")
    if rank not in RANKS:
        raise ConfigError(f"rank must be one of {', '.join(RANKS)}, not {rank!r}.")
    if case not in CASES:
        raise ConfigError(f"case must be one of {', '.join(map(str, CASES))}, not {case!r}.")
    if not (isinstance(time_limit, (int, float)) and 0 < time_limit <= MAX_TIME_LIMIT):
        raise ConfigError(f"time_limit must be above 0 and at most {MAX_TIME_LIMIT:g} seconds, not {time_limit!r}.")
    for name, text in texts.items():
        if not isinstance(text, str):
            raise ConfigError(f"{name} must be text, not {type(text).__name__}.")
        if len(text) > MAX_CONSTRAINT:
            raise ConfigError(f"{name} is at most {MAX_CONSTRAINT} characters (no idea is longer), not "
                              f"{len(text):,}.")
        unknown = [c for c in dict.fromkeys(text) if c not in vocab.stoi]
        if unknown and name != "exclude":
            raise ConfigError(f"{unknown[0]!r} never occurs in the training data, so the model cannot write it: "
                              f"remove it from {name} ({text!r}).")
    needs = {"title": str.isupper, "upper": str.isupper, "lower": str.islower}.get(case)
    if needs and not any(needs(c) for c in vocab.chars):
        kind = "lowercase" if case == "lower" else "capital"
        raise ConfigError(f"case {case!r} needs {kind} letters, which never occur in the training data: "
                          "use case 'as-is'.")
    return Constraints(min_len, min(max_len or limit, limit), **texts, case=case)


def impossible(c: Constraints, limit: int) -> str:
    """Why no line can meet the constraints, found without sampling; empty when it may be possible."""
    if c.min_len > limit:
        return f"min_len {c.min_len} is longer than the longest line this model writes ({limit} characters)."
    shortest = max(len(merge(c.starts_with, c.ends_with)), len(c.contains), c.min_len)
    if shortest > c.max_len:
        return (f"No line of at most {c.max_len} characters can {c.describe(length=False) or 'be that long'}"
                f"{f' and be at least {c.min_len} long' if c.min_len == shortest else ''}: that takes {shortest}. "
                "Raise max_len, or shorten the texts.")
    for name, text in (("starts_with", c.starts_with), ("ends_with", c.ends_with), ("contains", c.contains)):
        clash = sorted(set(text) & set(c.exclude))
        if clash:
            return f"{name} {text!r} uses {''.join(clash)!r}, which exclude forbids."
        if c.case in ("lower", "upper") and not case_fits(text, c.case):
            return f"{name} {text!r} is not {c.case} case."
    if c.case == "title" and not case_fits(c.starts_with, "title"):
        return f"starts_with {c.starts_with!r} is not title case (each word starts with its only capital)."
    return ""


class Masks:
    """The per-character masks of the constraints, as (vocab,) bool tensors: True = forbidden."""

    def __init__(self, vocab: Vocab, c: Constraints, device, label=None):
        chars = [""] + vocab.chars  # token 0 is the boundary: never forbidden here
        self.first = vocab.start(label)  # the token every row starts from: a label's, or the boundary

        def mask(test):  # a label's start token is never written
            return torch.tensor([bool(ch) and test(ch) for ch in chars] + [True] * len(vocab.labels), device=device)

        excluded = mask(lambda ch: ch in c.exclude)
        self.start = self.inner = excluded
        if c.case == "lower":
            self.start = self.inner = excluded | mask(str.isupper)
        elif c.case == "upper":
            self.start = self.inner = excluded | mask(str.islower)
        elif c.case == "title":
            self.start, self.inner = excluded | mask(str.islower), excluded | mask(str.isupper)
        self.space = vocab.stoi.get(" ", -1)

    def forbidden(self, previous: torch.Tensor, t: int) -> torch.Tensor:
        """(rows, vocab): what each row may not write next, given its previous token."""
        at_word_start = (previous == self.space) if t > 0 else torch.ones_like(previous, dtype=torch.bool)
        return torch.where(at_word_start[:, None], self.start, self.inner)


def tail_is(out: torch.Tensor, t: int, tokens: torch.Tensor) -> torch.Tensor:
    """(rows,) whether the first t tokens of each row end with `tokens`."""
    k = len(tokens)
    if k == 0:
        return torch.ones(out.size(0), dtype=torch.bool, device=out.device)
    if t < k:
        return torch.zeros(out.size(0), dtype=torch.bool, device=out.device)
    return (out[:, t - k : t] == tokens).all(1)


class Endings:
    """The text a row writes out instead of sampling: the `contains` and `ends_with` it still lacks.

    A row that samples the end before meeting them writes out what it lacks at that point: `ends_with`
    (then the end), or `contains` (then it samples on). A row that runs out of room writes out the shortest
    text that adds both, then ends. Kinds: 0 = ends_with, 1 = both, 2 = contains, then sample on.
    """

    RESUME = -1

    def __init__(self, vocab: Vocab, c: Constraints, rows: int, device):
        both = c.ends_with if c.contains in c.ends_with else merge(c.contains, c.ends_with)
        texts = [(c.ends_with, BOUNDARY), (both, BOUNDARY),
                 (c.contains, self.RESUME) if c.contains not in c.ends_with else (both, BOUNDARY)]
        self.lengths = torch.tensor([len(text) for text, _ in texts], device=device)
        self.table = torch.full((3, int(self.lengths.max()) + 1), BOUNDARY, dtype=torch.long, device=device)
        for kind, (text, after) in enumerate(texts):
            self.table[kind, len(text):] = after
            if text:
                self.table[kind, : len(text)] = torch.tensor(vocab.encode(text), device=device)
        self.room_for_both = len(c.contains) + len(c.ends_with)
        self.idle = c.max_len + 1  # `start` of a row that writes nothing
        self.start = torch.full((rows,), self.idle, device=device)  # the step its writing began at
        self.kind = torch.zeros(rows, dtype=torch.long, device=device)

    def written(self, t: int) -> torch.Tensor:
        return self.table[self.kind, (t - self.start).clamp(0, self.table.size(1) - 1)]

    def next_token(self, t: int, room: int, sampled, has_contains, satisfied) -> torch.Tensor:
        """The token each row writes at step t, where `room` characters are left: `sampled`, or its ending."""
        resumed = (self.start <= t) & (self.written(t) == self.RESUME)
        self.start = torch.where(resumed, self.idle, self.start)
        idle = self.start > t
        need = self.lengths[torch.where(has_contains, 0, 1)]
        out_of_room = idle & (need > 0) & (room <= need)
        wants_end = idle & (sampled == BOUNDARY) & ~satisfied
        kind = torch.where(has_contains, 0, 1 if room < self.room_for_both else 2)
        kind = torch.where(out_of_room, torch.where(has_contains, 0, 1), kind)
        begin = out_of_room | wants_end
        self.kind = torch.where(begin, kind, self.kind)
        self.start = torch.where(begin, t, self.start)
        return torch.where(self.start <= t, self.written(t), sampled)


@torch.no_grad()
def sample_batch(model, vocab: Vocab, c: Constraints, masks: Masks, temperatures: torch.Tensor, generator,
                 deadline: float) -> list[tuple[str, float, int]]:
    """One batch of rows under the constraints: (text, score, row) for each row that finished in time."""
    n, device, L = len(temperatures), temperatures.device, c.max_len
    prefix, contains = vocab.encode(c.starts_with), torch.tensor(vocab.encode(c.contains), device=device)
    ending = torch.tensor(vocab.encode(c.ends_with), device=device)
    endings = Endings(vocab, c, n, device)
    cache = model.start_decoding(n, device)
    token = torch.full((n,), masks.first, dtype=torch.long, device=device)
    out = torch.zeros(n, L, dtype=torch.long, device=device)
    logprob, length = torch.zeros(n, device=device), torch.full((n,), -1, device=device)
    has_contains = torch.full((n,), not c.contains, device=device)
    for t in range(L + 1):
        if time.monotonic() > deadline:
            break
        logits = model.decode_step(token, cache).float()
        previous, done = token, length >= 0
        if t < len(prefix):
            token = torch.full((n,), prefix[t], dtype=torch.long, device=device)
        elif t == L:
            token = torch.full((n,), BOUNDARY, dtype=torch.long, device=device)
        else:
            token = sampled_token(logits, temperatures, masks.forbidden(previous, t), t >= c.min_len, generator)
            satisfied = has_contains & tail_is(out, t, ending)
            token = endings.next_token(t, L - t, token, has_contains, satisfied)
        logprob += torch.where(done, 0.0, F.log_softmax(logits, -1).gather(1, token[:, None]).squeeze(1))
        length = torch.where(~done & (token == BOUNDARY), t, length)
        if t < L:
            out[:, t] = torch.where(length >= 0, BOUNDARY, token)
            has_contains |= tail_is(out, t + 1, contains)
        if bool((length >= 0).all()):
            break
    rows = (length >= 0).nonzero().flatten().tolist()
    return [(vocab.decode(out[i, : length[i]].tolist()), float(logprob[i] / (length[i] + 1)), i) for i in rows]


def sampled_token(logits, temperatures, forbidden, may_end: bool, generator) -> torch.Tensor:
    """Sample at each row's temperature among the characters not forbidden (the end only if `may_end`)."""
    forbidden = forbidden.clone()
    forbidden[:, BOUNDARY] = not may_end
    stuck = forbidden.all(1)  # nothing allowed (everything excluded): end, and let the final check drop it
    forbidden[stuck, BOUNDARY] = False
    scaled = (logits / temperatures[:, None]).masked_fill(forbidden, float("-inf"))
    return torch.multinomial(scaled.softmax(-1), 1, generator=generator).squeeze(1)


def generate_ideas(model, vocab: Vocab, train_lines, count: int, only_new=True, min_len=1, max_len=None,
                   starts_with="", ends_with="", contains="", exclude="", temperature=1.0, rank="logprob",
                   case=None, time_limit=3.0, seed=None, device=None, label=None) -> IdeasResult:
    """Up to `count` distinct lines meeting every constraint (see the module docstring), best first.

    `train_lines`: the lines of the training data (a set is fastest), for only_new and is_new.
    `device`: where the model is (default: where its parameters are). `label`: ideas of that label (a labelled
    model). Never runs much past `time_limit`
    seconds (one decoding step at most); `message` says why a request was not filled.
    """
    started = time.monotonic()
    limit = model.config.block_size - 1
    c = check_request(vocab, limit, count, min_len, max_len, temperature, rank, case, time_limit,
                      starts_with=starts_with, ends_with=ends_with, contains=contains, exclude=exclude)
    masks = Masks(vocab, c, device or next(model.parameters()).device, label)
    reason = impossible(c, limit)
    if reason:
        return IdeasResult([], reason, 0, time.monotonic() - started)
    factors = DIVERSE_FACTORS if rank == "diverse" else (1.0,)
    temperatures = sorted({round(min(10.0, temperature * f), 4) for f in factors})
    known = train_lines if isinstance(train_lines, (set, frozenset)) else set(train_lines)
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        pools, sampled = collect(model, vocab, c, masks, known, only_new, count, temperatures, device, seed,
                                 started + time_limit)
    finally:
        model.train(was_training)
    ideas = pick(pools, count)
    message = ""
    if len(ideas) < count:
        found = f"Only {len(ideas)} of {count} ideas" if ideas else f"None of the {count} ideas"
        message = (f"{found} found in {time_limit:g} s that {c.describe()}"
                   f"{' and are new' if only_new else ''} ({sampled:,} lines sampled): "
                   "loosen the constraints, ask for fewer, or allow more time.")
    return IdeasResult(ideas, message, sampled, time.monotonic() - started)


def collect(model, vocab, c: Constraints, masks: Masks, known, only_new, count, temperatures, device, seed, deadline):
    """Sample batches until every temperature's pool holds OVERSAMPLE times its share of ideas (or its
    share once half the time is gone), or the deadline passes. Returns (pools, lines sampled)."""
    generator = torch.Generator(device=device)
    generator.manual_seed(seed if seed is not None else torch.seed())
    share = math.ceil(count / len(temperatures))
    batch = min(1024, max(256, OVERSAMPLE * count))
    row_kind = [i % len(temperatures) for i in range(batch)]  # which temperature each row samples at
    row_temperature = torch.tensor([temperatures[k] for k in row_kind], device=device)
    pools = [[] for _ in temperatures]
    seen, sampled, halfway = set(), 0, time.monotonic() + (deadline - time.monotonic()) / 2
    while time.monotonic() < deadline:
        for text, score, row in sample_batch(model, vocab, c, masks, row_temperature, generator, deadline):
            sampled += 1
            is_new = text not in known
            if text in seen or (only_new and not is_new) or not c.accepts(text):
                continue
            seen.add(text)
            pools[row_kind[row]].append(Idea(text, score, is_new, temperatures[row_kind[row]]))
        fullest = min(len(pool) for pool in pools)
        if fullest >= OVERSAMPLE * share or (fullest >= share and time.monotonic() > halfway):
            break
    return pools, sampled


def pick(pools: list[list[Idea]], count: int) -> list[Idea]:
    """The likeliest ideas of each pool, taken in turn from each pool (one pool: simply the likeliest)."""
    ranked = [sorted(pool, key=lambda idea: -idea.score) for pool in pools]
    ideas = []
    for i in range(max(map(len, ranked), default=0)):
        ideas += [pool[i] for pool in ranked if i < len(pool)]
    return ideas[:count]

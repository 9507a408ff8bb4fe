"""Reading a one-example-per-line text file (or a labelled table, makemore/tables.py), its vocabulary, the
train/test split and batches.

Token 0 marks both the start and the end of a line; characters are tokens 1..C.
A line "emma" becomes inputs [0, e, m, m, a] and targets [e, m, m, a, 0]; padding targets are -1.
A labelled data set adds one start token per label after the characters (tokens C+1..C+L): a line of the
label "company" starts with that label's token instead of 0, so the model learns p(line | label) and every
architecture works unchanged. Token 0 stays the end of every line and the start of a line with no label.
"""
import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import DataError
from .limits import Limits, load_limits
from .lines import check_lines
from .tables import TABLE_SUFFIXES, read_rows

BOUNDARY = 0
IGNORE = -1
# One train/test split per data file: the CLI and the web app both hold out the lines this seed picks, so
# runs on the same file are always scored on the same test lines. The seed is recorded in every run.
SPLIT_SEED = 3407


def decode_text(raw: bytes, limits: Limits) -> str:
    """Bytes -> text, rejecting what is not UTF-8 text with a message that says where and why."""
    if len(raw) > limits.max_upload_bytes:
        raise DataError(
            f"The file is {len(raw) / 1e6:.1f} MB, over the {limits.max_upload_bytes / 1e6:.1f} MB limit: "
            "use a smaller file (or raise MAKEMORE_MAX_UPLOAD_BYTES)."
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise DataError("The file starts like UTF-16 text but does not decode: re-save it as UTF-8.") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b"\x00" in raw:
        raise DataError(
            "The file is not text (it contains NUL bytes, like an image or a program): "
            "upload a plain .txt file with one example per line."
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise DataError(
            f"The file is not UTF-8: line {line} has the byte 0x{raw[e.start]:02x}, which UTF-8 does not allow. "
            "Re-save the file as UTF-8 and upload it again."
        ) from None


def parse_lines(text: str, limits: Limits) -> list[str]:
    """Text -> stripped, non-blank lines, checked against the limits (a line is named by its number in the file)."""
    numbered = [(number, line.strip()) for number, line in enumerate(text.splitlines(), 1)]
    return check_lines([(number, line) for number, line in numbered if line], limits)


INVISIBLE = {" ": "␣ (space)", "\t": "⇥ (tab)"}


def visible_char(c: str, quote: bool = False) -> str:
    """A character as a person can see it in a chart (x) or message ('x'): a space is ␣ (space), other
    invisible ones their code point."""
    if c in INVISIBLE or not c.isprintable():
        return INVISIBLE.get(c) or f"U+{ord(c):04X}"
    return f"'{c}'" if quote else c


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@dataclass
class Vocab:
    """Characters in sorted order; token i+1 is chars[i], token 0 the boundary; then one start token per label
    (token len(chars)+1+j is the start of a line of labels[j])."""

    chars: list[str]
    labels: list[str] = dataclasses.field(default_factory=list)

    @classmethod
    def from_lines(cls, lines, labels=None):
        return cls(sorted(set("".join(lines))), sorted(set(labels or ()) - {""}))

    def __post_init__(self):
        self.stoi = {c: i + 1 for i, c in enumerate(self.chars)}
        self.label_tokens = {label: len(self.chars) + 1 + j for j, label in enumerate(self.labels)}

    @property
    def size(self) -> int:
        return len(self.chars) + 1 + len(self.labels)

    def start(self, label: str | None = None) -> int:
        """The start token of a line of `label` (None or "": no label, the boundary)."""
        if not label:
            return BOUNDARY
        if label not in self.label_tokens:
            if not self.labels:
                raise DataError(f"This model was trained without labels, so it cannot write a {label!r} line: "
                                "leave the label blank, or train on a labelled data set.")
            raise DataError(f"There is no label {label!r} in this model: use one of "
                            f"{', '.join(map(repr, self.labels))}, or leave the label blank.")
        return self.label_tokens[label]

    def encode(self, text: str) -> list[int]:
        unknown = sorted(set(text) - self.stoi.keys())
        if unknown:
            raise DataError(
                f"The characters {', '.join(visible_char(c, quote=True) for c in unknown)} never occur in the training data, so the "
                "model cannot use "
                "them: remove them."
            )
        return [self.stoi[c] for c in text]

    def decode(self, tokens) -> str:
        return "".join(self.chars[t - 1] for t in tokens if 0 < t <= len(self.chars))


def split_order(count: int, seed: int) -> tuple[list[int], list[int]]:
    """Classic makemore split: 10% of the lines (at most 1000, at least 1) held out for testing; (train, test)
    indices."""
    test_size = max(1, min(1000, count // 10))
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed)).tolist()
    return order[test_size:], order[:test_size]


def split_lines(lines: list, seed: int) -> tuple[list, list]:
    train, test = split_order(len(lines), seed)
    return [lines[i] for i in train], [lines[i] for i in test]


def encode_lines(lines: list[str], vocab: Vocab, block_size: int, labels: list[str] | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Lines -> (inputs, targets), both (N, block_size) tensors built once, int16 where the vocabulary fits.
    With `labels`, each line's input starts with its label's start token."""
    dtype = torch.int16 if vocab.size < 2**15 else torch.int32
    lengths = torch.tensor([len(line) for line in lines], dtype=torch.long)
    flat = torch.tensor(vocab.encode("".join(lines)), dtype=dtype)
    rows = torch.repeat_interleave(torch.arange(len(lines)), lengths)
    cols = torch.arange(len(flat)) - torch.repeat_interleave(lengths.cumsum(0) - lengths, lengths)
    x = torch.zeros(len(lines), block_size, dtype=dtype)
    y = torch.full((len(lines), block_size), IGNORE, dtype=dtype)
    x[rows, cols + 1] = flat
    y[rows, cols] = flat
    y[torch.arange(len(lines)), lengths] = BOUNDARY
    if labels is not None:
        x[:, 0] = torch.tensor([vocab.start(label) for label in labels], dtype=dtype)
    return x, y


@dataclass
class Dataset:
    """A data set ready for training: lines, vocabulary, split and tensors."""

    name: str
    sha256: str
    lines: list[str]
    vocab: Vocab
    train_lines: list[str]
    test_lines: list[str]
    split_seed: int
    labels: list[str] | None = None  # one per line ("" for none) in a labelled data set, else None
    train_labels: list[str] | None = None
    test_labels: list[str] | None = None

    @property
    def block_size(self) -> int:
        return max(map(len, self.lines)) + 1

    def origin(self, line: str) -> str:
        """Where a line comes from: "train", "test" or "new" (in neither split)."""
        if not hasattr(self, "_splits"):
            self._splits = (frozenset(self.train_lines), frozenset(self.test_lines))
        return "train" if line in self._splits[0] else "test" if line in self._splits[1] else "new"

    def tensors(self, split: str):
        lines = self.train_lines if split == "train" else self.test_lines
        labels = self.train_labels if split == "train" else self.test_labels
        return encode_lines(lines, self.vocab, self.block_size, labels)


def make_dataset(name: str, digest: str, lines: list[str], labels: list[str] | None, split_seed: int) -> Dataset:
    """Lines (and their labels) -> a Dataset with its vocabulary and split."""
    train, test = split_order(len(lines), split_seed)
    dataset = Dataset(name, digest, lines, Vocab.from_lines(lines, labels), [lines[i] for i in train],
                      [lines[i] for i in test], split_seed)
    if labels is not None:
        dataset.labels = labels
        dataset.train_labels, dataset.test_labels = [labels[i] for i in train], [labels[i] for i in test]
    return dataset


def load_bytes(raw: bytes, name: str, split_seed: int = SPLIT_SEED, limits: Limits | None = None,
               suffix: str = ".txt", text_column: str | None = None, label_column: str | None = None) -> Dataset:
    """A data set from a file's bytes: plain lines (.txt), or a table (.csv, .tsv, .jsonl; makemore/tables.py)."""
    limits = limits or load_limits()
    text = decode_text(raw, limits)
    digest = sha256(raw)
    if suffix.lower() in TABLE_SUFFIXES:
        lines, labels, _ = read_rows(text, suffix, limits, text_column, label_column)
        if text_column or label_column:  # the same file read through other columns is other data
            digest = sha256(raw + f"\0{text_column or ''}\0{label_column or ''}".encode())
    else:
        lines, labels = parse_lines(text, limits), None
    return make_dataset(name, digest, lines, labels, split_seed)


def load_file(path, split_seed: int = SPLIT_SEED, limits: Limits | None = None, text_column: str | None = None,
              label_column: str | None = None) -> Dataset:
    """Read and validate a data file; raises DataError with an actionable message."""
    path = Path(path)
    limits = limits or load_limits()
    if not path.is_file():
        raise DataError(f"No data file at {path}: give the path of a .txt file with one example per line.")
    if path.stat().st_size > limits.max_upload_bytes:
        raise DataError(
            f"{path.name} is {path.stat().st_size / 1e6:.1f} MB, over the {limits.max_upload_bytes / 1e6:.1f} MB "
            "limit: use a smaller file (or raise MAKEMORE_MAX_UPLOAD_BYTES)."
        )
    return load_bytes(path.read_bytes(), path.stem, split_seed, limits, path.suffix, text_column, label_column)


class Batcher:
    """Random training batches drawn from tensors that stay in memory; no per-step collation."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, device, seed: int):
        self.x, self.y = x.to(device), y.to(device)
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, batch_size: int):
        ix = torch.randint(len(self.x), (batch_size,), generator=self.generator).to(self.x.device)
        x, y = self.x[ix].long(), self.y[ix].long()
        return trim(x, y)


class BucketBatcher(Batcher):
    """Random batches of similar-length lines: less padding to compute, the same examples.

    It draws a pool of `pool` batches' worth of random rows (with replacement, like Batcher), sorts the
    pool by line length and hands out its `pool` slices in random order. Over a pool the model sees the
    same random rows as with `pool` plain batches, but each batch is only as long as its own longest
    line, not as long as the longest of a random mix (on names.txt, batches of 32: 7.5 positions
    instead of 10.5, against 7.1 real ones on average). Each batch's width is known when the pool is
    sorted, so handing one out costs no device sync.
    """

    def __init__(self, x, y, device, seed: int, pool: int = 16):
        super().__init__(x, y, device, seed)
        self.pool = pool
        self.lengths = (self.y != IGNORE).sum(1).cpu()  # positions with a target: a prefix of each row
        self.queue = []

    def __call__(self, batch_size: int):
        if not self.queue or len(self.queue[0][0]) != batch_size:
            rows = torch.randint(len(self.x), (self.pool * batch_size,), generator=self.generator)
            rows = rows[self.lengths[rows].argsort(stable=True)].view(self.pool, batch_size)
            widths = self.lengths[rows].amax(1)
            order = torch.randperm(self.pool, generator=self.generator)
            rows, widths = rows[order].to(self.x.device), widths[order].tolist()
            # the whole pool gathered at once: handing out a batch is then a list pop, not two gathers
            x, y = self.x[rows].long(), self.y[rows].long()
            self.queue = [(x[i, :, :w].contiguous(), y[i, :, :w].contiguous()) for i, w in enumerate(widths)]
        return self.queue.pop()


def trim(x: torch.Tensor, y: torch.Tensor):
    """Drop padding columns that no row in the batch uses: shorter sequences, faster steps."""
    used = int((y != IGNORE).sum(0).nonzero().max()) + 1
    return x[:, :used], y[:, :used]

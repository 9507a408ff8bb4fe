"""Tables in: .csv, .tsv and .jsonl files read as (text, label) rows.

A table has columns; one of them holds the lines to learn (the text column) and, optionally, another
holds a label per line (the label column: an industry, a country, a style). A model trained on a labelled
data set learns p(line | label) (makemore/data.py: one start token per label).

- .csv and .tsv are read with Python's csv module. The first row is a header when one of its cells is a usual
  column name (name, text, label, ...), or, in a table of two or more columns, when csv.Sniffer says so; a
  table without a header has the columns "column 1", "column 2", ...
- .jsonl is one JSON object per line; its keys are the columns (a line that is a bare string is a "text").
- Without a chosen text column, the text column is the one obvious one: the only column called text, name,
  line or word, else the only column that is not mostly numbers; otherwise the message names the columns
  to choose from. A column called "label" is the label column unless another is chosen.

An uploaded labelled table is stored as .jsonl with the keys "text" and "label" (`to_jsonl`); one without a
label column as a plain .txt of its text column, so every existing tool reads it.

Caps (clear messages when broken): at most MAX_LABELS distinct labels, and at least MIN_LINES_PER_LABEL
lines of every label (fewer, and the label's start token learns next to nothing; the test split may not
even hold one of its lines).
"""
import csv
import io
import json
from dataclasses import dataclass

from .lines import check_lines
from .errors import DataError
from .limits import Limits

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl")
MAX_LABELS = 50
MIN_LINES_PER_LABEL = 5
MAX_LABEL_CHARS = 40
TEXT_NAMES = ("text", "name", "line", "word")
LABEL_NAMES = ("label",)
HEADER_WORDS = set(TEXT_NAMES) | set(LABEL_NAMES) | {
    "names", "title", "company", "category", "industry", "country", "kind", "type", "style", "class", "tag",
    "founded", "year", "id", "gender", "sex", "language", "count"}


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]  # the data rows, each as long as `columns`
    first_row: int  # the file line of rows[0] (2 after a header)


def read_table(text: str, suffix: str) -> Table:
    """A table's columns and rows; raises DataError for a file that is not a table of this kind."""
    if suffix.lower() == ".jsonl":
        return read_jsonl(text)
    return read_delimited(text, "\t" if suffix.lower() == ".tsv" else ",")


def read_delimited(text: str, delimiter: str) -> Table:
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(cell.strip() for cell in row)]
    if not rows:
        raise DataError("The table is empty: put a header row (e.g. name,label) and one row per example.")
    width = max(map(len, rows))
    rows = [[cell.strip() for cell in row] + [""] * (width - len(row)) for row in rows]
    if has_header(text, rows[0]):
        columns = [cell or f"column {i + 1}" for i, cell in enumerate(rows[0])]
        return Table(unique(columns), rows[1:], 2)
    return Table([f"column {i + 1}" for i in range(width)], rows, 1)


def has_header(text: str, first: list[str]) -> bool:
    if any(cell.lower() in HEADER_WORDS for cell in first):
        return True
    if len(first) < 2:  # one column: the Sniffer guesses from line lengths alone, and often wrongly
        return False
    try:
        return csv.Sniffer().has_header(text[:20_000])
    except csv.Error:
        return False


def unique(columns: list[str]) -> list[str]:
    seen = {}
    for i, c in enumerate(columns):
        seen[c] = seen.get(c, 0) + 1
        columns[i] = c if seen[c] == 1 else f"{c} ({seen[c]})"
    return columns


def read_jsonl(text: str) -> Table:
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"Line {number} of the .jsonl file is not JSON ({e.msg}): write one JSON object per "
                            'line, e.g. {"text": "Acme", "label": "company"}.') from None
        if isinstance(record, str):
            record = {"text": record}
        if not isinstance(record, dict):
            raise DataError(f'Line {number} of the .jsonl file is not a JSON object: write e.g. {{"text": "Acme"}}.')
        records.append(record)
    if not records:
        raise DataError('The .jsonl file has no records: write one JSON object per line, e.g. {"text": "Acme"}.')
    columns = list(dict.fromkeys(key for record in records for key in record))
    cell = lambda v: "" if v is None else (v if isinstance(v, str) else json.dumps(v)).strip()  # noqa: E731
    return Table(columns, [[cell(record.get(c)) for c in columns] for record in records], 1)


def numeric(values: list[str]) -> bool:
    """Mostly numbers (a year, a count, an id): never the text column."""
    filled = [v for v in values if v]
    return bool(filled) and sum(v.replace(".", "", 1).replace("-", "", 1).isdigit() for v in filled) > len(filled) / 2


def column_index(table: Table, column: str | None, what: str) -> int | None:
    """The index of a chosen column (by name, any case); None for no choice; DataError naming the columns."""
    if column is None or not str(column).strip():
        return None
    wanted = str(column).strip().lower()
    for i, name in enumerate(table.columns):
        if name.lower() == wanted:
            return i
    raise DataError(f"There is no column {column!r} for the {what}: the columns are {names(table)}.")


def names(table: Table) -> str:
    return ", ".join(repr(c) for c in table.columns)


def pick_text_column(table: Table) -> tuple[int, str]:
    """The one obvious text column and a sentence saying why; DataError naming the columns if there is none."""
    named = [i for i, c in enumerate(table.columns) if c.lower() in TEXT_NAMES]
    if len(named) == 1:
        return named[0], f"the column {table.columns[named[0]]!r}"
    textual = [i for i in range(len(table.columns)) if not numeric([row[i] for row in table.rows])]
    if len(textual) == 1:
        return textual[0], f"the only column of text, {table.columns[textual[0]]!r}"
    raise DataError(f"Which column holds the lines to learn? The table has the columns {names(table)}: "
                    "choose the text column (and, if you like, a label column), then upload again.")


def choose_columns(table: Table, text_column=None, label_column=None) -> tuple[int, int | None, str]:
    """(text column, label column or None, a sentence saying which were used)."""
    text = column_index(table, text_column, "text")
    how = f"the column {table.columns[text]!r}" if text is not None else None
    if text is None:
        text, how = pick_text_column(table)
    label = column_index(table, label_column, "label")
    if label is None and label_column is None:
        label = next((i for i, c in enumerate(table.columns) if c.lower() in LABEL_NAMES and i != text), None)
    if label == text:
        raise DataError(f"The text column and the label column are both {table.columns[text]!r}: pick two columns.")
    used = f"Lines from {how}" + (f", labels from {table.columns[label]!r}" if label is not None else ", no labels")
    return text, label, used + f" (columns: {names(table)})."


def read_rows(text: str, suffix: str, limits: Limits, text_column=None, label_column=None):
    """A table's text -> (lines, labels or None, a sentence saying which columns were used), checked."""
    table = read_table(text, suffix)
    t, lab, used = choose_columns(table, text_column, label_column)
    kept = [(table.first_row + n, " ".join(row[t].splitlines()), row[lab] if lab is not None else "")
            for n, row in enumerate(table.rows)]
    kept = [(number, line, label) for number, line, label in kept if line]
    if not kept:
        raise DataError(f"The column {table.columns[t]!r} is empty: choose the column that holds the lines.")
    lines = check_lines([(number, line) for number, line, _ in kept], limits, "Row")
    labels = [label for _, _, label in kept] if lab is not None else None
    if labels is not None:
        check_labels(labels, table.columns[lab])
    return lines, labels, used


def check_labels(labels: list[str], column: str = "label"):
    """The caps on labels: how many, how long, how many lines each."""
    counts = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    counts.pop("", None)
    if not counts:
        raise DataError(f"The label column {column!r} is empty: choose another one, or no label column.")
    if len(counts) > MAX_LABELS:
        raise DataError(f"The label column {column!r} has {len(counts):,} different labels, over the limit of "
                        f"{MAX_LABELS}: choose a column with fewer kinds (an industry, a country), or no label column.")
    bad = [label for label in counts if len(label) > MAX_LABEL_CHARS or not label.isprintable()]
    if bad:
        raise DataError(f"The label {bad[0][:60]!r} is not a short printable label (at most {MAX_LABEL_CHARS} "
                        "characters): choose another label column.")
    few = sorted((n, label) for label, n in counts.items() if n < MIN_LINES_PER_LABEL)
    if few:
        shown = ", ".join(f"{label!r} ({n})" for n, label in few[:5])
        raise DataError(f"Every label needs at least {MIN_LINES_PER_LABEL} lines to learn from; these have fewer: "
                        f"{shown}. Add lines, merge those labels, or leave them blank.")


def preview(text: str, suffix: str, rows: int = 8) -> tuple[list[str], list[list[str]]]:
    """(columns, the first rows) of a table, to show before the visitor picks columns."""
    table = read_table(text, suffix)
    return table.columns, table.rows[:rows]


def to_jsonl(lines: list[str], labels: list[str]) -> bytes:
    """The stored form of a labelled data set: one {"text", "label"} object per line."""
    return "".join(json.dumps({"text": t, "label": lab}, ensure_ascii=False) + "\n"
                   for t, lab in zip(lines, labels)).encode()

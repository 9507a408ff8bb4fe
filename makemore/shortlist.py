"""The shortlist: ideas someone starred, kept as a small JSON file in a folder, and exported as .txt or .csv.

The file (shortlist.json) is rewritten atomically on every change, so a reload or a crash never sees half
of it. Every field of an entry is checked (type and length) and the file is bounded (MAX_ITEMS entries of
bounded fields; the owner's disk quota is asked before it grows), so what an add returns is bounded too. The CSV export is meant to be opened in a spreadsheet: it starts with a UTF-8 byte order mark (so
Excel reads it as UTF-8), and a text cell that a spreadsheet would run as a formula (one starting with
=, +, -, @, a tab or a carriage return) is prefixed with a single quote. Numbers are written as numbers.
"""
import csv
import datetime
import io
import json
import math
import threading
import time
from pathlib import Path

from .errors import ConfigError, MakemoreError
from .store import atomic_write_json, check_name, read_json

FILE = "shortlist.json"
MAX_ITEMS = 1000
MAX_TEXT = 200
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = ("text", "score", "is_new", "run_id", "added")
_lock = threading.Lock()  # one change at a time within a process: two clicks never lose one another's star


class Shortlist:
    """Starred ideas in `directory`/shortlist.json: a list of {"text", "score", "is_new", "run_id", "added"}."""

    def __init__(self, directory, check_quota=None):
        self.path = Path(directory) / FILE
        self.check_quota = check_quota  # called with the bytes an add would write (QuotaError when over)

    def list(self) -> list[dict]:
        try:
            data = read_json(self.path)
        except FileNotFoundError:
            return []
        items = data.get("items") if isinstance(data, dict) else None
        return [item for item in items or [] if isinstance(item, dict) and isinstance(item.get("text"), str)]

    def add(self, text: str, score=None, is_new=None, run_id=None) -> "list[dict]":  # quoted: the method `list` shadows the type in this class
        """Star an idea (starring it again keeps the first entry); returns the shortlist."""
        entry = {"text": check_text(text), "score": check_score(score), "is_new": check_is_new(is_new),
                 "run_id": check_run_id(run_id), "added": round(time.time(), 3)}
        with _lock:
            items = self.list()
            if any(item["text"] == entry["text"] for item in items):
                return items
            if len(items) >= MAX_ITEMS:
                raise ConfigError(f"The shortlist holds at most {MAX_ITEMS} ideas: export it and remove some first.")
            if self.check_quota:
                self.check_quota(len(json.dumps(entry)) + 16)
            items.append(entry)
            self._write(items)
            return items

    def remove(self, text: str) -> "list[dict]":
        """Unstar an idea (unknown ones are ignored); returns the shortlist."""
        with _lock:
            before = self.list()
            items = [item for item in before if item["text"] != text]
            if len(items) != len(before):  # an unknown idea writes nothing (nor makes a folder)
                self._write(items)
            return items

    def clear(self):
        with _lock:
            self._write([])

    def _write(self, items):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.path, {"format": 1, "items": items})


def check_text(text) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("Only a non-empty idea can be starred.")
    if "\n" in text or "\r" in text or len(text) > MAX_TEXT:
        raise ConfigError(f"An idea is one line of at most {MAX_TEXT} characters.")
    return text


def check_score(score) -> float | None:
    if score is None:
        return None
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
        raise ConfigError(f"An idea's score is a finite number (its mean log-probability per character), not "
                          f"{str(score)[:40]!r}.")
    return round(float(score), 4)


def check_is_new(is_new) -> bool | None:
    if is_new is not None and not isinstance(is_new, bool):
        raise ConfigError(f"is_new is true, false or left out, not {str(is_new)[:40]!r}.")
    return is_new


def check_run_id(run_id) -> str | None:
    if run_id is None or run_id == "":
        return None
    try:
        return check_name(run_id, "run id")
    except MakemoreError as e:
        raise ConfigError(str(e)) from None


def as_items(items) -> list[dict]:
    """Shortlist entries, Idea objects or plain strings, as dicts."""
    out = []
    for item in items:
        if isinstance(item, str):
            item = {"text": item}
        elif not isinstance(item, dict):
            item = {k: getattr(item, k) for k in ("text", "score", "is_new") if hasattr(item, k)}
        out.append(item)
    return out


def export_txt(items) -> str:
    """One idea per line."""
    return "".join(item["text"] + "\n" for item in as_items(items))


def safe_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return "" if value is None else value


def local_time(timestamp) -> str | None:
    """A Unix time as ISO 8601 in the server's local time zone, to the second with its offset
    (2026-12-06T21:05:09+01:00): what a spreadsheet reads as a date, and a person too."""
    if not isinstance(timestamp, (int, float)):
        return timestamp
    return datetime.datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="seconds")


def export_csv(items) -> str:
    """A CSV (text, score, is_new, run_id, added) with a UTF-8 byte order mark and formula-safe text cells,
    `added` in ISO 8601 local time; write it with encoding="utf-8"."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for item in as_items(items):
        row = {**item, "added": local_time(item.get("added"))}
        writer.writerow([safe_cell(row.get(column)) for column in COLUMNS])
    return "\ufeff" + buffer.getvalue()

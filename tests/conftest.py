"""Shared fixtures: small data sets and a tiny trained run."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("OMP_NUM_THREADS", "1")

TWENTY_NAMES = [
    "emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia", "harper", "evelyn",
    "abigail", "emily", "elizabeth", "mila", "ella", "avery", "sofia", "camila", "aria", "scarlett",
]


@pytest.fixture
def names_file():
    return ROOT / "datasets" / "names.txt"


@pytest.fixture
def small_file(tmp_path):
    path = tmp_path / "twenty.txt"
    path.write_text("\n".join(TWENTY_NAMES) + "\n", encoding="utf-8")
    return path

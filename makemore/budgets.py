"""The measured best configuration of each architecture for a time budget: the defaults a run with that
budget starts from, on every face (the Train tab, `--time-budget` on the command line, the API).

budgets.json holds, per architecture and measured budget, the model and training options that won a sweep
(bench/quality.py over candidate configurations and seeds, turned into the table by
scripts/budget_table.py), with the figures that chose it. A budget between two measured ones takes the
lower one's row (a longer budget's larger model would not have time to learn), one below the lowest takes
the lowest; a run without a time budget, and an architecture without a row, keep the architecture's own
defaults (models/). What the caller gives always wins over the row.
"""
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

TABLE = Path(__file__).with_name("budgets.json")
# the training options a row sets; the rest (seed, limits, intervals, where to choose) are the run's own
LEARNING = ("learning_rate", "batch_size", "weight_decay", "warmup_steps", "schedule", "min_lr_ratio", "decay_share",
            "optimizer", "ema")


@dataclass(frozen=True)
class BudgetDefaults:
    """What a run of `arch` with a time budget starts from: the measured budget whose row applies (None: no
    row, the architecture's defaults), its model and training options, and a note saying where they came from."""

    arch: str
    budget: float | None
    model: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)
    note: str = ""


@cache
def table() -> dict:
    return json.loads(TABLE.read_text()) if TABLE.is_file() else {"rows": []}


def measured_budgets(arch: str) -> list[float]:
    return sorted(row["budget"] for row in table()["rows"] if row["arch"] == arch)


def defaults_for(arch: str, seconds: float | None) -> BudgetDefaults:
    """The row of `arch` for a time budget of `seconds` (see the module's docstring for which one)."""
    budgets = measured_budgets(arch)
    if not budgets:
        return BudgetDefaults(arch, None, note=f"The {arch}'s own defaults: no time budget was measured for it.")
    if not seconds:
        return BudgetDefaults(arch, None, note=f"A run with a step limit starts from the {arch}'s own defaults; "
                                               "the defaults measured per time budget apply to a run of seconds.")
    budget = max([b for b in budgets if b <= seconds] or budgets[:1])
    row = next(r for r in table()["rows"] if r["arch"] == arch and r["budget"] == budget)
    return BudgetDefaults(arch, budget, dict(row["model"]), {k: v for k, v in row["train"].items() if k in LEARNING},
                          note_for(row, seconds))


def note_for(row: dict, seconds: float) -> str:
    loss = row["test_loss"]
    where = "" if row["budget"] == seconds else f" (the nearest measured budget at or below {seconds:g} s)"
    return (f"Defaults for a {row['budget']:g} s budget{where}: the best of {row['candidates']} configurations "
            f"of the {row['arch']} measured on {row['data']}, test loss {loss['mean']:.4f} ± {loss['std']:.4f} "
            f"over {row['seeds']} seeds ({table()['measured']}).")

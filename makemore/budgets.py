"""The measured best configuration of each architecture for a time budget: the defaults a run with that
budget starts from, on every face (the Train tab, `--time-budget` on the command line, the API).

budgets.json holds, per architecture and measured budget, the model and training options that won a sweep
(bench/quality.py over candidate configurations and seeds, turned into the table by
scripts/budget_table.py), with the figures that chose it. A budget between two measured ones takes the
What a budget buys depends on the data: a minute on a quarter of the lines is as many passes over them as four
minutes on all of them, and passes decide how much a model overfits (less dropout wins a minute on names.txt;
on 7,600 lines it loses). So a budget counts as the budget that gives as many passes over the data the table
was measured on (`lines`), and takes the row of the measured budget nearest that (by ratio). A run without a
time budget, and an architecture without a row, keep the architecture's own defaults (models/). What the
caller gives always wins over the row.
"""
import json
import math
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


def equivalent_seconds(seconds: float, lines: int | None) -> float:
    """The budget on the table's data set that gives as many passes over it as `seconds` on `lines` lines."""
    return seconds * table()["lines"] / lines if lines else seconds


def defaults_for(arch: str, seconds: float | None, lines: int | None = None) -> BudgetDefaults:
    """The row of `arch` for a time budget of `seconds` on a data set of `lines` lines (see the module's
    docstring for which one)."""
    budgets = measured_budgets(arch)
    if not budgets:
        return BudgetDefaults(arch, None, note=f"The {arch}'s own defaults: no time budget was measured for it.")
    if not seconds:
        return BudgetDefaults(arch, None, note=f"A run with a step limit starts from the {arch}'s own defaults; "
                                               "the defaults measured per time budget apply to a run of seconds.")
    equivalent = equivalent_seconds(seconds, lines)
    budget = min(budgets, key=lambda b: abs(math.log(b / equivalent)))
    row = next(r for r in table()["rows"] if r["arch"] == arch and r["budget"] == budget)
    return BudgetDefaults(arch, budget, dict(row["model"]), {k: v for k, v in row["train"].items() if k in LEARNING},
                          note_for(row, seconds, equivalent))


def note_for(row: dict, seconds: float, equivalent: float) -> str:
    loss = row["test_loss"]
    where = ""
    if round(equivalent) != round(seconds):
        where = f" ({seconds:g} s on this data set is as many passes as {equivalent:.0f} s on {row['data']})"
    elif row["budget"] != seconds:
        where = f" (the measured budget nearest {seconds:g} s)"
    which = (f"the best of {row['candidates']} configurations" if row["candidates"] > 1
             else "the configuration")
    return (f"Defaults for a {row['budget']:g} s budget{where}: {which} of the {row['arch']} measured on "
            f"{row['data']}, test loss {loss['mean']:.4f} ± {loss['std']:.4f} over {row['seeds']} seeds "
            f"({table()['measured']}).")

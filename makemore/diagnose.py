"""Advice read from a run's metrics: is the model overfitting (memorising its training lines)?"""
import math
from dataclasses import dataclass

RISES = 3  # evaluations in a row with a higher test loss before a run is called overfitting


@dataclass(frozen=True)
class Overfitting:
    """The test loss rose at each of the last `rises` evaluations while the training loss fell."""

    rises: int
    since_step: int  # the evaluation the rise started from
    step: int  # the latest evaluation
    test_from: float
    test_to: float
    train_from: float
    train_to: float
    best_step: int
    best_test_loss: float

    def message(self) -> str:
        return (f"Overfitting: the test loss has risen for {self.rises} evaluations in a row "
                f"({self.test_from:.4f} at step {self.since_step:,} to {self.test_to:.4f} at step {self.step:,}) "
                f"while the training loss fell ({self.train_from:.4f} to {self.train_to:.4f}): the model is "
                "memorising its training lines instead of learning what they have in common. "
                f"The best checkpoint (step {self.best_step:,}, test loss {self.best_test_loss:.4f}) is kept, and "
                "sampling uses it. To do better: stop here, or train a smaller model (fewer layers, a smaller "
                "embedding), with more dropout or weight decay, or on more lines.")


def overfitting(records: list[dict], rises: int = RISES) -> Overfitting | None:
    """Overfitting if the last `rises` evaluations each raised the test loss and the training loss fell
    over them; None otherwise (or with too few evaluations to say)."""
    evals = [r for r in records
             if r.get("kind") == "eval" and finite(r.get("test_loss")) and finite(r.get("train_loss"))]
    if len(evals) < rises + 1:
        return None
    window = evals[-(rises + 1):]
    rising = all(later["test_loss"] > earlier["test_loss"] for earlier, later in zip(window, window[1:]))
    if not rising or window[-1]["train_loss"] >= window[0]["train_loss"]:
        return None
    best = min(evals, key=lambda r: r.get("val_loss", r["test_loss"]))  # the checkpoint the run keeps
    return Overfitting(rises=rises, since_step=window[0]["step"], step=window[-1]["step"],
                       test_from=window[0]["test_loss"], test_to=window[-1]["test_loss"],
                       train_from=window[0]["train_loss"], train_to=window[-1]["train_loss"],
                       best_step=best["step"], best_test_loss=best["test_loss"])


def finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)

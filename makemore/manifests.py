"""Sweep manifests (sweep-<id>.json beside a sweep's runs): the leaderboard a sweep writes into its
manifest, and reading the manifests back, for Compare. Ray-free: the app reads sweeps without it
(makemore/sweep.py runs them)."""
import json
from pathlib import Path


def leaderboard(trials: list[dict]) -> dict:
    """The best trial overall and per architecture: by the validation loss of its kept checkpoint (by its test
    loss for trials without one), so the test split does not pick the winner."""
    scored = sorted((t for t in trials if t.get("best_test_loss") is not None),
                    key=lambda t: t["best_test_loss"] if t.get("best_val_loss") is None else t["best_val_loss"])
    pick = ("run_id", "arch", "params", "best_test_loss", "best_val_loss", "best_step", "status")
    per_arch = {}
    for t in scored:
        per_arch.setdefault(t["arch"], {k: t.get(k) for k in pick})
    return {"best": {k: scored[0].get(k) for k in pick} if scored else None, "best_per_arch": per_arch}


def read_manifests(root) -> list[dict]:
    """Every sweep manifest under `root`, newest first, each with its file name; damaged ones are skipped."""
    manifests = []
    for path in Path(root).glob("sweep-*.json"):
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(manifest, dict) and isinstance(manifest.get("trials"), list):
            manifests.append({**manifest, "file": path.name})
    return sorted(manifests, key=lambda m: m.get("created") or 0, reverse=True)

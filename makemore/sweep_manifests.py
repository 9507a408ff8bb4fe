"""Reading sweep manifests (written by makemore/sweep.py beside the trials' run folders), without Ray:
the app lists sweeps on machines that have no Ray installed."""
import json
from pathlib import Path


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

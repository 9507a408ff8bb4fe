"""Resource limits, read from environment variables, with a public-demo preset.

On Hugging Face Spaces (SPACE_ID set) or with MAKEMORE_PUBLIC=1 the tighter public preset
applies; every limit can still be overridden one by one with its MAKEMORE_MAX_* variable.
"""
import os
from dataclasses import dataclass, fields

_LOCAL = dict(
    max_upload_bytes=50_000_000,
    max_lines=1_000_000,
    max_line_chars=256,
    max_vocab=2_000,
    max_params=50_000_000,
    max_steps=1_000_000,
    max_time_budget=24 * 3600,
    max_jobs=max(1, (os.cpu_count() or 2) // 2),
    max_runs_per_dataset=0,  # 0 = keep every run
)
_PUBLIC = dict(
    max_upload_bytes=5_000_000,
    max_lines=200_000,
    max_line_chars=200,
    max_vocab=500,
    max_params=2_000_000,
    max_steps=20_000,
    max_time_budget=600,
    max_jobs=1,
    max_runs_per_dataset=5,
)


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int
    max_lines: int
    max_line_chars: int
    max_vocab: int
    max_params: int
    max_steps: int
    max_time_budget: float
    max_jobs: int
    max_runs_per_dataset: int
    public: bool = False


def is_public(env=None) -> bool:
    env = os.environ if env is None else env
    return bool(env.get("SPACE_ID")) or env.get("MAKEMORE_PUBLIC", "") in ("1", "true", "yes")


def load_limits(env=None) -> Limits:
    """The limits in force: the preset, then any MAKEMORE_MAX_* override."""
    env = os.environ if env is None else env
    public = is_public(env)
    values = dict(_PUBLIC if public else _LOCAL)
    for f in fields(Limits):
        if f.name == "public":
            continue
        raw = env.get("MAKEMORE_" + f.name.upper())
        if raw:
            try:
                values[f.name] = type(values[f.name])(float(raw))
            except ValueError:
                raise ValueError(f"MAKEMORE_{f.name.upper()}={raw!r} is not a number") from None
    return Limits(public=public, **values)

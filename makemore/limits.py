"""Resource limits, read from environment variables, with a public-demo preset.

On Hugging Face Spaces (SPACE_ID set), with MAKEMORE_PUBLIC=1, or when the app is shared (--share,
--host 0.0.0.0) unless MAKEMORE_PUBLIC=0, the tighter public preset applies; every limit can still be
overridden one by one with its MAKEMORE_MAX_* (or MAKEMORE_IDLE_*, MAKEMORE_MIN_*) variable.
A limit of 0 means "no limit" where the field says so.
"""
import math
import os
from dataclasses import dataclass, fields


def usable_cpus() -> int:
    """The cores this process may use: its CPU affinity, capped by a container's CPU quota (in a container such
    as a Hugging Face Space, os.cpu_count() counts the whole host, not the 2 vCPUs the Space gets)."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    return max(1, min(count, math.ceil(quota)) if quota else count)


def _cgroup_cpu_quota(cgroup="/sys/fs/cgroup") -> float | None:
    """CPUs allowed by the cgroup's CFS quota (v2 cpu.max, else v1), None where there is none."""
    for quota_file, period_file in ((f"{cgroup}/cpu.max", None),
                                    (f"{cgroup}/cpu/cpu.cfs_quota_us", f"{cgroup}/cpu/cpu.cfs_period_us")):
        try:
            with open(quota_file) as f:
                quota, *rest = f.read().split()
            if period_file:
                with open(period_file) as f:
                    rest = f.read().split()
            if quota not in ("max", "-1") and rest and float(rest[0]) > 0:
                return float(quota) / float(rest[0])
        except (OSError, ValueError):
            continue
    return None

_LOCAL = dict(
    max_upload_bytes=50_000_000,
    max_lines=1_000_000,
    max_line_chars=256,
    max_vocab=2_000,
    max_params=50_000_000,
    max_steps=1_000_000,
    max_time_budget=24 * 3600,
    max_jobs=max(1, usable_cpus() // 2),
    max_runs_per_dataset=0,  # 0 = keep every run
    max_batch_size=65536,
    max_job_seconds=0,  # wall-clock cap per job, whatever its step limit; 0 = none
    max_job_memory_mb=0,  # estimated training memory per job; 0 = no check
    max_queue=0,  # queued or running jobs on the whole server; 0 = no cap
    max_jobs_per_owner=0,  # queued or running jobs of one owner; 0 = no cap
    max_datasets_per_owner=0,
    max_owner_bytes=0,  # disk an owner's uploads and runs may use
    idle_workspace_seconds=0,  # anonymous workspaces idle this long may be removed when disk runs low
    min_free_bytes=0,  # ... that is, when less than this is free
    max_jobs_per_client=0,  # queued or running jobs of every workspace one client (address) uses; 0 = no cap
    max_datasets_per_client=0,
    max_client_bytes=0,  # disk the workspaces of one client may use together
    max_keys_per_client=0,  # workspace keys one client may get from /new_workspace per hour
    max_upload_files_per_client=0,  # files one client may have in the upload area at once
    max_upload_bytes_per_client=0,  # ... and their bytes
    upload_lifetime_seconds=3600,  # an uploaded file is removed this long after it came
)
_PUBLIC = dict(
    max_upload_bytes=5_000_000,
    max_lines=200_000,
    max_line_chars=200,
    max_vocab=500,
    max_params=2_000_000,
    max_steps=20_000,
    max_time_budget=600,
    max_jobs=2,  # one torch thread each on a 2-vCPU Space; a waiting owner may take one from an owner holding both
    max_runs_per_dataset=5,
    max_batch_size=512,
    max_job_seconds=900,
    max_job_memory_mb=3000,
    max_queue=20,
    max_jobs_per_owner=2,
    max_datasets_per_owner=10,
    max_owner_bytes=200_000_000,
    idle_workspace_seconds=7 * 24 * 3600,
    min_free_bytes=2_000_000_000,
    max_jobs_per_client=4,  # a fifth of the queue: whatever one address does, another can always get in
    max_datasets_per_client=20,
    max_client_bytes=400_000_000,
    max_keys_per_client=20,
    max_upload_files_per_client=10,
    max_upload_bytes_per_client=20_000_000,
    upload_lifetime_seconds=600,
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
    max_batch_size: int
    max_job_seconds: float
    max_job_memory_mb: int
    max_queue: int
    max_jobs_per_owner: int
    max_datasets_per_owner: int
    max_owner_bytes: int
    idle_workspace_seconds: float
    min_free_bytes: int
    max_jobs_per_client: int = 0
    max_datasets_per_client: int = 0
    max_client_bytes: int = 0
    max_keys_per_client: int = 0
    max_upload_files_per_client: int = 0
    max_upload_bytes_per_client: int = 0
    upload_lifetime_seconds: float = 3600
    public: bool = False


def is_public(env=None) -> bool:
    env = os.environ if env is None else env
    if env.get("MAKEMORE_PUBLIC", "").lower() in ("0", "false", "no"):
        return False
    return bool(env.get("SPACE_ID")) or env.get("MAKEMORE_PUBLIC", "").lower() in ("1", "true", "yes")


def load_limits(env=None) -> Limits:
    """The limits in force: the preset, then any MAKEMORE_MAX_* override."""
    env = os.environ if env is None else env
    public = is_public(env)
    values = dict(_PUBLIC if public else _LOCAL)
    for f in fields(Limits):
        if f.name == "public":
            continue
        raw = env.get(env_name(f.name))
        if raw:
            try:
                values[f.name] = type(values[f.name])(float(raw))
            except ValueError:
                raise ValueError(f"{env_name(f.name)}={raw!r} is not a number") from None
    return Limits(public=public, **values)


def env_name(field: str) -> str:
    return "MAKEMORE_" + field.upper()

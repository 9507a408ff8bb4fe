"""Limits come from the environment, with a public-demo preset on Hugging Face Spaces."""
import os

import pytest

from makemore import limits as limits_module
from makemore.errors import ConfigError
from makemore.limits import load_limits, usable_cpus
from makemore.models import make_config
from makemore.train import make_train_config


def test_local_defaults():
    limits = load_limits({})
    assert not limits.public and limits.max_lines == 1_000_000 and limits.max_runs_per_dataset == 0


def test_public_preset_is_on_automatically_on_spaces():
    limits = load_limits({"SPACE_ID": "someone/makemore"})
    assert limits.public and limits.max_jobs == 2 and limits.max_params == 2_000_000
    assert limits.max_upload_bytes == 5_000_000 and limits.max_runs_per_dataset == 5


def test_each_limit_can_be_overridden():
    limits = load_limits({"SPACE_ID": "x", "MAKEMORE_MAX_STEPS": "500", "MAKEMORE_MAX_JOBS": "3"})
    assert limits.max_steps == 500 and limits.max_jobs == 3 and isinstance(limits.max_jobs, int)
    with pytest.raises(ValueError, match="MAKEMORE_MAX_LINES='lots' is not a number"):
        load_limits({"MAKEMORE_MAX_LINES": "lots"})


def test_public_limits_refuse_big_models_and_long_runs():
    limits = load_limits({"SPACE_ID": "x"})
    with pytest.raises(ConfigError, match="over the limit of 2,000,000"):
        make_config("transformer", 27, 16, limits.max_params, n_embd=512, n_layer=8)
    with pytest.raises(ConfigError, match="over this server's limit of 20,000"):
        make_train_config("transformer", limits, max_steps=50_000)
    with pytest.raises(ConfigError, match="over this server's limit of 600"):
        make_train_config("transformer", limits, time_budget=3600)
    with pytest.raises(ConfigError, match="step limit or a time budget"):
        make_train_config("transformer", limits, max_steps=-1)


def test_usable_cpus_follow_a_containers_cpu_quota(tmp_path, monkeypatch):
    """In a container (a Space) os.cpu_count() counts the host; the cgroup quota says what the app may use."""
    (tmp_path / "cpu.max").write_text("200000 100000\n")  # cgroup v2: 2 CPUs
    assert limits_module._cgroup_cpu_quota(tmp_path) == 2.0
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert limits_module._cgroup_cpu_quota(tmp_path) is None
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("150000\n")  # cgroup v1: 1.5 CPUs
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert limits_module._cgroup_cpu_quota(tmp_path) == 1.5
    monkeypatch.setattr(limits_module, "_cgroup_cpu_quota", lambda: 1.5)
    assert usable_cpus() == min(2, len(os.sched_getaffinity(0)))
    monkeypatch.setattr(limits_module, "_cgroup_cpu_quota", lambda: None)
    assert usable_cpus() == len(os.sched_getaffinity(0))

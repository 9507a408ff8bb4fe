"""Faults in training lose nothing: divergence and an unwritable run directory end with a clear status."""
import pytest

from makemore.data import load_file
from makemore.store import Run
from makemore.train import TrainingFailed, create_run, make_train_config, train_and_record


@pytest.fixture
def dataset(small_file):
    return load_file(small_file)


def test_divergence_stops_with_a_clear_status_and_keeps_the_good_checkpoint(tmp_path, dataset):
    run = Run(tmp_path / "run")
    create_run(run, dataset, "transformer", {"n_embd": 16, "n_head": 2, "n_layer": 1},
               make_train_config("transformer", max_steps=300, eval_interval=10, log_interval=10,
                                 learning_rate=10.0, warmup_steps=1))
    with pytest.raises(TrainingFailed, match="diverged.*Lower the learning rate"):
        train_and_record(run, dataset)
    status = run.status()
    assert status.state == "failed" and "diverged" in status.error
    run.load_model()  # the best weights were saved before the loss blew up
    assert status.best_test_loss is not None and status.best_test_loss < 10 and status.step > 0


def test_disk_full_mid_training_fails_cleanly_and_keeps_earlier_checkpoints(tmp_path, dataset, monkeypatch):
    run = Run(tmp_path / "run")
    create_run(run, dataset, "mlp", {"n_embd": 8}, make_train_config("mlp", max_steps=40, eval_interval=10))
    import makemore.store as store

    real_write = store.atomic_write_bytes
    calls = {"n": 0}

    def failing_write(path, data):
        calls["n"] += 1
        if path.name.endswith(".safetensors") and calls["n"] > 6:
            # write half, then fail like a full disk: the temp file must not replace the old one
            real_tmp = path.with_name(path.name + ".partial")
            real_tmp.write_bytes(data[: len(data) // 2])
            real_tmp.unlink()
            raise OSError(28, "No space left on device")
        return real_write(path, data)

    monkeypatch.setattr(store, "atomic_write_bytes", failing_write)
    with pytest.raises(TrainingFailed, match="No space left on device"):
        train_and_record(run, dataset)
    monkeypatch.setattr(store, "atomic_write_bytes", real_write)
    assert run.status().state == "failed"
    run.load_model()
    run.read_tensors("last.safetensors")


def test_atomic_write_leaves_the_old_file_when_the_write_fails(tmp_path, monkeypatch):
    from makemore import store

    target = tmp_path / "x.json"
    store.atomic_write_json(target, {"v": 1})

    def boom(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.os, "fsync", boom)
    with pytest.raises(OSError):
        store.atomic_write_json(target, {"v": 2})
    assert store.read_json(target) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]  # no temp file left behind


def test_sigkill_at_any_moment_loses_nothing_and_resume_continues(tmp_path, names_file):
    """Kill a real training process repeatedly at arbitrary moments, saves included."""
    import random
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    dataset = load_file(names_file)
    run = Run(tmp_path / "run")
    # an evaluation (and two checkpoint writes) every 5 steps, so kills often land mid-save
    create_run(run, dataset, "transformer", {"n_layer": 2, "n_embd": 32, "n_head": 2},
               make_train_config("transformer", max_steps=100_000, eval_interval=5, log_interval=5))
    command = [sys.executable, "-m", "makemore.worker", str(run.path), str(names_file), "--device", "cpu", "--nice", "0"]
    rng = random.Random(0)
    reached = []
    for attempt in range(4):
        child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 180  # generous: a loaded machine starts torch slowly
        while time.time() < deadline and run.status().pid != child.pid:
            time.sleep(0.02)
        # then until it trains past where the last one was killed (however loaded the machine), and a bit more
        start = reached[-1] if reached else 0
        while time.time() < deadline and not any(r["step"] > start for r in run.read_metrics()):
            time.sleep(0.02)
        time.sleep(rng.random() * 0.5)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        assert child.returncode == -signal.SIGKILL
        model, config = run.load_model()  # the best checkpoint is always whole
        tensors = run.read_tensors("last.safetensors")  # and so is the resume point
        reached.append(int(tensors["progress.step"]))
        assert run.read_config()["arch"] == "transformer"
        records = run.read_metrics()
        assert all("step" in r for r in records)
        steps = [r["step"] for r in records if r["kind"] == "train"]
        assert steps == sorted(steps), "work lost with a killed process is dropped from the log on resume"
    assert reached == sorted(reached) and reached[-1] > reached[0], "each resume continued from the last save"
    leftovers = [p.name for p in run.path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) <= 4  # a temp file cut by a kill is harmless and never read

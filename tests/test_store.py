"""Run directories: tampered or mismatched checkpoints give a CheckpointError, unsafe names are refused."""
import json
import pickle

import pytest
import torch

from makemore.data import load_file
from makemore.errors import CheckpointError, UnsafeNameError
from makemore.store import Run, check_name, sanitize_name
from makemore.train import create_run, make_train_config, train_run


@pytest.fixture
def trained(tmp_path, small_file):
    dataset = load_file(small_file)
    run = Run(tmp_path / "run")
    create_run(run, dataset, "mlp", {"n_embd": 8, "n_embd2": 16}, make_train_config("mlp", max_steps=20, eval_interval=10))
    train_run(run, dataset)
    return run


def test_round_trip_has_everything_to_rebuild(trained):
    config = json.loads(trained.file("config.json").read_text())
    assert {"arch", "model", "vocab", "dataset", "split_seed", "train", "version"} <= set(config)
    assert not {"step", "best_test_loss", "best_step", "elapsed"} & set(config)  # progress lives in the status
    status = trained.status()
    assert status.step == 20 and status.best_step in (10, 20) and status.best_test_loss < 4
    assert len(config["dataset"]["sha256"]) == 64
    model, _ = trained.load_model()
    assert model.num_params() == config["params"]
    assert [r["kind"] for r in trained.read_metrics()].count("eval") == 3
    assert trained.status().state == "finished"


def test_truncated_weights(trained):
    raw = trained.file("model.safetensors").read_bytes()
    trained.file("model.safetensors").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="damaged or not a safetensors"):
        trained.load_model()


def test_garbage_weights(trained):
    trained.file("model.safetensors").write_bytes(b"\xff" * 100)
    with pytest.raises(CheckpointError, match="damaged or not a safetensors"):
        trained.load_model()


class Exploit:
    def __reduce__(self):
        import os

        return (os.system, ("touch pwned-by-pickle",))


def test_pickle_is_never_loaded(trained, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    trained.file("model.safetensors").write_bytes(pickle.dumps({"wte.weight": Exploit()}))
    with pytest.raises(CheckpointError, match="not a safetensors"):
        trained.load_model()
    assert not (tmp_path / "pwned-by-pickle").exists()


def test_config_shapes_that_do_not_match_the_weights(trained):
    config = json.loads(trained.file("config.json").read_text())
    config["model"]["n_embd2"] = 17
    trained.file("config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="do not fit its config"):
        trained.load_model()


def test_unknown_architecture(trained):
    config = json.loads(trained.file("config.json").read_text())
    config["arch"] = "mamba"
    trained.file("config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="unknown architecture 'mamba'"):
        trained.load_model()


def test_garbage_config(trained):
    trained.file("config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="damaged"):
        trained.load_model()
    trained.file("config.json").write_text(json.dumps({"arch": "mlp"}))
    with pytest.raises(CheckpointError, match="not a valid run config"):
        trained.load_model()


def test_missing_run(tmp_path):
    with pytest.raises(CheckpointError, match="No run at"):
        Run(tmp_path / "nothing").load_model()


def test_torn_metrics_line_is_skipped(trained):
    with open(trained.file("metrics.jsonl"), "a") as f:
        f.write('{"kind": "train", "st')
    assert all("step" in r for r in trained.read_metrics())


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "a/b", "a\\b", "x\x00y", "a" * 300, "", "..", ".hidden"])
def test_unsafe_names_are_refused(name):
    with pytest.raises(UnsafeNameError, match="not a valid"):
        check_name(name)


@pytest.mark.parametrize("name,expected", [
    ("../../etc/passwd", "passwd"), ("My Names (2).txt", "My-Names-2"), ("x\x00y.txt", "xy"),
    ("a" * 300 + ".txt", "a" * 64), ("....txt", "dataset"),
])
def test_upload_names_are_sanitised(name, expected):
    assert sanitize_name(name) == expected
    check_name(sanitize_name(name))


def test_resume_continues_from_the_last_checkpoint(tmp_path, small_file):
    dataset = load_file(small_file)
    run = Run(tmp_path / "run")
    create_run(run, dataset, "gru", {"n_embd": 8, "n_embd2": 16}, make_train_config("gru", max_steps=40, eval_interval=20))
    stops = iter([False] * 25 + [True] * 100)
    assert train_run(run, dataset, should_stop=lambda: next(stops)) == "stopped"
    assert run.status().step == 25
    weights_at_stop = run.read_tensors("last.safetensors")
    assert int(weights_at_stop["progress.step"]) == 25
    run.update_config(train={**run.read_config()["train"], "max_steps": 60})
    assert train_run(run, dataset) == "finished"
    steps = [r["step"] for r in run.read_metrics() if r["kind"] == "eval"]
    assert steps == [0, 20, 25, 40, 60]
    assert torch.is_tensor(run.read_tensors("last.safetensors")["optim.0.exp_avg"])

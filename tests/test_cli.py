"""The classic command line, end to end: train a few steps, then --sample-only, for every architecture."""
import json
import os
import subprocess
import sys

import pytest

from makemore.cli import main
from makemore.models import ARCHITECTURES
from tests.conftest import ROOT


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_train_then_sample_only(tmp_path, small_file, capsys, arch):
    out = tmp_path / "out"
    argv = ["-i", str(small_file), "-o", str(out), "--type", arch, "--max-steps", "30", "--eval-interval", "10",
            "--device", "cpu", "-n", "4"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "step 30 | train loss" in printed and "finished: best test loss" in printed
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()

    assert main(["-i", str(small_file), "-o", str(out), "--sample-only", "--num-samples", "12", "--top-k", "5",
                 "--temperature", "0.8", "--top-p", "0.9", "--seed", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("12 samples") or "samples that are" in line for line in lines)
    body = [line for line in lines if not line.startswith("-") and "samples" not in line]
    assert len(body) == 12


def test_existing_run_is_not_overwritten_without_resume(tmp_path, small_file, capsys):
    out = tmp_path / "out"
    assert main(["-i", str(small_file), "-o", str(out), "--type", "bigram", "--max-steps", "5"]) == 0
    before = (out / "model.safetensors").read_bytes()
    assert main(["-i", str(small_file), "-o", str(out), "--type", "bigram", "--max-steps", "5"]) == 1
    assert "--resume" in capsys.readouterr().err
    assert (out / "model.safetensors").read_bytes() == before


def test_resume_with_a_higher_limit_trains_on_and_a_reached_limit_is_refused(tmp_path, small_file, capsys):
    out = tmp_path / "out"
    assert main(["-i", str(small_file), "-o", str(out), "--type", "mlp", "--max-steps", "20",
                 "--eval-interval", "10"]) == 0
    capsys.readouterr()
    assert main(["-i", str(small_file), "-o", str(out), "--resume"]) == 1
    assert "already reached its limit (step 20 of 20" in capsys.readouterr().err
    assert main(["-i", str(small_file), "-o", str(out), "--resume", "--max-steps", "40"]) == 0
    assert "step 40 | train loss" in capsys.readouterr().out
    config = json.loads((out / "config.json").read_text())
    status = json.loads((out / "status.json").read_text())
    assert config["train"]["max_steps"] == 40 and status["step"] == 40 and status["max_steps"] == 40


def run_cli(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "makemore", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("args,message", [
    (["--learning-rate", "-1"], "learning rate must be above 0"),
    (["--learning-rate", "0"], "learning rate must be above 0"),
    (["--n-embd", "30", "--n-head", "4"], "divisible by n_head"),
    (["--type", "mlp", "--block-size", "0"], "context must be a whole number from 1"),
    (["--n-embd", "4096", "--n-layer", "32"], "parameters, over the limit"),
    (["--max-steps", "100000000"], "over this server's limit"),
    (["--time-budget", "1e9"], "over this server's limit"),
    (["--max-steps", "0"], "max steps must be a positive number"),
])
def test_bad_hyperparameters_exit_with_one_line(tmp_path, small_file, args, message):
    result = run_cli("-i", str(small_file), "-o", str(tmp_path / "out"), *args, cwd=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "model.safetensors").exists()


@pytest.mark.parametrize("content,message", [
    (b"", "no examples"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not text"),
    ("caf\u00e9\n".encode("latin-1") * 3, "not UTF-8: line 1"),
])
def test_bad_input_file_exits_with_one_line(tmp_path, content, message):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    result = run_cli("-i", str(bad), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr


def test_sample_only_without_a_run(tmp_path):
    result = run_cli("-o", str(tmp_path / "none"), "--sample-only", cwd=tmp_path)
    assert result.returncode == 1 and "No run at" in result.stderr


def test_unknown_type_is_an_argparse_error(tmp_path):
    result = run_cli("--type", "mamba", cwd=tmp_path)
    assert result.returncode == 2 and "invalid choice" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    result = run_cli("--max-steps", "lots", cwd=tmp_path)
    assert result.returncode == 2 and "invalid int value: 'lots'" in result.stderr

"""Fine-tuning: rows carried over by character, fresh rows for new characters, every architecture, the
init_from record, refused shape overrides, and the CLI's --init-from training from a shipped model."""
import hashlib
import json
import math

import pytest
import torch

from makemore.cli import main
from makemore.data import load_file
from makemore.errors import ConfigError
from makemore.finetune import INIT, create_finetune_run
from makemore.models import ARCHITECTURES, build_model
from makemore.store import Run
from makemore.train import create_run, make_train_config
from tests.conftest import ROOT, TWENTY_NAMES

TINY = dict(n_layer=2, n_head=2, n_embd=8, n_embd2=12, context=3, dropout=0.0)
# The tensors with one row per token, and which dimensions: read from the model files, on purpose written out
# here rather than derived, so that the test checks the probe in makemore/finetune.py.
VOCAB_ROWS = {"bigram": {"logits": (0, 1)}, "mlp": {"wte.weight": (0,), "head.weight": (0,), "head.bias": (0,)}}
DEFAULT_ROWS = {"wte.weight": (0,), "head.weight": (0,), "head.bias": (0,)}
POSITION_ROWS = {"transformer": "wpe.weight", "bow": "wpe.weight"}
# The new data: some characters of the old (a, e, l, m, ...), new ones (capitals, digits, '-'), and longer lines.
NEW_LINES = ["Emma-2", "Olivia", "zed", "Ava 3000", "Mila", "Ellabellamarie", "Q-ranch", "Nova", "emily", "Aria"]


def write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def tiny_source(tmp_path, arch) -> Run:
    """A run on twenty names whose weights are random everywhere (so no row equals a fresh one by chance)."""
    dataset = load_file(write(tmp_path / "twenty.txt", TWENTY_NAMES))
    run = Run(tmp_path / f"source-{arch}")
    overrides = {k: v for k, v in TINY.items() if k in ARCHITECTURES[arch].uses}
    create_run(run, dataset, arch, overrides, make_train_config(arch, max_steps=10))
    model = build_model(arch, run.model_config())
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p))
    run.save_weights(model, 0, 1.0)
    return run


def token_rows(name, arch):
    return VOCAB_ROWS.get(arch, DEFAULT_ROWS).get(name, ())


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_known_characters_keep_their_rows_and_new_ones_start_fresh(tmp_path, arch):
    source = tiny_source(tmp_path, arch)
    old = source.read_tensors()
    old_vocab = source.vocab()
    dataset = load_file(write(tmp_path / "new.txt", NEW_LINES))
    run = Run(tmp_path / "tuned")
    train_config = make_train_config(arch, max_steps=5, seed=11)
    config = create_finetune_run(run, dataset, source, train_config)
    new = run.read_tensors(INIT)
    torch.manual_seed(11)
    fresh = build_model(arch, run.model_config(config)).state_dict()
    new_vocab = dataset.vocab
    assert config["arch"] == arch and config["vocab"] == new_vocab.chars
    assert config["model"]["block_size"] == dataset.block_size > source.read_config()["model"]["block_size"]

    shared = [c for c in new_vocab.chars if c in old_vocab.stoi]
    unseen = [c for c in new_vocab.chars if c not in old_vocab.stoi]
    assert len(shared) >= 5 and len(unseen) >= 5
    known_new = torch.tensor([0] + [new_vocab.stoi[c] for c in shared])  # the boundary, then shared characters
    known_old = torch.tensor([0] + [old_vocab.stoi[c] for c in shared])
    unseen_new = torch.tensor([new_vocab.stoi[c] for c in unseen])
    checked = 0
    for name, tensor in new.items():
        dims = token_rows(name, arch)
        if dims == (0, 1):  # the bigram table: rows and columns by character
            checked += 1
            assert torch.equal(tensor[known_new][:, known_new], old[name][known_old][:, known_old])
            assert torch.equal(tensor[unseen_new], fresh[name][unseen_new])
            assert torch.equal(tensor[:, unseen_new], fresh[name][:, unseen_new])
        elif dims == (0,):
            checked += 1
            assert torch.equal(tensor[known_new], old[name][known_old]), f"{name}: known rows not carried over"
            assert torch.equal(tensor[unseen_new], fresh[name][unseen_new]), f"{name}: new rows not fresh"
            if arch == "mlp" and name == "wte.weight":  # the extra "before the line" row follows the vocabulary
                assert tensor.size(0) == new_vocab.size + 1
                assert torch.equal(tensor[new_vocab.size], old[name][old_vocab.size])
            else:
                assert tensor.size(0) == new_vocab.size
        elif POSITION_ROWS.get(arch) == name:
            common = old[name].size(0)
            assert torch.equal(tensor[:common], old[name])
            assert len(tensor) > common and torch.equal(tensor[common:], old[name][-1].expand_as(tensor[common:]))
        else:
            assert torch.equal(tensor, old[name]), f"{name} was not copied"
    assert checked == len(VOCAB_ROWS.get(arch, DEFAULT_ROWS)) - (arch == "transformer")  # its head has no bias


def test_config_records_the_source_and_the_hash_of_its_weights(tmp_path):
    source = tiny_source(tmp_path, "gru")
    dataset = load_file(write(tmp_path / "new.txt", NEW_LINES))
    run = Run(tmp_path / "tuned")
    config = create_finetune_run(run, dataset, source, make_train_config("gru", max_steps=5))
    digest = hashlib.sha256(source.file("model.safetensors").read_bytes()).hexdigest()
    assert config["init_from"] == {"run_id": source.id, "weights_sha256": digest}
    assert json.loads(run.file("config.json").read_text())["init_from"]["weights_sha256"] == digest


def test_a_shape_override_is_refused_naming_the_field_and_nothing_is_written(tmp_path):
    source = tiny_source(tmp_path, "transformer")
    dataset = load_file(write(tmp_path / "new.txt", NEW_LINES))
    run = Run(tmp_path / "tuned")
    with pytest.raises(ConfigError, match=r"n_embd: .*whose n_embd is 8, so it cannot be 16"):
        create_finetune_run(run, dataset, source, make_train_config("transformer"), model_overrides={"n_embd": 16})
    assert not run.exists()
    # the same shape, or another dropout, is fine
    config = create_finetune_run(run, dataset, source, make_train_config("transformer"),
                                 model_overrides={"n_embd": 8, "n_layer": None, "dropout": 0.2})
    assert config["model"]["n_embd"] == 8 and config["model"]["dropout"] == 0.2


def test_cli_refuses_another_architecture_and_resume_together(tmp_path, capsys):
    source = tiny_source(tmp_path, "gru")
    data = write(tmp_path / "new.txt", NEW_LINES)
    assert main(["-i", str(data), "-o", str(tmp_path / "a"), "--init-from", str(source.path), "--type", "mlp"]) == 1
    assert "arch: source-gru is a gru" in capsys.readouterr().err
    assert main(["-i", str(data), "-o", str(tmp_path / "b"), "--init-from", str(tmp_path / "nothing")]) == 1
    assert "No run at" in capsys.readouterr().err
    assert main(["-i", str(data), "-o", str(tmp_path / "c"), "--init-from", str(source.path), "--resume"]) == 1
    assert "give only one of them" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "c").exists()


def first_eval(run_dir):
    return next(r for r in Run(run_dir).read_metrics() if r["kind"] == "eval" and r["step"] == 0)


def test_cli_init_from_a_shipped_model_starts_far_below_an_untrained_loss(tmp_path, capsys):
    # names-like data with a few characters names.txt lacks, so that the vocabulary differs
    lines = (ROOT / "datasets" / "names.txt").read_text().split()[5000:5300] + ["Zoe-2", "Ann Marie", "Jo3"]
    data = write(tmp_path / "names-like.txt", lines)
    common = ["-i", str(data), "--max-steps", "10", "--eval-interval", "10", "--device", "cpu"]
    assert main([*common, "-o", str(tmp_path / "tuned"), "--init-from", str(ROOT / "checkpoints" / "names-gru")]) == 0
    printed = capsys.readouterr().out
    assert "starting from the weights of names-gru" in printed and "finished" in printed
    assert main([*common, "-o", str(tmp_path / "fresh"), "--type", "gru"]) == 0
    uniform = math.log(load_file(data).vocab.size)
    tuned, fresh = first_eval(tmp_path / "tuned"), first_eval(tmp_path / "fresh")
    assert abs(fresh["test_loss"] - uniform) < 0.1
    assert tuned["test_loss"] < uniform - 0.8, (tuned, uniform)
    config = json.loads((tmp_path / "tuned" / "config.json").read_text())
    assert config["arch"] == "gru" and config["init_from"]["run_id"] == "names-gru"
    assert config["model"]["n_embd2"] == Run(ROOT / "checkpoints" / "names-gru").read_config()["model"]["n_embd2"]


def test_shorter_lines_keep_the_first_positions(tmp_path):
    long_source = Run(tmp_path / "long")
    long_data = load_file(write(tmp_path / "long.txt", NEW_LINES))
    create_run(long_source, long_data, "transformer", dict(n_layer=1, n_head=2, n_embd=8), make_train_config("transformer"))
    model = build_model("transformer", long_source.model_config())
    long_source.save_weights(model, 0, 1.0)
    short = load_file(write(tmp_path / "twenty.txt", TWENTY_NAMES))
    run = Run(tmp_path / "tuned")
    create_finetune_run(run, short, long_source, make_train_config("transformer"))
    wpe = run.read_tensors(INIT)["wpe.weight"]
    assert len(wpe) == short.block_size < long_data.block_size
    assert torch.equal(wpe, model.wpe.weight.detach()[: short.block_size])

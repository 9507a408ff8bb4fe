"""The quality round's training options: the wsd schedule, the validation split that chooses the checkpoint,
the weight average, Muon on the hidden matrices, the measured defaults per time budget, and the mean ±
spread over seeds in Compare."""
import json

import pytest
import torch

from makemore import budgets
from makemore.cli import main
from makemore.data import load_file
from makemore.hparams import TrainConfig
from makemore.models import ARCHITECTURES, build_model, make_config
from makemore.optimizer import FlatAdamW, WeightAverage, hidden_matrices
from makemore.runs import prepare
from makemore.store import Run, recipe_of
from makemore.train import learning_rate, stored_train_config
from makemore.ui.compare_tab import over_seeds


def train_cli(small_file, out, *flags, steps=30):
    argv = ["-i", str(small_file), "-o", str(out), "--max-steps", str(steps), "--eval-interval", "10",
            "--device", "cpu", "-n", "2", *flags]
    assert main(argv) == 0
    return Run(out)


def test_wsd_holds_the_peak_then_decays_linearly_over_the_last_share():
    c = TrainConfig(learning_rate=1.0, warmup_steps=0, max_steps=1000, schedule="wsd", decay_share=0.2,
                    min_lr_ratio=0.0)
    assert learning_rate(c, 0, 0) == 1.0 and learning_rate(c, 790, 0) == 1.0
    assert learning_rate(c, 900, 0) == pytest.approx(0.5)
    assert learning_rate(c, 1000, 0) == pytest.approx(0.0)
    budgeted = TrainConfig(learning_rate=1.0, warmup_steps=0, max_steps=-1, time_budget=100, schedule="wsd",
                           decay_share=0.5, min_lr_ratio=0.1)
    assert learning_rate(budgeted, 10, 25.0) == 1.0
    assert learning_rate(budgeted, 10, 75.0) == pytest.approx(0.55)


def test_the_checkpoint_is_chosen_on_validation_and_the_classic_figure_is_kept(tmp_path, small_file):
    run = train_cli(small_file, tmp_path / "out", "--type", "mlp", steps=40)
    status = run.status()
    evals = [r for r in run.read_metrics() if r["kind"] == "eval"]
    chosen = min(evals, key=lambda r: r["val_loss"])
    assert status.best_step == chosen["step"] and status.best_val_loss == pytest.approx(chosen["val_loss"])
    assert status.best_test_loss == pytest.approx(chosen["test_loss"])
    assert status.lowest_test_loss == pytest.approx(min(r["test_loss"] for r in evals))
    assert run.read_tensors().keys() == build_model("mlp", run.model_config(run.read_config())).state_dict().keys()


def test_choosing_on_test_trains_on_every_training_line_as_the_classic(tmp_path, small_file):
    run = train_cli(small_file, tmp_path / "out", "--type", "bigram", "--choose-on", "test")
    evals = [r for r in run.read_metrics() if r["kind"] == "eval"]
    assert all("val_loss" not in r for r in evals) and run.status().best_val_loss is None
    assert run.status().best_test_loss == pytest.approx(min(r["test_loss"] for r in evals))


def test_a_config_stored_before_validation_existed_still_chooses_on_test():
    assert stored_train_config({"learning_rate": 0.01}).choose_on == "test"
    assert stored_train_config({"choose_on": "validation"}).choose_on == "validation"


def test_the_weight_average_is_what_is_evaluated_saved_and_resumed(tmp_path, small_file):
    out = tmp_path / "out"
    assert main(["-i", str(small_file), "-o", str(out), "--max-steps", "20", "--eval-interval", "20", "--type", "gru",
                 "--ema", "0.9", "--device", "cpu", "-n", "2"]) == 0
    run = Run(out)
    assert run.status().best_step == 20
    last = run.read_tensors("last.safetensors")
    assert int(last["ema.updates"]) == 20

    def flat(tensors):  # the weights in the optimizer's flat order
        model = build_model("gru", run.model_config(run.read_config()))
        model.load_state_dict({k: v for k, v in tensors.items() if not k.startswith(("optim.", "ema.", "progress."))})
        return FlatAdamW(model, lr=0.1, weight_decay=0.0).flat.data
    assert torch.equal(flat(run.read_tensors()), last["ema.average"])  # the saved best is the average
    assert not torch.equal(flat(last), last["ema.average"])  # while training goes on with the live weights
    assert main(["-i", str(small_file), "-o", str(out), "--resume", "--max-steps", "30", "--device", "cpu",
                 "-n", "2"]) == 0
    assert int(run.read_tensors("last.safetensors")["ema.updates"]) == 30


def test_the_average_forgets_the_start_quickly_then_follows_slowly():
    model = torch.nn.Linear(3, 3)
    optimizer = FlatAdamW(model, lr=0.1, weight_decay=0.0)
    average = WeightAverage(optimizer, decay=0.99)
    start = optimizer.flat.data.clone()
    optimizer.flat.data.add_(1.0)
    average.update()  # decay 2/11: mostly the new weights
    assert torch.allclose(average.average, start + 9 / 11)
    with average.swapped():
        assert torch.allclose(model.weight.detach().reshape(-1), (start + 9 / 11)[:9])
    assert torch.allclose(optimizer.flat.data, start + 1.0)


@pytest.mark.parametrize("arch", ["transformer", "gru", "mlp", "bigram"])
def test_muon_takes_the_hidden_matrices_only(arch):
    config = make_config(arch, 11, 9)
    model = build_model(arch, config)
    hidden = hidden_matrices(model, 11)
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    assert all(p.dim() == 2 and p.shape[0] != 11 and id(p) not in embeddings for p in hidden)
    assert (len(hidden) > 0) == (arch != "bigram")


def test_muon_trains_and_its_momentum_survives_a_resume(tmp_path, small_file):
    out = tmp_path / "out"
    run = train_cli(small_file, out, "--type", "transformer", "--optimizer", "muon", "--n-layer", "1",
                    "--n-embd", "16", "--n-head", "2", steps=20)
    first = run.status().best_test_loss
    tensors = run.read_tensors("last.safetensors")
    model = build_model("transformer", run.model_config(run.read_config()))
    optimizer = FlatAdamW(model, lr=1e-3, weight_decay=0.1, muon=True, vocab_size=model.config.vocab_size)
    optimizer.load_state_tensors(tensors, run.id)
    assert optimizer.muon.state and all(torch.equal(optimizer.muon.state[p]["momentum_buffer"],
                                                    tensors[f"optim.{i}.momentum_buffer"])
                                        for i, p in enumerate(optimizer.params) if p in optimizer.muon.state)
    assert main(["-i", str(small_file), "-o", str(out), "--resume", "--max-steps", "40", "--device", "cpu",
                 "-n", "2"]) == 0
    assert run.status().step == 40 and run.status().best_test_loss <= first + 0.5


def test_a_time_budget_starts_from_its_measured_row_under_what_the_caller_gives():
    rows = budgets.table()["rows"]
    assert rows, "makemore/budgets.json has no measured rows"
    row = rows[0]
    arch, budget = row["arch"], row["budget"]
    _, model, train = prepare(arch, time_budget=budget, max_steps=-1)
    assert model == {k: v for k, v in row["model"].items() if k in ARCHITECTURES[arch].uses}
    assert all(getattr(train, k) == v for k, v in row["train"].items() if k in budgets.LEARNING)
    _, _, given = prepare(arch, time_budget=budget, max_steps=-1, learning_rate=0.0123)
    assert given.learning_rate == 0.0123
    assert budgets.defaults_for(arch, budget * 1000).budget == max(budgets.measured_budgets(arch))
    assert budgets.defaults_for(arch, 0.5).budget == min(budgets.measured_budgets(arch))
    assert budgets.defaults_for(arch, None).budget is None
    assert f"{budget:g} s budget" in budgets.defaults_for(arch, budget).note


def test_runs_that_differ_only_in_their_seed_share_a_recipe():
    config = {"arch": "gru", "dataset": {"sha256": "x"}, "model": {"n_embd": 8},
              "train": {"learning_rate": 0.01, "seed": 1, "eval_interval": 10}}
    other_seed = json.loads(json.dumps(config))
    other_seed["train"].update(seed=2, eval_interval=20)
    other_rate = json.loads(json.dumps(config))
    other_rate["train"]["learning_rate"] = 0.02
    assert recipe_of(config) == recipe_of(other_seed) != recipe_of(other_rate)
    assert recipe_of({}) == ""


def test_compare_gives_the_mean_and_spread_over_seeds_of_one_recipe():
    from types import SimpleNamespace as NS
    runs = [NS(recipe="a", seed=s, status=NS(best_test_loss=v)) for s, v in ((1, 2.0), (2, 2.2), (3, 2.4))]
    runs += [NS(recipe="b", seed=1, status=NS(best_test_loss=1.9)), NS(recipe="", seed=1, status=NS(best_test_loss=1.0))]
    assert over_seeds(runs) == {"a": "2.2000 ± 0.2000 (3 seeds, 2.0000-2.4000)"}


def test_the_validation_lines_are_held_out_of_training(small_file, tmp_path):
    from makemore.train import training_splits
    dataset = load_file(small_file)
    (train_x, _), (val_x, _), (test_x, _) = training_splits(dataset, "validation")
    assert len(val_x) == len(test_x) == len(dataset.test_lines) and len(train_x) + len(val_x) == len(dataset.train_lines)
    assert training_splits(dataset, "test")[1] is None
    tiny = tmp_path / "two.txt"
    tiny.write_text("anna\nbob\n")
    (train_x, _), validation, _ = training_splits(load_file(tiny), "validation")
    assert validation is None and len(train_x) == 1  # too few lines to hold any out: chosen on test


def test_the_train_form_takes_the_row_for_its_budget_and_says_where_it_came_from():
    from makemore.ui.train_tab import architecture_defaults
    row = next(r for r in budgets.table()["rows"] if r["budget"] == min(budgets.measured_budgets(r["arch"])))
    arch = row["arch"]
    shown = architecture_defaults(arch, row["budget"], "seconds")
    for name, value in row["model"].items():
        if name in shown:
            assert shown[name]["value"] == value
    assert shown["learning_rate"] == row["train"]["learning_rate"]
    assert f"{row['budget']:g} s budget" in shown["defaults_note"] and "seeds" in shown["defaults_note"]
    by_steps = architecture_defaults(arch, 2000, "steps")
    assert "step limit" in by_steps["defaults_note"]
    assert by_steps["learning_rate"] == ARCHITECTURES[arch].training["learning_rate"]


def test_a_budget_counts_by_passes_over_the_data(monkeypatch):
    rows = [{"arch": "gru", "budget": b, "model": {"dropout": d}, "train": {"learning_rate": 0.01},
             "test_loss": {"mean": 2.0, "std": 0.01}, "seeds": 3, "candidates": 2, "data": "names.txt"}
            for b, d in ((60.0, 0.1), (300.0, 0.3))]
    monkeypatch.setattr(budgets, "table", lambda: {"measured": "a test", "lines": 32000, "rows": rows})
    assert budgets.defaults_for("gru", 60).model == {"dropout": 0.1}
    assert budgets.defaults_for("gru", 60, lines=32000).budget == 60
    small = budgets.defaults_for("gru", 60, lines=8000)  # four times the passes: like 240 s on the table's data
    assert small.budget == 300 and small.model == {"dropout": 0.3} and "as many passes as 240 s" in small.note
    assert budgets.defaults_for("gru", 120).budget == 60 and budgets.defaults_for("gru", 150).budget == 300

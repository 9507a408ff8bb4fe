"""One declaration per hyperparameter (makemore/hparams.py): the checks, the command-line flags, the form's
fields, the API parameters and the sweep grid all come from it, and every run follows one interval rule."""
import json

import pytest

from makemore import hparams
from makemore.cli import main, parser
from makemore.errors import ConfigError
from makemore.hparams import ModelConfig, TrainConfig
from makemore.models import ARCHITECTURES, hyperparameter_fields, make_config
from makemore.runs import prepare
from makemore.sweep import plan_sweep
from makemore.train import intervals, make_train_config

CLASSIC = ["-i", "-o", "--type", "--n-layer", "--n-head", "--n-embd", "--n-embd2", "--block-size", "--max-steps",
           "-b", "--batch-size", "-l", "--learning-rate", "-w", "--weight-decay", "--seed", "--sample-only",
           "--init-from", "--resume", "--eval-interval", "--time-budget", "--dropout", "--compile", "--top-k",
           "--temperature", "--num-samples", "--device", "-n"]


def test_every_config_field_is_declared_once_with_words_label_and_help():
    declared = [f for f in ModelConfig.__dataclass_fields__ if f not in ("vocab_size", "block_size")]
    assert list(hparams.MODEL) == declared and list(hparams.TRAIN) == list(TrainConfig.__dataclass_fields__)
    for name, spec in hparams.ALL.items():
        assert spec.name == name and spec.words and spec.label and spec.help, name
        assert spec.ok(hparams.DEFAULTS[name]), f"{name}'s own default breaks its range"


def bad_values(spec):
    """Values just outside the declared range (and of the wrong type)."""
    if spec.kind is bool:
        return [1, "yes"]
    if spec.kind is str:
        return ["sideways", 3]
    values = ["3", None, float("nan")]
    if spec.low is not None:
        values.append(spec.low if spec.open_low else spec.low - 1)
    if spec.high is not None:
        values.append(spec.high if spec.open_high else spec.high + 1)
    return values + ([2.5] if spec.kind is int else [])


@pytest.mark.parametrize("name", list(hparams.ALL))
def test_each_range_check_refuses_what_is_outside_and_says_so(name):
    spec = hparams.get(name)
    for value in bad_values(spec):
        if value in spec.also and not isinstance(value, (bool, str)):
            continue
        with pytest.raises(ConfigError, match=f"^{spec.words} must be .*, not {value!r}"):
            hparams.check_value(name, value)
    hparams.check_value(name, hparams.DEFAULTS[name])


def test_checks_run_on_every_config_made():
    with pytest.raises(ConfigError, match="context must be a whole number from 1 to 256, not 0"):
        make_config("mlp", 10, 10, context=0)
    with pytest.raises(ConfigError, match="dropout must be at least 0 and below 1"):
        make_config("gru", 10, 10, dropout=1.0)
    with pytest.raises(ConfigError, match="schedule must be 'wsd' or 'cosine' or 'constant'"):
        make_train_config("gru", schedule="linear")
    with pytest.raises(ConfigError, match="Unknown training option 'lr'"):
        make_train_config("gru", lr=0.1)
    assert make_train_config("gru", batch_size=32.0).batch_size == 32  # a whole float from a number field


def test_the_command_line_flags_are_generated_with_the_classic_names():
    p = parser()
    flags = {flag for action in p._actions for flag in action.option_strings}
    assert set(CLASSIC) <= flags
    for spec in hparams.ALL.values():
        assert set(spec.flags) <= flags
    args = p.parse_args(["--n-layer", "3", "-l", "0.01", "--block-size", "5", "--compile", "--schedule", "constant"])
    assert (args.n_layer, args.learning_rate, args.context, args.compile, args.schedule) == (3, 0.01, 5, True,
                                                                                           "constant")
    assert args.n_embd is None and args.seed is None  # blank: the architecture's default, or the declared one


def test_the_form_description_carries_bounds_users_and_per_architecture_defaults():
    fields = {f["name"]: f for f in hyperparameter_fields()}
    assert list(fields) == list(hparams.ALL)
    assert (fields["n_layer"]["minimum"], fields["n_layer"]["maximum"], fields["n_layer"]["kind"]) == (1, 32, "int")
    assert fields["dropout"]["open_maximum"] and fields["learning_rate"]["open_minimum"]
    for arch, spec in ARCHITECTURES.items():
        for name in hparams.MODEL:
            assert (arch in fields[name]["used_by"]) == (name in spec.uses)
        for name, value in spec.defaults.items():
            assert fields[name]["defaults"][arch] == value
        assert fields["learning_rate"]["defaults"][arch] == spec.training["learning_rate"]


def test_the_api_parameters_are_typed_and_blank_by_default():
    from tests.test_run_model import API

    parameters = hparams.api_parameters()
    names = [p.name for p in parameters]
    assert set(names) <= set(API["/start_training"])
    assert all(p.default is None for p in parameters)
    assert {p.name: p.annotation for p in parameters}["n_embd"] == (int | None)
    assert all(f"{name} (" in hparams.api_doc() for name in names)


def test_one_interval_rule_for_the_command_line_the_app_and_sweeps(tmp_path, small_file):
    assert intervals(400) == (20, 4) and intervals(-1) == (100, 20) and intervals(10**6) == (500, 50)
    assert intervals(400, 7) == (7, 1)
    out = tmp_path / "out"
    assert main(["-i", str(small_file), "-o", str(out), "--type", "bigram", "--max-steps", "400", "--threads", "1"]) == 0
    train = json.loads((out / "config.json").read_text())["train"]
    assert (train["eval_interval"], train["log_interval"]) == intervals(400)
    _, _, app = prepare("bigram", max_steps=400, time_budget=0.0)  # what JobManager.create makes, steps=400
    assert (app.eval_interval, app.log_interval) == intervals(400)
    plan = plan_sweep(small_file, tmp_path / "runs", ["bigram"], [], budget=5)
    assert {(t["train"]["eval_interval"], t["train"]["log_interval"]) for t in plan.trials} == {intervals(-1)}


def test_the_sweep_grid_takes_the_declared_names_and_types(tmp_path, small_file):
    grid = hparams.grid_names([ARCHITECTURES["cnn"]])
    assert "n_layer" in grid and "n_embd" not in grid and "time_budget" not in grid and "schedule" in grid
    plan = plan_sweep(small_file, tmp_path / "runs", ["cnn"], ["schedule=cosine,constant", "compile=no"], budget=5)
    assert sorted(t["params"]["schedule"] for t in plan.trials) == ["constant", "cosine"]
    assert all(t["train"]["compile"] is False for t in plan.trials)
    with pytest.raises(ConfigError, match="schedule must be 'wsd' or 'cosine' or 'constant'"):
        plan_sweep(small_file, tmp_path / "runs", ["cnn"], ["schedule=linear"], budget=5)

"""An architecture is one file: a toy ninth one (tests/toy_architecture.py), registered here and nowhere
else, trains through the engine in a worker process, samples, has its memory estimated from its own spec,
and shows its Look inside views; and nothing outside models/ knows an architecture by name."""
import ast

import pytest

from makemore import introspect, models
from makemore.engine import Engine, NotApplicable
from makemore.errors import ConfigError, QuotaError
from makemore.jobs import JobManager, kill_workers
from makemore.limits import load_limits
from makemore.workspace import Workspace
from tests import toy_architecture
from tests.conftest import ROOT, wait_for

TOY = toy_architecture.SPEC.name


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setenv("MAKEMORE_ARCHITECTURES", "tests.toy_architecture")  # for the worker processes
    models.register(toy_architecture.SPEC)
    yield toy_architecture.SPEC
    models.unregister(TOY)


@pytest.fixture
def ws(tmp_path):
    (tmp_path / "datasets").mkdir()
    lines = (ROOT / "datasets" / "names.txt").read_text(encoding="utf-8").splitlines()[:300]
    (tmp_path / "datasets" / "tiny.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Workspace(tmp_path, load_limits({"MAKEMORE_MAX_JOBS": "1"}))


def finished(jobs, session, run_id):
    jobs.schedule()  # the scheduler thread is off: reap here
    return session.run(run_id).state.value == "finished"


def test_a_ninth_architecture_in_one_file_trains_samples_and_shows_its_views_through_the_engine(toy, ws):
    assert list(models.ARCHITECTURES)[-1] == TOY and len(models.ARCHITECTURES) == 9
    jobs = JobManager(ws, scheduler=False, device="cpu")
    session = Engine(jobs.owners, jobs).session()
    try:
        run = session.start_training("tiny", TOY, {"n_embd": 8}, steps=30, eval_interval=10)
        wait_for(lambda: finished(jobs, session, run.id), timeout=120, what="the toy run to finish")
    finally:
        kill_workers(ws.root)
    assert run.arch == TOY and run.params == models.count_params(TOY, models.make_config(TOY, 27, 16, n_embd=8))
    assert [r["step"] for r in session.metrics(run.id) if r["kind"] == "eval"] == [0, 10, 20, 30]

    samples = session.sample(run.id, num_samples=5, seed=1)
    assert len(samples) == 5 and all(s.origin in ("new", "train", "test") for s in samples)

    embedding = session.embedding_map(run.id)
    assert len(embedding.labels) == 27 and embedding.method == "pca"
    hidden = session.hidden_activations(run.id, "emma")
    assert hidden.layer == "the GELU layer's output" and hidden.total_units == 32
    health = session.training_health(run.id)
    assert health.steps == [0, 10, 20] and list(health.layers) == ["hidden.1"]  # the GELU, found by its type
    attention = session.attention_map(run.id, "emma")
    assert isinstance(attention, NotApplicable)
    assert attention.reason == f"Attention exists only in the transformer; {run.id} is a {TOY}."
    model, _ = ws.model(run.id)
    with pytest.raises(ConfigError, match="Only the transformer has attention"):
        introspect.attention_map(model, ws.run(run.id).vocab(), "emma")


def test_the_memory_estimate_comes_from_the_architectures_spec(toy, ws):
    config = models.make_config(TOY, 28, 16, n_embd=8)
    params = models.count_params(TOY, config)
    activations = 64 * 16 * (9 * 8 + 3 * 28)  # batch x block x (the toy's own floats + logits and their gradient)
    assert models.estimate_memory_mb(TOY, config, 64) == pytest.approx(400 + (16 * params + 4 * activations) / 1e6)

    small = Workspace(ws.root, load_limits({"MAKEMORE_MAX_JOB_MEMORY_MB": "300"}))
    jobs = JobManager(small, scheduler=False, device="cpu")
    with pytest.raises(QuotaError, match="would need about 40\\d MB"):
        Engine(jobs.owners, jobs).session().start_training("tiny", TOY, steps=10)
    assert not [run.id for run in small.list_runs() if TOY in run.id]  # nothing left behind (ids name the arch)


def test_the_train_form_and_the_sweep_grid_know_the_new_architecture(toy):
    fields = {f["name"]: f for f in models.hyperparameter_fields()}
    assert TOY in fields["n_embd"]["used_by"] and TOY not in fields["n_layer"]["used_by"]
    assert fields["n_embd"]["defaults"][TOY] == 12 and fields["learning_rate"]["defaults"][TOY] == 1e-2
    from makemore.hparams import grid_names
    assert "n_embd" in grid_names([toy]) and "n_layer" not in grid_names([toy])


CORE = [p for p in (ROOT / "makemore").rglob("*.py") if "models" not in p.parts and "ui" not in p.parts]


def test_nothing_outside_models_names_an_architecture_or_imports_a_model_class():
    names = set(models.ARCHITECTURES)
    for path in CORE + [ROOT / "scripts" / "pretrain.py"]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        assert not literals & names, f"{path.name} names {literals & names}"
        modules = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not {m for m in modules if ".models." in f".{m}." and not m.endswith("models")}, path.name


def test_a_spec_naming_an_undeclared_hyperparameter_is_refused_at_registration():
    from dataclasses import replace

    for bad in (dict(uses=("n_embd", "width")), dict(defaults={"width": 3}), dict(training={"lr": 0.1}),
                dict(training={"seed": 1})):  # the seed is one for every architecture, not each one's own
        with pytest.raises(ConfigError, match="does not declare"):
            models.register(replace(toy_architecture.SPEC, name="bad", **bad))
    assert "bad" not in models.ARCHITECTURES

"""The run model: one typed status that never loses a field, and one test split for the CLI and the app."""
import json
import shutil

import pytest

from makemore.cli import main
from makemore.data import load_file
from makemore.errors import TrainingFailed
from makemore.jobs import JobManager
from makemore.limits import load_limits
from makemore.store import RunState, RunStatus
from makemore.train import train_and_record
from makemore.workspace import Workspace


@pytest.fixture
def jobs(tmp_path, small_file):
    """A job manager that never launches workers (no free slot): the tests play the worker in-process."""
    ws = Workspace(tmp_path / "root", load_limits({"MAKEMORE_MAX_JOBS": "0"}))
    shutil.copyfile(small_file, ws.datasets / "twenty.txt")
    manager = JobManager(ws, scheduler=False, device="cpu")
    yield manager
    manager.close()


def stop_after(steps):
    calls = iter(range(10**6))
    return lambda: next(calls) >= steps


def test_status_never_loses_a_field_from_create_to_fail(jobs, small_file, tmp_path):
    ws = jobs.ws
    run = ws.run(jobs.create("twenty", "mlp", {"n_embd": 8, "n_embd2": 16}, steps=30, eval_interval=10))
    queued = run.status()
    assert queued.state == RunState.QUEUED and queued.max_steps == 30 and queued.time_budget == 0
    assert queued.queued_at and queued.step == 0 and queued.best_test_loss is None

    dataset = ws.load_dataset("twenty")
    assert train_and_record(run, dataset, should_stop=stop_after(15)) == RunState.STOPPED
    stopped = run.status()
    assert stopped.state == RunState.STOPPED and stopped.step == 15 and stopped.max_steps == 30
    assert stopped.best_test_loss is not None and stopped.best_step in (10, 15) and stopped.elapsed > 0
    assert stopped.queued_at == queued.queued_at and stopped.tokens_per_s and stopped.pid is None

    assert jobs.resume(run.id) == "queued"
    requeued = run.status()
    assert (requeued.step, requeued.best_test_loss, requeued.elapsed) == (15, stopped.best_test_loss, stopped.elapsed)

    assert train_and_record(run, dataset) == RunState.FINISHED
    finished = run.status()
    assert finished.state == RunState.FINISHED and finished.step == 30 and finished.max_steps == 30
    # the checkpoint is chosen on validation: its validation loss never rises; the classic's figure neither
    assert finished.best_val_loss <= stopped.best_val_loss and finished.elapsed > stopped.elapsed
    assert finished.lowest_test_loss <= stopped.lowest_test_loss
    assert finished.progress == 1.0

    assert jobs.resume(run.id, max_steps=60) == "queued"
    other = tmp_path / "other.txt"
    other.write_text("abc\ndef\nghi\n", encoding="utf-8")
    with pytest.raises(TrainingFailed, match="not the one run"):
        train_and_record(run, load_file(other))
    failed = run.status()
    assert failed.state == RunState.FAILED and "not the one run" in failed.error
    assert (failed.step, failed.max_steps, failed.best_test_loss, failed.best_step) == \
        (30, 60, finished.best_test_loss, finished.best_step)
    assert RunStatus.from_dict(json.loads(run.file("status.json").read_text())) == failed


def test_a_time_budget_run_keeps_its_budget_and_a_diverged_run_its_step(jobs):
    ws = jobs.ws
    run = ws.run(jobs.create("twenty", "bigram", seconds=0.5))
    assert train_and_record(run, ws.load_dataset("twenty")) == RunState.FINISHED
    status = run.status()
    assert status.time_budget == 0.5 and status.max_steps == -1 and status.step > 0 and status.elapsed >= 0.5

    run = ws.run(jobs.create("twenty", "mlp", steps=300, learning_rate=10.0, eval_interval=100))
    with pytest.raises(TrainingFailed, match="diverged"):
        train_and_record(run, ws.load_dataset("twenty"))
    status = run.status()
    assert status.state == RunState.FAILED and status.step > 0 and status.best_test_loss is not None


def test_the_cli_and_the_app_score_on_the_same_test_lines(jobs, small_file, tmp_path):
    out = tmp_path / "cli-run"
    assert main(["-i", str(small_file), "-o", str(out), "--type", "bigram", "--max-steps", "5", "--seed", "42"]) == 0
    cli_config = json.loads((out / "config.json").read_text())
    app_config = jobs.ws.run(jobs.create("twenty", "bigram", steps=5, seed=7)).read_config()
    assert cli_config["train"]["seed"] == 42 and app_config["train"]["seed"] == 7  # the training seeds differ...
    assert cli_config["split_seed"] == app_config["split_seed"]  # ...the split does not
    assert cli_config["dataset"]["sha256"] == app_config["dataset"]["sha256"]
    cli_lines = load_file(small_file, cli_config["split_seed"]).test_lines
    app_lines = jobs.ws.load_dataset("twenty").test_lines
    assert cli_lines == app_lines


# The API contract: names and parameter names (one name for one thing, issue 19: `run_id` for a run, `dataset`
# for a data set).
API = {
    "/compare_runs": ["run_ids", "x_axis", "temperature", "num_samples", "seed", "label"],
    "/dataset_stats": ["dataset"], "/delete_dataset": ["dataset"], "/list_runs": [],
    "/resume_training": ["run_id", "max_steps", "time_budget"], "/run_progress": ["run_id"], "/run_status": ["run_id"],
    "/sample": ["run_id", "temperature", "top_k", "top_p", "num_samples", "prefix", "seed", "label"],
    "/score_line": ["run_id", "text", "label"],
    "/start_training": ["dataset", "arch", "n_layer", "n_head", "n_embd", "n_embd2", "context", "dropout",
                        "learning_rate", "batch_size", "weight_decay", "amount", "unit", "seed", "eval_interval",
                        "shown_for", "start_from"],
    "/stop_training": ["run_id"], "/train_all": ["dataset", "seconds", "seed"], "/upload_dataset": ["path", "text_column", "label_column"],
    "/rename_run": ["run_id", "name"], "/publish_run": ["run_id", "published"],
    "/generate_ideas": ["run_id", "count", "only_new", "min_len", "max_len", "starts_with", "ends_with", "contains",
                        "exclude", "temperature", "rank", "case", "label"],
    "/shortlist": [], "/shortlist_add": ["text", "score", "is_new", "run_id"], "/shortlist_remove": ["text"],
    "/shortlist_export": [], "/list_datasets": [], "/list_models": ["with_weights_only"],
    "/train_model": ["dataset", "arch", "seconds"], "/training_status": ["run_id"],
    "/next_char_choices": ["run_id", "prefix", "top_n", "label"], "/next_char_probs": ["run_id", "line", "label"],
    "/embedding_map": ["run_id"], "/attention_map": ["run_id", "line", "label"],
    "/hidden_activations": ["run_id", "line", "top_units", "rank_by", "label"], "/training_health": ["run_id"],
    "/bigram_counts": ["dataset"], "/export_page": ["run_id", "include_training_lines"],
}


def test_every_api_endpoint_keeps_its_name_and_parameters(jobs):
    """Existing parameters keep their names and order; every endpoint that reads or changes owned data takes
    the caller's `workspace` key last, with a default (locally it is not needed)."""
    from makemore.engine import Engine
    from makemore.ui import build_demo

    info = build_demo(Engine(jobs.owners, jobs)).get_api_info()["named_endpoints"]
    for name, parameters in API.items():
        got = info[name]["parameters"]
        assert [p["parameter_name"] for p in got] == parameters + ["workspace"], name
        assert got[-1]["parameter_has_default"] and got[-1]["parameter_default"] is None, name
    assert info["/new_workspace"]["parameters"] == []


def test_sampling_scoring_and_comparing_share_one_queue_group_sized_for_the_cpu(jobs):
    """Page events and API endpoints alike: as many at once as there are cores, never one group per event."""
    from makemore.engine import Engine
    from makemore.limits import usable_cpus
    from makemore.ui import build_demo

    fns = build_demo(Engine(jobs.owners, jobs)).fns.values()
    grouped = {fn.api_name for fn in fns if fn.concurrency_id == "cpu"}
    assert {"sample", "score_line", "compare_runs", "export_page"} <= grouped and len(grouped) == 9, grouped  # + 5 page events
    assert {fn.concurrency_limit for fn in fns if fn.concurrency_id == "cpu"} == {usable_cpus()}

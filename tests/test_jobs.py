"""Training jobs as real child processes: metrics appear, stop is prompt and leaves a checkpoint,
resume continues, runs queue beyond max_jobs, and vanished workers are marked interrupted."""
import os
import signal
import subprocess
import sys
import time

import pytest

from makemore.errors import ConfigError
from makemore.jobs import JobManager, is_worker_of
from makemore.limits import load_limits
from makemore.store import Run
from makemore.train import create_run, make_train_config
from makemore.workspace import Workspace
from tests.conftest import ROOT, wait_for

TINY = dict(model={"n_embd": 8, "n_embd2": 32}, eval_interval=10)


@pytest.fixture
def ws(tmp_path):
    (tmp_path / "datasets").mkdir()
    lines = (ROOT / "datasets" / "names.txt").read_text(encoding="utf-8").splitlines()[:300]
    (tmp_path / "datasets" / "tiny.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Workspace(tmp_path, load_limits({"MAKEMORE_MAX_JOBS": "1", "MAKEMORE_MAX_RUNS_PER_DATASET": "2"}))


@pytest.fixture
def jobs(ws):
    manager = JobManager(ws, poll_interval=0.2, device="cpu")
    yield manager
    manager.close()
    for run in ws.list_runs():  # leave no worker behind
        pid = run.status().pid
        if is_worker_of(pid, run):
            os.kill(pid, signal.SIGKILL)


def state(run: Run) -> str:
    return run.status().state


def trained_past(run: Run, step: int):
    return any(r["step"] > step for r in run.read_metrics())


def test_train_stop_resume(jobs, ws):
    run = ws.run(jobs.create("tiny", "mlp", steps=100_000, **TINY))
    assert state(run) == "running"  # create returns at once, the job already launched
    wait_for(lambda: trained_past(run, 10), what="metrics past step 10")
    assert (run.path / "log.txt").exists()

    asked = time.time()
    assert jobs.stop(run.id) == "stopping"
    wait_for(lambda: state(run) == "stopped", timeout=10, what="the stopped state")
    assert time.time() - asked < 3, f"stopping took {time.time() - asked:.1f} s"
    step = run.status().step
    model, config = run.load_model()
    assert config["arch"] == "mlp" and run.file("last.safetensors").exists()

    assert jobs.resume(run.id) in ("queued", "running")
    wait_for(lambda: trained_past(run, step), what=f"training past step {step} after resume")
    jobs.stop(run.id)
    wait_for(lambda: state(run) == "stopped", timeout=10, what="the second stop")
    assert run.status().step > step


def test_finished_run_resumes_only_with_a_higher_limit(jobs, ws):
    run = ws.run(jobs.create("tiny", "bigram", steps=20, eval_interval=10))
    wait_for(lambda: state(run) == "finished", what="the run to finish")
    with pytest.raises(ConfigError, match="raise max steps"):
        jobs.resume(run.id)
    jobs.resume(run.id, max_steps=40)
    wait_for(lambda: state(run) == "finished" and run.status().step == 40, what="the extended run")


def test_runs_beyond_max_jobs_wait_in_the_queue(jobs, ws):
    first = ws.run(jobs.create("tiny", "mlp", steps=100_000, **TINY))
    second = ws.run(jobs.create("tiny", "mlp", steps=100_000, seed=1, **TINY))  # not a repeat of the first
    assert state(first) == "running" and state(second) == "queued"
    assert jobs.queued() == [second.id]
    wait_for(lambda: trained_past(first, 0), what="the first run to train")
    jobs.stop(first.id)
    wait_for(lambda: state(second) == "running", timeout=30, what="the queued run to start")
    wait_for(lambda: trained_past(second, 0), what="the second run to train")
    assert state(first) == "stopped"
    jobs.stop(second.id)
    wait_for(lambda: state(second) == "stopped", timeout=10, what="the second run to stop")


def test_queue_survives_a_restart(ws):
    run = ws.run("queued-run")
    data = ws.load_dataset("tiny")
    create_run(run, data, "bigram", {}, make_train_config("bigram", max_steps=10, eval_interval=5),
               dataset_file=ws.dataset_path("tiny"))
    run.update_status(state="queued", queued_at=time.time())
    jobs = JobManager(ws, poll_interval=0.2, device="cpu")
    try:
        wait_for(lambda: state(run) == "finished", what="the queued run to be picked up and finish")
    finally:
        jobs.close()


def test_killed_worker_is_marked_interrupted(jobs, ws):
    run = ws.run(jobs.create("tiny", "mlp", steps=100_000, **TINY))
    wait_for(lambda: trained_past(run, 0), what="the worker to train")
    pid = run.status().pid
    assert is_worker_of(pid, run)
    jobs.close()  # no scheduler: the restart below must notice on its own
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not is_worker_of(pid, run), timeout=10, what="the kill")
    JobManager(ws, scheduler=False)  # an app restart
    assert state(run) == "interrupted"
    assert "resume" in run.status().error
    jobs.schedule()  # the old manager reaps its child and leaves the state alone
    assert state(run) == "interrupted"


def test_reaper_marks_a_vanished_child_interrupted(jobs, ws):
    run = ws.run(jobs.create("tiny", "mlp", steps=100_000, **TINY))
    wait_for(lambda: trained_past(run, 0), what="the worker to train")
    os.kill(run.status().pid, signal.SIGKILL)
    wait_for(lambda: state(run) == "interrupted", timeout=10, what="the scheduler to notice")
    assert "exit code -9" in run.status().error


def test_running_status_of_a_foreign_pid_is_interrupted(ws):
    run = ws.run("foreign")
    create_run(run, ws.load_dataset("tiny"), "bigram", {}, make_train_config("bigram", max_steps=10),
               dataset_file=ws.dataset_path("tiny"))
    run.update_status(state="running", pid=os.getpid(), step=3)  # alive, but not a makemore worker
    JobManager(ws, scheduler=False)
    assert state(run) == "interrupted" and run.status().step == 3


def test_prune_keeps_shipped_and_newest_runs(ws):
    data = ws.load_dataset("tiny")
    ids = []
    for i in range(5):
        run = ws.run(f"r{i}")
        create_run(run, data, "bigram", {}, make_train_config("bigram", max_steps=10))
        run.update_config(created=1000.0 + i, shipped=i in (0, 1))
        run.update_status(state="finished")
        ids.append(run.id)
    removed = JobManager(ws, scheduler=False).prune("tiny")
    assert removed == ["r2"]  # r0 and r1 are shipped (they neither count nor go); r3 and r4 are the newest
    assert [r.id for r in ws.list_runs() if r.id in ids] == ["r4", "r3", "r1", "r0"]


def test_uploads_are_stored_safely(ws):
    assert ws.save_upload("../names.txt", b"a\nb\n") == "names-2"  # never overwrites a bundled set
    assert ws.save_upload("names.txt", b"a\nb\n") == "names-2"  # the same file again is not duplicated
    assert ws.save_upload("my list!.txt", b"x\ny\n") == "my-list"
    with pytest.raises(Exception, match="not text"):
        ws.save_upload("image.png", b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(Exception, match="bundled"):
        ws.delete_dataset("names")
    ws.delete_dataset("my-list")
    assert "my-list" not in ws.list_datasets()


def test_worker_exits_non_zero_and_the_status_says_why(ws, tmp_path):
    run = ws.run("wrong-data")
    create_run(run, ws.load_dataset("tiny"), "bigram", {}, make_train_config("bigram", max_steps=10))
    other = tmp_path / "other.txt"
    other.write_text("a\nb\nc\n")
    done = subprocess.run([sys.executable, "-m", "makemore.worker", str(run.path), str(other)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert state(run) == "failed" and "not the one run wrong-data was trained on" in run.status().error

"""Private workspaces on a shared server: owners, the gallery, forks, fair-use limits, persistence."""
import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest

from makemore.errors import AccessError, ConfigError, DataError, QuotaError
from makemore.jobs import JobManager
from makemore.limits import load_limits
from makemore.owners import Owners
from makemore.store import RunState
from makemore.train import train_and_record
from tests.conftest import ROOT, TWENTY_NAMES, wait_for

NAMES = "\n".join(TWENTY_NAMES).encode()
PUBLIC = {"MAKEMORE_PUBLIC": "1", "MAKEMORE_MAX_JOBS": "0"}  # no slot: the tests play the worker in-process


def make_owners(root, **env):
    return Owners(root, load_limits({**PUBLIC, **{f"MAKEMORE_{k.upper()}": str(v) for k, v in env.items()}}))


@pytest.fixture
def owners(tmp_path):
    return make_owners(tmp_path / "root")


@pytest.fixture
def jobs(owners):
    manager = JobManager(owners, scheduler=False, device="cpu")
    yield manager
    manager.close()


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_two_visitors_see_only_their_own_work(owners, jobs):
    alice, bob = owners.workspace(owners.new_key()), owners.workspace(owners.new_key())
    assert alice.root != bob.root and not alice.root.exists()  # nothing on disk until the first upload
    name = alice.save_upload("pets.txt", NAMES)
    run_id = jobs.create(name, "bigram", steps=10, ws=alice)
    assert name in alice.list_datasets() and name not in bob.list_datasets()
    assert "names" in bob.list_datasets()  # the bundled sets are everyone's
    assert run_id in [s.id for s in owners.visible(alice)]
    assert run_id not in [s.id for s in owners.visible(bob)]
    for action in (lambda: owners.readable_run(bob, run_id), lambda: jobs.stop(run_id, ws=bob),
                   lambda: jobs.resume(run_id, ws=bob), lambda: jobs.delete(run_id, ws=bob),
                   lambda: owners.publish(bob, run_id), lambda: jobs.train_more(run_id, ws=bob)):
        with pytest.raises(AccessError, match="no run"):
            action()
    with pytest.raises(DataError, match="no data set"):
        bob.load_dataset(name)
    with pytest.raises(AccessError, match="workspace key"):
        owners.workspace("alice")  # not a key: never guessable, never a user name
    assert owners.workspace(user="alice").owner == "hf-alice"  # a signed-in user (the name comes from OAuth)


def test_publish_shares_a_run_read_only_and_unpublish_takes_it_back(owners, jobs):
    alice, bob = owners.workspace(owners.new_key()), owners.workspace(owners.new_key())
    run = alice.run(jobs.create(alice.save_upload("pets.txt", NAMES), "bigram", steps=10, ws=alice))
    with pytest.raises(ConfigError, match="no weights yet"):
        owners.publish(alice, run.id)
    train_and_record(run, alice.load_dataset("pets"))
    owners.publish(alice, run.id)
    row = next(s for s in owners.visible(bob) if s.id == run.id)
    assert row.readonly and row.published and owners.readable_run(bob, run.id).path == run.path
    with pytest.raises(AccessError):
        jobs.delete(run.id, ws=bob)
    owners.publish(alice, run.id, published=False)
    assert run.id not in [s.id for s in owners.visible(bob)]
    with pytest.raises(AccessError):
        owners.readable_run(bob, run.id)


def test_training_a_shipped_run_further_forks_it_and_leaves_every_shipped_byte(owners, jobs):
    bob = owners.workspace(owners.new_key())
    shipped = owners.base.run("names-bigram")
    before = digest(shipped.path)
    new_id = jobs.train_more("names-bigram", max_steps=200, ws=bob)
    assert new_id != "names-bigram" and bob.run(new_id).status().state == RunState.QUEUED
    fork = bob.run(new_id)
    assert fork.read_config()["forked_from"]["run_id"] == "names-bigram" and fork.file("init.safetensors").is_file()
    train_and_record(fork, bob.load_dataset("names"))
    first = next(r for r in fork.read_metrics() if r["kind"] == "eval")
    assert first["step"] == 0 and first["test_loss"] < 2.5  # it starts from the shipped weights, not from scratch
    assert digest(shipped.path) == before
    with pytest.raises(AccessError, match="read-only"):
        jobs.resume("names-bigram", max_steps=10**5, ws=owners.base)


def test_fair_use_limits_refuse_with_clear_messages(tmp_path):
    owners = make_owners(tmp_path / "root", max_jobs_per_owner=1, max_queue=2, max_datasets_per_owner=1,
                         max_owner_bytes=400_000, max_job_memory_mb=500, max_batch_size=128)
    jobs = JobManager(owners, scheduler=False, device="cpu")
    alice, bob, carol = (owners.workspace(owners.new_key()) for _ in range(3))
    alice.save_upload("pets.txt", NAMES)
    with pytest.raises(QuotaError, match="already have 1 data sets"):
        alice.save_upload("more.txt", b"x\ny\n")
    with pytest.raises(ConfigError, match="batch size 1,024 is over this server's limit of 128"):
        jobs.create("names", "bigram", steps=10, batch_size=1024, ws=alice)
    with pytest.raises(QuotaError, match="about .* MB of memory"):
        jobs.create("names", "transformer", {"n_embd": 192, "n_layer": 4}, steps=10, batch_size=128, ws=alice)
    first = jobs.create("names", "bigram", steps=10, ws=alice)
    assert jobs.create("names", "bigram", steps=10, ws=alice) == first  # a repeated request: the same run
    with pytest.raises(QuotaError, match="already have 1 runs queued or training"):
        jobs.create("names", "bigram", steps=11, ws=alice)
    jobs.create("names", "bigram", steps=10, ws=bob)
    with pytest.raises(QuotaError, match="The demo is busy"):
        jobs.create("names", "bigram", steps=10, ws=carol)
    big = make_owners(tmp_path / "root2", max_owner_bytes=1000)
    with pytest.raises(QuotaError, match="over its 0 MB of disk"):
        big.workspace(big.new_key()).save_upload("pets.txt", NAMES * 100)


def test_the_wall_clock_cap_stops_a_steps_job(owners, jobs):
    alice = owners.workspace(owners.new_key())
    run = alice.run(jobs.create("names", "mlp", steps=20_000, ws=alice))
    done = subprocess.run([sys.executable, "-m", "makemore.worker", str(run.path), str(alice.dataset_path("names")),
                           "--max-seconds", "3", "--nice", "0"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    status = run.status()
    assert status.state == RunState.STOPPED and "limit of 0.05 minutes per job" in status.error
    assert status.step < 20_000 and run.file("model.safetensors").is_file()  # stopped long before, checkpointed


def test_a_restart_on_a_persistent_root_keeps_every_workspace(tmp_path):
    root = tmp_path / "data"
    owners = make_owners(root)
    assert (root / "checkpoints" / "names-transformer" / "model.safetensors").is_file()  # seeded on first start
    key = owners.new_key()
    alice = owners.workspace(key)
    jobs = JobManager(owners, scheduler=False, device="cpu")
    waiting = jobs.create("names", "bigram", steps=10, ws=alice)
    crashed = alice.run(jobs.create("names", "bigram", steps=11, ws=alice))
    crashed.update_status(state=RunState.RUNNING, pid=os.getpid())  # alive, but not a worker: the app died
    jobs.close()

    again = make_owners(root)
    JobManager(again, scheduler=False, device="cpu").close()  # the restart
    alice_again = again.workspace(key)
    assert alice_again.run(waiting).status().state == RunState.QUEUED
    assert alice_again.run(crashed.id).status().state == RunState.INTERRUPTED
    assert {waiting, crashed.id} <= set(alice_again.run_ids())


def test_disk_full_failure_is_resumable_and_changed_data_is_refused(owners, jobs, monkeypatch):
    alice = owners.workspace(owners.new_key())
    run = alice.run(jobs.create(alice.save_upload("pets.txt", NAMES), "bigram", steps=20, eval_interval=5, ws=alice))
    import makemore.store as store
    real_fsync, calls = store.os.fsync, []

    def full_after_a_while(fd):  # the disk fills once, mid-training, and has room again for the failed status
        calls.append(fd)
        if len(calls) == 12:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(store.os, "fsync", full_after_a_while)
    with pytest.raises(Exception, match="No space left"):
        train_and_record(run, alice.load_dataset("pets"))
    monkeypatch.setattr(store.os, "fsync", real_fsync)
    assert run.status().state == RunState.FAILED and run.status().retryable
    assert jobs.resume(run.id, ws=alice) == "queued"
    jobs.stop(run.id, ws=alice)
    alice.delete_dataset("pets")
    alice.save_upload("pets.txt", NAMES + b"\nzed")
    with pytest.raises(DataError, match="has changed since this run trained on it"):
        jobs.resume(run.id, ws=alice)


def test_idle_anonymous_workspaces_go_first_when_disk_runs_low(tmp_path):
    owners = make_owners(tmp_path / "root", idle_workspace_seconds=100, min_free_bytes=10**9)
    old, recent = owners.workspace(owners.new_key()), owners.workspace(owners.new_key())
    signed_in = owners.workspace(user="carol")
    for ws in (old, recent, signed_in):
        ws.save_upload("pets.txt", NAMES)
        owners.open(ws.owner)  # a later visit: the server notes when each owner was last seen
    now = time.time()
    os.utime(old.root / ".last_seen", (now - 1000, now - 1000))
    os.utime(recent.root / ".last_seen", (now - 10, now - 10))
    os.utime(signed_in.root / ".last_seen", (now - 5000, now - 5000))
    assert owners.evict_idle(free_bytes=10**10) == []  # plenty of disk: nothing goes
    assert owners.evict_idle(free_bytes=10) == [old.owner]
    assert not old.root.exists() and recent.root.exists() and signed_in.root.exists()


def test_locally_there_is_one_owner_and_no_key(tmp_path):
    owners = Owners(tmp_path / "root", load_limits({}))
    assert owners.workspace(None) is owners.base and owners.workspace("anything") is owners.base


def test_an_owner_holding_every_slot_yields_one_to_a_waiting_owner(tmp_path):
    owners = make_owners(tmp_path / "root", max_jobs=2, max_jobs_per_owner=3)
    (owners.base.datasets / "tiny.txt").write_text("\n".join(TWENTY_NAMES * 5), encoding="utf-8")
    jobs = JobManager(owners, poll_interval=0.2, device="cpu")
    try:
        alice, bob = owners.workspace(owners.new_key()), owners.workspace(owners.new_key())
        first, second = (alice.run(jobs.create("names", "bigram", steps=20_000, eval_interval=50, seed=seed, ws=alice))
                         for seed in (1, 2))
        wait_for(lambda: all(r.status().state == RunState.RUNNING and r.read_metrics() for r in (first, second)),
                 timeout=180, what="alice's two jobs to train")
        waiting = bob.run(jobs.create("names", "bigram", steps=20_000, ws=bob))
        wait_for(lambda: waiting.status().state == RunState.RUNNING, timeout=120, what="bob's job to start")
        states = sorted(r.status().state.value for r in (first, second))
        assert states == ["queued", "running"]  # the newer of alice's jobs checkpointed and queued again
    finally:
        jobs.close()
        for ws in owners.workspaces():
            for run in ws.list_runs():
                if run.status().pid:
                    try:
                        os.kill(run.status().pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass


def test_a_visitor_can_start_a_run_from_a_gallery_run_on_other_data(owners, jobs):
    alice = owners.workspace(owners.new_key())
    run = alice.run(jobs.create("companies", None, steps=20, init_from="names-transformer", ws=alice))
    config = run.read_config()
    assert config["arch"] == "transformer" and config["init_from"]["run_id"] == "names-transformer"
    assert run.file("init.safetensors").is_file() and set(config["vocab"]) > set("abcdefghijklmnopqrstuvwxyz")
    with pytest.raises(ConfigError, match="is a transformer"):
        jobs.create("companies", "gru", steps=20, init_from="names-transformer", ws=alice)
    with pytest.raises(AccessError):
        jobs.create("companies", None, steps=20, init_from=run.id, ws=owners.workspace(owners.new_key()))

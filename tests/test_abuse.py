"""A public demo one script cannot take down, in the core: allowances per client (not per key), bounded memory
for made-up keys, uploads that expire and give way when disk runs low, a bounded shortlist, no server path and no
markup in what others see, and a scheduler whose pass does not grow with the runs on disk."""
import json
import subprocess
import sys
import time

import pytest

from makemore.clients import acting_as, client_address, trusted_proxies
from makemore.errors import ConfigError, QuotaError
from makemore.jobs import JobManager
from makemore.limits import load_limits
from makemore.owners import Owners
from makemore.shortlist import MAX_ITEMS
from makemore.store import Run, RunState, atomic_write_json
from makemore.uploads import Uploads
from tests.conftest import ROOT, TWENTY_NAMES

NAMES = "\n".join(TWENTY_NAMES).encode()


def make_owners(root, **env):
    values = {"MAKEMORE_PUBLIC": "1", "MAKEMORE_MAX_JOBS": "0"}  # no slot: nothing trains
    values.update({f"MAKEMORE_{k.upper()}": str(v) for k, v in env.items()})
    return Owners(root, load_limits(values))


def test_the_client_is_the_peer_unless_a_trusted_proxy_says_otherwise():
    trusted = trusted_proxies({"MAKEMORE_TRUSTED_PROXIES": "10.0.0.1, 10.0.0.2"})
    assert trusted == {"10.0.0.1", "10.0.0.2"}
    assert client_address("203.0.113.5", "198.51.100.7", trusted) == "203.0.113.5"  # an untrusted peer's header
    assert client_address("10.0.0.1", "198.51.100.7", trusted) == "198.51.100.7"
    # what the client wrote itself comes first; the right-most address no trusted proxy added is the client
    assert client_address("10.0.0.1", "1.2.3.4, 198.51.100.7, 10.0.0.2", trusted) == "198.51.100.7"
    assert client_address("10.0.0.1", "not an address", trusted) == "10.0.0.1"
    assert client_address("10.0.0.1", None, trusted) == "10.0.0.1"
    # an IPv6 client stands for its /64: one home or server has billions of addresses to rotate through
    assert client_address("10.0.0.1", "2001:db8:1:2::7", trusted) == client_address("2001:db8:1:2:ffff::1", None) \
        == "2001:db8:1:2::/64"



def test_on_a_space_the_internal_proxy_is_trusted_unless_the_variable_says_otherwise():
    """A Space is reached only through Hugging Face's proxy, from an internal address: without that default every
    visitor would be one client. Elsewhere nothing is trusted unless listed; networks may be listed."""
    space = trusted_proxies({"SPACE_ID": "someone/makemore"})
    assert client_address("10.16.3.4", "198.51.100.7", space) == "198.51.100.7"
    assert client_address("172.20.0.1", "203.0.113.5, 198.51.100.7", space) == "198.51.100.7"
    assert client_address("203.0.113.5", "198.51.100.7", space) == "203.0.113.5"  # a public peer is the client
    assert trusted_proxies({}) == frozenset()
    assert client_address("10.16.3.4", "198.51.100.7", trusted_proxies({})) == "10.16.3.4"
    pinned = trusted_proxies({"SPACE_ID": "someone/makemore", "MAKEMORE_TRUSTED_PROXIES": "10.0.0.0/24"})
    assert client_address("10.0.0.9", "198.51.100.7", pinned) == "198.51.100.7"
    assert client_address("10.16.3.4", "198.51.100.7", pinned) == "10.16.3.4"  # outside the listed network

def test_keys_made_by_one_client_share_its_allowance_of_jobs(tmp_path):
    owners = make_owners(tmp_path / "root", max_jobs_per_owner=2, max_jobs_per_client=3, max_queue=20)
    jobs = JobManager(owners, scheduler=False, device="cpu")
    with acting_as("198.51.100.7"):
        spaces = [owners.workspace(owners.new_key()) for _ in range(3)]
        for ws, seed in ((spaces[0], 1), (spaces[0], 2), (spaces[1], 3)):  # each key within its own cap of 2
            jobs.create("names", "bigram", steps=100, seed=seed, ws=ws)
        with pytest.raises(QuotaError, match="used from your address already have 3 runs"):
            jobs.create("names", "bigram", steps=100, seed=9, ws=spaces[2])
    with acting_as("203.0.113.5"):  # another client is not held back by the first one's jobs
        other = owners.workspace(owners.new_key())
        assert Run(other.runs / jobs.create("names", "bigram", steps=100, ws=other)).status().state == RunState.QUEUED
    signed_in = owners.workspace(user="carol")
    with acting_as("hf-carol"):  # a signed-in visitor has an allowance of their own, wherever they come from
        jobs.create("names", "bigram", steps=100, ws=signed_in)
    assert owners.ledger.client_of(spaces[0].owner) == "198.51.100.7"
    assert json.loads((owners.root / "clients.json").read_text())[spaces[1].owner] == "198.51.100.7"
    jobs.close()


def test_keys_made_by_one_client_share_its_data_sets_and_disk(tmp_path):
    owners = make_owners(tmp_path / "root", max_datasets_per_client=2, max_client_bytes=len(NAMES) * 3)
    with acting_as("198.51.100.7"):
        first, second, third = (owners.workspace(owners.new_key()) for _ in range(3))
        first.save_upload("a.txt", NAMES)
        second.save_upload("b.txt", NAMES)
        with pytest.raises(QuotaError, match="hold 2 data sets"):
            third.save_upload("c.txt", NAMES + b"\nzed")
    with acting_as("203.0.113.5"):
        owners.workspace(owners.new_key()).save_upload("c.txt", NAMES)
    owners = make_owners(tmp_path / "root2", max_client_bytes=len(NAMES) * 2 + 10)
    with acting_as("198.51.100.7"):
        first, second = (owners.workspace(owners.new_key()) for _ in range(2))
        first.save_upload("a.txt", NAMES)
        first.save_upload("b.txt", NAMES + b"\nzed")
        with pytest.raises(QuotaError, match="MB of disk per visitor"):
            second.save_upload("c.txt", NAMES + b"\nzoe")


def test_minting_keys_is_rate_limited_per_client(tmp_path):
    owners = make_owners(tmp_path / "root", max_keys_per_client=3)
    for _ in range(3):
        owners.new_key("198.51.100.7")
    with pytest.raises(QuotaError, match="got 3 workspace keys in the last hour"):
        owners.new_key("198.51.100.7")
    assert owners.new_key("203.0.113.5").startswith("mk-")


def test_made_up_keys_keep_nothing_and_share_the_parsed_bundled_data(tmp_path):
    owners = make_owners(tmp_path / "root")
    bundled = owners.base.load_dataset("names")
    for _ in range(300):
        ws = owners.workspace(owners.new_key())
        assert ws.list_datasets()[:2] == ["names", "companies"]
        assert ws.load_dataset("names") is bundled  # parsed once, not once per key
        assert ws.shortlist().list() == [] and ws.shortlist().remove("x") == []
    assert not (owners.root / "users").exists() and len(owners._spaces) == 0
    keys = [owners.new_key() for _ in range(70)]
    for n, key in enumerate(keys):
        with acting_as(f"198.51.100.{n}"):
            owners.workspace(key).save_upload(f"d{n}.txt", NAMES)
    for key in keys:
        assert owners.workspace(key).list_datasets()[-1].startswith("d")
    assert len(owners._spaces) == 64  # workspaces with work on disk: a bounded cache, least recently used out


def test_uploads_expire_and_go_first_when_disk_runs_low(tmp_path):
    owners = make_owners(tmp_path / "root", upload_lifetime_seconds=600, min_free_bytes=1000,
                         idle_workspace_seconds=3600)
    uploads = owners.uploads
    files = []
    for n in range(3):
        folder = tmp_path / "gradio" / f"hash{n}"
        folder.mkdir(parents=True)
        files.append(folder / "big.txt")
        files[-1].write_bytes(b"x" * 400)
        uploads.add("198.51.100.7", [str(files[-1])], now=1000.0 + n)
    assert uploads.sweep() == 1200  # with today's clock they came long ago: every one has expired
    assert not any(f.exists() or f.parent.exists() for f in files) and uploads.disk_bytes() == 0
    for n, f in enumerate(files):
        f.parent.mkdir(exist_ok=True)
        f.write_bytes(b"x" * 400)
        uploads.add("198.51.100.7", [str(f)], now=time.time() + n)
    assert uploads.held("198.51.100.7") == (3, 1200)
    owners.evict_idle(free_bytes=300)  # low disk: the oldest uploads go until 1000 bytes are free
    assert [f.exists() for f in files] == [False, False, True] and uploads.disk_bytes() == 400


def test_uploads_over_a_clients_allowance_are_refused_before_they_are_stored(tmp_path):
    from makemore.uploads import UploadGuard
    limits = load_limits({"MAKEMORE_PUBLIC": "1", "MAKEMORE_MAX_UPLOAD_FILES_PER_CLIENT": "2",
                          "MAKEMORE_MAX_UPLOAD_BYTES_PER_CLIENT": "1000"})
    uploads = Uploads(limits)
    guard = UploadGuard(None, uploads, trusted=set())
    assert guard.refusal("198.51.100.7", "900") is None
    assert guard.refusal("198.51.100.7", None)[0] == 411
    (tmp_path / "a").write_bytes(b"x" * 600)
    uploads.add("198.51.100.7", [str(tmp_path / "a")])
    assert guard.refusal("198.51.100.7", "500")[0] == 413
    (tmp_path / "b").write_bytes(b"x" * 10)
    uploads.add("198.51.100.7", [str(tmp_path / "b")])
    status, message = guard.refusal("198.51.100.7", "10")
    assert status == 429 and "2 uploaded files waiting" in message
    assert guard.refusal("203.0.113.5", "900") is None


def test_every_shortlist_field_is_checked_and_the_shortlist_is_within_the_quota(tmp_path):
    owners = make_owners(tmp_path / "root", max_owner_bytes=3000)
    shortlist = owners.workspace(owners.new_key()).shortlist()
    with pytest.raises(ConfigError, match="not a valid run id"):
        shortlist.add("marla", run_id="x" * 3_000_000)
    with pytest.raises(ConfigError, match="is_new is true, false"):
        shortlist.add("marla", is_new={"a": 1})
    with pytest.raises(ConfigError, match="finite number"):
        shortlist.add("marla", score="high")
    with pytest.raises(ConfigError, match="at most 200 characters"):
        shortlist.add("m" * 201)
    assert shortlist.add("marla", -1.5, True, "names-transformer")[0]["run_id"] == "names-transformer"
    with pytest.raises(QuotaError, match="over its 0 MB of disk"):
        for n in range(MAX_ITEMS):
            shortlist.add(f"idea {n} " + "x" * 150)
    assert shortlist.path.stat().st_size <= 3000


def test_names_with_link_or_tag_syntax_are_refused_and_shown_escaped(tmp_path):
    owners = make_owners(tmp_path / "root")
    jobs = JobManager(owners, scheduler=False, device="cpu")
    ws = owners.workspace(owners.new_key())
    run = ws.run(jobs.create("names", "bigram", steps=100, ws=ws))
    for name in ("[Session expired - sign in](https://example.com)", "<img src=x>", "see www.example.com"):
        with pytest.raises(ConfigError, match="cannot hold"):
            run.rename(name)
    run.update_config(name="[old](https://example.com)")  # a name stored before the check existed
    run.update_status(state=RunState.FAILED, error="see [here](https://example.com)")
    line, _ = describe_as(owners, jobs, ws, run.id)
    assert "[old](" not in line and r"\[old\]\(" in line and r"\[here\]\(" in line
    jobs.close()


def describe_as(owners, jobs, ws, run_id):
    from makemore.engine import Engine, Session
    from makemore.ui.common import Context
    from makemore.ui.train_tab import describe
    engine = Engine(owners, jobs)
    ctx = Context(engine)
    with ctx.visiting(Session(engine, ws)):
        return describe(ctx, run_id)


def test_a_worker_whose_data_vanished_records_no_server_path(tmp_path):
    owners = make_owners(tmp_path / "root")
    jobs = JobManager(owners, scheduler=False, device="cpu")
    with acting_as("198.51.100.7"):
        ws = owners.workspace(owners.new_key())
        ws.save_upload("pets.txt", NAMES)
        run = ws.run(jobs.create("pets", "bigram", steps=100, ws=ws))
    missing = ws.datasets / "pets.txt"
    missing.unlink()
    subprocess.run([sys.executable, "-m", "makemore.worker", str(run.path), str(missing)], cwd=ROOT,
                   capture_output=True, timeout=120)
    error = run.status().error
    assert run.status().state == RunState.FAILED and "pets.txt" in error
    assert str(tmp_path) not in error and ws.owner not in error and "/" not in error, error
    jobs.close()


def test_a_scheduler_pass_reads_only_the_queued_and_running_runs(tmp_path, monkeypatch):
    owners = make_owners(tmp_path / "root")
    ws = owners.base
    for n in range(400):  # finished runs of many owners: what a busy demo leaves on disk
        path = (owners.users / f"anon-{n:032d}" / "checkpoints" / f"run-{n}") if n % 2 else ws.runs / f"run-{n}"
        path.mkdir(parents=True)
        atomic_write_json(path / "config.json", {"run_id": path.name, "arch": "bigram", "created": n})
        atomic_write_json(path / "status.json", {"state": "finished", "step": 10})
    jobs = JobManager(owners, scheduler=False, device="cpu")
    queued = ws.run(jobs.create("names", "bigram", steps=100))
    reads = []
    original = Run.status
    monkeypatch.setattr(Run, "status", lambda self: reads.append(self.id) or original(self))
    jobs.schedule()
    assert jobs.queued() == [queued.id] and set(reads) == {queued.id}
    jobs.close()


def test_idea_constraints_are_bounded_text():
    from makemore.ideas import check_request
    vocab = Run(ROOT / "checkpoints" / "names-transformer").vocab()
    with pytest.raises(ConfigError, match="starts_with is at most 256 characters"):
        check_request(vocab, 20, 5, 1, None, 1.0, "logprob", "as-is", 3.0, starts_with="a" * 3_000_000,
                      ends_with="", contains="", exclude="")

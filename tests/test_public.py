"""The public preset through HTTP and gradio_client: two visitors who cannot see or touch each other's work,
publishing and its share link, forks of the gallery, and nothing of the server exposed."""
import json
import re
from types import SimpleNamespace

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.conftest import TWENTY_NAMES, kill_workers, start_app, stop_app, wait_for


@pytest.fixture(scope="module")
def public_app(tmp_path_factory):
    root = tmp_path_factory.mktemp("public-root")
    proc, url = start_app(root, root / "app.log", MAKEMORE_PUBLIC="1", MAKEMORE_MAX_JOBS="1")
    yield SimpleNamespace(url=url, root=root)
    stop_app(proc)
    kill_workers(root)


@pytest.fixture(scope="module")
def visitors(public_app, tmp_path_factory):
    """Two anonymous API visitors, each with a key from /new_workspace; Alice has trained a small run."""
    alice, bob = Client(public_app.url, verbose=False), Client(public_app.url, verbose=False)
    a, b = alice.predict(api_name="/new_workspace"), bob.predict(api_name="/new_workspace")
    assert a != b and a.startswith("mk-")
    path = tmp_path_factory.mktemp("data") / "pets.txt"
    path.write_text("\n".join(TWENTY_NAMES * 3), encoding="utf-8")
    name, _ = alice.predict(handle_file(str(path)), workspace=a, api_name="/upload_dataset")
    run_id, _ = alice.predict(dataset=name, arch="bigram", amount=30, unit="steps", eval_interval=10, workspace=a,
                              api_name="/start_training")
    wait_for(lambda: alice.predict(run_id, a, api_name="/run_status")["status"]["state"] == "finished", 120,
             "alice's run")
    return SimpleNamespace(alice=alice, bob=bob, a=a, b=b, dataset=name, run=run_id)


def refused(call, match):
    with pytest.raises(AppError, match=match):
        call()


def test_a_visitor_sees_and_touches_only_their_own_work(visitors):
    v = visitors
    bob_runs = v.bob.predict(workspace=v.b, api_name="/list_runs")
    assert v.run not in json.dumps(bob_runs) and "names-transformer" in json.dumps(bob_runs)  # the gallery
    assert v.run in json.dumps(v.alice.predict(workspace=v.a, api_name="/list_runs"))
    no_run = "There is no run"
    refused(lambda: v.bob.predict(v.run, v.b, api_name="/run_status"), no_run)
    refused(lambda: v.bob.predict(v.run, v.b, api_name="/run_progress"), no_run)
    refused(lambda: v.bob.predict(v.run, v.b, api_name="/stop_training"), no_run)
    refused(lambda: v.bob.predict(v.run, 0, 0, v.b, api_name="/resume_training"), no_run)
    refused(lambda: v.bob.predict(v.run, "mine now", v.b, api_name="/rename_run"), no_run)
    refused(lambda: v.bob.predict(v.run, True, v.b, api_name="/publish_run"), no_run)
    refused(lambda: v.bob.predict(run_id=v.run, workspace=v.b, api_name="/sample"), no_run)
    refused(lambda: v.bob.predict(v.run, "emma", workspace=v.b, api_name="/score_line"), no_run)
    refused(lambda: v.bob.predict([v.run], workspace=v.b, api_name="/compare_runs"), no_run)
    assert "There is no data set" in v.bob.predict(v.dataset, v.b, api_name="/dataset_stats")[-1]  # said as text
    assert "There is no data set" in v.bob.predict(v.dataset, v.b, api_name="/delete_dataset")[-1]
    assert "There is no data set" not in v.alice.predict(v.dataset, v.a, api_name="/dataset_stats")[-1]
    refused(lambda: v.bob.predict(v.run, api_name="/run_status"), "no valid workspace key")  # no key at all
    refused(lambda: v.bob.predict(v.run, api_name="/stop_training"), "no valid workspace key")
    refused(lambda: v.bob.predict(run_id=v.run, workspace="guess", api_name="/sample"), "no valid workspace key")
    refused(lambda: v.bob.predict(v.run, "mk-" + "x" * 32, api_name="/run_status"), no_run)  # a guessed key


def test_publishing_shares_a_run_read_only_and_a_fork_leaves_it_alone(visitors, public_app):
    v = visitors
    weights = public_app.root / "users"
    before = {p: p.read_bytes() for p in weights.rglob(f"{v.run}/*") if p.is_file()}
    assert "in the gallery" in v.alice.predict(v.run, True, v.a, api_name="/publish_run")
    assert v.bob.predict(v.run, v.b, api_name="/run_status")["status"]["state"] == "finished"
    table, _, _ = v.bob.predict(run_id=v.run, num_samples=5, workspace=v.b, api_name="/sample")
    assert len(table["data"]) == 5
    refused(lambda: v.bob.predict(v.run, v.b, api_name="/stop_training"), "no run")
    # training it further needs its data set, which is Alice's own: a clear message, and nothing copied
    refused(lambda: v.bob.predict(v.run, 60, 0, v.b, api_name="/resume_training"), "'pets' this run was trained on")
    shipped = public_app.root / "checkpoints" / "names-bigram"
    shipped_before = {p.name: p.read_bytes() for p in shipped.iterdir()}
    message = v.bob.predict("names-bigram", 200, 0, v.b, api_name="/resume_training")
    assert "Copied" in message and "into your workspace" in message
    assert {p.name: p.read_bytes() for p in shipped.iterdir()} == shipped_before
    assert {p: p.read_bytes() for p in weights.rglob(f"{v.run}/*") if p.is_file()} == before
    bob_runs = json.dumps(v.bob.predict(workspace=v.b, api_name="/list_runs"), ensure_ascii=False)
    assert "names · bigram · shipped (copy)" in bob_runs
    assert "private again" in v.alice.predict(v.run, False, v.a, api_name="/publish_run")
    refused(lambda: v.bob.predict(v.run, v.b, api_name="/run_status"), "There is no run")


def test_nothing_of_the_server_is_exposed(visitors, public_app):
    v, root, url = visitors, public_app.root, public_app.url
    run_dir = next(root.glob(f"users/*/checkpoints/{v.run}"))
    for path in ("/etc/passwd", root / "gallery.json", run_dir / "log.txt", run_dir / "model.safetensors",
                 run_dir / "status.json", f"{run_dir}/../../datasets/pets.txt", "..%2F..%2F..%2Fetc%2Fpasswd",
                 "%2e%2e/%2e%2e/etc/passwd"):
        response = httpx.get(f"{url}gradio_api/file={path}", timeout=10)
        assert response.status_code in (403, 404), path
        assert "root:" not in response.text
    status = v.alice.predict(v.run, v.a, api_name="/run_status")
    assert "pid" not in status["status"] and str(root) not in json.dumps(status)


@pytest.mark.parametrize("given", [{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}},
                                   {"path": "http://127.0.0.1:9/x.txt", "url": "http://127.0.0.1:9/x.txt",
                                    "meta": {"_type": "gradio.FileData"}}])
def test_an_upload_given_as_a_server_path_or_a_url_is_refused(visitors, public_app, given):
    response = httpx.post(f"{public_app.url}gradio_api/call/upload_dataset", json={"data": [given, None, None, visitors.a]},
                          timeout=30)
    if response.status_code == 200:
        event = response.json()["event_id"]
        stream = httpx.get(f"{public_app.url}gradio_api/call/upload_dataset/{event}", timeout=60).text
        assert "event: error" in stream and "root:" not in stream
    else:
        assert response.status_code in (400, 403, 422)
    assert not list(public_app.root.glob("users/*/datasets/passwd*"))


def raw_call(url, endpoint, data) -> str:
    """An API call as any HTTP client can send it, NaN and Infinity included (gradio_client refuses to)."""
    response = httpx.post(f"{url}gradio_api/call/{endpoint}", content=json.dumps({"data": data}),
                          headers={"content-type": "application/json"}, timeout=30)
    if response.status_code != 200:
        return response.text
    return httpx.get(f"{url}gradio_api/call/{endpoint}/{response.json()['event_id']}", timeout=60).text


def test_absurd_numbers_and_huge_requests_get_clear_messages(visitors, public_app):
    v = visitors
    start = [v.dataset, "bigram", None, None, None, None, None, None, None, None, None, 10, "steps", 3407, 0, "", None,
             v.a]
    for index, value, reason in ((8, float("nan"), "learning rate must be a finite number, not nan"),
                                 (11, float("inf"), "Train for must be a finite number, not inf"),
                                 (9, float("-inf"), "batch size must be a finite number"),
                                 (10, float("nan"), "weight decay must be a finite number")):
        data = list(start)
        data[index] = value
        stream = raw_call(public_app.url, "start_training", data)
        assert "event: error" in stream or "error" in stream.lower(), stream[:300]
        assert re.search(reason, stream), (value, stream[:300])
        assert "Traceback" not in stream
    refused(lambda: v.alice.predict([f"run-{i}" for i in range(1000)], workspace=v.a, api_name="/compare_runs"),
            "at most 24 runs")
    refused(lambda: v.alice.predict(dataset=v.dataset, arch="bigram", amount=10**9, unit="steps", workspace=v.a,
                                    api_name="/start_training"), "over this server's limit")


def test_an_unexpected_file_error_names_no_server_path():
    from makemore.ui.common import unexpected

    message = unexpected(FileNotFoundError(2, "No such file or directory", "/tmp/makemore-downloads/tmpwjg2yw9p"))
    assert "No such file or directory" in message and "/tmp" not in message

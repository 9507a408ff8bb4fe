"""The attacks of a script on the public demo, replayed against the app over HTTP, and the app stopped by a signal.

Clients are told apart from loopback the way a Space's proxy does it: the app trusts 127.0.0.1
(MAKEMORE_TRUSTED_PROXIES) and each test client sends its own X-Forwarded-For."""
import os
import signal
import socket
from types import SimpleNamespace

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.conftest import kill_workers, start_app, stop_app, wait_for, write_tiny_dataset

FLOODER, VISITOR = "198.51.100.7", "203.0.113.5"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("abuse-root")
    write_tiny_dataset(root)
    proc, url = start_app(root, root / "app.log", MAKEMORE_PUBLIC="1", MAKEMORE_TRUSTED_PROXIES="127.0.0.1",
                          MAKEMORE_MAX_KEYS_PER_CLIENT="4", MAKEMORE_MAX_UPLOAD_FILES_PER_CLIENT="3")
    yield SimpleNamespace(url=url, root=root)
    stop_app(proc)
    kill_workers(root)


def client(app, address) -> Client:
    return Client(app.url, verbose=False, headers={"X-Forwarded-For": address})


def start(client, key, seed=1):
    run_id, _ = client.predict(dataset="names", arch="bigram", amount=600, unit="seconds", seed=seed,
                               workspace=key, api_name="/start_training")
    return run_id


def test_a_client_minting_keys_cannot_lock_another_out_of_training(app):
    flooder = client(app, FLOODER)
    keys = [flooder.predict(api_name="/new_workspace") for _ in range(4)]
    with pytest.raises(AppError, match="got 4 workspace keys in the last hour"):
        flooder.predict(api_name="/new_workspace")
    accepted, refusals = [], []
    for n, key in enumerate(keys):
        for seed in (1, 2):
            try:
                accepted.append(start(flooder, key, seed=10 * n + seed))
            except AppError as e:
                refusals.append(str(e))
    assert len(accepted) == 4 and all("used from your address" in text for text in refusals), refusals
    visitor = client(app, VISITOR)
    key = visitor.predict(api_name="/new_workspace")
    mine = start(visitor, key)
    wait_for(lambda: visitor.predict(mine, key, api_name="/run_status")["status"]["state"] == "running", 120,
             "the other client's run to start training")


def upload(app, address, size=1000):
    return httpx.post(f"{app.url}gradio_api/upload", headers={"X-Forwarded-For": address}, timeout=30,
                      files={"files": ("big.txt", b"a\n" * (size // 2), "text/plain")})


def test_one_client_cannot_fill_the_upload_area(app):
    answers = [upload(app, FLOODER) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429], [a.text for a in answers]
    assert "3 uploaded files waiting" in answers[-1].text
    assert upload(app, VISITOR).status_code == 200


def free(port) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def group_gone(pgid) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("args, signum", [(["--mcp"], signal.SIGTERM), (["--mcp"], signal.SIGINT),
                                          ([], signal.SIGINT)])
def test_a_signal_stops_the_app_completely(tmp_path, args, signum):
    proc, url = start_app(tmp_path, tmp_path / "app.log", *args)
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    if args:
        answer = httpx.post(f"{url}gradio_api/mcp/", timeout=30, json={
            "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}},
            headers={"accept": "application/json, text/event-stream"})
        assert answer.status_code == 200  # an MCP session is open: Gradio's own Ctrl-C used to wait for ever here
    os.kill(proc.pid, signum)
    try:
        wait_for(lambda: proc.poll() is not None and group_gone(proc.pid) and free(port), 20,
                 "the app's processes to end and the port to free")
    finally:
        stop_app(proc)

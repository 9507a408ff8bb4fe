"""A real app restart while jobs run: the new app finds every run, marks the orphans, adopts the living."""
import json
import os
import re
import signal
import time

import httpx
from gradio_client import Client

from tests.conftest import ROOT, kill_workers, start_app, stop_app, wait_for, write_tiny_dataset


def poll(predicate, timeout=60):
    return wait_for(predicate, timeout, interval=0.3)  # each check is an API call


def status(client, run_id):
    return client.predict(run_id, api_name="/run_status")["status"]


def pid_on_disk(root, run_id):
    """The worker's pid, which the server never shows: from the run's status file."""
    return json.loads((root / "checkpoints" / run_id / "status.json").read_text()).get("pid")


def test_restart_marks_orphans_and_keeps_living_jobs(tmp_path):
    write_tiny_dataset(tmp_path)
    first, url = start_app(tmp_path, tmp_path / "first.log")
    try:
        client = Client(url, verbose=False)
        runs = [client.predict(dataset="tiny", arch=arch, amount=120, unit="seconds", eval_interval=20,
                               api_name="/start_training")[0] for arch in ("bigram", "mlp")]
        pids = [poll(lambda r=r: status(client, r)["state"] == "running" and pid_on_disk(tmp_path, r)) for r in runs]
        assert all("pid" not in status(client, r) for r in runs)
        first.send_signal(signal.SIGKILL)  # the app dies; its jobs run in their own sessions
        first.wait(timeout=10)
        os.kill(pids[0], signal.SIGKILL)  # and one job dies with it: an orphaned "running" status
        time.sleep(0.5)

        second, url = start_app(tmp_path, tmp_path / "second.log")
        try:
            client = Client(url, verbose=False)
            assert poll(lambda: status(client, runs[0])["state"] == "interrupted")
            alive = status(client, runs[1])
            assert alive["state"] == "running" and pid_on_disk(tmp_path, runs[1]) == pids[1]
            table = client.predict(api_name="/list_runs")
            rows = [dict(zip(table["headers"], row)) for row in table["data"]]
            states = {row["run id"]: row["state"] for row in rows}
            assert states[runs[0]] == "interrupted" and states[runs[1]] == "running"
            assert "Stopping" in client.predict(runs[1], api_name="/stop_training")  # the adopted job obeys
            assert poll(lambda: status(client, runs[1])["state"] == "stopped", timeout=15)
            assert re.search("is (queued|running)", client.predict(runs[0], 0, 0, api_name="/resume_training"))
            assert poll(lambda: status(client, runs[0])["state"] == "running", timeout=60)
            client.predict(runs[0], api_name="/stop_training")
            assert poll(lambda: status(client, runs[0])["state"] == "stopped", timeout=15)
        finally:
            stop_app(second)
    finally:
        if first.poll() is None:
            first.kill()
        kill_workers(tmp_path)


def test_no_file_of_the_server_is_served(app_server):
    names = app_server.root / "datasets" / "tiny.txt"
    weights = app_server.root / "checkpoints" / "names-gru" / "model.safetensors"
    for path in ("/etc/passwd", str(ROOT / "app.py"), str(ROOT / "makemore" / "store.py"), str(names), str(weights),
                 f"{app_server.root}/checkpoints/../datasets/tiny.txt", "%2e%2e/%2e%2e/etc/passwd"):
        response = httpx.get(f"{app_server.url}gradio_api/file={path}", timeout=10)
        assert response.status_code in (403, 404), path
        assert "root:" not in response.text and "import" not in response.text

"""A real app restart while jobs run: the new app finds every run, marks the orphans, adopts the living."""
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import httpx
from gradio_client import Client

from tests.conftest import ROOT, free_port, kill_workers


def start_app(root, port):
    env = {**os.environ, "MAKEMORE_ROOT": str(root), "GRADIO_ANALYTICS_ENABLED": "False", "MAKEMORE_MAX_JOBS": "2",
           "MAKEMORE_DEVICE": "cpu"}
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        assert proc.poll() is None, "the app exited"
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
            return proc, f"http://127.0.0.1:{port}/"
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise AssertionError("the app did not start")


def status(client, run_id):
    return client.predict(run_id, api_name="/run_status")["status"]


def wait_for(predicate, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("timed out")


def test_restart_marks_orphans_and_keeps_living_jobs(tmp_path):
    (tmp_path / "datasets").mkdir()
    names = (ROOT / "datasets" / "names.txt").read_text().splitlines()[:300]
    (tmp_path / "datasets" / "tiny.txt").write_text("\n".join(names) + "\n")
    first, url = start_app(tmp_path, free_port())
    try:
        client = Client(url, verbose=False)
        runs = [client.predict(dataset="tiny", arch=arch, amount=120, unit="seconds", eval_interval=20,
                               api_name="/start_training")[0] for arch in ("bigram", "mlp")]
        pids = [wait_for(lambda r=r: status(client, r).get("pid") and status(client, r)["state"] == "running"
                         and status(client, r)["pid"]) for r in runs]
        first.send_signal(signal.SIGKILL)  # the app dies; its jobs run in their own sessions
        first.wait(timeout=10)
        os.kill(pids[0], signal.SIGKILL)  # and one job dies with it: an orphaned "running" status
        time.sleep(0.5)

        second, url = start_app(tmp_path, free_port())
        try:
            client = Client(url, verbose=False)
            assert wait_for(lambda: status(client, runs[0])["state"] == "interrupted")
            alive = status(client, runs[1])
            assert alive["state"] == "running" and alive["pid"] == pids[1]
            table = client.predict(api_name="/list_runs")
            states = {row[0]: row[3] for row in table["data"]}
            assert states[runs[0]] == "interrupted" and states[runs[1]] == "running"
            assert "Stopping" in client.predict(runs[1], api_name="/stop_training")  # the adopted job obeys
            assert wait_for(lambda: status(client, runs[1])["state"] == "stopped", timeout=15)
            assert re.search("is (queued|running)", client.predict(runs[0], 0, 0, api_name="/resume_training"))
            assert wait_for(lambda: status(client, runs[0])["state"] == "running", timeout=60)
            client.predict(runs[0], api_name="/stop_training")
            assert wait_for(lambda: status(client, runs[0])["state"] == "stopped", timeout=15)
        finally:
            second.terminate()
            second.wait(timeout=15)
    finally:
        if first.poll() is None:
            first.kill()
        kill_workers(tmp_path)


def test_no_file_outside_the_roots_is_served(app_server):
    for path in ("/etc/passwd", str(ROOT / "app.py"), str(ROOT / "makemore" / "store.py")):
        response = httpx.get(f"{app_server.url}gradio_api/file={path}", timeout=10)
        assert response.status_code in (403, 404), path
        assert "root:" not in response.text and "import" not in response.text
    names = app_server.root / "datasets" / "tiny.txt"
    assert httpx.get(f"{app_server.url}gradio_api/file={names}", timeout=10).status_code == 200

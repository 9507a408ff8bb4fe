"""The web app through its named API endpoints (gradio_client), against a real server and real jobs."""
import re
import time
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server.url, verbose=False)


def wait_status(client, run_id, predicate, timeout=90, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = client.predict(run_id, api_name="/run_status")
        if predicate(info):
            return info
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}: {info}")


def start(client, dataset, arch, amount, unit="steps", **model):
    run_id, message = client.predict(dataset=dataset, arch=arch, amount=amount, unit=unit, eval_interval=10,
                                     api_name="/start_training", **model)
    assert run_id in message
    return run_id


def test_upload_train_stop_sample_compare(client, tmp_path):
    lines = (Path(__file__).parent.parent / "datasets" / "names.txt").read_text().splitlines()[1000:1200]
    path = tmp_path / "my names.txt"
    path.write_text("\n".join(lines) + "\n")
    name, message = client.predict(handle_file(str(path)), api_name="/upload_dataset")
    assert name == "my-names" and "Stored" in message
    summary, *_ = client.predict(name, api_name="/dataset_stats")
    assert "200" in summary and "unique" in summary

    run_id = start(client, name, "mlp", 100_000, n_embd=8, n_embd2=32)
    info = wait_status(client, run_id, lambda i: i["last_eval"] and i["last_eval"]["step"] >= 10,
                       what="an evaluation past step 10")
    assert info["status"]["state"] == "running" and info["samples"]
    status, bar, chart, samples = client.predict(run_id, api_name="/run_progress")
    assert "Training" in status and "tokens/s" in bar and "plotly" in chart["type"] and samples

    assert "Stopping" in client.predict(run_id, api_name="/stop_training")
    wait_status(client, run_id, lambda i: i["status"]["state"] == "stopped", timeout=15, what="the stop")

    step = client.predict(run_id, api_name="/run_status")["status"]["step"]
    assert re.search("is (queued|running)", client.predict(run_id, api_name="/resume_training"))
    wait_status(client, run_id, lambda i: i["status"]["step"] > step, what="training past the stop")
    client.predict(run_id, api_name="/stop_training")
    wait_status(client, run_id, lambda i: i["status"]["state"] == "stopped", timeout=15, what="the second stop")

    table, txt, csv = client.predict(run_id=run_id, num_samples=7, seed=1, api_name="/sample")
    assert len(table["data"]) == 7 and table["headers"] == ["sample", "origin", "log-prob"]
    assert len(Path(txt).read_text().splitlines()) == 7
    assert Path(csv).read_bytes().startswith(b"\xef\xbb\xbfsample,origin")  # a BOM: spreadsheets read UTF-8
    assert "log-probability" in client.predict(run_id, lines[0], api_name="/score_line")

    other = start(client, "tiny", "bigram", 30)
    assert start(client, "tiny", "bigram", 30) == other  # the same request again at once: the same run
    wait_status(client, other, lambda i: i["status"]["state"] == "finished", what="the bigram run to finish")
    chart, summary, side = client.predict(run_ids=[run_id, other], api_name="/compare_runs")
    rows = [dict(zip(summary["headers"], row)) for row in summary["data"]]
    assert {row["run id"] for row in rows} == {run_id, other} and {row["architecture"] for row in rows} == \
        {"mlp", "bigram"}
    assert float(rows[0]["best test loss"]) <= float(rows[1]["best test loss"])  # ranked, best first
    assert rows[0]["rank"].startswith("1") and rows[1]["rank"].startswith("2")
    # the classic's figure beside it: the lowest test loss seen is never above the kept checkpoint's
    assert all(float(row["lowest test (classic)"]) <= float(row["best test loss"]) for row in rows)
    assert len(side["headers"]) == 2 and len(side["data"]) == 10

    table = client.predict(api_name="/list_runs")
    assert {run_id, other} <= {row[table["headers"].index("run id")] for row in table["data"]}

    assert "Meine Namen" in client.predict(run_id, " Meine Namen ", api_name="/rename_run")
    table = client.predict(api_name="/list_runs")
    assert ["Meine Namen", run_id] in [[row[0], row[table["headers"].index("run id")]] for row in table["data"]]
    with pytest.raises(AppError, match="1 to 60 printable characters"):
        client.predict(run_id, "x" * 61, api_name="/rename_run")


def test_train_all_queues_every_architecture(client):
    runs, message = client.predict("tiny", 2, api_name="/train_all")
    assert len(runs) == 8 and "Queued 8 runs" in message
    states = [client.predict(r, api_name="/run_status")["status"]["state"] for r in runs]
    assert states.count("running") <= 2 and set(states) <= {"queued", "running", "finished"}
    status, *_ = client.predict(runs[-1], api_name="/run_progress")
    assert "Queued" in status
    for run in reversed(runs):
        client.predict(run, api_name="/stop_training")
    for run in runs:
        wait_status(client, run, lambda i: i["status"]["state"] in ("stopped", "finished"), timeout=30,
                    what=f"{run} to stop")


def test_binary_upload_gives_a_readable_message(client, tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    name, message = client.predict(handle_file(str(path)), api_name="/upload_dataset")
    assert "not text" in message and "Traceback" not in message


def test_errors_are_messages_not_tracebacks(client):
    with pytest.raises(AppError, match="no saved weights|There is no run .no-such-run.|not a valid"):
        client.predict(run_id="no-such-run", api_name="/sample")
    with pytest.raises(AppError, match="n_embd .* divisible by n_head"):
        client.predict(dataset="tiny", arch="transformer", n_head=3, n_embd=16, amount=10, unit="steps",
                       api_name="/start_training")
    with pytest.raises(AppError, match="characters .* never occur"):
        client.predict(run_id=first_run(client), prefix="ZZ", api_name="/sample")
    _, message = client.predict("names", api_name="/delete_dataset")
    assert "cannot be deleted" in message


def first_run(client):
    table = client.predict(api_name="/list_runs")
    rows = [dict(zip(table["headers"], row)) for row in table["data"]]
    return next(row["run id"] for row in rows if row["best test loss"])  # one with a best test loss, so weights

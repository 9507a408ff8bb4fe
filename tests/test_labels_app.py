"""Tables and labels through the named API endpoints, against a real server and a real training job."""
import random
import time

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server.url, verbose=False)


def upload(client, path, text_column=None, label_column=None):
    return client.predict(handle_file(str(path)), text_column=text_column, label_column=label_column,
                          api_name="/upload_dataset")


TABLES = {  # file name: (content, the lines expected)
    "firms-header.csv": ("name,founded\nAcme,1999\nGlobex,2004\nInitech,1995\n", ["Acme", "Globex", "Initech"]),
    "firms-bare.csv": ("Acme\nGlobex\nInitech\n", ["Acme", "Globex", "Initech"]),
    "firms-header.tsv": ("name\tcity\nAcme\tParis\nGlobex\tRome\n", ["Acme", "Globex"]),
    "firms-bare.tsv": ("Acme\t1999\nGlobex\t2004\n", ["Acme", "Globex"]),
    "firms.jsonl": ('{"name": "Acme", "founded": 1999}\n{"name": "Globex", "founded": 2004}\n', ["Acme", "Globex"]),
}


@pytest.mark.parametrize("filename", list(TABLES))
def test_each_table_format_with_and_without_a_header(client, tmp_path, filename):
    content, lines = TABLES[filename]
    path = tmp_path / filename
    path.write_text(content)
    name, message = upload(client, path)
    assert "Stored as" in message, message
    assert "Lines from" in message  # the message says which column was used
    summary, _, _, preview, _ = client.predict(name, api_name="/dataset_stats")
    assert preview["data"] and [row[1] for row in preview["data"]] == lines
    assert f"**{len(lines)}** lines" in summary and "," not in summary.split("Vocabulary:")[1]


def test_a_table_without_an_obvious_text_column_names_its_columns(client, tmp_path):
    path = tmp_path / "two-texts.csv"
    path.write_text("brand,industry\nAcme,food\nGlobex,tech\n")
    name, message = upload(client, path)
    assert "Could not use" in message and "'brand', 'industry'" in message
    name, message = upload(client, path, text_column="brand")
    assert "Stored as" in message


def two_kinds(tmp_path):
    rng = random.Random(1)
    rows = ["word,kind"] + [f"{''.join(rng.choice('abc') for _ in range(rng.randint(2, 5)))},low" for _ in range(150)]
    rows += [f"{''.join(rng.choice('XYZ') for _ in range(rng.randint(2, 5)))},high" for _ in range(150)]
    path = tmp_path / "two kinds.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_labelled_upload_training_and_sampling_by_label(client, tmp_path):
    name, message = upload(client, two_kinds(tmp_path), text_column="word", label_column="kind")
    assert "labels from 'kind'" in message
    summary, *_ = client.predict(name, api_name="/dataset_stats")
    assert "**2 labels**" in summary and "| low | 150 (" in summary and "| high | 150 (" in summary
    run_id, _ = client.predict(dataset=name, arch="gru", amount=300, unit="steps", eval_interval=300, n_embd=16,
                               n_embd2=32, api_name="/start_training")
    deadline = time.time() + 240
    while client.predict(run_id, api_name="/run_status")["status"]["state"] in ("queued", "running"):
        assert time.time() < deadline, "the run did not finish"
        time.sleep(1)
    for label, alphabet in (("low", "abc"), ("high", "XYZ")):
        table, _, _ = client.predict(run_id=run_id, num_samples=30, temperature=0.7, label=label, api_name="/sample")
        texts = [row[0] for row in table["data"]]
        assert sum(set(t) <= set(alphabet) for t in texts) >= 28, texts
    with pytest.raises(AppError, match="no label 'mid'.*'high', 'low'"):
        client.predict(run_id=run_id, label="mid", api_name="/sample")
    found = client.predict(run_id=run_id, count=5, label="high", only_new=False, temperature=0.7,
                           api_name="/generate_ideas")
    assert found["ideas"] and all(set(i["text"]) <= set("XYZ") for i in found["ideas"])
    scored_right = client.predict(run_id, "XYZ", "high", api_name="/score_line")
    assert "as a high line" in scored_right
    models = {m["run_id"]: m for m in client.predict(api_name="/list_models")}
    assert models[run_id]["labels"] == ["high", "low"]

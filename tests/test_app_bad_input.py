"""Every bad input through the web app's API: a readable message, nothing outside the roots touched,
nothing already saved lost."""
import hashlib
import json
import pickle
import shutil
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server.url, verbose=False)


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def upload(client, path):
    return client.predict(handle_file(str(path)), api_name="/upload_dataset")


BAD_FILES = {
    "empty.txt": (b"", "no examples"),
    "blank.txt": (b"  \n\t\r\n   \n", "no examples"),
    "image.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "not text"),
    "latin1.txt": ("anna\nb\u00f6rje\n".encode("latin-1"), "not UTF-8: line 2"),
    "one-huge-line.txt": (b"ok\n" + b"x" * 1_000_000 + b"\n", "1,000,000 characters long"),
    "two-million.txt": (b"ab\n" * 2_000_000, "2,000,000 lines, over the limit"),
    "cjk.txt": ("\n".join("".join(chr(0x4E00 + i + j) for j in range(5)) for i in range(0, 3000, 5)).encode(),
                "distinct characters, over the limit"),
}


@pytest.mark.parametrize("filename", list(BAD_FILES))
def test_bad_data_files_are_refused_with_a_reason(client, app_server, tmp_path, filename):
    content, reason = BAD_FILES[filename]
    before = snapshot(app_server.root / "datasets")
    path = tmp_path / filename
    path.write_bytes(content)
    name, message = upload(client, path)
    assert reason in message and "Traceback" not in message
    assert snapshot(app_server.root / "datasets") == before


def test_file_over_the_upload_limit_is_refused(client, app_server, tmp_path):
    before = snapshot(app_server.root / "datasets")
    path = tmp_path / "big.txt"
    with open(path, "wb") as f:
        f.write(b"abcdefghij\n" * 4_600_000)  # 50.6 MB, over the 50 MB local limit
    with pytest.raises(ValueError, match="exceeds the maximum file size of 50000000"):
        upload(client, path)  # the client reads the server's limit and refuses first
    import httpx  # a client that does not check: the server itself refuses

    with open(path, "rb") as f:
        response = httpx.post(app_server.url + "gradio_api/upload", files={"files": ("big.txt", f)}, timeout=60)
    assert response.status_code == 413 and "size" in response.text.lower()
    assert snapshot(app_server.root / "datasets") == before


@pytest.mark.parametrize("filename,content,stored", [
    ("utf16.txt", "anna\nbörje\n".encode("utf-16"), ["anna", "börje"]),
    ("crlf.txt", b"anna\r\nbob\r\ncarl\r\n", ["anna", "bob", "carl"]),
    ("emoji.txt", "🙂🚀\n🐍🔥\n🌟\n".encode(), ["🙂🚀", "🐍🔥", "🌟"]),
])
def test_unusual_but_valid_text_is_accepted(client, app_server, tmp_path, filename, content, stored):
    path = tmp_path / filename
    path.write_bytes(content)
    name, message = upload(client, path)
    assert name == Path(filename).stem and "Stored" in message
    summary, *_ = client.predict(name, api_name="/dataset_stats")
    assert f"**{len(stored)}** lines" in summary or f"{len(stored)}** lines" in summary
    client.predict(name, api_name="/delete_dataset")


def test_path_like_upload_names_stay_inside_the_data_root(client, app_server, tmp_path):
    evil = tmp_path / "....evil name;rm -rf.txt"
    evil.write_text("anna\nbob\n")
    name, message = upload(client, evil)
    assert "/" not in name and ".." not in name and (app_server.root / "datasets" / f"{name}.txt").is_file()
    client.predict(name, api_name="/delete_dataset")


UNSAFE = ["../../etc/passwd", "/etc/passwd", "a/b", "x\x00y", "n" * 300, ".."]


@pytest.mark.parametrize("name", UNSAFE)
def test_unsafe_names_are_refused_everywhere(client, app_server, name):
    before_data, before_runs = snapshot(app_server.root / "datasets"), snapshot(app_server.root / "checkpoints")
    calls = [
        dict(api_name="/dataset_stats", args=[name]),
        dict(api_name="/delete_dataset", args=[name]),
        dict(api_name="/run_status", args=[name]),
        dict(api_name="/stop_training", args=[name]),
        dict(api_name="/resume_training", args=[name, 0, 0]),
        dict(api_name="/sample", kwargs=dict(run_id=name)),
        dict(api_name="/score_line", args=[name, "anna"]),
    ]
    for call in calls:
        try:
            result = client.predict(*call.get("args", []), api_name=call["api_name"], **call.get("kwargs", {}))
        except AppError as e:
            text = str(e)
        else:
            text = json.dumps(result, default=str)
        assert "not a valid" in text, f"{call['api_name']} answered {text[:300]}"
        assert "root:" not in text and "Traceback" not in text
    with pytest.raises(AppError, match="not a valid"):
        client.predict(dataset=name, arch="bigram", amount=5, unit="steps", api_name="/start_training")
    assert snapshot(app_server.root / "datasets") == before_data
    assert snapshot(app_server.root / "checkpoints") == before_runs


@pytest.mark.parametrize("changes,message", [
    (dict(learning_rate=-1), "learning rate must be above 0"),
    (dict(learning_rate=0), "learning rate must be above 0"),
    (dict(arch="transformer", n_embd=30, n_head=4), "divisible by n_head"),
    (dict(arch="mlp", context=0), "context must be a whole number"),
    (dict(arch="transformer", n_embd=4096, n_layer=32), "over the limit of"),
    (dict(amount=10**9, unit="steps"), "over this server's limit"),
    (dict(amount=10**9, unit="seconds"), "over this server's limit"),
])
def test_absurd_hyperparameters_are_refused(client, app_server, changes, message):
    before = snapshot(app_server.root / "checkpoints")
    args = dict(dataset="tiny", arch="gru", amount=5, unit="steps") | changes
    # the page's number fields refuse out-of-range values first, the core refuses the rest
    with pytest.raises(AppError, match=f"{message}|is (less|greater) than (minimum|maximum) value"):
        client.predict(api_name="/start_training", **args)
    assert snapshot(app_server.root / "checkpoints") == before


class Exploit:
    def __reduce__(self):
        import os

        return (os.system, ("touch /tmp/makemore-pwned",))


def tamper(run: Path, how: str):
    weights = run / "model.safetensors"
    config = json.loads((run / "config.json").read_text())
    if how == "truncated":
        weights.write_bytes(weights.read_bytes()[:100])
    elif how == "garbage":
        weights.write_bytes(b"\x00garbage" * 50)
    elif how == "pickle":
        weights.write_bytes(pickle.dumps({"x": Exploit()}))
    elif how == "shapes":
        config["vocab"] = config["vocab"][:-1]  # a consistent config for a smaller table than the weights hold
        config["model"]["vocab_size"] -= 1
        (run / "config.json").write_text(json.dumps(config))
    elif how == "unknown-arch":
        config["arch"] = "mamba"
        (run / "config.json").write_text(json.dumps(config))


@pytest.fixture(scope="module")
def good_run(app_server):
    """A small trained run made with the command line, copied in as the template to tamper with."""
    import subprocess
    import sys

    target = app_server.root / "checkpoints" / "good-bigram"
    if not target.exists():
        subprocess.run([sys.executable, "-m", "makemore", "-i", str(app_server.root / "datasets" / "tiny.txt"),
                        "-o", str(target), "--type", "bigram", "--max-steps", "20", "--device", "cpu"],
                       cwd=ROOT, check=True, capture_output=True)
    return target


@pytest.mark.parametrize("how,message", [
    ("truncated", "damaged or not a safetensors"), ("garbage", "damaged or not a safetensors"),
    ("pickle", "damaged or not a safetensors"), ("shapes", "do not fit its config"),
    ("unknown-arch", "unknown architecture 'mamba'"),
])
def test_tampered_checkpoints_give_a_message_and_spare_the_others(client, app_server, good_run, how, message):
    Path("/tmp/makemore-pwned").unlink(missing_ok=True)
    run = app_server.root / "checkpoints" / f"tampered-{how}"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(good_run, run)
    tamper(run, how)
    with pytest.raises(AppError, match=message):
        client.predict(run_id=run.name, api_name="/sample")
    assert not Path("/tmp/makemore-pwned").exists()
    table, *_ = client.predict(run_id=good_run.name, num_samples=3, api_name="/sample")
    assert len(table["data"]) == 3
    listed = client.predict(api_name="/list_runs")
    assert run.name in json.dumps(listed)
    shutil.rmtree(run)

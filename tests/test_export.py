"""Exporting a run as a static web page: the folder, the compact weights, and every bad input's message
(the page itself runs in tests/test_browser_export.py)."""
import json
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
import torch

from makemore.errors import CheckpointError, ConfigError
from makemore.export import TOLERANCE, compact_weights, export_page, fnv1a, rounded
from makemore.models import build_model, make_config
from makemore.data import Vocab, load_file
from makemore.store import Run
from tests.conftest import ROOT

SHIPPED = ROOT / "checkpoints"


def copy_run(name, tmp_path, weights=True) -> Run:
    target = tmp_path / name
    shutil.copytree(SHIPPED / name, target, ignore=None if weights else shutil.ignore_patterns("*.safetensors"))
    return Run(target)


def test_the_folder_is_a_static_space_with_a_model_card(tmp_path):
    summary = export_page(Run(SHIPPED / "names-gru"), tmp_path / "page")
    assert sorted(p.name for p in (tmp_path / "page").iterdir()) == ["README.md", "index.html", "makemore.js",
                                                                   "model.js"]
    readme = (tmp_path / "page" / "README.md").read_text(encoding="utf-8")
    front = readme.split("---")[1]
    assert "sdk: static" in front and "app_file: index.html" in front
    status = json.loads((SHIPPED / "names-gru" / "status.json").read_text())
    for fact in ("| data set | names |", "| architecture | gru |", "| parameters | 114,555 |",
                 f"{status['best_test_loss']:.4f}", "No training line is shipped"):
        assert fact in readme, fact
    text = (tmp_path / "page" / "model.js").read_text(encoding="ascii")
    model = json.loads(text[text.index("{"): text.rindex("}") + 1])
    assert model["arch"] == "gru" and model["vocab"][0] == "a" and model["train_hashes"] == ""
    assert summary.bytes == sum(p.stat().st_size for p in (tmp_path / "page").iterdir())
    assert summary.max_prob_error <= TOLERANCE and str(tmp_path) not in summary.describe()


def test_compact_forms_round_as_the_page_reads_them():
    x = torch.tensor([1.0, -1.0, 3.14159265, -2.718281828, 1e-30, 65504.0])
    f24 = rounded(x, "f24")
    assert torch.all((f24 - x).abs() <= x.abs() * 2.0**-16)
    assert torch.equal(f24.view(torch.int32) & 0xFF, torch.zeros(6, dtype=torch.int32))  # the dropped byte
    assert torch.equal(rounded(x, "f16"), x.half().float())


def test_fp16_is_kept_where_it_keeps_the_probabilities():
    """A model whose weights fp16 holds exactly is stored in fp16; a shipped one needs f24 for its large tensors."""
    vocab = Vocab(list("abcdefghijklmnopqrstuvwxyz0123456789!?"))
    model = build_model("bigram", make_config("bigram", vocab.size, 8))
    with torch.no_grad():
        model.logits.copy_(torch.randn_like(model.logits).half().float())
    _, dtypes, error = compact_weights(model, vocab)
    assert dtypes == {"logits": "f16"} and error == 0.0
    model, config = Run(SHIPPED / "names-transformer").load_model()
    _, dtypes, error = compact_weights(model, Run(SHIPPED / "names-transformer").vocab(config))
    sizes = {k: v.numel() for k, v in model.state_dict().items()}
    compact = sum(n for k, n in sizes.items() if dtypes[k] != "f32")
    assert compact > 0.6 * sum(sizes.values()) and error <= TOLERANCE


def test_training_lines_ship_only_when_asked_as_hashes(tmp_path):
    run = Run(SHIPPED / "names-gru")
    summary = export_page(run, tmp_path / "page", include_training_lines=True, data_root=ROOT)
    text = (tmp_path / "page" / "model.js").read_text()
    assert summary.training_lines > 20_000 and "emma" not in text
    assert (fnv1a(""), fnv1a("a"), fnv1a("foobar")) == (0x811C9DC5, 0xE40C292C, 0xBF9CF968)  # FNV's test vectors
    assert "hashes" in (tmp_path / "page" / "README.md").read_text()
    with pytest.raises(ConfigError, match="not at hand"):
        export_page(run, tmp_path / "other", include_training_lines=True, data_root=tmp_path)
    (tmp_path / "names.txt").write_text("emma\nolivia\nava\n")
    with pytest.raises(ConfigError, match="has changed since it was trained"):
        export_page(run, tmp_path / "other", include_training_lines=True, dataset=load_file(tmp_path / "names.txt"))
    assert not (tmp_path / "other").exists()


def test_a_run_without_weights_says_train_it_first(tmp_path):
    with pytest.raises(CheckpointError, match=r"no saved weights yet .*train it"):
        export_page(copy_run("names-gru", tmp_path, weights=False), tmp_path / "page")
    assert not (tmp_path / "page").exists()


@pytest.mark.parametrize("change, message", [
    ({"format": 9}, r"config format 9, which this makemore .* cannot read: update makemore"),
    ({"arch": "mamba"}, r"unknown architecture 'mamba'"),
])
def test_an_unknown_format_or_architecture_is_named(tmp_path, change, message):
    run = copy_run("names-gru", tmp_path)
    config = json.loads(run.file("config.json").read_text())
    run.file("config.json").write_text(json.dumps({**config, **change}))
    with pytest.raises(CheckpointError, match=message):
        export_page(run, tmp_path / "page")


def test_a_folder_in_use_is_refused_unless_forced_and_keeps_its_other_files(tmp_path):
    out = tmp_path / "page"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"exists and is not empty: .*--force"):
        export_page(Run(SHIPPED / "names-bigram"), out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    export_page(Run(SHIPPED / "names-bigram"), out, force=True)
    assert (out / "notes.txt").read_text() == "mine" and (out / "index.html").is_file()
    with pytest.raises(ConfigError, match="own folder"):
        export_page(Run(SHIPPED / "names-bigram"), SHIPPED / "names-bigram", force=True)


def test_cli_verb_exports_and_reports_errors_in_one_line(tmp_path):
    command = [sys.executable, "-m", "makemore", "export", str(SHIPPED / "names-mlp"), "-o", str(tmp_path / "p")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert re.search(r"Exported the mlp \(44,731 parameters\) to p/: 4 files", done.stdout)
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and again.stderr.startswith("error: The folder p exists and is not empty")
    assert "Traceback" not in again.stderr


def test_export_page_endpoint_zips_a_readable_run(app_server, tmp_path):
    from gradio_client import Client

    client = Client(app_server.url, verbose=False)
    path = client.predict(run_id="names-transformer", api_name="/export_page")
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["README.md", "index.html", "makemore.js", "model.js"]
        assert b'"arch":"transformer"' in z.read("model.js")
    with pytest.raises(Exception, match="no run 'someone-elses'"):
        client.predict(run_id="someone-elses", api_name="/export_page")


def test_the_train_tab_downloads_a_run_as_a_web_page(app_server, browser):
    from playwright.sync_api import expect

    from tests.conftest import choose, open_page, open_tab

    page = open_page(browser, app_server.url)
    open_tab(page, "Train")
    choose(page, "train-run", "names · gru")
    page.get_by_text("Rename or share this run").click()
    page.locator("#train-export").click()
    expect(page.locator("#train-export-file")).to_contain_text(re.compile(r"names-gru-web-page\s*\.zip"), timeout=60_000)
    expect(page.locator("#train-run-message")).to_contain_text("open index.html")
    page.close()

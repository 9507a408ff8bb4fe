"""The exported web page in headless Chromium, opened from file:// with every other request aborted: for every
shipped run and a tiny run trained here on non-ASCII lines, the page's next-character probabilities at every
position match PyTorch within 1e-4, the same seed gives the same samples, and bad inputs say what to do."""
import subprocess
import sys

import pytest
import torch
from playwright.sync_api import expect

from makemore.data import BOUNDARY
from makemore.export import export_page
from makemore.store import Run
from tests.conftest import ROOT, SHOTS

SHIPPED = sorted(p.name for p in (ROOT / "checkpoints").iterdir() if (p / "config.json").is_file())
NON_ASCII = ["zoë", "josé", "åsa", "björn", "chloé", "renée", "søren", "müller", "zoé", "andré", "ñandú", "łucja"]
LINES = {"names": ["emma", "olivia", "xavier", "zzyzx", "a"], "companies": ["Acme Corp", "Zeta & Sons", "ab1"],
         "unicode": ["zoë", "josé", "åsa", "søren"]}
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def unicode_run(tmp_path_factory):
    """A tiny transformer trained for a few dozen steps on uploaded-style lines with non-ASCII characters."""
    root = tmp_path_factory.mktemp("unicode")
    data = root / "unicode.txt"
    data.write_text("\n".join(NON_ASCII * 25) + "\n", encoding="utf-8")
    command = [sys.executable, "-m", "makemore", "-i", str(data), "-o", str(root / "run"), "--type", "transformer",
               "--n-layer", "2", "--n-embd", "32", "--max-steps", "40", "--eval-interval", "20", "--threads", "1"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return Run(root / "run")


@pytest.fixture(scope="module")
def pages(tmp_path_factory, unicode_run):
    """name -> (run, the exported folder)."""
    out = tmp_path_factory.mktemp("pages")
    runs = {name: Run(ROOT / "checkpoints" / name) for name in SHIPPED}
    runs["unicode-transformer"] = unicode_run
    for name, run in runs.items():
        export_page(run, out / name)
    return {name: (run, out / name) for name, run in runs.items()}


def offline_page(browser, folder, width=1280, init_script=None):
    """index.html of `folder` from file://, every request that is not a local file aborted and recorded."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.blocked = []

    def route(r):
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            page.blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    if init_script:
        page.add_init_script(init_script)
    page.goto((folder / "index.html").as_uri())
    return page


@torch.no_grad()
def torch_probs(run: Run, line: str) -> torch.Tensor:
    model, config = run.load_model()
    x = torch.tensor([[BOUNDARY] + run.vocab(config).encode(line)])
    return model(x)[0].softmax(-1)[0].double()


PAGE_PROBS = """async (lines) => {
  const out = [];
  for (const line of lines) {
    const chars = Array.from(line), rows = [];
    for (let i = 0; i <= chars.length; i++) rows.push(await makemore.nextCharProbs(chars.slice(0, i).join("")));
    out.push(rows);
  }
  return out;
}"""


def test_every_architecture_matches_pytorch_offline_from_file_url(browser, pages):
    for name, (run, folder) in pages.items():
        page = offline_page(browser, folder)
        page.wait_for_selector("body[data-ready=true]", state="attached", timeout=30_000)
        vocab = run.vocab()
        lines = LINES[name.split("-")[0]]
        assert all(set(line) <= set(vocab.chars) for line in lines), name
        got = page.evaluate(PAGE_PROBS, lines)
        for line, rows in zip(lines, got):
            expected = torch_probs(run, line)
            assert len(rows) == len(line) + 1
            for t, row in enumerate(rows):
                js = torch.tensor([row["<end>"]] + [row[c] for c in vocab.chars], dtype=torch.float64)
                gap = float((js - expected[t]).abs().max())
                assert gap < TOLERANCE, f"{name}: {line!r} at position {t} differs by {gap:.2e}"
        options = {"count": 12, "temperature": 0.9, "top_k": 10, "top_p": 0.95, "prefix": lines[0][:1], "seed": 7}
        first, second, other = page.evaluate("async (o) => [await makemore.sample(o), await makemore.sample(o), "
                                             "await makemore.sample({...o, seed: 8})]", options)
        assert first == second and first != other and len(first) == 12, name
        assert all(s.startswith(lines[0][:1]) and set(s) <= set(vocab.chars) for s in first), name
        info = page.evaluate("makemore.info")
        assert (info["arch"], info["params"]) == (run.read_config()["arch"], run.read_config()["params"]), name
        assert page.locator("#results li").count() == 20, name  # the page's first batch, shown on load
        assert page.blocked == [], f"{name} tried to reach {page.blocked}"
        page.close()


def test_the_page_applies_the_ideas_constraints_and_only_new(browser, tmp_path):
    run = Run(ROOT / "checkpoints" / "names-gru")
    export_page(run, tmp_path / "page", include_training_lines=True, data_root=ROOT)
    page = offline_page(browser, tmp_path / "page", width=390)
    page.wait_for_selector("body[data-ready=true]", state="attached")
    page.fill("#count", "15")
    page.fill("#starts_with", "ma")
    page.fill("#ends_with", "n")
    page.fill("#contains", "r")
    page.fill("#exclude", "e")
    page.fill("#max_len", "9")
    page.check("#only_new")
    page.click("#generate")
    page.wait_for_function("document.querySelector('#message').textContent.includes('lines in')")
    shown = page.locator("#results li").all_text_contents()
    train = set(_train_lines())
    assert len(shown) == 15 and len(set(shown)) == 15
    for line in shown:
        assert line.startswith("ma") and line.endswith("n") and "r" in line and "e" not in line and len(line) <= 9
        assert line not in train, line
    page.screenshot(path=str(SHOTS / "export-390.png"), full_page=True)
    page.click("#copy")
    expect(page.locator("#message")).to_contain_text("Copied 15 lines")
    page.fill("#writer", "emm")
    expect(page.locator("#choices li")).to_have_count(8)
    assert "a" in page.locator("#choices li").first.text_content()
    assert page.blocked == []


def _train_lines():
    from makemore.data import load_file

    config = Run(ROOT / "checkpoints" / "names-gru").read_config()
    return load_file(ROOT / "datasets" / "names.txt", config["split_seed"]).train_lines


def test_without_training_lines_only_new_is_off_and_says_why(browser, pages):
    page = offline_page(browser, pages["names-bigram"][1])
    page.wait_for_selector("body[data-ready=true]", state="attached")
    assert page.locator("#only_new").is_disabled()
    assert "not shipped" in page.locator("#only-new-note").text_content()
    error = page.evaluate("makemore.generate({only_new: true}).then(() => '', e => e.message)")
    assert "--include-training-lines" in error
    page.screenshot(path=str(SHOTS / "export-1280.png"), full_page=True)


def test_bad_inputs_in_the_page_get_clear_messages(browser, pages, tmp_path):
    page = offline_page(browser, pages["names-bigram"][1], init_script="delete window.TextEncoder")
    assert "lacks TextEncoder" in page.locator("#unsupported").text_content()
    assert page.locator("#unsupported").is_visible()
    folder = tmp_path / "newer"
    export_page(Run(ROOT / "checkpoints" / "names-bigram"), folder)
    model_js = folder / "model.js"
    model_js.write_text(model_js.read_text().replace('"format":1', '"format":7', 1))
    page = offline_page(browser, folder)
    page.wait_for_selector("body[data-ready=error]", state="attached")
    assert "format 7" in page.locator("#message").text_content() and "export the model again" in \
        page.locator("#message").text_content()
    page = offline_page(browser, pages["names-gru"][1])
    page.wait_for_selector("body[data-ready=true]", state="attached")
    page.fill("#starts_with", "Ω")
    page.click("#generate")
    page.wait_for_function("document.querySelector('#message').textContent.includes('never occur')")


@pytest.fixture(scope="module")
def labelled_run(tmp_path_factory):
    """A small GRU trained on a labelled table: "low" lines of a, b, c; "high" lines of X, Y, Z."""
    import random

    root = tmp_path_factory.mktemp("labelled")
    rng = random.Random(3)
    rows = ["text,label"] + [f"{''.join(rng.choice('abc') for _ in range(rng.randint(2, 5)))},low" for _ in range(150)]
    rows += [f"{''.join(rng.choice('XYZ') for _ in range(rng.randint(2, 5)))},high" for _ in range(150)]
    data = root / "two.csv"
    data.write_text("\n".join(rows) + "\n")
    command = [sys.executable, "-m", "makemore", "-i", str(data), "-o", str(root / "run"), "--type", "gru",
               "--n-embd", "16", "--n-embd2", "32", "--max-steps", "300", "--threads", "1"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return Run(root / "run")


def test_a_labelled_run_matches_pytorch_per_label_and_the_page_offers_its_labels(browser, labelled_run, tmp_path):
    export_page(labelled_run, tmp_path / "page")
    page = offline_page(browser, tmp_path / "page")
    page.wait_for_selector("body[data-ready=true]", state="attached", timeout=30_000)
    model, config = labelled_run.load_model()
    vocab = labelled_run.vocab(config)
    assert page.evaluate("makemore.info.labels") == ["high", "low"]
    for label, line in (("low", "abca"), ("high", "XYZ"), (None, "ab")):
        rows = page.evaluate("async ([line, label]) => { const out = []; for (let i = 0; i <= line.length; i++) "
                             "out.push(await makemore.nextCharProbs(line.slice(0, i), label)); return out; }",
                             [line, label])
        with torch.no_grad():
            x = torch.tensor([[vocab.start(label)] + vocab.encode(line)])
            expected = model(x)[0].softmax(-1)[0].double()
        for t, row in enumerate(rows):
            js = torch.tensor([row["<end>"]] + [row[c] for c in vocab.chars], dtype=torch.float64)
            gap = float((js - expected[t, : len(vocab.chars) + 1]).abs().max())
            assert gap < TOLERANCE, f"{label}: {line!r} at position {t} differs by {gap:.2e}"
    high = page.evaluate("makemore.sample({count: 20, temperature: 0.7, seed: 1, label: 'high'})")
    assert sum(set(s) <= set("XYZ") for s in high) >= 18, high
    error = page.evaluate("makemore.sample({label: 'mid'}).then(() => '', (e) => e.message)")
    assert "no label 'mid'" in error and "'high', 'low'" in error
    expect(page.locator("#label-field")).to_be_visible()
    page.select_option("#label", "low")
    page.fill("#temperature", "0.7")
    page.click("#generate")
    page.wait_for_function("document.querySelector('#message').textContent.includes('lines in')")
    shown = page.locator("#results li").all_text_contents()
    assert shown and sum(set(s) <= set("abc") for s in shown) >= len(shown) - 2, shown
    page.screenshot(path=str(SHOTS / "export-labelled.png"), full_page=True)
    assert page.blocked == []

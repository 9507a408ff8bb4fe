"""Tables in (.csv, .tsv, .jsonl) and generation conditioned on a label, below the web page."""
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from makemore.data import BOUNDARY, load_bytes, load_file
from makemore.errors import DataError
from makemore.finetune import create_finetune_run
from makemore.ideas import generate_ideas
from makemore.introspect import next_char_choices
from makemore.limits import load_limits
from makemore.models import ARCHITECTURES
from makemore.sample import generate, score_line
from makemore.store import Run
from makemore.tables import MAX_LABELS, MIN_LINES_PER_LABEL
from makemore.train import create_run, make_train_config, train_run
from makemore.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
LOW, HIGH = "abc", "XYZ"  # the two labels of the disjoint set write from disjoint alphabets


def disjoint_rows(count=150, seed=0):
    """(text, label) rows: "low" lines use only a, b, c; "high" lines only X, Y, Z."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        rows.append(("".join(rng.choice(LOW) for _ in range(rng.randint(2, 6))), "low"))
        rows.append(("".join(rng.choice(HIGH) for _ in range(rng.randint(2, 6))), "high"))
    return rows


def as_csv(rows, header="text,label", sep=","):
    return ("\n".join([header] + [f"{t}{sep}{lab}" for t, lab in rows]) + "\n").encode()


def test_csv_header_is_a_header_not_a_line():
    """The newcomer's file: a header and a number column never enter the lines or the vocabulary."""
    raw = b"name,founded\nAcme,1999\nGlobex,2004\nInitech,1995\n"
    d = load_bytes(raw, "firms", suffix=".csv")
    assert d.lines == ["Acme", "Globex", "Initech"] and d.labels is None
    assert "," not in d.vocab.chars and not any(c.isdigit() for c in d.vocab.chars)


@pytest.mark.parametrize("suffix,raw", [
    (".csv", b"Acme\nGlobex\nInitech\n"),  # no header, one column
    (".tsv", b"name\tindustry\nAcme\tfood\nGlobex\ttech\nInitech\ttech\n"),
    (".jsonl", b'{"name": "Acme", "founded": 1999}\n{"name": "Globex"}\n{"name": "Initech", "founded": null}\n'),
    (".jsonl", b'"Acme"\n"Globex"\n\n"Initech"\n'),  # bare strings: no keys at all
])
def test_every_table_format_with_and_without_header(suffix, raw):
    d = load_bytes(raw, "t", suffix=suffix)
    assert sorted(d.lines) == ["Acme", "Globex", "Initech"]


def test_chosen_columns_and_clear_messages_naming_the_columns():
    raw = b"brand,industry\nAcme,food\nGlobex,tech\n"
    with pytest.raises(DataError, match="'brand', 'industry'"):  # two text columns, none obvious
        load_bytes(raw, "t", suffix=".csv")
    d = load_bytes(raw, "t", suffix=".csv", text_column="industry")
    assert d.lines == ["food", "tech"]
    with pytest.raises(DataError, match="no column 'nope'.*'brand', 'industry'"):
        load_bytes(raw, "t", suffix=".csv", text_column="nope")
    with pytest.raises(DataError, match="both 'brand'"):
        load_bytes(raw, "t", suffix=".csv", text_column="brand", label_column="brand")
    with pytest.raises(DataError, match="Line 2 of the .jsonl file is not JSON"):
        load_bytes(b'{"text": "a"}\n{oops\n', "t", suffix=".jsonl")


def test_label_caps_have_clear_messages():
    few = [(f"line{i}", "big") for i in range(20)] + [("one", "tiny"), ("two", "tiny")]
    with pytest.raises(DataError, match=f"at least {MIN_LINES_PER_LABEL} lines.*'tiny' \\(2\\)"):
        load_bytes(as_csv(few), "t", suffix=".csv")
    many = [(f"line{i}", f"kind{i % (MAX_LABELS + 1)}") for i in range((MAX_LABELS + 1) * MIN_LINES_PER_LABEL)]
    with pytest.raises(DataError, match=f"{MAX_LABELS + 1} different labels, over the limit of {MAX_LABELS}"):
        load_bytes(as_csv(many), "t", suffix=".csv")


def test_labelled_vocabulary_adds_one_start_token_per_label_after_the_characters():
    d = load_bytes(as_csv(disjoint_rows(20)), "two", suffix=".csv")
    assert d.vocab.labels == ["high", "low"] and d.vocab.size == len(d.vocab.chars) + 1 + 2
    assert d.vocab.start(None) == BOUNDARY and d.vocab.start("high") == len(d.vocab.chars) + 1
    x, y = d.tensors("train")
    starts = {d.vocab.start(label) for label in d.train_labels}
    assert set(x[:, 0].tolist()) == starts and BOUNDARY not in x[:, 0].tolist()
    with pytest.raises(DataError, match="no label 'mid'.*'high', 'low'"):
        d.vocab.start("mid")
    plain = load_bytes(b"ann\nbob\ncid\n", "plain")
    with pytest.raises(DataError, match="trained without labels"):
        plain.vocab.start("low")


def test_upload_stores_a_labelled_table_as_jsonl_and_lists_it(tmp_path):
    ws = Workspace(tmp_path / "root", load_limits())
    name, used = ws.store_upload("two kinds.csv", as_csv(disjoint_rows(20)))
    assert name == "two-kinds" and "labels from 'label'" in used
    assert (ws.datasets / "two-kinds.jsonl").is_file() and name in ws.list_datasets()
    assert ws.load_dataset(name).vocab.labels == ["high", "low"]
    name2, used2 = ws.store_upload("firms.csv", b"name,founded\nAcme,1999\nGlobex,2004\n")
    assert (ws.datasets / "firms.txt").read_text() == "Acme\nGlobex\n" and "'name'" in used2
    with pytest.raises(DataError, match="not a table"):
        ws.store_upload("plain.txt", b"a\nb\n", text_column="name")
    ws.delete_dataset(name)
    assert name not in ws.list_datasets()


def tiny(arch):
    """Small shapes, so that every architecture trains in seconds."""
    return {"transformer": dict(n_layer=2, n_embd=32, n_head=4), "cnn": dict(n_embd=16, n_embd2=32),
            "bow": dict(n_embd=16, n_embd2=32)}.get(arch, dict(n_embd=16, n_embd2=32) if arch != "bigram" else {})


@pytest.fixture(scope="module")
def disjoint():
    return load_bytes(as_csv(disjoint_rows()), "two", suffix=".csv")


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_every_architecture_stays_inside_its_labels_characters(arch, disjoint, tmp_path):
    run = Run(tmp_path / arch)
    create_run(run, disjoint, arch, tiny(arch), make_train_config(arch, max_steps=300, eval_interval=300,
                                                                  seed=1))
    train_run(run, disjoint)
    model, config = run.load_model()
    vocab = run.vocab(config)
    assert config["labels"] == ["high", "low"]
    for label, alphabet in (("low", LOW), ("high", HIGH)):
        samples = generate(model, vocab, num_samples=40, temperature=0.7, seed=5, label=label)
        inside = [s.text for s in samples if s.text and set(s.text) <= set(alphabet)]
        assert len(inside) >= 38, (label, [s.text for s in samples])
        other = ("XYZ" if label == "low" else "abc")
        assert score_line(model, vocab, other, label=label)["mean_nll"] > \
            score_line(model, vocab, other, label="high" if label == "low" else "low")["mean_nll"]


def test_ideas_and_the_writer_take_a_label(disjoint, tmp_path):
    run = Run(tmp_path / "gru")
    create_run(run, disjoint, "gru", tiny("gru"), make_train_config("gru", max_steps=300, eval_interval=300,
                                                                    seed=1))
    train_run(run, disjoint)
    model, config = run.load_model()
    vocab = run.vocab(config)
    result = generate_ideas(model, vocab, set(), 10, only_new=False, temperature=0.7, seed=1, label="high")
    assert result.ideas and all(set(i.text) <= set(HIGH) for i in result.ideas)
    choices = next_char_choices(model, vocab, "", top_n=3, label="low")
    assert {text for _, text, _ in choices.choices} <= set(LOW)


def test_fine_tuning_carries_labels_over_by_name(disjoint, tmp_path):
    source = Run(tmp_path / "source")
    create_run(source, disjoint, "bigram", {}, make_train_config("bigram", max_steps=200, eval_interval=200))
    train_run(source, disjoint)
    rows = [(t, lab) for t, lab in disjoint_rows(40, seed=9) if lab == "low"] + [("qq", "new")] * 5
    target_data = load_bytes(as_csv(rows), "other", suffix=".csv")
    target = Run(tmp_path / "target")
    create_finetune_run(target, target_data, source, make_train_config("bigram", max_steps=1))
    init = target.read_tensors("init.safetensors")["logits"]
    weights = source.read_tensors()["logits"]
    s, t = source.vocab(), target.vocab(target.read_config())
    # the "low" start token's row of next-character scores is the source's, mapped by character
    for c in LOW:
        assert init[t.start("low"), t.stoi[c]] == weights[s.start("low"), s.stoi[c]]
    assert t.labels == ["low", "new"]


def test_cli_trains_on_a_labelled_table_and_samples_one_label(tmp_path):
    table = tmp_path / "two.csv"
    table.write_bytes(as_csv(disjoint_rows()))
    out = tmp_path / "run"
    common = [sys.executable, "-m", "makemore", "-i", str(table), "-o", str(out), "--device", "cpu"]
    trained = subprocess.run(common + ["--type", "gru", "--max-steps", "300", "--n-embd", "16", "--n-embd2", "32",
                                       "-l", "1e-2"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert trained.returncode == 0, trained.stderr
    assert "labels high, low" in trained.stdout
    sampled = subprocess.run(common + ["--sample-only", "--label", "high", "--num-samples", "20",
                                       "--temperature", "0.7"], capture_output=True, text=True, cwd=REPO, timeout=120)
    lines = [line for line in sampled.stdout.splitlines() if line and not line.startswith("-") and "samples" not in line]
    assert len(lines) == 20 and sum(set(line) <= set(HIGH) for line in lines) >= 18
    bad = subprocess.run(common + ["--sample-only", "--label", "mid"], capture_output=True, text=True, cwd=REPO,
                         timeout=120)
    assert bad.returncode == 1 and "no label 'mid'" in bad.stderr and "'high', 'low'" in bad.stderr


def test_bundled_labelled_data_set_is_real_and_documented():
    d = load_file(REPO / "datasets" / "names-or-companies.jsonl")
    assert d.vocab.labels == ["company", "name"] and len(d.lines) == 2000
    names = set((REPO / "datasets" / "names.txt").read_text().split())
    companies = {line.strip() for line in (REPO / "datasets" / "companies.txt").read_text().splitlines()}
    rows = [json.loads(line) for line in (REPO / "datasets" / "names-or-companies.jsonl").read_text().splitlines()]
    assert all(r["text"] in (names if r["label"] == "name" else companies) for r in rows)
    assert "names-or-companies.jsonl" in (REPO / "datasets" / "README.md").read_text()

"""What a newcomer meets in the core: runs with human names (renamable), one run per repeated Start, a note
when a run overfits, and downloads a spreadsheet opens correctly."""
import json
import shutil
import time
from pathlib import Path

import pytest

from makemore.diagnose import overfitting
from makemore.errors import ConfigError
from makemore.jobs import JobManager
from makemore.limits import load_limits
from makemore.workspace import Workspace


@pytest.fixture
def jobs(tmp_path, small_file):
    """A job manager that never launches workers (no free slot), over a root with 'twenty' and the shipped runs."""
    ws = Workspace(tmp_path / "root", load_limits({"MAKEMORE_MAX_JOBS": "0"}))
    shutil.copyfile(small_file, ws.datasets / "twenty.txt")
    assert (ws.runs / "names-bigram").is_dir()  # seeded
    manager = JobManager(ws, scheduler=False, device="cpu", repeat_window=1.0)
    yield manager
    manager.close()


def test_a_repeated_identical_request_returns_the_same_run(jobs):
    first = jobs.create("twenty", "bigram", steps=50, seed=1)
    assert jobs.create("twenty", "bigram", steps=50, seed=1) == first  # a double click
    other_seed = jobs.create("twenty", "bigram", steps=50, seed=2)
    longer = jobs.create("twenty", "bigram", steps=60, seed=1)
    other_arch = jobs.create("twenty", "mlp", steps=50, seed=1)
    assert len({first, other_seed, longer, other_arch}) == 4
    assert len([s for s in jobs.ws.summaries() if not s.shipped]) == 4
    time.sleep(1.1)  # past the repeat window: the same request is a new run
    assert jobs.create("twenty", "bigram", steps=50, seed=1) not in (first, other_seed, longer, other_arch)


def test_a_repeat_after_the_run_was_deleted_makes_a_new_one(jobs):
    first = jobs.create("twenty", "bigram", steps=50)
    shutil.rmtree(jobs.ws.run(first).path)
    again = jobs.create("twenty", "bigram", steps=50)
    assert jobs.ws.run(again).exists()


def test_runs_get_a_short_unique_human_name(jobs):
    a = jobs.ws.run(jobs.create("twenty", "gru", steps=50, seed=1)).summary()
    b = jobs.ws.run(jobs.create("twenty", "gru", steps=50, seed=2)).summary()
    clock = time.strftime("%H:%M", time.localtime(a.created))
    assert a.name.startswith("twenty · gru · ") and a.name[-5:] in (clock, time.strftime("%H:%M"))
    assert b.name != a.name and b.name.startswith("twenty · gru · ")
    assert json.loads(jobs.ws.run(a.id).file("config.json").read_text())["name"] == a.name
    shipped = jobs.ws.run("names-bigram").summary()
    assert "name" not in jobs.ws.run("names-bigram").raw_config() and shipped.name == "names · bigram · shipped"


def test_a_run_can_be_renamed_within_limits(jobs):
    run = jobs.ws.run(jobs.create("twenty", "mlp", steps=50))
    assert run.rename("  Grüße, mein bestes Modell  ") == "Grüße, mein bestes Modell"
    assert run.summary().name == "Grüße, mein bestes Modell" and run.read_config()["name"] == run.summary().name
    for bad in ["", "   ", "x" * 61, "two\nlines", "tab\there", None]:
        with pytest.raises(ConfigError, match="1 to 60 printable characters"):
            run.rename(bad)
    assert run.summary().name == "Grüße, mein bestes Modell"  # a refused name changes nothing
    assert run.rename("x" * 60) == "x" * 60
    with pytest.raises(ConfigError, match="shipped"):
        jobs.ws.run("names-bigram").rename("mine")
    assert not list(run.path.glob("*.tmp")) and not list(run.path.glob(".*.tmp"))


def evals(*pairs):
    return [{"kind": "eval", "step": 100 * i, "train_loss": tr, "test_loss": te} for i, (tr, te) in enumerate(pairs)]


def test_overfitting_is_three_rising_test_losses_while_the_train_loss_falls():
    falling = evals((3.0, 3.0), (2.5, 2.6), (2.2, 2.4), (2.0, 2.35))
    assert overfitting(falling) is None
    rising = falling + [
        {"kind": "eval", "step": 400, "train_loss": 1.9, "test_loss": 2.37},
        {"kind": "train", "step": 450, "loss": 1.5},  # training records between evaluations do not matter
        {"kind": "eval", "step": 500, "train_loss": 1.8, "test_loss": 2.40},
        {"kind": "eval", "step": 600, "train_loss": 1.7, "test_loss": 2.45},
    ]
    found = overfitting(rising)
    assert found and (found.since_step, found.step, found.best_step) == (300, 600, 300)
    assert found.best_test_loss == 2.35 and found.test_to == 2.45
    text = found.message()
    assert "risen for 3 evaluations" in text and "best checkpoint (step 300, test loss 2.3500) is kept" in text
    assert "smaller model" in text
    assert overfitting(rising[:-1]) is None  # only two rises so far
    both_rise = rising[:-1] + [{"kind": "eval", "step": 600, "train_loss": 2.5, "test_loss": 2.45}]
    assert overfitting(both_rise) is None  # the training loss rose too: not overfitting (a bad learning rate)
    assert overfitting(rising + [{"kind": "eval", "step": 700, "train_loss": 1.6, "test_loss": 2.41}]) is None
    assert overfitting(evals((1, 2), (0.9, 2.1))) is None  # too few evaluations to say


def test_a_character_chart_stays_readable_with_many_characters_and_shows_the_space():
    from makemore.ui.data_tab import frequency_figure

    many = [(chr(0x41 + i), 1000 - i) for i in range(60)] + [(" ", 5)]
    bars = frequency_figure(many).data[0]
    assert bars.orientation == "h" and len(bars.y) == 41  # the 40 most common, then the rest in one bar
    assert bars.y[-1] == "others (21)" and bars.x[-1] == sum(n for _, n in many[40:])
    few = frequency_figure([(" ", 10), ("a", 5), ("\t", 1)]).data[0]
    assert list(few.x) == ["␣ (space)", "a", "⇥ (tab)"]


def test_a_message_about_unknown_characters_shows_a_space_as_a_space():
    from makemore.data import Vocab

    with pytest.raises(Exception, match=r"The characters ␣ \(space\), 'Z' never occur"):
        Vocab(list("abc")).encode("a Z")


def test_csv_downloads_open_right_in_spreadsheets(tmp_path):
    import csv
    import io

    import pandas as pd

    from makemore.ui.sample_tab import write_downloads

    texts = ["Müller", "=cmd|' /C calc'!A0", "+49", "-x", "@SUM(1)", "a=b"]
    frame = pd.DataFrame({"sample": texts, "origin": ["new"] * 6, "log-prob": [-1.5, -2.0, -3.0, -4.0, -5.0, -6.0]})
    txt, csv_path = write_downloads(frame, tmp_path, "run")
    raw = open(csv_path, "rb").read()
    assert raw.startswith(b"\xef\xbb\xbf")  # a byte-order mark: spreadsheet programs then read UTF-8 (umlauts)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == ["Müller", "'=cmd|' /C calc'!A0", "'+49", "'-x", "'@SUM(1)", "a=b"]
    assert rows[1][2] == "-1.5"  # numbers are numbers, not text
    assert open(txt, encoding="utf-8").read().splitlines() == texts  # the .txt keeps the samples as they are


def test_download_folders_are_made_while_others_clean_up_beside_them(tmp_path, monkeypatch):
    """Sampling requests run side by side (and other servers share /tmp): an entry that vanishes between
    listing and checking its age is skipped, not a failed request; folders over an hour old go, looked for
    at most once a minute."""
    import os
    import time

    from makemore.ui import common as sample_tab  # download_folder lives in ui.common

    monkeypatch.setattr(sample_tab.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(sample_tab, "_last_sweep", 0.0)  # no look for stale folders yet in this process
    base = tmp_path / "makemore-downloads"
    (base / "old").mkdir(parents=True)
    os.utime(base / "old", (time.time() - 7200, time.time() - 7200))
    (base / "fresh").mkdir()
    (base / "vanished").symlink_to(base / "removed-just-now")  # listed, but stat() finds nothing
    folder = sample_tab.download_folder()
    assert folder.parent == base and folder.is_dir()
    assert not (base / "old").exists() and (base / "fresh").is_dir()
    (base / "old-too").mkdir()
    os.utime(base / "old-too", (time.time() - 7200, time.time() - 7200))
    sample_tab.download_folder()
    assert (base / "old-too").is_dir()  # the next look is a minute later, not on every request
    monkeypatch.setattr(sample_tab, "_last_sweep", sample_tab._last_sweep - 61)
    sample_tab.download_folder()
    assert not (base / "old-too").exists()


def test_the_train_tab_shows_the_overfitting_note(jobs):
    from makemore.engine import Engine
    from makemore.ui.common import Context
    from makemore.ui.train_tab import progress

    run = jobs.ws.run(jobs.create("twenty", "bigram", steps=600))
    engine = Engine(jobs.owners, jobs)
    ctx = Context(engine)
    losses = [(3.0, 3.0), (2.5, 2.6), (2.2, 2.4), (2.0, 2.35), (1.9, 2.37), (1.8, 2.40)]
    for record in evals(*losses):
        run.append_metrics(record)
    with ctx.visiting(engine.session()):
        assert "Overfitting" not in progress(ctx, run.id)[0]  # two rises: not yet
        run.append_metrics({"kind": "eval", "step": 600, "train_loss": 1.7, "test_loss": 2.45})
        status = progress(ctx, run.id)[0]
    assert "Overfitting: the test loss has risen for 3 evaluations" in status and "is kept" in status


def test_the_readme_set_up_says_the_app_keeps_running_and_the_tests_need_another_terminal():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    set_up = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    assert "keeps\nrunning" in set_up or "keeps running" in set_up
    assert "another terminal" in set_up


def test_the_train_tab_says_starting_until_the_first_evaluation_and_labels_its_samples(jobs):
    """A run whose worker has not evaluated yet (it is loading) shows Starting, not a silent step 0; its samples
    say the step and test loss of the weights that wrote them."""
    from makemore.engine import Engine
    from makemore.store import RunState
    from makemore.ui.common import Context
    from makemore.ui.train_tab import describe, progress

    run = jobs.ws.run(jobs.create("twenty", "bigram", steps=600))
    engine = Engine(jobs.owners, jobs)
    ctx = Context(engine)
    run.update_status(state=RunState.RUNNING, step=0)
    with ctx.visiting(engine.session()):
        assert describe(ctx, run.id)[0].startswith("**Starting**")
        assert "none yet" in progress(ctx, run.id)[3]["label"]
        run.append_metrics({"kind": "eval", "step": 0, "train_loss": 3.3, "test_loss": 3.31})
        run.write_samples(["xq", "zzv"], 0)
        run.update_status(best_test_loss=3.31, best_step=0)
        assert describe(ctx, run.id)[0].startswith("**Training**")
        samples = progress(ctx, run.id)[3]
    assert samples["value"] == "xq\nzzv"
    assert samples["label"] == "Latest samples, at step 0, test loss 3.310 — untrained weights, gibberish expected"

"""The first ten minutes of a newcomer, in headless Chromium, on an app of its own (a clean root with two
shipped runs): an upload of German words is selected everywhere, a double click starts one run, a reload
shows the running job, Sample follows the stopped run, Compare ranks by loss, errors stay beside their
control, and no tab scrolls sideways on a phone. Screenshots of every tab (desktop and phone) go to
artifacts/screenshots/newcomer-*.png."""
import re
import shutil

import pytest
from playwright.sync_api import expect

from tests.conftest import (ROOT, SHOTS, choose, kill_workers, loaded, open_page, open_tab, start_app, start_steps_run,
                            stop_app)

PREFIXES = ["Über", "Grün", "Schön", "Müll", "Bär", "Größ", "Käs", "Öl", "Flüg", "Läng", "Hüg", "Tür", "Rück", "Süß",
            "Fröh", "Mär", "Kün", "Löw", "Häus", "Spür"]
SUFFIXES = ["e", "en", "er", "chen", "lein", "ung", "heit", "keit", "ling", "nis", "sal", "tum", "schaft", "bar",
            "lich"]
WORDS = [p + s for p in PREFIXES for s in SUFFIXES]  # 300 words, umlauts and ß in every one
TABS = ("Data", "Train", "Sample", "Compare")
WAIT = 30_000  # ms for what the server does (on 2 busy cores), not for an answer the page already has


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("newcomer-root")
    (root / "checkpoints").mkdir()
    for run in ("names-bigram", "names-mlp"):
        shutil.copytree(ROOT / "checkpoints" / run, root / "checkpoints" / run)
    proc, url = start_app(root, root / "app.log")
    yield root, url
    stop_app(proc)
    kill_workers(root)


def shot(page, name):
    page.screenshot(path=str(SHOTS / f"newcomer-{name}.png"), full_page=True)


def user_runs(root):
    """The runs the user made (not the shipped ones the root was seeded with)."""
    shipped = {p.name for p in (ROOT / "checkpoints").iterdir() if p.is_dir()}
    return sorted(p.name for p in (root / "checkpoints").iterdir() if p.is_dir() and p.name not in shipped)


def table_rows(page, elem_id):
    """The cell texts of a gradio table, header row first."""
    return page.evaluate(
        "(id) => [...document.querySelectorAll(`#${id} [role=row]`)].map(r => "
        "[...r.querySelectorAll('[role=cell], [role=gridcell], [role=columnheader]')].map(c => c.innerText))",
        elem_id)


def upload(page, name, content: bytes):
    page.locator("#data-upload input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": "text/plain", "buffer": content}])


def test_a_newcomer_uploads_trains_samples_and_compares(app, browser, tmp_path):
    root, url = app
    page = open_page(browser, url, accept_downloads=True)
    expect(page.locator("#data-summary")).to_contain_text("32,033 lines", timeout=WAIT)
    message = page.locator("#data-message")

    # a file whose only line is too long: the message names the line and the limit, styled as an error
    upload(page, "long.txt", b"x" * 5000 + b"\n")
    expect(message).to_contain_text("Line 1 is 5,000 characters long, over the limit of 256", timeout=WAIT)
    expect(message).to_have_class(re.compile("mm-error"))

    # German words: stored, selected here, and the message stays (the data set change does not clear it)
    upload(page, "deutsche-woerter.txt", ("\n".join(WORDS) + "\n").encode())
    expect(message).to_contain_text("Stored as deutsche-woerter", timeout=WAIT)
    expect(page.locator("#data-summary")).to_contain_text("300 lines")
    expect(page.locator("#data-summary")).to_contain_text("ß")
    page.wait_for_timeout(1500)
    expect(message).to_contain_text("Stored as deutsche-woerter")
    expect(message).not_to_have_class(re.compile("mm-error"))
    shot(page, "desktop-data")

    # the upload is selected in Compare's "train all" and in Train; a double click on Start makes one run
    open_tab(page, "Compare")
    expect(page.locator("#compare-dataset input")).to_have_value("deutsche-woerter", timeout=WAIT)
    open_tab(page, "Train")
    expect(page.locator("#train-dataset input")).to_have_value("deutsche-woerter", timeout=WAIT)
    start_steps_run(page, "MLP", 100000, "deutsche-woerter · mlp", double_click=True, timeout=WAIT)
    expect(page.locator("#train-start")).to_be_enabled(timeout=WAIT)  # disabled only while the request is out
    page.wait_for_timeout(1500)  # time for a second request, had one gone out
    assert len(user_runs(root)) == 1, user_runs(root)
    run_dir = root / "checkpoints" / user_runs(root)[0]
    expect(page.locator("#train-status")).to_contain_text("Training", timeout=60_000)
    expect(page.locator("#train-progress")).to_contain_text(re.compile(r"step [1-9]"), timeout=60_000)
    shot(page, "desktop-train")

    # a reload during training shows the running job, not a shipped run
    page.reload()
    loaded(page)
    open_tab(page, "Train")
    expect(page.locator("#train-run input")).to_have_value(re.compile("^deutsche-woerter · mlp"), timeout=WAIT)
    expect(page.locator("#train-status")).to_contain_text("Training")

    # stop: the bar shows how far it got, not 0%; then give the run a name of one's own
    page.locator("#train-stop").click()
    expect(page.locator("#train-run-message")).to_contain_text("Stopping", timeout=WAIT)
    expect(page.locator("#train-status")).to_contain_text("Stopped", timeout=30_000)
    width = page.locator("#train-progress div[style*=transition]").get_attribute("style")
    assert float(re.search(r"width:\s*([\d.]+)%", width).group(1)) > 0, width
    expect(page.locator("#train-progress")).to_contain_text(re.compile(r"^\s*(0\.[1-9]|[1-9][\d.]*)% · step"))
    page.get_by_text("Rename or share this run", exact=True).click()
    # the field shows the run's name as its placeholder; Rename with nothing typed says what to do
    name_field = page.locator("#train-name input")
    expect(name_field).to_have_attribute("placeholder", re.compile("^deutsche-woerter · mlp"), timeout=WAIT)
    page.locator("#train-rename").click()
    expect(page.locator("#train-run-message")).to_contain_text("Type the new name first", timeout=WAIT)
    name_field.fill("Meine Wörter")
    page.locator("#train-rename").click()
    expect(page.locator("#train-run-message")).to_contain_text("Renamed: Meine Wörter", timeout=WAIT)
    expect(name_field).to_have_value("")
    expect(name_field).to_have_attribute("placeholder", "Meine Wörter")
    expect(page.locator("#train-run input")).to_have_value("Meine Wörter")

    # Sample follows the stopped run; an error keeps the samples shown before
    open_tab(page, "Sample")
    expect(page.locator("#sample-run input")).to_have_value("Meine Wörter", timeout=WAIT)
    page.locator("#sample-go").click()
    grid = page.locator("#sample-table [role=grid]")
    expect(grid).to_have_attribute("aria-rowcount", "21", timeout=30_000)
    with page.expect_download() as download:
        page.locator("#sample-csv").click()
    csv = (tmp_path / "samples.csv")
    download.value.save_as(csv)
    assert csv.read_bytes().startswith(b"\xef\xbb\xbfsample,origin,log-prob")
    first = table_rows(page, "sample-table")[1][0]
    page.locator("#sample-prefix input, #sample-prefix textarea").first.fill("ZZ")
    page.locator("#sample-go").click()
    expect(page.locator("#sample-message")).to_contain_text("never occur", timeout=WAIT)
    expect(page.locator("#sample-message")).to_have_class(re.compile("mm-error"))
    assert table_rows(page, "sample-table")[1][0] == first and grid.get_attribute("aria-rowcount") == "21"
    score_line = page.locator("#score-line input, #score-line textarea").first
    score_line.fill("Grünchen")
    page.get_by_role("button", name="Score", exact=True).click()
    expect(page.locator("#score-result")).to_contain_text("log-probability", timeout=WAIT)
    score_line.fill("ZZ")
    page.get_by_role("button", name="Score", exact=True).click()
    expect(page.locator("#score-result")).to_contain_text("never occur", timeout=WAIT)
    expect(page.locator("#score-result")).not_to_contain_text("log-probability")
    page.locator("#sample-prefix input, #sample-prefix textarea").first.fill("")
    shot(page, "desktop-sample")

    # Compare: it comes back to the user's run (not the shipped names runs); with two shipped runs beside it, a
    # leaderboard, best loss first, against training time
    open_tab(page, "Compare")
    expect(page.locator("#compare-runs")).to_contain_text("Meine Wörter", timeout=WAIT)
    choose(page, "compare-runs", "names · bigram")
    choose(page, "compare-runs", "names · mlp")
    page.locator("#compare-go").click()
    shown = 3
    expect(page.locator("#compare-table [role=grid]")).to_have_attribute("aria-rowcount", str(shown + 1),
                                                                        timeout=30_000)
    header, *rows = table_rows(page, "compare-table")
    losses = [float(row[header.index("best test loss")]) for row in rows]
    assert losses == sorted(losses) and rows[0][0].startswith("1") and len(losses) == shown
    assert all(re.fullmatch(r"\d+\.\d{4}", row[header.index("best test loss")]) for row in rows)
    expect(page.locator("#compare-chart")).to_contain_text("training time (seconds)")
    expect(page.locator("#compare-chart")).to_contain_text("mlp · deutsche-woerter · Meine Wörter")
    shot(page, "desktop-compare")

    # Delete asks first
    open_tab(page, "Data")
    choose(page, "data-dataset", "deutsche-woerter")
    expect(page.locator("#data-summary")).to_contain_text("deutsche-woerter", timeout=WAIT)
    page.wait_for_timeout(500)  # a person reads before clicking: the pick's own events are done
    page.locator("#data-delete").click()
    expect(page.locator("#data-delete")).to_have_text("Really delete deutsche-woerter?", timeout=WAIT)
    assert (root / "datasets" / "deutsche-woerter.txt").is_file()
    page.locator("#data-delete").click()
    expect(message).to_contain_text("Deleted deutsche-woerter", timeout=WAIT)
    assert not (root / "datasets" / "deutsche-woerter.txt").exists()
    assert run_dir.is_dir()
    page.close()


def test_no_tab_scrolls_sideways_on_a_phone(app, browser):
    root, url = app
    page = open_page(browser, url, 390, 844, is_mobile=True, has_touch=True)
    expect(page.locator("#data-summary")).to_contain_text("lines", timeout=WAIT)
    for tab in TABS:
        open_tab(page, tab)
        page.wait_for_timeout(1500)  # charts and tables drawn
        width = page.evaluate("document.documentElement.scrollWidth")
        shot(page, f"phone-{tab.lower()}")
        assert width <= 390, f"the {tab} tab is {width} px wide on a 390 px screen"
    page.close()

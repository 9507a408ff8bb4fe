"""Tables, labels and the newcomer's frictions in headless Chromium, on an app of its own (a clean root):
a .csv with a header is shown with its columns before it is stored, a label column is picked, a run trains on
it ("Starting" while its worker loads; samples labelled with their step and test loss; the Start note gone
once it ends), Sample writes lines of a chosen label, Look inside opens on a line of the run's own data, and a
reload brings every one of the six tabs back to that data set and run. Screenshots (1280 px and 390 px) go to
artifacts/screenshots/labels-*.png."""
import random
import re

import pytest
from playwright.sync_api import expect

from makemore.data import load_file
from tests.conftest import SHOTS, choose, kill_workers, loaded, open_page, open_tab, start_app, stop_app

WAIT = 30_000


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("labels-root")
    proc, url = start_app(root, root / "app.log")
    yield root, url
    stop_app(proc)
    kill_workers(root)


def table_csv() -> bytes:
    """A header, a text column, a number column and a label column; the labels write disjoint alphabets."""
    rng = random.Random(2)
    rows = ["word,year,kind"]
    for i in range(150):
        rows.append(f"{''.join(rng.choice('abc') for _ in range(rng.randint(2, 5)))},{1990 + i % 30},low")
        rows.append(f"{''.join(rng.choice('XYZ') for _ in range(rng.randint(2, 5)))},{1990 + i % 30},high")
    return ("\n".join(rows) + "\n").encode()


def upload(page, name, content: bytes):
    page.locator("#data-upload input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": content}])


def shot(page, name):
    page.screenshot(path=str(SHOTS / f"labels-{name}.png"), full_page=True)


def sample_texts(page):
    return page.evaluate("() => [...document.querySelectorAll('#sample-table [role=row]')].slice(1)"
                         ".map(r => r.querySelector('[role=cell], [role=gridcell]').innerText)")


def test_a_table_with_labels_from_upload_to_sampling_and_back_after_a_reload(app, browser):
    root, url = app
    page = open_page(browser, url)
    message = page.locator("#data-message")

    # a table is shown with its columns first (the header is not a line), the obvious text column preset
    upload(page, "two kinds.csv", table_csv())
    expect(message).to_contain_text("is a table: pick its text column", timeout=WAIT)
    expect(page.locator("#data-columns")).to_contain_text("word")
    expect(page.locator("#data-text-column input")).to_have_value("word")
    assert not list((root / "datasets").glob("two-kinds*"))  # nothing stored before the columns are picked
    choose(page, "data-label-column", "kind")
    shot(page, "desktop-columns")
    page.locator("#data-use-table").click()
    expect(message).to_contain_text("Stored as two-kinds", timeout=WAIT)
    expect(message).to_contain_text("labels from 'kind'")
    summary = page.locator("#data-summary")
    expect(summary).to_contain_text("2 labels", timeout=WAIT)
    expect(summary).to_contain_text("300 lines")
    assert "," not in summary.inner_text().split("Vocabulary:")[1].split("\n")[0]
    expect(page.locator("#data-summary table")).to_contain_text("high")
    shot(page, "desktop-data")

    # a run on it: "Starting" while the worker loads, then samples that say where they come from
    open_tab(page, "Train")
    expect(page.locator("#train-dataset input")).to_have_value("two-kinds", timeout=WAIT)
    choose(page, "train-arch", "GRU")
    page.locator("#train-unit label", has_text="steps").click()
    expect(page.locator("#train-amount input")).to_have_value("2000")
    page.locator("#train-amount input").fill("400")
    page.locator("#train-start").click()
    expect(page.locator("#train-message")).to_contain_text("Started two-kinds · gru", timeout=WAIT)
    expect(page.locator("#train-status")).to_contain_text("Starting", timeout=WAIT)
    samples = page.locator("#train-samples")
    expect(samples).to_contain_text(re.compile(r"Latest samples, at step [\d,]+, test loss \d\.\d{3}"), timeout=90_000)
    expect(page.locator("#train-status")).to_contain_text("Finished", timeout=180_000)
    expect(samples).to_contain_text("at step 400")
    expect(samples).not_to_contain_text("untrained")
    # the note under Start went with the run's end: it would tell of a run long finished
    expect(page.locator("#train-message")).not_to_contain_text("Started", timeout=WAIT)
    shot(page, "desktop-train")

    # Sample: the label picker appears for this run, and a label keeps to its own characters
    open_tab(page, "Sample")
    expect(page.locator("#sample-run input")).to_have_value(re.compile("^two-kinds · gru"), timeout=WAIT)
    expect(page.locator("#sample-label")).to_be_visible(timeout=WAIT)
    choose(page, "sample-label", "high")
    page.locator("#sample-go").click()
    expect(page.locator("#sample-table [role=grid]")).to_have_attribute("aria-rowcount", "21", timeout=WAIT)
    texts = sample_texts(page)
    assert sum(set(t) <= set("XYZ") for t in texts) >= 18, texts
    shot(page, "desktop-sample")

    # Look inside opens on a line of the run's own data set, not "emma" (the blank field's placeholder says which)
    open_tab(page, "Look inside")
    choose(page, "inside-run", "two-kinds · gru")
    first_test_line = load_file(root / "datasets" / "two-kinds.jsonl").test_lines[0]
    line_field = page.locator("#inside-line input, #inside-line textarea").first
    expect(line_field).to_have_attribute("placeholder", first_test_line, timeout=WAIT)
    expect(line_field).to_have_value("")
    expect(page.locator("#inside-probs .gtitle").first).to_contain_text(f"“{first_test_line}”", timeout=WAIT)

    # a reload: every tab comes back to this data set and this run
    page.reload()
    loaded(page)
    expect(page.locator("#data-dataset input")).to_have_value("two-kinds", timeout=WAIT)
    expect(page.locator("#data-summary")).to_contain_text("2 labels", timeout=WAIT)
    run = re.compile("^two-kinds · gru")
    for tab, elem_id in (("Train", "train-run"), ("Sample", "sample-run"), ("Ideas", "ideas-run"),
                         ("Look inside", "inside-run")):
        open_tab(page, tab)
        expect(page.locator(f"#{elem_id} input")).to_have_value(run, timeout=WAIT)
    open_tab(page, "Train")
    expect(page.locator("#train-dataset input")).to_have_value("two-kinds")
    open_tab(page, "Ideas")
    expect(page.locator("#ideas-label")).to_be_visible(timeout=WAIT)
    open_tab(page, "Compare")
    expect(page.locator("#compare-dataset input")).to_have_value("two-kinds")
    expect(page.locator("#compare-runs")).to_contain_text("two-kinds · gru")
    expect(page.locator("#compare-runs")).not_to_contain_text("shipped")
    open_tab(page, "Look inside")
    expect(page.locator("#inside-probs .gtitle").first).to_contain_text(f"“{first_test_line}”", timeout=WAIT)
    page.close()


def test_the_table_pickers_fit_a_phone(app, browser):
    root, url = app
    page = open_page(browser, url, 390, 844, is_mobile=True, has_touch=True)
    upload(page, "phone.csv", table_csv())
    expect(page.locator("#data-message")).to_contain_text("is a table", timeout=WAIT)
    page.wait_for_timeout(1000)
    shot(page, "phone-columns")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the Data tab with a table's columns is {width} px wide on a 390 px screen"
    page.close()


FORMATS = {  # file: (content, the text column the page presets, the first line stored)
    "bare.csv": (b"Acme\nGlobex\nInitech\n", "column 1", "Acme"),
    "firms.tsv": (b"name\tcity\nAcme\tParis\nGlobex\tRome\n", "name", "Acme"),
    "bare-tab.tsv": (b"Acme\t1999\nGlobex\t2004\n", "column 1", "Acme"),
    "firms.jsonl": (b'{"name": "Acme", "founded": 1999}\n{"name": "Globex", "founded": 2004}\n', "name", "Acme"),
}


def test_every_table_format_with_and_without_a_header_in_the_page(app, browser):
    root, url = app
    page = open_page(browser, url)
    message = page.locator("#data-message")
    for filename, (content, text_column, first) in FORMATS.items():
        upload(page, filename, content)
        expect(message).to_contain_text(f"{filename} is a table", timeout=WAIT)
        expect(page.locator("#data-text-column input")).to_have_value(text_column)
        page.locator("#data-use-table").click()
        stem = filename.split(".")[0]
        expect(message).to_contain_text(re.compile(f"Stored as {stem} and selected"), timeout=WAIT)
        expect(page.locator("#data-summary")).to_contain_text(f"{stem}:", timeout=WAIT)
        stored = root / "datasets" / f"{stem}.txt"
        assert stored.read_text().splitlines()[0] == first, filename  # the header never became a line
        expect(page.locator("#data-columns")).to_be_hidden()  # the pickers go once the table is stored
    page.close()

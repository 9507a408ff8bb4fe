"""The app in a real browser (headless Chromium through Playwright): every tab, a live training chart,
sampling, comparing, and an unusable upload explained in the page. Screenshots go to artifacts/screenshots/."""
import json
import re

import pytest
from playwright.sync_api import expect

from makemore.models import ARCHITECTURES
from tests.conftest import SHOTS, choose, open_page, open_tab

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


@pytest.fixture(scope="module")
def page(browser, app_server):
    return open_page(browser, app_server.url, 1400, 1000)


def shot(page, name):
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def start_right_after_choosing(page, elem_id, text, button_id):
    """Pick a dropdown option and click a button in the next task, before the server has answered the
    dropdown's change event (a hurried user, made deterministic)."""
    page.locator(f"#{elem_id} input").click()
    page.locator(f"#{elem_id} li[role=option]", has_text=text).first.evaluate(
        "(option, button) => { option.dispatchEvent(new MouseEvent('mousedown', {bubbles: true})); "
        "option.click(); setTimeout(() => document.getElementById(button).click(), 0); }", button_id)


def test_walk_the_app(page, app_server):
    expect(page.locator("#intro")).to_contain_text("makemore playground")

    # Data: the visitor's latest data set (tiny, once runs trained on it); then the bundled names, with charts
    expect(page.locator("#data-summary")).to_contain_text("unique", timeout=60_000)
    choose(page, "data-dataset", "names")
    expect(page.locator("#data-summary")).to_contain_text("32,033 lines", timeout=60_000)
    expect(page.locator("#data-summary")).to_contain_text("unique")
    expect(page.locator(".js-plotly-plot")).to_have_count(2)
    shot(page, "1-data")
    page.locator("#data-upload input[type=file]").set_input_files(
        files=[{"name": "photo.png", "mimeType": "image/png", "buffer": PNG}])
    expect(page.locator("#data-message")).to_contain_text("not text", timeout=30_000)
    assert "Traceback" not in page.locator("#data-message").inner_text()
    expect(page.locator("#data-upload")).not_to_contain_text("photo.png")  # cleared, ready for another file
    shot(page, "2-data-binary-upload")

    # Train: a short run on the small data set; the chart updates by itself
    open_tab(page, "Train")
    choose(page, "train-dataset", "tiny")
    choose(page, "train-arch", "Bigram")
    page.locator("#train-amount input").fill("5")
    page.locator("#train-start").click()  # a second run, to compare with
    expect(page.locator("#train-run input")).to_have_value(re.compile("tiny · bigram"), timeout=30_000)  # by name
    page.locator("#train-amount input").fill("10")
    start_right_after_choosing(page, "train-arch", "MLP", "train-start")
    expect(page.locator("#train-run input")).to_have_value(re.compile("tiny · mlp"), timeout=30_000)
    # Start clicked right after switching architecture: the MLP's own learning rate, never the bigram's 0.3
    run_dir = max((app_server.root / "checkpoints").glob("tiny-mlp-*"), key=lambda p: p.stat().st_mtime)
    train = json.loads((run_dir / "config.json").read_text())["train"]
    assert train["learning_rate"] == ARCHITECTURES["mlp"].training["learning_rate"]
    status = page.locator("#train-status")
    expect(status).to_contain_text("Training", timeout=60_000)
    expect(page.locator("#train-chart .scatterlayer .trace").first).to_be_attached(timeout=60_000)
    progress = page.locator("#train-progress")
    expect(progress).to_contain_text(re.compile(r"step [1-9]"), timeout=60_000)
    before = progress.inner_text()
    expect(progress).not_to_have_text(before, timeout=30_000)  # no click: the timer refreshed it
    shot(page, "3-train-running")
    expect(status).to_contain_text("Finished", timeout=90_000)
    expect(page.locator("#train-samples textarea")).not_to_have_value("")
    shot(page, "4-train-finished")

    # Sample: from the run just trained, then score a line
    open_tab(page, "Sample")
    expect(page.locator("#sample-table")).to_be_visible()
    page.locator("#sample-go").click()
    expect(page.locator("#sample-table [role=grid]")).to_have_attribute("aria-rowcount", "21", timeout=30_000)
    page.locator("#score-line input, #score-line textarea").first.fill("emma")
    page.get_by_role("button", name="Score", exact=True).click()
    expect(page.locator("#score-result")).to_contain_text("log-probability", timeout=30_000)
    shot(page, "5-sample")

    # Compare: the runs so far, overlaid
    open_tab(page, "Compare")
    clear = page.locator("#compare-runs .remove-all")  # it opens on the newest runs (if any were there at load)
    if clear.is_visible():
        clear.click()
    for arch in ("bigram", "mlp"):
        choose(page, "compare-runs", f"tiny · {arch}")
    page.get_by_role("button", name="Compare", exact=True).click()
    expect(page.locator("#compare-chart .scatterlayer .trace")).to_have_count(2, timeout=30_000)
    expect(page.locator("#compare-table [role=grid]")).to_have_attribute("aria-rowcount", "3")
    shot(page, "6-compare")

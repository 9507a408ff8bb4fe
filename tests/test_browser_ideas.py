"""The Ideas tab in a real browser (headless Chromium through Playwright): ideas under constraints, two of them
starred, the shortlist exported as .csv, still there after a reload, one unstarred; and a phone-sized page
that never scrolls sideways. Screenshots go to artifacts/screenshots/."""
import datetime
import time

import pytest
from gradio_client import Client
from playwright.sync_api import expect

from tests.conftest import ROOT, SHOTS, loaded, open_page, open_tab

NAMES = set((ROOT / "datasets" / "names.txt").read_text(encoding="utf-8").split())


@pytest.fixture(scope="module", autouse=True)
def empty_shortlist(app_server):
    """The app is shared with other modules: start with an empty shortlist."""
    api = Client(app_server.url, verbose=False)
    for item in api.predict(api_name="/shortlist"):
        api.predict(item["text"], api_name="/shortlist_remove")


def open_ideas(browser, url, width, height):
    page = open_page(browser, url, width, height, accept_downloads=True)
    open_tab(page, "Ideas")
    return page


def generate(page, starts_with, min_len, max_len):
    page.locator("#ideas-run input").click()
    page.locator("#ideas-run li[role=option]", has_text="names · transformer").first.click()
    page.locator("#ideas-starts input, #ideas-starts textarea").first.fill(starts_with)
    page.locator("#ideas-min input").fill(str(min_len))
    page.locator("#ideas-max input").fill(str(max_len))
    page.locator("#ideas-go").click()
    expect(page.locator("#ideas-message")).to_contain_text("ideas in", timeout=60_000)


def cell(page, row, column):
    return page.locator(f"#ideas-table [data-testid=cell-{row}-{column}]")


def shortlist(page) -> list[str]:
    return [text.strip() for text in page.locator("#ideas-shortlist label").all_inner_texts()]


def test_generate_star_export_and_reload(browser, app_server, tmp_path):
    page = open_ideas(browser, app_server.url, 1280, 900)
    generate(page, "ma", 4, 8)
    ideas = [cell(page, row, 1).inner_text() for row in range(10)]
    for text in ideas:
        assert text.startswith("ma") and 4 <= len(text) <= 8 and text not in NAMES, text

    cell(page, 0, 1).click()
    expect(page.locator("#ideas-shortlist-message")).to_contain_text(f"Starred {ideas[0]}")
    cell(page, 3, 2).click()  # any cell of a row stars its idea
    expect(page.locator("#ideas-shortlist-message")).to_contain_text(f"Starred {ideas[3]}")
    assert shortlist(page) == [ideas[0], ideas[3]]
    expect(cell(page, 0, 0)).to_have_text("★")
    expect(cell(page, 3, 0)).to_have_text("★")
    expect(cell(page, 1, 0)).to_have_text("☆")

    with page.expect_download() as download:
        page.locator("#ideas-csv").click()
    csv = tmp_path / "shortlist.csv"
    download.value.save_as(csv)
    rows = csv.read_text(encoding="utf-8-sig").splitlines()
    assert rows[0] == "text,score,is_new,run_id,added"
    assert [row.split(",")[0] for row in rows[1:]] == [ideas[0], ideas[3]]
    assert all(",True,names-transformer," in row for row in rows[1:]), rows
    for row in rows[1:]:  # when it was starred: ISO 8601 local time with its offset, not a Unix time
        added = datetime.datetime.fromisoformat(row.rsplit(",", 1)[1])
        assert added.tzinfo is not None and abs(time.time() - added.timestamp()) < 600, row
    page.screenshot(path=str(SHOTS / "ideas-desktop.png"), full_page=True)

    page.reload()
    loaded(page)
    open_tab(page, "Ideas")
    expect(page.locator("#ideas-shortlist label")).to_have_count(2)
    assert shortlist(page) == [ideas[0], ideas[3]]
    page.locator("#ideas-shortlist label", has_text=ideas[0]).click()  # unchecking removes
    expect(page.locator("#ideas-shortlist label")).to_have_count(1)
    assert shortlist(page) == [ideas[3]]
    assert [item["text"] for item in Client(app_server.url, verbose=False).predict(api_name="/shortlist")] == \
        [ideas[3]]
    page.close()


def test_a_phone_sized_page_never_scrolls_sideways(browser, app_server):
    page = open_ideas(browser, app_server.url, 390, 844)
    generate(page, "el", 3, 9)
    starred = cell(page, 0, 1).inner_text()
    cell(page, 0, 1).click()
    expect(page.locator("#ideas-shortlist label", has_text=starred)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SHOTS / "ideas-phone.png"), full_page=True)
    page.close()

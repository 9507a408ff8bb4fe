"""The public preset in headless Chromium: two browser contexts are two anonymous visitors of one app.

Alice uploads a data set and trains a small run; Bob's lists never show them; Alice's reload keeps her work
(her workspace key lives in her browser); Alice publishes the run and Bob opens its share link, sees its curves,
samples it, and his Resume trains a copy of his own while Alice's files stay byte for byte; after Unpublish Bob
no longer sees it. Bob's Resume of a shipped run forks it and leaves every shipped byte as it was.
Screenshots (desktop and phone, Train tab with the share accordion open) go to artifacts/screenshots/public-*.png."""
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import (SHOTS, choose, kill_workers, loaded, open_page, open_tab, start_app, start_steps_run,
                            stop_app, wait_for)

PETS = ["rex", "bella", "luna", "max", "charlie", "lucy", "cooper", "daisy", "milo", "bailey", "coco", "rocky",
        "sadie", "buddy", "molly", "toby", "lola", "bear", "ruby", "duke", "zoe", "leo", "rosie", "jack", "penny",
        "oscar", "nala", "teddy", "willow", "loki"]
PETS_FILE = {"name": "pets.txt", "mimeType": "text/plain", "buffer": ("\n".join(PETS) + "\n").encode()}
WAIT = 30_000  # ms for what the server does on 2 busy cores
TRAINED = 90_000  # ms for a worker to start (importing torch) and train a few dozen bigram steps


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("public-browser-root")
    proc, url = start_app(root, root / "app.log", MAKEMORE_PUBLIC="1", MAKEMORE_MAX_JOBS="1")
    yield root, url
    stop_app(proc)
    kill_workers(root)


def visitor(browser, url, **viewport):
    """A new anonymous visitor: a browser context of its own (its own storage, so its own workspace key)."""
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
    page = open_page(context, url, width=None)
    expect(page.locator("#data-summary")).to_contain_text("32,033 lines", timeout=WAIT)  # the page has loaded
    return context, page


def options(page, elem_id) -> list[str]:
    """The choices a gradio dropdown offers, as a person sees them when opening it."""
    page.locator(f"#{elem_id} input").click()
    items = page.locator(f"#{elem_id} li[role=option]")
    expect(items.first).to_be_attached()
    texts = [text.strip().lstrip("✓").strip() for text in items.all_inner_texts()]
    page.keyboard.press("Escape")
    page.locator(f"#{elem_id} input").blur()
    return texts


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def worker_done(run_dir: Path) -> bool:
    """The run's worker has printed its final state (it writes nothing after that)."""
    log = run_dir / "log.txt"
    return log.is_file() and re.search(r"(finished|stopped)\s*$", log.read_text(errors="replace"), re.I) is not None


def test_two_visitors_share_only_what_is_published(app, browser):
    root, url = app
    shipped = {p.name: snapshot(p) for p in (root / "checkpoints").glob("names-*")}
    assert "names-bigram" in shipped  # seeded into the fresh root at start
    alice_context, alice = visitor(browser, url)
    bob_context, bob = visitor(browser, url)

    # Alice uploads a data set and trains a tiny run on it (40 steps: evaluations every 10, automatically)
    alice.locator("#data-upload input[type=file]").set_input_files(files=[PETS_FILE])
    expect(alice.locator("#data-message")).to_contain_text("Stored as pets", timeout=WAIT)
    open_tab(alice, "Train")
    expect(alice.locator("#train-dataset input")).to_have_value("pets", timeout=WAIT)
    start_steps_run(alice, "Bigram", 40, "pets · bigram", timeout=WAIT)
    expect(alice.locator("#train-status")).to_contain_text("Finished", timeout=TRAINED)
    run_name = alice.locator("#train-run input").input_value()
    assert run_name.startswith("pets · bigram · "), run_name
    run_dir = wait_for(lambda: next(root.glob("users/*/checkpoints/pets-bigram-*"), None), 10, "alice's run")
    run_id = run_dir.name
    wait_for(lambda: worker_done(run_dir), 30, "alice's worker to end")
    alice_files = snapshot(run_dir)
    assert "model.safetensors" in {p.name for p in alice_files}

    # Bob's lists show the bundled data sets and the gallery, never Alice's upload or run
    assert "pets" not in options(bob, "data-dataset") and "names" in options(bob, "data-dataset")
    open_tab(bob, "Train")
    assert "pets" not in options(bob, "train-dataset")
    bob_runs = options(bob, "train-run")
    assert "names · bigram · shipped (gallery)" in bob_runs
    assert not [r for r in bob_runs if r.startswith("pets")], bob_runs
    expect(bob.locator("#train-runs")).not_to_contain_text("pets")
    open_tab(bob, "Sample")
    assert not [r for r in options(bob, "sample-run") if r.startswith("pets")]

    # Alice's reload (same browser storage, same workspace key) still shows her data set and run
    alice.reload()
    loaded(alice)
    expect(alice.locator("#data-summary")).to_contain_text("pets: 30 lines", timeout=WAIT)
    assert "pets" in options(alice, "data-dataset")
    open_tab(alice, "Train")
    expect(alice.locator("#train-run input")).to_have_value(run_name, timeout=WAIT)
    expect(alice.locator("#train-status")).to_contain_text("Finished", timeout=WAIT)

    # Alice publishes it: the message gives the share link
    alice.get_by_text("Rename or share this run", exact=True).click()
    alice.locator("#train-publish").click()
    expect(alice.locator("#train-run-message")).to_contain_text(f"?run={run_id}", timeout=WAIT)
    expect(alice.locator("#train-run-message")).to_contain_text("is in the gallery")
    alice.screenshot(path=str(SHOTS / "public-desktop-train-share.png"), full_page=True)
    phone = open_page(alice_context, url, 390, 844)  # Alice on a phone-sized window of the same browser
    open_tab(phone, "Train")
    expect(phone.locator("#train-run input")).to_have_value(run_name, timeout=WAIT)
    phone.get_by_text("Rename or share this run", exact=True).click()
    expect(phone.locator("#train-publish")).to_be_visible()
    phone.wait_for_timeout(1500)  # the chart drawn
    phone.screenshot(path=str(SHOTS / "public-phone-train-share.png"), full_page=True)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the Train tab is {width} px wide on a 390 px screen"
    phone.close()

    # Bob opens the share link: the run is selected in Train, with its curves, and he can sample it
    bob.goto(f"{url}?run={run_id}")
    loaded(bob)
    open_tab(bob, "Train")
    expect(bob.locator("#train-run input")).to_have_value(f"{run_name} (gallery)", timeout=WAIT)
    expect(bob.locator("#train-status")).to_contain_text("Finished", timeout=WAIT)
    expect(bob.locator("#train-chart .scatterlayer .trace")).to_have_count(3, timeout=WAIT)
    open_tab(bob, "Sample")
    expect(bob.locator("#sample-run input")).to_have_value(f"{run_name} (gallery)", timeout=WAIT)
    bob.locator("#sample-go").click()
    expect(bob.locator("#sample-table [role=grid]")).to_have_attribute("aria-rowcount", "21", timeout=WAIT)
    expect(bob.locator("#sample-message")).to_have_text("")

    # Bob's Resume needs the data set it was trained on; with his own copy of it, he trains a copy of the run
    open_tab(bob, "Train")
    bob.get_by_text("Resume options (to train a finished run further)", exact=True).click()
    bob.get_by_label("raise max steps to (0 = keep)").fill("60")
    bob.locator("#train-resume").click()
    expect(bob.locator("#train-run-message")).to_contain_text("'pets' this run was trained on is gone",
                                                              timeout=WAIT)
    open_tab(bob, "Data")
    bob.locator("#data-upload input[type=file]").set_input_files(files=[PETS_FILE])
    expect(bob.locator("#data-message")).to_contain_text("Stored as pets", timeout=WAIT)
    open_tab(bob, "Train")
    expect(bob.locator("#train-run input")).to_have_value(f"{run_name} (gallery)")
    bob.locator("#train-resume").click()
    expect(bob.locator("#train-run-message")).to_contain_text(
        f"Copied {run_name} into your workspace as {run_name} (copy)", timeout=WAIT)
    expect(bob.locator("#train-run input")).to_have_value(f"{run_name} (copy)", timeout=WAIT)
    expect(bob.locator("#train-status")).to_contain_text("Finished at step 60", timeout=TRAINED)
    copies = [p for p in root.glob("users/*/checkpoints/pets-bigram-*") if p.name != run_id]
    assert len(copies) == 1 and copies[0].parent.parent != run_dir.parent.parent  # in Bob's workspace
    assert snapshot(run_dir) == alice_files

    # a shipped run: Bob's Resume trains a copy of his own; not one shipped byte changes
    choose(bob, "train-run", "names · bigram · shipped (gallery)")
    expect(bob.locator("#train-status")).to_contain_text("names · bigram · shipped", timeout=WAIT)
    bob.locator("#train-resume").click()
    expect(bob.locator("#train-run-message")).to_contain_text(
        "Copied names · bigram · shipped into your workspace", timeout=WAIT)
    expect(bob.locator("#train-run input")).to_have_value("names · bigram · shipped (copy)", timeout=WAIT)
    expect(bob.locator("#train-status")).to_contain_text("Finished at step 60", timeout=TRAINED)
    assert {p.name: snapshot(p) for p in (root / "checkpoints").glob("names-*")} == shipped

    # Alice unpublishes: after a reload, Bob's share link shows nothing of hers, and his copy stays his
    alice.locator("#train-unpublish").click()
    expect(alice.locator("#train-run-message")).to_contain_text("private again", timeout=WAIT)
    bob.reload()
    loaded(bob)
    expect(bob.locator("#data-summary")).to_contain_text("32,033 lines", timeout=WAIT)
    open_tab(bob, "Train")
    expect(bob.locator("#train-run input")).not_to_have_value(f"{run_name} (gallery)", timeout=WAIT)
    bob_runs = options(bob, "train-run")
    assert f"{run_name} (gallery)" not in bob_runs and f"{run_name} (copy)" in bob_runs, bob_runs
    open_tab(bob, "Sample")
    assert f"{run_name} (gallery)" not in options(bob, "sample-run")
    assert snapshot(run_dir) == alice_files
    alice_context.close()
    bob_context.close()

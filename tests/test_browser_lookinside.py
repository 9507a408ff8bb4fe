"""The Look inside tab in a real browser (headless Chromium through Playwright) and through its named API
endpoints: every view for the shipped transformer and GRU, the writer clicked through to a finished line,
and a freshly trained run's training health. Screenshots (desktop 1280 wide, phone 390x844) go to
artifacts/screenshots/."""
import re

import pytest
from gradio_client import Client
from playwright.sync_api import expect

from tests.conftest import SHOTS, choose, open_page, open_tab, wait_for

expect.set_options(timeout=30_000)

SHIPPED = ["names-transformer", "names-gru"]
VIEWS = ["inside-probs", "writer-plot", "inside-embedding", "inside-hidden", "inside-attention", "inside-health",
         "inside-updates", "inside-bigram"]


@pytest.fixture(scope="module")
def app(app_server):
    """The shared app; its root was seeded with the shipped runs on its first start."""
    assert all((app_server.root / "checkpoints" / name / "model.safetensors").is_file() for name in SHIPPED)
    return app_server


@pytest.fixture(scope="module")
def client(app):
    return Client(app.url, verbose=False)


def open_inside(browser, url, width, height):
    page = open_page(browser, url, width, height)
    open_tab(page, "Look inside")
    return page


def plot_title(page, elem_id):
    return page.locator(f"#{elem_id} .gtitle, #{elem_id} .annotation-text").first


def shown_name(run_id, client=None):
    """What the run list shows for a run: its name, e.g. "names · transformer · shipped" for a shipped one."""
    if client is None:
        dataset, arch = run_id.split("-")
        return f"{dataset} · {arch} · shipped"
    table = client.predict(api_name="/list_runs")
    return next(row[0] for row in table["data"] if row[-1] == run_id)


def show_run(page, run_id, line, client=None):
    choose(page, "inside-run", shown_name(run_id, client))
    page.locator("#inside-line input, #inside-line textarea").first.fill(line)
    page.locator("#inside-show").click()
    expect(plot_title(page, "inside-probs")).to_contain_text(f"“{line}”", timeout=30_000)
    expect(plot_title(page, "inside-hidden")).to_contain_text(f"“{line}”")
    for view in VIEWS:
        expect(page.locator(f"#{view} .js-plotly-plot")).to_be_visible()


def write_a_line(page, client, run_id):
    """Click "m" (or the likeliest character), then always the likeliest, until <end> is the likeliest. Each
    time the page offers what the /next_char_choices endpoint gives for the line so far."""
    status = page.locator("#writer-status")
    page.get_by_role("button", name="Start over").click()
    expect(status).to_contain_text("Pick the first character")
    written = ""
    for _ in range(20):
        _, numbers = client.predict(run_id, written, 8, api_name="/next_char_choices")
        texts = [f"{label} {p:.0%}" for label, _, p in numbers["choices"]]
        options = page.locator("#writer-choices label")
        expect(options).to_have_text(texts)
        choice = next((t for t in texts if t.startswith("m ")), texts[0]) if not written else texts[0]
        options.nth(texts.index(choice)).click()
        if choice.startswith("<end>"):
            break
        written += choice.split()[0]
        expect(status).to_contain_text(f"Writing: {written}")
    expect(status).to_contain_text(f"Finished: {written}", timeout=30_000)
    expect(status).to_contain_text("log-probability")
    return written


def check_views(page, run_id):
    show_run(page, run_id, "olivia")
    expect(plot_title(page, "inside-embedding")).to_contain_text("Character embeddings")
    if run_id.endswith("transformer"):
        expect(plot_title(page, "inside-attention")).to_contain_text("Attention over “olivia”")
        expect(page.locator("#inside-attention")).to_contain_text("layer 4 · head 4")
    else:
        expect(page.locator("#inside-attention")).to_contain_text("only in the transformer")
    expect(page.locator("#inside-health")).to_contain_text("Hidden layers during training")  # recorded in training
    expect(plot_title(page, "inside-bigram")).to_contain_text("Bigram counts of “names”")


def test_every_view_of_the_shipped_runs_on_a_laptop(browser, app, client):
    page = open_inside(browser, app.url, 1280, 900)
    for run_id in SHIPPED:
        arch = run_id.split("-")[1]
        check_views(page, run_id)
        assert re.fullmatch("[a-z]+", write_a_line(page, client, run_id))
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        page.screenshot(path=str(SHOTS / f"lookinside-{arch}-desktop.png"), full_page=True)
        for view in ["inside-probs", "inside-hidden", "inside-embedding"] + ["inside-attention"] * (arch == "transformer"):
            page.locator(f"#{view}").screenshot(path=str(SHOTS / f"lookinside-{arch}-{view}.png"))
    page.close()


def test_every_view_of_the_shipped_runs_on_a_phone(browser, app):
    page = open_inside(browser, app.url, 390, 844)
    for run_id in SHIPPED:
        check_views(page, run_id)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sticks out sideways
        page.screenshot(path=str(SHOTS / f"lookinside-{run_id.split('-')[1]}-phone.png"), full_page=True)
    page.locator("#inside-bigram").screenshot(path=str(SHOTS / "lookinside-bigram-phone.png"))
    page.close()


def test_training_health_of_a_fresh_run_and_the_named_endpoints(browser, app, client):
    run_id, _ = client.predict(dataset="tiny", arch="gru", amount=40, unit="steps", eval_interval=10,
                               api_name="/start_training")
    wait_for(lambda: client.predict(run_id, api_name="/run_status")["status"]["state"] == "finished", 120,
             "the run to finish", interval=0.5)
    acts, updates, numbers = client.predict(run_id, api_name="/training_health")
    assert numbers["steps"] == [0, 10, 20, 30] and list(numbers["layers"]) == ["rnn"]
    assert "plotly" in acts["type"] and "plotly" in updates["type"]

    plot, probs = client.predict(run_id, "emma", api_name="/next_char_probs")
    assert "plotly" in plot["type"] and len(probs["probs"]) == 5 and probs["context"] == [".", "e", "m", "m", "a"]
    _, choices = client.predict(run_id, "em", 4, api_name="/next_char_choices")
    assert choices["prefix"] == "em" and len(choices["choices"]) == 4
    _, embedding = client.predict(run_id, api_name="/embedding_map")
    assert embedding["labels"][0] == "." and len(embedding["x"]) == len(embedding["labels"])
    _, attention = client.predict(run_id, "emma", api_name="/attention_map")
    assert attention == {"applicable": False, "reason": f"Attention exists only in the transformer; {run_id} is a gru."}
    _, hidden = client.predict(run_id, "emma", 6, "change", api_name="/hidden_activations")
    assert len(hidden["units"]) == 6 and len(hidden["values"][0]) == 5
    _, counts = client.predict("tiny", api_name="/bigram_counts")
    assert counts["total"] == sum(len(line) + 1 for line in (app.root / "datasets" / "tiny.txt").read_text().split())

    page = open_inside(browser, app.url, 1280, 900)
    show_run(page, run_id, "emma", client)
    expect(page.locator("#inside-health .scatterlayer .trace")).not_to_have_count(0)
    expect(page.locator("#inside-updates .scatterlayer .trace")).not_to_have_count(0)
    page.locator("#inside-health").screenshot(path=str(SHOTS / "lookinside-health.png"))
    page.locator("#inside-updates").screenshot(path=str(SHOTS / "lookinside-updates.png"))
    page.close()

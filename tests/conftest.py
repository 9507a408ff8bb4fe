"""Shared fixtures: small data sets and a tiny trained run."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("OMP_NUM_THREADS", "1")

# imported after the thread count is set (it imports torch); the app tests end the jobs they leave with it
from makemore.jobs import kill_workers  # noqa: E402

TWENTY_NAMES = [
    "emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia", "harper", "evelyn",
    "abigail", "emily", "elizabeth", "mila", "ella", "avery", "sofia", "camila", "aria", "scarlett",
]


# Debian's Chromium for the browser tests (test.sh installs it), driven by Playwright
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = ROOT / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for one test module (it fails, never skips, if Chromium is missing)."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def open_page(browser_or_context, url, width=1280, height=900, **options):
    """A new page on `url`, once the app has put the visitor's data sets and runs in place (a choice made
    before that would be replaced by the page-load defaults)."""
    page = browser_or_context.new_page(**options)
    if width:
        page.set_viewport_size({"width": width, "height": height})
    page.set_default_timeout(60_000)
    page.goto(url)
    return loaded(page)


def loaded(page):
    """`page` once the app's page-load events have put the visitor's work in place (after a goto or reload)."""
    page.wait_for_selector("body[data-loaded=true]", state="attached")
    return page


def open_tab(page, name):
    """Open a tab by name; on a phone, the tabs that do not fit are in gradio's "More tabs" menu."""
    tab = page.get_by_role("tab", name=name)
    if not tab.is_visible():
        page.get_by_role("button", name="More tabs").click()
        tab = page.locator(".overflow-dropdown button", has_text=name)
    tab.click()


def choose(page, elem_id, text):
    """Pick an option of a gradio dropdown."""
    page.locator(f"#{elem_id} input").click()
    page.locator(f"#{elem_id} li[role=option]", has_text=text).first.click()


def start_steps_run(page, arch_title, steps, started, double_click=False, timeout=30_000):
    """In the Train tab: an architecture, a number of steps, Start (or a double click on it); waits for the
    message "Started <started>"."""
    from playwright.sync_api import expect

    choose(page, "train-arch", arch_title)
    page.locator("#train-unit label", has_text="steps").click()
    expect(page.locator("#train-amount input")).to_have_value("2000")  # the steps default replaced the seconds
    page.locator("#train-amount input").fill(str(steps))
    start = page.locator("#train-start")
    start.dblclick() if double_click else start.click()
    expect(page.locator("#train-message")).to_contain_text(f"Started {started}", timeout=timeout)


@pytest.fixture
def names_file():
    return ROOT / "datasets" / "names.txt"


@pytest.fixture
def small_file(tmp_path):
    path = tmp_path / "twenty.txt"
    path.write_text("\n".join(TWENTY_NAMES) + "\n", encoding="utf-8")
    return path


# --- the web app, for tests/test_app_api.py and tests/test_browser.py ---------------------------
def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=60, what="condition", interval=0.05):
    """Poll until `predicate()` is truthy and return its value; fail after `timeout` seconds."""
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def write_tiny_dataset(root: Path):
    """A 300-name data set 'tiny' under root/datasets, for quick app runs."""
    (root / "datasets").mkdir(exist_ok=True)
    lines = (ROOT / "datasets" / "names.txt").read_text(encoding="utf-8").splitlines()[:300]
    (root / "datasets" / "tiny.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def start_app(root: Path, log_path: Path, *args, **extra_env):
    """The app in a child process (its own session) on a free port over `root`, with command-line `args`
    (e.g. "--mcp"); (process, url)."""
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    env = {**os.environ, "MAKEMORE_ROOT": str(root), "GRADIO_ANALYTICS_ENABLED": "False", "MAKEMORE_MAX_JOBS": "2",
           "MAKEMORE_DEVICE": "cpu", "PYTHONUNBUFFERED": "1", **extra_env}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), *args], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 180
    while True:
        if proc.poll() is not None:
            pytest.fail(f"the app exited with code {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return proc, url
        except OSError:
            pass
        if time.time() > deadline:
            proc.kill()
            pytest.fail(f"the app did not answer within 180 s:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.5)


def stop_app(proc):
    import subprocess

    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """The app running in a child process on a free port, with MAKEMORE_ROOT in a temporary folder
    that holds a small data set 'tiny' (300 names) besides the bundled ones."""
    from types import SimpleNamespace

    root = tmp_path_factory.mktemp("app-root")
    write_tiny_dataset(root)
    log_path = root / "app.log"
    proc, url = start_app(root, log_path)
    yield SimpleNamespace(url=url, root=root, log=log_path)
    stop_app(proc)
    kill_workers(root)

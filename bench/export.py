"""The exported web page: its size, the time from page load to the first 20 samples in headless Chromium, and
samples/s in the browser against the server's sampling (makemore.sample.generate in-process, as /sample runs it
on a public server: one torch thread per request).

    python bench/export.py                  # the shipped transformer and GRU
    python bench/export.py --repeats 9

Goals (issue 21): each page at most 1 MB; the first 20 samples at most 300 ms after the page starts loading.
The page is opened from file:// with every other request aborted. Medians of --repeats runs.
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, machine, median, save, table  # noqa: E402

RUNS = ("names-transformer", "names-gru")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def offline(browser, folder: Path):
    page = browser.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
    page.goto((folder / "index.html").as_uri())
    page.wait_for_selector("body[data-ready=true]", state="attached", timeout=60_000)
    return page


def first_samples_ms(browser, folder: Path, repeats: int) -> float:
    """Median ms from navigation start to the page's first 20 samples on screen."""
    times = []
    for _ in range(repeats):
        page = offline(browser, folder)
        assert page.locator("#results li").count() == 20
        times.append(page.evaluate("window.makemoreFirstSamplesMs"))
        page.close()
    return median(times)


def browser_rate(page, n: int, repeats: int) -> float:
    seconds = [page.evaluate("async (n) => { const t = performance.now(); await makemore.sample({count: n, seed: "
                             "Math.floor(Math.random() * 1e9)}); return (performance.now() - t) / 1000; }", n)
               for _ in range(repeats)]
    return n / median(seconds)


def server_rate(run, n: int, repeats: int) -> float:
    from makemore.sample import generate

    model, config = run.load_model()
    vocab = run.vocab(config)
    generate(model, vocab, num_samples=n, seed=0)  # warm-up
    seconds = []
    for i in range(repeats):
        t0 = time.perf_counter()
        generate(model, vocab, num_samples=n, seed=i)
        seconds.append(time.perf_counter() - t0)
    return n / median(seconds)


def measure(browser, name: str, out: Path, repeats: int) -> dict:
    from makemore.export import export_page
    from makemore.store import Run

    run = Run(ROOT / "checkpoints" / name)
    summary = export_page(run, out / name)
    row = dict(run=name, bytes=summary.bytes, weights_bytes=summary.weights_bytes, dtypes=summary.dtypes,
               max_prob_error=summary.max_prob_error, first_20_ms=first_samples_ms(browser, out / name, repeats))
    page = offline(browser, out / name)
    for n in (1, 50):
        row[f"browser_{n}_per_s"] = browser_rate(page, n, repeats)
        row[f"server_{n}_per_s"] = server_rate(run, n, repeats)
    page.close()
    row["size_ok"], row["load_ok"] = row["bytes"] <= 1_000_000, row["first_20_ms"] <= 300
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    import torch
    from playwright.sync_api import sync_playwright

    torch.set_num_threads(1)  # as app.py on a public server

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        rows = [measure(browser, name, Path(tmp), args.repeats) for name in RUNS]
        browser.close()
    print(table(rows, [("run", "run", ""), ("bytes", "page bytes", ","), ("size_ok", "≤ 1 MB", ""),
                       ("first_20_ms", "load → 20 samples (ms)", ".0f"), ("load_ok", "≤ 300 ms", ""),
                       ("browser_1_per_s", "browser, 1 (samples/s)", ".0f"),
                       ("server_1_per_s", "server, 1 (samples/s)", ".0f"),
                       ("browser_50_per_s", "browser, 50 (samples/s)", ".0f"),
                       ("server_50_per_s", "server, 50 (samples/s)", ".0f")]))
    path = save("export", {"machine": machine(), "repeats": args.repeats, "rows": rows})
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""Load: twenty concurrent sampling requests to the web app while a training job runs.

Starts the app on a free port with a temporary MAKEMORE_ROOT, trains a small checkpoint to
sample from, launches a background training job through the API, then fires N concurrent
`sample` requests (gradio_client, one client per thread) for several rounds and reports
p50/p95/max latency and the failures (there should be none).

    python bench/load.py [--concurrency 20] [--rounds 3]
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(root: Path, port: int):
    env = {**os.environ, "MAKEMORE_ROOT": str(root), "GRADIO_ANALYTICS_ENABLED": "False", "MAKEMORE_DEVICE": "cpu"}
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(360):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
            return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the app did not start")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--num-samples", type=int, default=20)
    args = p.parse_args()
    from gradio_client import Client

    tmp = Path(tempfile.mkdtemp())
    (tmp / "checkpoints").mkdir()
    subprocess.run([sys.executable, "-m", "makemore", "-i", str(ROOT / "datasets/names.txt"), "-o",
                    str(tmp / "checkpoints/names-sampler"), "--type", "transformer", "--max-steps", "200",
                    "--device", "cpu"], check=True, capture_output=True)
    port = free_port()
    app = start_app(tmp, port)
    url = f"http://127.0.0.1:{port}/"
    try:
        client = Client(url, verbose=False)
        training, _ = client.predict("names", "gru", api_name="/start_training")
        latencies, failures = [], []

        clients = [Client(url, verbose=False) for _ in range(args.concurrency)]  # connected before timing

        def one(i):
            c = clients[i]
            t = time.perf_counter()
            try:
                frame = c.predict("names-sampler", 1.0, 0, 1.0, args.num_samples, "", i, api_name="/sample")[0]
                rows = frame["data"] if isinstance(frame, dict) else frame
                assert len(rows) == args.num_samples, f"{len(rows)} rows"
                latencies.append(time.perf_counter() - t)
            except Exception as e:  # counted and reported, never hidden
                failures.append(f"{type(e).__name__}: {e}")

        for _ in range(args.rounds):
            threads = [threading.Thread(target=one, args=(i,)) for i in range(args.concurrency)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        status = client.predict(training, api_name="/run_status")
        client.predict(training, api_name="/stop_training")
    finally:
        app.terminate()
        app.wait(timeout=20)
        time.sleep(1)
        shutil.rmtree(tmp, ignore_errors=True)
    latencies.sort()
    result = {
        "concurrency": args.concurrency, "rounds": args.rounds, "requests": args.concurrency * args.rounds,
        "ok": len(latencies), "failed": len(failures), "failures": failures[:5],
        "p50_ms": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else None,
        "max_ms": round(1000 * latencies[-1], 1) if latencies else None,
        "training_state_during_load": status["status"]["state"] if isinstance(status, dict) else str(status),
    }
    print(f"{'requests':>9} {'ok':>4} {'failed':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  training job")
    print(f"{result['requests']:>9} {result['ok']:>4} {result['failed']:>7} {result['p50_ms']:>8} "
          f"{result['p95_ms']:>8} {result['max_ms']:>8}  {result['training_state_during_load']}")
    for failure in failures[:5]:
        print("failed:", failure)
    out = ROOT / "bench" / "results" / "load.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())

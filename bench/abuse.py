"""What one script can do to the public demo: each attack of issue 20, replayed in bounded loops, and what held.

Starts the app on the public preset (MAKEMORE_PUBLIC=1) on a free loopback port over a temporary MAKEMORE_ROOT,
trusting 127.0.0.1 as a proxy (MAKEMORE_TRUSTED_PROXIES), so the script plays two clients by X-Forwarded-For:
a flooder (198.51.100.7) and a visitor (203.0.113.5). Then:
1. queue flood: the flooder asks /new_workspace for keys until refused and starts two jobs per key until refused;
   the visitor then starts a job, `--repeats` times (stopping it in between): seconds until it is training;
2. upload flood: the flooder posts 12 files of 4.9 MB to Gradio's upload route; how many were stored, and the
   bytes of them left on disk;
3. made-up keys: `--keys` calls of /list_datasets and /dataset_stats, each with a fresh random key of the right
   shape: the server's RSS before and after, and its CPU time per call;
4. shortlist: /shortlist_add with a 3 MB run id, four times: refused or stored, and the shortlist file's size;
5. a run renamed to a Markdown link: refused or stored;
6. the scheduler, in this process: CPU time of one pass with `--runs` finished runs on disk (plus 2 queued), and
   of the scan every pass made before the index of queued runs;
7. SIGTERM to `app.py --mcp` after an MCP session opened: seconds until no process of it is left and the port is
   free.
Prints a table and writes bench/results/abuse.json.

    python bench/abuse.py [--keys 1000] [--runs 10000] [--repeats 3]
"""
import argparse
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, machine, save  # noqa: E402
from bench.load import Visitor, cpu_seconds, free_port, public_app, wait_until_up  # noqa: E402

FLOODER, VISITOR = "198.51.100.7", "203.0.113.5"


class Client(Visitor):
    """A lean REST visitor that comes from `address` (the X-Forwarded-For a trusted proxy would send)."""

    def __init__(self, url, parameters, address):
        super().__init__(url, parameters)
        self.headers = {"X-Forwarded-For": address}


def refused(call) -> str | None:
    """None if `call()` succeeded, else the server's message."""
    try:
        call()
    except RuntimeError as e:
        return str(e)
    return None


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def queue_flood(url, parameters, repeats) -> dict:
    flooder = Client(url, parameters, FLOODER)
    keys = []
    for _ in range(50):
        try:
            keys.append(flooder.predict("/new_workspace")[0])
        except RuntimeError:
            break
    started = time.perf_counter()
    accepted = sum(refused(lambda: flooder.predict("/start_training", dataset="names", arch="bigram", amount=600,
                                                   unit="seconds", seed=n, workspace=key)) is None
                   for n, key in enumerate(k for k in keys for _ in range(2)))
    flood_s = time.perf_counter() - started
    visitor = Client(url, parameters, VISITOR)
    key, waits = visitor.predict("/new_workspace")[0], []
    for n in range(repeats):
        run_id = visitor.predict("/start_training", dataset="names", arch="bigram", amount=600, unit="seconds",
                                 seed=100 + n, workspace=key)[0]
        start = time.perf_counter()
        while visitor.predict("/run_status", run=run_id, workspace=key)[0]["status"]["state"] != "running":
            if time.perf_counter() - start > 300:
                break
            time.sleep(0.1)
        waits.append(round(time.perf_counter() - start, 2))
        visitor.predict("/stop_training", run=run_id, workspace=key)
        time.sleep(2)
    return {"keys_minted": len(keys), "jobs_attempted": 2 * len(keys), "jobs_accepted": accepted,
            "flood_s": round(flood_s, 2), "visitor_wait_s": waits, "visitor_wait_median_s": statistics.median(waits)}


def upload_flood(url) -> dict:
    paths, codes = [], []
    for n in range(12):
        answer = httpx.post(f"{url}gradio_api/upload", headers={"X-Forwarded-For": FLOODER}, timeout=60,
                            files={"files": (f"big{n}.txt", b"abcdefgh\n" * 544_000, "text/plain")})
        codes.append(answer.status_code)
        paths += answer.json() if answer.status_code == 200 else []
    held = sum(Path(p).stat().st_size for p in paths if Path(p).is_file())
    return {"uploads_attempted": 12, "uploads_stored": codes.count(200), "refusals": sorted(set(codes) - {200}),
            "bytes_on_disk_mb": round(held / 1e6, 1)}


def made_up_keys(url, parameters, pid, n) -> dict:
    visitor = Client(url, parameters, VISITOR)
    visitor.predict("/list_datasets", workspace="mk-" + secrets.token_urlsafe(24))  # the session's first request
    before, cpu = rss_mb(pid), cpu_seconds(pid)
    for i in range(n):
        key = "mk-" + secrets.token_urlsafe(24)
        if i % 2:
            visitor.predict("/dataset_stats", name="names", workspace=key)
        else:
            visitor.predict("/list_datasets", workspace=key)
    return {"calls": n, "rss_before_mb": round(before, 1), "rss_after_mb": round(rss_mb(pid), 1),
            "rss_growth_mb": round(rss_mb(pid) - before, 1),
            "server_cpu_ms_per_call": round(1000 * (cpu_seconds(pid) - cpu) / n, 1)}


def shortlist_and_names(url, parameters) -> dict:
    visitor = Client(url, parameters, "192.0.2.9")
    key = visitor.predict("/new_workspace")[0]
    big = [refused(lambda: visitor.predict("/shortlist_add", text=f"idea {n}", run_id="x" * 3_000_000,
                                           workspace=key)) for n in range(4)]
    kept = visitor.predict("/shortlist", workspace=key)[0]
    run_id = visitor.predict("/start_training", dataset="names", arch="bigram", amount=10, unit="steps",
                             workspace=key)[0]
    link = refused(lambda: visitor.predict("/rename_run", run=run_id, name="[Session expired - sign in](https://x)",
                                           workspace=key))
    return {"huge_shortlist_adds_refused": sum(r is not None for r in big),
            "shortlist_entries": len(kept), "link_name_refused": link is not None}


def scheduler_pass(n_runs) -> dict:
    from makemore.jobs import JobManager
    from makemore.limits import load_limits
    from makemore.owners import Owners
    from makemore.store import atomic_write_json
    root = Path(tempfile.mkdtemp(prefix="makemore-abuse-sched-"))
    owners = Owners(root, load_limits({"MAKEMORE_PUBLIC": "1", "MAKEMORE_MAX_JOBS": "0"}))
    for n in range(n_runs):
        path = owners.users / f"anon-{n % 500:032d}" / "checkpoints" / f"run-{n}"
        path.mkdir(parents=True)
        atomic_write_json(path / "config.json", {"run_id": path.name, "arch": "bigram", "created": n})
        atomic_write_json(path / "status.json", {"state": "finished", "step": 10})
    jobs = JobManager(owners, scheduler=False, device="cpu")
    for seed in (1, 2):
        jobs.create("names", "bigram", steps=100, seed=seed)

    def cpu_ms(fn, passes):
        times = []
        for _ in range(passes):
            start = time.process_time()
            fn()
            times.append(1000 * (time.process_time() - start))
        return round(statistics.median(times), 3)
    full_scan = lambda: [s for ws in owners.workspaces() for s in ws.summaries() if s.state.value == "queued"]  # noqa
    result = {"runs_on_disk": n_runs + 2, "pass_cpu_ms": cpu_ms(jobs.schedule, 50),
              "full_scan_cpu_ms": cpu_ms(full_scan, 3)}
    jobs.close()
    subprocess.run(["rm", "-rf", str(root)], check=False)
    return result


def sigterm_mcp() -> dict:
    root = Path(tempfile.mkdtemp(prefix="makemore-abuse-sig-"))
    port, log = free_port(), root / "app.log"
    env = {**os.environ, "MAKEMORE_ROOT": str(root), "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "app.py", "--mcp", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    wait_until_up(proc, url, log)
    httpx.post(f"{url}gradio_api/mcp/", timeout=30, headers={"accept": "application/json, text/event-stream"},
               json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                   "protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "b", "version": "1"}}})
    start = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    stopped = None
    while time.perf_counter() - start < 30:
        if proc.poll() is not None and group_gone(proc.pid) and port_free(port):
            stopped = round(time.perf_counter() - start, 2)
            break
        time.sleep(0.05)
    if stopped is None:
        os.killpg(proc.pid, signal.SIGKILL)
    subprocess.run(["rm", "-rf", str(root)], check=False)
    return {"stopped_after_s": stopped}


def group_gone(pgid) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def port_free(port) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--keys", type=int, default=1000)
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    results = {"machine": machine(), "args": vars(args)}
    with public_app(MAKEMORE_TRUSTED_PROXIES="127.0.0.1", MAKEMORE_MAX_JOBS="2") as (url, pid):
        parameters = Visitor.endpoint_parameters(url)
        results["made_up_keys"] = made_up_keys(url, parameters, pid, args.keys)
        results["queue_flood"] = queue_flood(url, parameters, args.repeats)
        results["upload_flood"] = upload_flood(url)
        results["shortlist_and_names"] = shortlist_and_names(url, parameters)
    results["scheduler"] = scheduler_pass(args.runs)
    results["sigterm_mcp"] = sigterm_mcp()
    print_table(results)
    print(f"wrote {save('abuse', results)}")


def print_table(r):
    q, u, k, s, sc, sig = (r["queue_flood"], r["upload_flood"], r["made_up_keys"], r["shortlist_and_names"],
                           r["scheduler"], r["sigterm_mcp"])
    rows = [
        ("queue flood", f"{q['keys_minted']} keys minted, {q['jobs_accepted']} of {q['jobs_attempted']} jobs "
                        f"accepted in {q['flood_s']} s", f"other client training after {q['visitor_wait_median_s']} s "
                        f"(median of {q['visitor_wait_s']})"),
        ("upload flood", f"{u['uploads_stored']} of 12 files of 4.9 MB stored (refused: {u['refusals']})",
         f"{u['bytes_on_disk_mb']} MB on disk"),
        ("made-up keys", f"{k['calls']} calls, {k['server_cpu_ms_per_call']} ms server CPU each",
         f"RSS {k['rss_before_mb']} -> {k['rss_after_mb']} MB (+{k['rss_growth_mb']})"),
        ("shortlist", f"{s['huge_shortlist_adds_refused']} of 4 adds with a 3 MB run id refused",
         f"{s['shortlist_entries']} entries kept"),
        ("link as a name", "rename to a Markdown link", "refused" if s["link_name_refused"] else "STORED"),
        ("scheduler", f"{sc['runs_on_disk']:,} runs on disk", f"{sc['pass_cpu_ms']} ms CPU per pass "
                                                                f"(a full scan: {sc['full_scan_cpu_ms']} ms)"),
        ("SIGTERM --mcp", "after an MCP session opened", f"all gone, port free after {sig['stopped_after_s']} s"),
    ]
    print("| attack | what the script did | what held |\n| --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()

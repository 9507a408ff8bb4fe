"""Load on the public preset: sampling latency while a job trains, and a second owner's wait for a slot.

Starts the app (MAKEMORE_PUBLIC=1) on a free port over a temporary MAKEMORE_ROOT, with two anonymous owners A and
B (keys from /new_workspace). Then:
1. sampling, on the public preset as a Space runs it (two training slots, one torch thread per job):
   `--clients` concurrent /sample requests (one visitor per thread, half per owner, each drawing `--num-samples`
   lines from a shipped run) for `--rounds` rounds, first with nothing training (the baseline), then while
   owner A's job trains, then while A's and B's jobs fill both slots; p50/p95/max latency, failures, and the CPU time per request of the server and of these
   clients. Real visitors' browsers run elsewhere, but here the clients share the server's two cores, so by
   default each visitor is a lean HTTP client of gradio's REST API (`/gradio_api/call/sample`, one session per
   visitor as a browser tab has; about 1 ms of CPU per request). `--client gradio` uses gradio_client instead
   (about 70 ms of CPU per request here, taken from the same two cores);
2. flood, on a second app with two slots (MAKEMORE_MAX_JOBS=2): A fills their job cap
   (MAKEMORE_MAX_JOBS_PER_OWNER, both slots), a further start is refused, then B starts one job: the seconds
   until B's job is running (the scheduler preempts A's newer job for it).
Prints a table and writes bench/results/load.json.

    python bench/load.py [--clients 20] [--rounds 5] [--num-samples 20] [--run names-transformer] [--client gradio]
"""
import argparse
import contextlib
import http.client
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, machine, save  # noqa: E402
from makemore.limits import load_limits, usable_cpus  # noqa: E402

def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def public_app(**extra_env):
    """The app on the public preset over a temporary root: (url, server pid); afterwards nothing is left running."""
    root = Path(tempfile.mkdtemp(prefix="makemore-load-"))
    port, log = free_port(), root / "app.log"
    env = {**os.environ, "MAKEMORE_ROOT": str(root), "MAKEMORE_PUBLIC": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "MAKEMORE_DEVICE": "cpu", "PYTHONUNBUFFERED": "1", **extra_env}
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_up(proc, f"http://127.0.0.1:{port}/", log)
        yield f"http://127.0.0.1:{port}/", proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        end_workers(root)
        shutil.rmtree(root, ignore_errors=True)


def wait_until_up(proc, url: str, log: Path, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the app exited with code {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the app did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def end_workers(root: Path):
    """Kill the training processes the app left running."""
    from makemore.jobs import kill_workers
    kill_workers(root)


class Visitor:
    """One visitor's tab, as the server sees it: one session whose named endpoints are called through gradio's
    REST API (POST /gradio_api/call/<name>, then the result from its event stream)."""

    headers: dict = {}  # sent with every request (bench/abuse.py: the X-Forwarded-For of a client)

    def __init__(self, url: str, parameters: dict):
        self.address = urllib.parse.urlparse(url)
        self.parameters, self.session = parameters, secrets.token_hex(8)

    @staticmethod
    def endpoint_parameters(url: str) -> dict:
        """Each named endpoint's parameters, in order, from /gradio_api/info."""
        with urllib.request.urlopen(urllib.parse.urljoin(url, "gradio_api/info"), timeout=30) as response:
            info = json.load(response)
        return {name.lstrip("/"): endpoint["parameters"] for name, endpoint in info["named_endpoints"].items()}

    def predict(self, api_name: str, **named):
        api_name = api_name.lstrip("/")
        data = [named.get(p["parameter_name"], p.get("parameter_default")) for p in self.parameters[api_name]]
        body = json.dumps({"data": data, "session_hash": self.session})
        event = json.loads(self.request("POST", f"/gradio_api/call/{api_name}", body))["event_id"]
        kind = None
        for line in self.request("GET", f"/gradio_api/call/{api_name}/{event}").splitlines():
            if line.startswith("event:"):
                kind = line.partition(":")[2].strip()
            elif line.startswith("data:") and kind in ("complete", "error"):
                payload = json.loads(line.partition(":")[2])
                if kind == "error":
                    raise RuntimeError(f"{api_name}: {payload}")
                return payload
        raise RuntimeError(f"{api_name}: the event stream ended without a result")

    def request(self, method: str, path: str, body=None) -> str:
        connection = http.client.HTTPConnection(self.address.hostname, self.address.port, timeout=300)
        try:
            headers = {**self.headers, **({"Content-Type": "application/json"} if body else {})}
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {text[:200]}")
        return text


def visitors(url: str, n: int, kind: str) -> list:
    if kind == "gradio":
        from gradio_client import Client
        # download_files=False: like the page, which fetches the .txt/.csv downloads only when they are clicked
        return [Client(url, verbose=False, download_files=False) for _ in range(n)]
    parameters = Visitor.endpoint_parameters(url)
    return [Visitor(url, parameters) for _ in range(n)]


def percentiles(latencies: list[float], failures: list[str]) -> dict:
    ordered = sorted(latencies)
    pick = (lambda q: round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 3)) if ordered else \
        (lambda q: None)
    return {"requests": len(latencies) + len(failures), "ok": len(latencies), "failed": len(failures),
            "failures": failures[:5], "p50_s": round(statistics.median(ordered), 3) if ordered else None,
            "p95_s": pick(0.95), "max_s": round(ordered[-1], 3) if ordered else None}


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sampling_rounds(clients, keys, run_id, rounds, num_samples, server_pid) -> dict:
    """`rounds` bursts of one /sample request per client, all sent at once; latency of each as the client sees it,
    and the CPU time the server and these clients spent per request (they share this machine's cores)."""
    latencies, failures, lock = [], [], threading.Lock()
    server, client, wall = cpu_seconds(server_pid), time.process_time(), time.perf_counter()

    def one(i, barrier):
        barrier.wait()
        start = time.perf_counter()
        try:
            frame = clients[i].predict(run_id=run_id, num_samples=num_samples, seed=i, workspace=keys[i],
                                       api_name="/sample")[0]
            rows = frame["data"] if isinstance(frame, dict) else frame
            assert len(rows) == num_samples, f"{len(rows)} rows instead of {num_samples}"
            with lock:
                latencies.append(time.perf_counter() - start)
        except Exception as e:  # counted and reported, never hidden
            with lock:
                failures.append(f"{type(e).__name__}: {e}"[:300])

    for _ in range(rounds):
        barrier = threading.Barrier(len(clients))
        threads = [threading.Thread(target=one, args=(i, barrier)) for i in range(len(clients))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    n = max(1, rounds * len(clients))
    return {**percentiles(latencies, failures), "wall_s": round(time.perf_counter() - wall, 2),
            "server_cpu_ms_per_request": round(1000 * (cpu_seconds(server_pid) - server) / n, 1),
            "client_cpu_ms_per_request": round(1000 * (time.process_time() - client) / n, 1)}


def status(client, run_id, key) -> dict:
    return client.predict(run_id, key, api_name="/run_status")["status"]


def wait_state(client, run_id, key, states, timeout=120, interval=0.1) -> dict:
    """Poll a run's status until its state is one of `states`; that status."""
    start = time.perf_counter()
    while True:
        now = status(client, run_id, key)
        if now["state"] in states:
            return now
        if time.perf_counter() - start > timeout:
            raise SystemExit(f"{run_id} still {now['state']} after {timeout} s: {now.get('error')}")
        time.sleep(interval)


def start(client, key, arch, seconds, seed) -> str:
    run_id, _ = client.predict(dataset="names", arch=arch, amount=seconds, unit="seconds", seed=seed, workspace=key,
                               api_name="/start_training")
    return run_id


def wait_training(client, run_id, key):
    """Until the run's worker has started up (imported torch) and recorded its first steps."""
    wait_state(client, run_id, key, ("running",))
    while status(client, run_id, key)["step"] == 0:
        time.sleep(0.1)


def sampling(url, server_pid, args) -> dict:
    """Bursts of concurrent /sample requests from two owners: with nothing training, with A's job training, and
    with both training slots busy (A's job and B's)."""
    from gradio_client import Client

    control = Client(url, verbose=False)
    a, b = control.predict(api_name="/new_workspace"), control.predict(api_name="/new_workspace")
    keys = [a if i % 2 == 0 else b for i in range(args.clients)]
    clients = visitors(url, args.clients, args.client)  # before timing
    first = time.perf_counter()
    sampling_rounds(clients[:2], keys[:2], args.run, 1, args.num_samples, server_pid)  # loads model and data
    first = time.perf_counter() - first
    # every visitor's first request: the server sets up the session, as it does when a browser opens the page
    sampling_rounds(clients, keys, args.run, 3, args.num_samples, server_pid)
    public = load_limits({"MAKEMORE_PUBLIC": "1"})
    result = {"first_requests_s": round(first, 3), "threads_per_job": max(1, usable_cpus() // public.max_jobs),
              "idle": sampling_rounds(clients, keys, args.run, args.idle_rounds, args.num_samples, server_pid)}
    jobs = []
    for phase, owner in (("training", a), ("training_both", b)):  # one job, then both slots: A's and B's
        jobs.append((start(control, owner, "transformer", 300, seed=1), owner))
        wait_training(control, *jobs[-1])
        before = [status(control, *job)["step"] for job in jobs]
        result[phase] = sampling_rounds(clients, keys, args.run, args.rounds, args.num_samples, server_pid)
        # a status records its step every few dozen steps: a coarse but honest sign of the jobs' progress
        result[phase]["jobs"] = [{"state": now["state"], "steps_recorded_during_load": now["step"] - step}
                                 for (now, step) in zip((status(control, *job) for job in jobs), before)]
    return result


def flood(url) -> dict:
    """A fills their job cap; a further start is refused; then the seconds until B's new job is running."""
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(url, verbose=False)
    a, b = client.predict(api_name="/new_workspace"), client.predict(api_name="/new_workspace")
    first = start(client, a, "transformer", 300, seed=1)
    wait_training(client, first, a)
    second = start(client, a, "transformer", 300, seed=2)
    wait_state(client, second, a, ("running",))
    try:
        start(client, a, "transformer", 300, seed=3)
        refused = None
    except AppError as e:
        refused = str(e)
    began = time.perf_counter()
    bobs = start(client, b, "bigram", 60, seed=1)
    queued = status(client, bobs, b)["state"]
    wait_state(client, bobs, b, ("running",), timeout=180, interval=0.05)
    waited = time.perf_counter() - began
    while status(client, bobs, b)["step"] == 0:  # its worker has started up and trains
        time.sleep(0.05)
    training = time.perf_counter() - began
    return {"a_third_start_refused": refused, "b_state_after_start": queued,
            "b_seconds_until_running": round(waited, 2), "b_seconds_until_first_steps": round(training, 2),
            "a_states_after": [status(client, run, a)["state"] for run in (first, second)]}


PHASES = {"idle": "nothing training", "training": "a job training", "training_both": "two jobs training"}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=20, help="concurrent sampling clients, half per owner")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--idle-rounds", type=int, default=5, help="baseline rounds with nothing training")
    p.add_argument("--num-samples", type=int, default=20)
    p.add_argument("--run", default="names-transformer", help="the shipped run to sample from")
    p.add_argument("--client", choices=["http", "gradio"], default="http",
                   help="the sampling visitors: lean HTTP clients (default) or gradio_client")
    p.add_argument("--out", default="load")
    args = p.parse_args()

    result = {"machine": machine(), "clients": args.clients, "client": args.client, "rounds": args.rounds,
              "num_samples": args.num_samples, "run": args.run}
    with public_app() as (url, server_pid):
        result.update(sampling(url, server_pid, args))
    with public_app(MAKEMORE_MAX_JOBS="2") as (url, _):
        result["flood"] = flood(url)
    report(result)
    path = save(args.out, result)
    print(f"\nwrote {path.relative_to(ROOT)}")
    failed = sum(result[phase]["failed"] for phase in PHASES)
    return 0 if not failed else 1


def report(result: dict):
    print(f"{result['clients']} concurrent /sample requests ({result['num_samples']} samples of {result['run']}, "
          f"2 owners, {result['client']} clients), {result['machine']['cpus']} CPUs, "
          f"load average {result['machine']['load_avg']}")
    print(f"first request per owner (model and data set load): {result['first_requests_s']} s")
    print(f"{'phase':<18} {'requests':>8} {'ok':>4} {'failed':>6} {'p50 s':>7} {'p95 s':>7} {'max s':>7} "
          f"{'server CPU ms/req':>17} {'client CPU ms/req':>17}")
    for phase, title in PHASES.items():
        r = result[phase]
        print(f"{title:<18} {r['requests']:>8} {r['ok']:>4} {r['failed']:>6} {r['p50_s']!s:>7} {r['p95_s']!s:>7} "
              f"{r['max_s']!s:>7} {r['server_cpu_ms_per_request']:>17} {r['client_cpu_ms_per_request']:>17}")
        for failure in r["failures"]:
            print("  failed:", failure)
    for phase in ("training", "training_both"):
        r = result[phase]
        print(f"{PHASES[phase]}, the jobs meanwhile ({result['threads_per_job']} thread(s) each, nice 10): " +
              ", ".join(f"{job['state']} with {job['steps_recorded_during_load']} steps recorded" for job in r["jobs"])
              + f" in the {r['wall_s']} s of load")
    f = result["flood"]
    print(f"\nflood: owner A holds both slots; A's third start: "
          f"{'refused: ' + f['a_third_start_refused'] if f['a_third_start_refused'] else 'ACCEPTED'}")
    print(f"owner B's job: {f['b_state_after_start']} at start, running after {f['b_seconds_until_running']} s, "
          f"first steps recorded after {f['b_seconds_until_first_steps']} s; "
          f"A's jobs then: {', '.join(f['a_states_after'])}")


if __name__ == "__main__":
    sys.exit(main())

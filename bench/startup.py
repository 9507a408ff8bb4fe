"""How long a training job sits at step 0 before its first evaluation: the worker's start-up, measured.

    python bench/startup.py                 # 5 rounds, the names data set, a transformer
    python bench/startup.py --rounds 3 --arch gru

Each round creates a run as the web app does and starts `python -m makemore.worker RUN_DIR DATA_FILE` as
JobManager does (one torch thread, nice 10), then reads the run's files to time, from the spawn:

- `ready`: the worker has imported torch and makemore, read the data, built the model (status.started);
- `first eval`: its step-0 evaluation is on disk (the first "eval" metrics record: losses, weights, samples).

Beside them, `import torch` alone in a fresh interpreter and `import makemore.worker` (which includes it), so
the share of start-up that is importing torch is plain. Medians over the rounds; bench/results/startup.json.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import NAMES, ROOT, machine, save, table  # noqa: E402


def import_seconds(statement: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True, cwd=ROOT,
                   env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)})
    return time.perf_counter() - started


def one_round(arch: str) -> dict:
    from makemore.data import load_file
    from makemore.store import Run
    from makemore.train import create_run, make_train_config

    dataset = load_file(NAMES)
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(Path(tmp) / "run")
        create_run(run, dataset, arch, {}, make_train_config(arch, max_steps=1, eval_interval=1))
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
        spawned = time.time()
        proc = subprocess.Popen([sys.executable, "-m", "makemore.worker", str(run.path), str(NAMES), "--threads", "1",
                                 "--device", "cpu"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.STDOUT)
        proc.wait(timeout=300)
        started = run.status().started
        first = next(r for r in run.read_metrics() if r.get("kind") == "eval")
    return {"ready": started - spawned, "first_eval": first["time"] - spawned}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--arch", default="transformer")
    args = p.parse_args()
    rounds = [one_round(args.arch) for _ in range(args.rounds)]
    torch_import = [import_seconds("import torch") for _ in range(args.rounds)]
    worker_import = [import_seconds("import makemore.worker") for _ in range(args.rounds)]
    rows = [{"what": "import torch (fresh interpreter)", "median": statistics.median(torch_import),
             "low": min(torch_import), "high": max(torch_import)},
            {"what": "import makemore.worker (torch included)", "median": statistics.median(worker_import),
             "low": min(worker_import), "high": max(worker_import)}]
    for key, what in (("ready", "spawn -> worker ready (status started)"),
                      ("first_eval", "spawn -> first evaluation on disk")):
        values = [r[key] for r in rounds]
        rows.append({"what": what, "median": statistics.median(values), "low": min(values), "high": max(values)})
    print(f"Worker start-up, {args.arch} on names.txt, {args.rounds} rounds (seconds):\n")
    print(table(rows, [("what", "", ""), ("median", "median", ".2f"), ("low", "min", ".2f"), ("high", "max", ".2f")]))
    path = save("startup", {"machine": machine(), "arch": args.arch, "rows": rows, "rounds": rounds,
                            "torch_import": torch_import, "worker_import": worker_import})
    print(f"\nwrote {path}")
    print(json.dumps(rows[-1]))


if __name__ == "__main__":
    main()

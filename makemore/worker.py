"""The training child process the web app starts: python -m makemore.worker RUN_DIR DATA_FILE.

SIGTERM (or SIGINT) becomes the stop flag, so the run saves a checkpoint and ends cleanly.
On failure the status file already says why; the exit code is then non-zero.
"""
import signal
import sys

_stop = False


def _on_signal(signum, frame):
    global _stop
    _stop = True


# installed before the slow imports, so an early stop request is not lost
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)

import argparse  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

from .data import load_file  # noqa: E402
from .errors import MakemoreError  # noqa: E402
from .limits import load_limits  # noqa: E402
from .store import Run, RunState  # noqa: E402
from .train import print_progress, resolve_device, train_and_record  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m makemore.worker")
    p.add_argument("run_dir")
    p.add_argument("data_file")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--device", default="auto")
    p.add_argument("--max-seconds", type=float, default=0, help="wall-clock cap for this job (0: none)")
    p.add_argument("--nice", type=int, default=int(os.environ.get("MAKEMORE_WORKER_NICE", "10")),
                   help="lower CPU priority than the web server, so pages and sampling stay responsive")
    args = p.parse_args(argv)
    if args.nice > 0 and hasattr(os, "nice"):
        os.nice(args.nice)
    torch.set_num_threads(max(1, args.threads))
    deadline = time.monotonic() + args.max_seconds if args.max_seconds > 0 else float("inf")
    run = Run(args.run_dir)
    try:
        config = run.read_config()
        dataset = load_file(args.data_file, config["split_seed"], load_limits())
        device = resolve_device(args.device)
    except MakemoreError as e:
        run.update_status(state=RunState.FAILED, error=str(e), pid=None)
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"training {run.id} on {device} with {torch.get_num_threads()} threads", flush=True)
    try:
        final = train_and_record(run, dataset, device, report=print_progress,
                                 should_stop=lambda: _stop or time.monotonic() > deadline)
    except MakemoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if final == RunState.STOPPED and time.monotonic() > deadline and not _stop:
        run.update_status(error=f"Stopped at this server's limit of {args.max_seconds / 60:g} minutes per job "
                                "(MAKEMORE_MAX_JOB_SECONDS); resume it to train on.")
    print(final, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
    args = p.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
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
        final = train_and_record(run, dataset, device, should_stop=lambda: _stop, report=print_progress)
    except MakemoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(final, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

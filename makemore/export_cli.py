"""`python -m makemore export RUN_DIR -o DIR`: write a trained run as a static web page (see makemore.export)."""
import argparse
from pathlib import Path

from .errors import OneLineParser, reporting_errors
from .export import export_page
from .store import Run


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m makemore export",
                      description="Write a trained run as a folder with a web page that samples in the visitor's "
                                  "browser: open its index.html, host it anywhere, or push it as a static Space.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the trained run's folder (config.json, model.safetensors)")
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="the folder to write (new or empty)")
    p.add_argument("--force", action="store_true",
                   help="write the page's files into a folder that is not empty (other files stay)")
    p.add_argument("--include-training-lines", action="store_true",
                   help="ship the training lines as hashes, for 'only new' (off by default: data may be private)")
    p.add_argument("--data-root", default=".", help="where the run's data set path is relative to (default: here)")
    return p


def export_main(argv) -> int:
    return reporting_errors(run_export, parser().parse_args(argv))


def run_export(args) -> int:
    summary = export_page(Run(args.run_dir), Path(args.out), include_training_lines=args.include_training_lines,
                          force=args.force, data_root=Path(args.data_root))
    print(summary.describe())
    return 0

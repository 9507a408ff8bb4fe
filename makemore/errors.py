"""Exceptions a person can act on: every message says what is wrong and what to do; and how a command
reports them (one line, never a traceback).

A message may reach a visitor of a shared server, so `without_paths` turns the absolute paths an error names
(the server's root, an owner's folder) into the file's own name.
"""
import argparse
import re
import sys

# an absolute path of two parts or more, not part of a word, a URL or a relative path ("a/b")
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~:/-])/(?:[^\s/'\"`,;()]+/)+([^\s/'\"`,;()]*)")


def without_paths(text: str) -> str:
    """`text` with every absolute path replaced by its last part ("/srv/users/anon-1f/datasets/pets.txt" ->
    "pets.txt"): no server path, nor whose folder it is, leaves the server in a message."""
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1) or "(a server folder)", text)


class MakemoreError(Exception):
    """Base class: the message is meant for the user, never a traceback."""


class DataError(MakemoreError):
    """The training text cannot be used as it is."""


class ConfigError(MakemoreError):
    """A hyperparameter or option is out of its allowed range."""


class CheckpointError(MakemoreError):
    """A run directory or its files are missing, damaged or inconsistent."""


class UnsafeNameError(MakemoreError):
    """A data set or run name is unsafe (a path, a NUL, too long)."""


class Diverged(MakemoreError):
    """The training loss blew up; the best checkpoint from before is kept."""


class TrainingFailed(MakemoreError):
    """A training run ended in the failed state; the message is the recorded error."""


class QuotaError(MakemoreError):
    """A fair-use limit of a shared server: too many jobs, data sets or bytes, or the server is busy."""


class AccessError(MakemoreError):
    """The visitor may not see or change this: another owner's run or data set, or a read-only one."""


def reporting_errors(command, args) -> int:
    """command(args)'s exit code; a MakemoreError is one line on stderr (exit 1), Ctrl-C says so (130)."""
    try:
        return command(args)
    except MakemoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


class OneLineParser(argparse.ArgumentParser):
    """A command's argument parser whose usage errors are one line that says where the help is."""

    def error(self, message):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")

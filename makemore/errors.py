"""Exceptions a person can act on: every message says what is wrong and what to do."""


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

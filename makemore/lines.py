"""Checking the lines of a data set against the server's limits: line length, count and alphabet size."""
from .errors import DataError
from .limits import Limits


def check_lines(numbered: list[tuple[int, str]], limits: Limits, what: str = "Line") -> list[str]:
    """(number, non-blank line) pairs -> the lines, checked against the limits."""
    if not numbered:
        raise DataError("The file has no examples: it is empty or only blank lines. Put one example per line.")
    for number, line in numbered:  # before counting lines: one huge line is a long line, not "one example"
        if len(line) > limits.max_line_chars:
            raise DataError(
                f"{what} {number} is {len(line):,} characters long, over the limit of {limits.max_line_chars:,}: "
                "each line should be one short example (a name, a word); split or shorten long lines."
            )
    lines = [line for _, line in numbered]
    if len(lines) < 2:
        raise DataError("The file has only one example: at least 2 lines are needed (one is held out for testing).")
    if len(lines) > limits.max_lines:
        raise DataError(
            f"The file has {len(lines):,} lines, over the limit of {limits.max_lines:,}: "
            "keep a sample of the lines (or raise MAKEMORE_MAX_LINES)."
        )
    vocab_size = len(set("".join(lines)))
    if vocab_size > limits.max_vocab:
        raise DataError(
            f"The file uses {vocab_size:,} distinct characters, over the limit of {limits.max_vocab:,}: "
            "a character model needs a smaller alphabet; keep fewer scripts (or raise MAKEMORE_MAX_VOCAB)."
        )
    return lines

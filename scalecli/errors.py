"""The project's exception types and the one map from outcomes to exit codes (CLI.md, "Exit codes")."""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import IntEnum


class ExitStatus(IntEnum):
    """Every exit code ``scale`` uses. 0-3 are CLI.md's; the others follow common conventions
    (sysexits.h for internal and output errors, 128 + signal number for signals)."""

    OK = 0
    CHECK_FAILED = 1  # scale check: an assertion failed
    INPUT = 2  # bad input: usage, unreadable or malformed file, invalid number, unknown preset
    INFEASIBLE = 3  # no allocation satisfies the constraints
    INTERNAL = 70  # a bug in scalecli (EX_SOFTWARE): please report it
    OUTPUT = 74  # the output could not be written, e.g. a full disk (EX_IOERR)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    BROKEN_PIPE = 141  # the reader of our output went away (128 + SIGPIPE), e.g. `| head -1`


FIELD = re.compile(r"\u2039([a-z_]+)\u203a")


def ref(name: str) -> str:
    """How a library message names one of the request's fields (options.OPTIONS) so that each
    front end can show it in its own words: ``str(error)`` shows the field (``gpus``), the CLI a
    flag (``--gpus``), ``scale check`` a spec key (``hardware.gpus``)."""
    return f"\u2039{name}\u203a"


def as_flag(name: str) -> str:
    return "--" + name.replace("_", "-")


class ScaleError(Exception):
    """Base class: carries the process exit code the CLI turns it into."""

    exit_code: int = ExitStatus.INPUT

    @property
    def raw(self) -> str:
        """The message with its field marks, for wrapping in another error."""
        return super().__str__()

    def render(self, name: Callable[[str], str] = str) -> str:
        """The message with every field (errors.ref) written by ``name``."""
        return FIELD.sub(lambda m: name(m.group(1)), self.raw)

    def __str__(self) -> str:
        return self.render()


class InputError(ScaleError):
    """Bad input: usage, unreadable or malformed file, invalid number, unknown preset (exit 2)."""

    exit_code = ExitStatus.INPUT


class InfeasibleError(ScaleError):
    """No allocation satisfies the constraints; the message names the constraint (exit 3)."""

    exit_code = ExitStatus.INFEASIBLE


class CheckFailed(ScaleError):
    """`scale check`: at least one assertion failed (exit 1)."""

    exit_code = ExitStatus.CHECK_FAILED


class OutputError(ScaleError):
    """Standard output could not be written (e.g. no space left on the device) (exit 74)."""

    exit_code = ExitStatus.OUTPUT


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP: unwind (removing temporary files) and exit 128 + signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def suggest(word: str, choices) -> str:
    """' (did you mean 'x'?)' when a close match exists, else ''."""
    import difflib

    match = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""

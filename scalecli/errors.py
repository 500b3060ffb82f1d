"""The project's exception types, each mapped to an exit code (CLI.md, "Exit codes")."""

from __future__ import annotations


class ScaleError(Exception):
    """Base class: carries the process exit code the CLI turns it into."""

    exit_code = 2


class InputError(ScaleError):
    """Bad input: usage, unreadable or malformed file, invalid number, unknown preset (exit 2)."""

    exit_code = 2


class InfeasibleError(ScaleError):
    """No allocation satisfies the constraints; the message names the constraint (exit 3)."""

    exit_code = 3


class CheckFailed(ScaleError):
    """`scale check`: at least one assertion failed (exit 1)."""

    exit_code = 1

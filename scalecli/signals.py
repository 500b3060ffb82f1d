"""SIGINT, SIGTERM and SIGHUP unwind like Ctrl-C: each raises errors.Interrupted, so temporary
files are removed on the way out, and the exit code is 128 + the signal number."""

from __future__ import annotations

import signal

from scalecli.errors import Interrupted

RECEIVED: list[int] = []  # signals received, newest last (typer reports an interrupt only as 130)


def _interrupt(signum: int, frame: object) -> None:
    RECEIVED.append(signum)
    raise Interrupted(signum)


def install() -> None:
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _interrupt)

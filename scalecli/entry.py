"""Console entry point of ``scale``. It sets the signal handlers before importing anything heavy,
so an interrupt at any moment, even during start-up, ends with one line and no traceback, and
SIGTERM and SIGHUP unwind like Ctrl-C (temporary output files are removed)."""

from __future__ import annotations

import signal
import sys

from scalecli.errors import ExitStatus, Interrupted

RECEIVED: list[int] = []  # signals received, newest last (typer reports an interrupt only as 130)


def _interrupt(signum: int, frame: object) -> None:
    RECEIVED.append(signum)
    raise Interrupted(signum)


def install_signal_handlers() -> None:
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _interrupt)


def main() -> None:
    install_signal_handlers()
    try:
        from scalecli.cli import main as run
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        sys.stderr.write("error: aborted\n")
        sys.exit(128 + int(signum) if signum != signal.SIGINT else ExitStatus.INTERRUPTED)
    run()


if __name__ == "__main__":
    main()

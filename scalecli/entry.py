"""Console entry point of ``scale``. It sets the signal handlers before importing anything heavy,
so an interrupt at any moment, even during start-up, ends with one line and no traceback, and
SIGTERM and SIGHUP unwind like Ctrl-C (temporary output files are removed)."""

from __future__ import annotations

import signal
import sys

from scalecli import signals
from scalecli.errors import ExitStatus


def main() -> None:
    signals.install()
    try:
        from scalecli.cli import main as run
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        sys.stderr.write("error: aborted\n")
        sys.exit(128 + int(signum) if signum != signal.SIGINT else ExitStatus.INTERRUPTED)
    run()


if __name__ == "__main__":
    main()

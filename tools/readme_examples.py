"""Rerun the README's examples and check (or rewrite) the output printed under each.

Every fenced ``text`` block in README.md whose first line is ``$ scale ...`` is an example: the
command runs from the repository root (stdout and stderr together, as in a terminal that is 80
columns wide, no colour) and its output must match the lines below the command; a non-zero exit
shows as a last line ``(exit N)``.

    python tools/readme_examples.py            # check: exit 1 and a diff when an example drifted
    python tools/readme_examples.py --update   # rewrite the outputs in README.md
    python tools/readme_examples.py --list     # the commands, one per line

Examples that read ../shared/data are skipped (with a note) when that folder is absent. Files
an example writes into the repository root (e.g. ``--out epoch.yaml``, read by the next example)
are removed at the end.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"```text\n(\$ scale [^\n]*)\n(.*?)```", re.S)


def examples(text: str) -> list[re.Match[str]]:
    return list(BLOCK.finditer(text))


def run(command: str) -> str:
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("FORCE_COLOR", None)
    args = shlex.split(command[2:])
    exe = Path(sys.executable).with_name("scale")
    proc = subprocess.run(
        [str(exe) if exe.exists() else "scale", *args[1:]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    lines = [line.rstrip() for line in out.rstrip("\n").split("\n")]
    if proc.returncode:
        lines.append(f"(exit {proc.returncode})")
    return "\n".join(lines) + "\n"


def needs_shared(command: str) -> bool:
    return "../shared/" in command and not (ROOT.parent / "shared" / "data").is_dir()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="rewrite the outputs in README.md")
    parser.add_argument("--list", action="store_true", help="print the commands")
    args = parser.parse_args()
    text = README.read_text(encoding="utf-8")
    found = examples(text)
    if args.list:
        print("\n".join(m.group(1) for m in found))
        return 0
    before = set(ROOT.iterdir())
    try:
        return _rerun(text, found, args.update)
    finally:
        for path in set(ROOT.iterdir()) - before:
            if path.is_file():
                path.unlink()


def _rerun(text: str, found: list[re.Match[str]], update: bool) -> int:
    pieces, last, drift = [], 0, 0
    for m in found:
        command, shown = m.group(1), m.group(2)
        if needs_shared(command):
            print(f"skip (no ../shared/data): {command}", file=sys.stderr)
            continue
        got = run(command)
        pieces += [text[last : m.start(2)], got]
        last = m.end(2)
        if got.rstrip("\n") != shown.rstrip("\n"):
            drift += 1
            if not update:
                diff = difflib.unified_diff(
                    shown.splitlines(), got.splitlines(), "README", "now", lineterm=""
                )
                print(f"--- {command}\n" + "\n".join(diff) + "\n")
    pieces.append(text[last:])
    if update:
        README.write_text("".join(pieces), encoding="utf-8")
        print(f"{len(found)} examples rerun, {drift} updated")
        return 0
    print(f"{len(found)} examples, {drift} drifted")
    return 1 if drift else 0


if __name__ == "__main__":
    sys.exit(main())

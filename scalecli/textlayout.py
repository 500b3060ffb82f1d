"""Plain-text tables that never cut a number.

A table is laid out in the terminal's width (``COLUMNS``, else the terminal, else 80 columns
when piped). Numbers are never truncated or wrapped: when the columns do not fit side by side,
text columns wrap, and when even that does not fit the table falls back to a stacked layout, one
block per row. Rows are formatted in one pass and written at once, so a 10,000-row table costs
about as much as its CSV.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from collections.abc import Sequence

GAP = "  "
MIN_TEXT_WIDTH = 12  # a wrapped text column is never narrower than this


def width() -> int:
    """Output width: $COLUMNS when set, else the terminal's, else 80 (pipes and files)."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    if sys.stdout.isatty():
        return shutil.get_terminal_size((80, 24)).columns
    return 80


def wrap(text: str, indent: str = "", subsequent: str | None = None, at: int | None = None) -> list[str]:
    """Wrap prose at word boundaries; a word (a number, a path) is never split."""
    w = at or width()
    return textwrap.wrap(
        text,
        width=max(w, len(indent) + 10),
        initial_indent=indent,
        subsequent_indent=indent if subsequent is None else subsequent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent.rstrip()]


def table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    text_columns: int = 1,
    at: int | None = None,
) -> list[str]:
    """Lines of a table: the first ``text_columns`` columns are text (left-aligned, may wrap),
    the rest numbers (right-aligned, never cut)."""
    w = at or width()
    n = len(columns)
    cells = [[str(c) for c in row] for row in rows]
    natural = [max([len(columns[i])] + [len(r[i]) for r in cells]) for i in range(n)]
    if _fits(natural, w):
        return _side_by_side(title, columns, cells, natural, text_columns)
    # wrap the widest text columns (never the numbers, never inside a word) while that helps
    floor = [
        max(
            min(MIN_TEXT_WIDTH, natural[i]),
            *(len(word) for r in cells for word in r[i].split()),
            len(columns[i]),
        )
        if i < text_columns
        else natural[i]
        for i in range(n)
    ]
    widths = list(natural)
    for _ in range(50):
        text = [i for i in range(text_columns) if widths[i] > floor[i]]
        if _fits(widths, w) or not text:
            break
        widest = max(text, key=lambda i: widths[i])
        widths[widest] = max(floor[widest], widths[widest] - (_total(widths) - w))
    if _fits(widths, w):
        return _side_by_side(title, columns, cells, widths, text_columns)
    return _stacked(title, columns, cells, w)


def _total(widths: Sequence[int]) -> int:
    return 1 + sum(widths) + len(GAP) * (len(widths) - 1)


def _fits(widths: Sequence[int], w: int) -> bool:
    return _total(widths) <= w


def _side_by_side(title, columns, cells, widths, text_columns) -> list[str]:
    def line(values: Sequence[str]) -> list[str]:
        parts = []
        for i, value in enumerate(values):
            if i < text_columns and len(value) > widths[i]:
                parts.append(wrap(value, at=widths[i]) or [""])
            else:
                parts.append([value])
        height = max(len(p) for p in parts)
        out = []
        for k in range(height):
            pieces = []
            for i, p in enumerate(parts):
                text = p[k] if k < len(p) else ""
                pieces.append(text.ljust(widths[i]) if i < text_columns else text.rjust(widths[i]))
            out.append((" " + GAP.join(pieces)).rstrip())
        return out

    lines = [title, ""] if title else []
    lines += line(columns)
    lines.append(" " + "─" * (_total(widths) - 1))
    for row in cells:
        lines += line(row)
    lines.append("")
    return lines


def _stacked(title, columns, cells, w) -> list[str]:
    """One block per row: the first cell as a heading, then 'column  value' lines."""
    key = max(len(c) for c in columns[1:]) if len(columns) > 1 else 0
    lines = [title, ""] if title else []
    for row in cells:
        lines.append(row[0])
        for name, value in zip(columns[1:], row[1:], strict=True):
            head = f"  {name.ljust(key)}  "
            if len(head) + len(value) <= w:
                lines.append(head + value)
            else:
                lines.append(f"  {name}")
                lines += wrap(value, indent="    ", at=w)
        lines.append("")
    return lines


def key_values(title: str, rows: Sequence[tuple[str, str]], at: int | None = None) -> list[str]:
    """Two columns, key and value; values wrap, keys never do; stacked when too narrow."""
    w = at or width()
    key = max((len(k) for k, _ in rows), default=0)
    lines = [title, ""] if title else []
    room = w - 1 - key - len(GAP)
    for k, v in rows:
        if room >= MIN_TEXT_WIDTH:
            wrapped = wrap(v, at=room) if v else [""]
            lines.append((" " + k.ljust(key) + GAP + wrapped[0]).rstrip())
            lines += [(" " + " " * key + GAP + more).rstrip() for more in wrapped[1:]]
        else:
            lines.append(" " + k)
            lines += wrap(v, indent="   ", at=w)
    lines.append("")
    return lines


def write(lines: Sequence[str]) -> None:
    sys.stdout.write("\n".join(lines) + "\n")

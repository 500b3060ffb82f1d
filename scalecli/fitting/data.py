"""CSV -> validated arrays: column matching, derived tokens, filters, row errors with line numbers.

Roles (CLI.md ``scale fit``): params, tokens, flops, steps, batch_tokens, loss. Headers match
case-insensitively by common names unless ``--columns role=header`` says otherwise; a mapping
may scale a column (``tokens=step*1e9``). Missing roles are derived where the others allow:
tokens = flops/(6·params) or steps·batch_tokens, flops = 6·params·tokens, steps = tokens/batch_tokens.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from dataclasses import dataclass, field, replace

import numpy as np

from scalecli.errors import InputError
from scalecli.laws.base import suggest
from scalecli.units import parse_number

ROLES = ("params", "tokens", "flops", "steps", "batch_tokens", "loss")
COMMON_NAMES = {
    "params": [
        "params",
        "n",
        "parameters",
        "model size",
        "model params",
        "n params",
        "num params",
        "num parameters",
        "param count",
        "size",
    ],
    "tokens": ["tokens", "d", "training tokens", "train tokens", "num tokens", "tokens seen", "data"],
    "flops": ["flops", "c", "training flop", "training flops", "train flops", "compute", "flops 6nd"],
    "steps": ["steps", "s", "optimizer steps", "train steps", "num steps", "iterations"],
    "batch_tokens": ["batch tokens", "batch", "batch size", "tokens per step"],
    "loss": ["loss", "l", "final loss", "val loss", "validation loss", "eval loss", "test loss"],
}
MAX_CSV_BYTES = 200_000_000
MAX_LISTED = 8
_FILTER = re.compile(r"^\s*([A-Za-z_][\w .\-]*?)\s*(<=|>=|==|!=|<|>)\s*(.+?)\s*$")


def normalise(header: str) -> str:
    return re.sub(r"[\s_\-]+", " ", header.strip().lower())


@dataclass
class RunTable:
    """Validated runs. Arrays are float64 and aligned with ``lines`` (1-based CSV line numbers)."""

    path: str
    sha256: str
    columns: dict[str, str]
    lines: np.ndarray
    values: dict[str, np.ndarray]
    rows_read: int
    filters: list[str] = field(default_factory=list)
    derived: list[str] = field(default_factory=list)
    averaged: int = 0

    def __getitem__(self, role: str) -> np.ndarray:
        return self.values[role]

    def has(self, role: str) -> bool:
        return role in self.values

    @property
    def rows_used(self) -> int:
        return len(self.lines)

    def subset(self, mask: np.ndarray) -> RunTable:
        return replace(self, lines=self.lines[mask], values={k: v[mask] for k, v in self.values.items()})


# ----- reading the file --------------------------------------------------------------------------
def _read_csv(path: str, what: str) -> tuple[list[str], list[tuple[int, list[str]]], str]:
    from scalecli.files import decode_text, read_bytes

    data = read_bytes(path, what, MAX_CSV_BYTES)  # read once: text and hash
    digest = hashlib.sha256(data).hexdigest()
    text = decode_text(data, path, what)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    reader = csv.reader(io.StringIO(text))
    try:
        for record in reader:
            line = reader.line_num
            if not record or all(not c.strip() for c in record) or record[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = [c.strip() for c in record]
                continue
            rows.append((line, record))
    except csv.Error as exc:
        raise InputError(f"{what} {path!r}: malformed CSV at line {reader.line_num}: {exc}") from None
    if header is None:
        raise InputError(f"{what} {path!r} is empty: expected a header row and one row per run")
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        key = normalise(name)
        if not key:
            raise InputError(f"{what} {path!r}: column {i + 1} of the header has no name")
        if key in seen:
            raise InputError(
                f"{what} {path!r}: duplicate column {name!r} (columns {seen[key] + 1} and {i + 1}); "
                "rename one"
            )
        seen[key] = i
    if not rows:
        raise InputError(f"{what} {path!r} has a header but no data rows")
    for line, record in rows:
        if len(record) != len(header):
            raise InputError(
                f"{what} {path!r}: line {line} has {len(record)} fields, the header has {len(header)}"
            )
    return header, rows, digest


def _join(header, rows, join_path: str):
    """Add the columns of ``join_path``, matched on the columns the two files share."""
    j_header, j_rows, _ = _read_csv(join_path, "join file")
    shared = [h for h in j_header if normalise(h) in {normalise(x) for x in header}]
    if not shared:
        raise InputError(f"join file {join_path!r} shares no column with the data; nothing to join on")
    main_idx = [[normalise(x) for x in header].index(normalise(h)) for h in shared]
    join_idx = [j_header.index(h) for h in shared]
    extra = [i for i, h in enumerate(j_header) if h not in shared]
    table: dict[tuple[str, ...], list[str]] = {}
    for line, rec in j_rows:
        key = tuple(rec[i].strip() for i in join_idx)
        if key in table:
            raise InputError(f"join file {join_path!r}: line {line} repeats key {', '.join(key)}")
        table[key] = [rec[i] for i in extra]
    out = []
    missing = []
    for line, rec in rows:
        key = tuple(rec[i].strip() for i in main_idx)
        if key not in table:
            missing.append(f"line {line} ({', '.join(key)})")
            continue
        out.append((line, rec + table[key]))
    if missing:
        raise InputError(f"join file {join_path!r} has no row for {_listing(missing)}")
    return header + [j_header[i] for i in extra], out


def _listing(items: list[str]) -> str:
    shown = "; ".join(items[:MAX_LISTED])
    more = len(items) - MAX_LISTED
    return shown + (f"; and {more} more" if more > 0 else "")


# ----- columns -----------------------------------------------------------------------------------
def parse_column_spec(spec: str | None) -> dict[str, str]:
    """'params=Model Size,loss=val_loss' -> {'params': 'Model Size', 'loss': 'val_loss'}."""
    if not spec:
        return {}
    out: dict[str, str] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise InputError(f"--columns: {part.strip()!r} is not role=header (e.g. params='Model Size')")
        role, header = (x.strip() for x in part.split("=", 1))
        if role not in ROLES:
            raise InputError(
                f"--columns: unknown role {role!r}{suggest(role, ROLES)}; roles: {', '.join(ROLES)}"
            )
        if role in out:
            raise InputError(f"--columns: role {role!r} given twice")
        out[role] = header
    return out


def _resolve(header: list[str], wanted: str, what: str) -> tuple[int, float]:
    """Header index and scale for 'name' or 'name*1e9' or 'name/1000'."""
    scale = 1.0
    match = re.match(r"^(.*?)\s*([*/])\s*([0-9.eE+\-]+[KMBGTP]?)\s*$", wanted)
    name = wanted
    if match and normalise(match.group(1)) in [normalise(h) for h in header]:
        name = match.group(1)
        factor = parse_number(match.group(3), f"scale in {wanted!r}")
        scale = factor if match.group(2) == "*" else 1.0 / factor
    keys = [normalise(h) for h in header]
    if normalise(name) not in keys:
        raise InputError(f"{what}: no column {name!r}{suggest(name, header)}; columns: {', '.join(header)}")
    return keys.index(normalise(name)), scale


def match_columns(header: list[str], explicit: dict[str, str]) -> dict[str, tuple[int, float, str]]:
    """Role -> (index, scale, description) for the explicit mapping plus common names."""
    out: dict[str, tuple[int, float, str]] = {}
    used: set[int] = set()
    for role, wanted in explicit.items():
        idx, scale = _resolve(header, wanted, f"--columns {role}")
        out[role] = (idx, scale, wanted)
        used.add(idx)
    keys = [normalise(h) for h in header]
    for role in ROLES:
        if role in out:
            continue
        hits = [i for i, k in enumerate(keys) if k in COMMON_NAMES[role] and i not in used]
        if len(hits) > 1:
            names = ", ".join(repr(header[i]) for i in hits)
            raise InputError(
                f"several columns could be {role}: {names}; choose one with --columns {role}=NAME"
            )
        if hits:
            out[role] = (hits[0], 1.0, header[hits[0]])
            used.add(hits[0])
    return out


# ----- filters -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Condition:
    name: str
    op: str
    value: float | str
    text: str

    @property
    def is_text(self) -> bool:
        return isinstance(self.value, str)

    def test_text(self, cells: list[str]) -> np.ndarray:
        same = np.array([c.strip() == self.value for c in cells])
        return same if self.op == "==" else ~same

    def test(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return {
                "<": x < self.value,
                "<=": x <= self.value,
                ">": x > self.value,
                ">=": x >= self.value,
                "==": x == self.value,
                "!=": x != self.value,
            }[self.op] & np.isfinite(x)


def parse_filter(expr: str, flag: str = "--where") -> list[Condition]:
    """'loss<4.5', 'flops>=1e21 and params<1B', 'label=="Cosine decay"' -> conditions (all hold).

    Numbers compare numerically; a quoted or non-numeric value compares text with == or !=.
    """
    conditions = []
    for part in re.split(r"\s+and\s+", expr.strip()):
        match = _FILTER.match(part)
        if not match:
            raise InputError(f'{flag}: cannot read {part!r}; write NAME OP VALUE, e.g. "loss<4.5"')
        name, op, value = match.groups()
        quoted = len(value) >= 2 and value[0] == value[-1] and value[0] in "'\""
        parsed: float | str
        try:
            if quoted:
                raise InputError("text")
            parsed = parse_number(value, f"{flag} value", positive=False)
        except InputError:
            if op not in ("==", "!="):
                raise InputError(
                    f"{flag}: {part!r} compares text with {op}; text takes == or != only"
                ) from None
            parsed = value[1:-1] if quoted else value
        conditions.append(Condition(name.strip(), op, parsed, part))
    return conditions


# ----- the table ---------------------------------------------------------------------------------
def read_runs(
    path: str,
    *,
    columns: dict[str, str] | None = None,
    where: list[str] | tuple[str, ...] = (),
    join: str | None = None,
) -> RunTable:
    """Read, match, filter and validate a CSV of runs. Every bad row is reported by line number."""
    header, rows, digest = _read_csv(path, "data file")
    if join:
        header, rows = _join(header, rows, join)
    mapping = match_columns(header, columns or {})
    lines = np.array([line for line, _ in rows], dtype=int)

    def column(idx: int, scale: float) -> tuple[np.ndarray, list[str]]:
        raw = [rec[idx].strip() for _, rec in rows]
        values = np.full(len(raw), np.nan)
        for i, cell in enumerate(raw):
            if cell:
                try:
                    values[i] = parse_number(cell, "cell", positive=False) * scale
                except InputError:
                    values[i] = np.nan
        return values, raw

    values: dict[str, np.ndarray] = {}
    raw_cells: dict[str, list[str]] = {}
    for role, (idx, scale, _) in mapping.items():
        values[role], raw_cells[role] = column(idx, scale)

    conditions = [c for expr in where for c in parse_filter(expr)]
    keep = np.ones(len(rows), dtype=bool)
    for cond in conditions:
        if cond.is_text:
            idx, _ = _resolve(header, cond.name, "--where")
            keep &= cond.test_text([rec[idx] for _, rec in rows])
            continue
        if cond.name in ROLES and cond.name in values:
            x = values[cond.name]
        elif cond.name in ROLES and cond.name == "tokens" and "flops" in values and "params" in values:
            x = values["flops"] / (6.0 * values["params"])
        else:
            idx, scale = _resolve(header, cond.name, "--where")
            x, _ = column(idx, scale)
        keep &= cond.test(x)
    if not keep.any():
        raise InputError(f"data file {path!r}: no rows pass --where {' and '.join(where)}")

    problems = []
    for i in np.flatnonzero(keep):
        for role in values:
            v = values[role][i]
            cell = raw_cells[role][i]
            label = f"{role} ({mapping[role][2]})"
            if not cell:
                problems.append(f"line {lines[i]}: {label} is empty")
            elif not math.isfinite(v):
                problems.append(f"line {lines[i]}: {label} {cell!r} is not a finite number")
            elif v <= 0:
                problems.append(f"line {lines[i]}: {label} {cell!r} is not positive")
    if problems:
        raise InputError(
            f"data file {path!r}: {len(problems)} bad value(s): {_listing(problems)} "
            "(fix them, or leave the rows out with --where)"
        )
    table = RunTable(
        path=str(path),
        sha256=digest,
        columns={role: desc for role, (_, _, desc) in mapping.items()},
        lines=lines[keep],
        values={k: v[keep] for k, v in values.items()},
        rows_read=len(rows),
        filters=list(where),
    )
    return derive(table)


def derive(table: RunTable) -> RunTable:
    v = dict(table.values)
    derived = list(table.derived)
    if "tokens" not in v and "flops" not in v and "steps" in v and "batch_tokens" in v:
        v["tokens"] = v["steps"] * v["batch_tokens"]
        derived.append("tokens = steps·batch_tokens")
    if "tokens" not in v and "flops" in v and "params" in v:
        v["tokens"] = v["flops"] / (6.0 * v["params"])
        derived.append("tokens = flops/(6·params)")
    if "flops" not in v and "tokens" in v and "params" in v:
        v["flops"] = 6.0 * v["params"] * v["tokens"]
        derived.append("flops = 6·params·tokens")
    if "steps" not in v and "tokens" in v and "batch_tokens" in v:
        v["steps"] = v["tokens"] / v["batch_tokens"]
        derived.append("steps = tokens/batch_tokens")
    return replace(table, values=v, derived=derived)


def require(table: RunTable, roles: list[str], purpose: str) -> None:
    missing = [r for r in roles if not table.has(r)]
    if missing:
        found = ", ".join(f"{r}={c}" for r, c in table.columns.items()) or "none"
        raise InputError(
            f"{purpose} needs column(s) {', '.join(missing)} (matched: {found}); "
            f"name them with --columns, e.g. --columns {missing[0]}=HEADER"
        )


def average_duplicates(table: RunTable, keys: list[str]) -> RunTable:
    """Average the loss of rows with identical ``keys`` (e.g. digitised curves: one x, many y)."""
    stacked = np.stack([table[k] for k in keys], axis=1)
    _, first, inverse = np.unique(stacked, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    counts = np.bincount(inverse)
    loss = np.bincount(inverse, weights=table["loss"]) / counts
    order = np.argsort(first)
    values = {k: v[first][order] for k, v in table.values.items()}
    values["loss"] = loss[order]
    return replace(
        table, values=values, lines=table.lines[first][order], averaged=int(len(table.lines) - len(first))
    )


def split_holdout(table: RunTable, expr: str) -> tuple[RunTable, RunTable]:
    """(fit rows, held-out rows) for --holdout EXPR."""
    mask = np.ones(table.rows_used, dtype=bool)
    for cond in parse_filter(expr, "--holdout"):
        if cond.is_text or cond.name not in table.values:
            raise InputError(
                f"--holdout: {cond.name!r} is not a role of this fit; use one of {', '.join(table.values)}"
            )
        mask &= cond.test(table[cond.name])
    if not mask.any():
        raise InputError(f"--holdout {expr!r} selects no rows")
    if mask.all():
        raise InputError(f"--holdout {expr!r} selects every row; nothing is left to fit")
    return table.subset(~mask), table.subset(mask)

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
from typing import Any

import numpy as np

from scalecli import compute
from scalecli.errors import InputError, suggest
from scalecli.units import RANGES, parse_number

BASE_ROLES = ("params", "tokens", "flops", "steps", "batch_tokens", "loss")


def _form_roles() -> tuple[str, ...]:
    """Inputs the registered families' fit forms add (e.g. experts, train_bits)."""
    from scalecli.laws import REGISTRY

    extra = [r for fam in REGISTRY.values() for f in fam.forms for r in f.roles if r not in BASE_ROLES]
    return tuple(dict.fromkeys(extra))


ROLES = BASE_ROLES + _form_roles()
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
    "experts": ["experts", "num experts", "n experts", "expert count"],
    "train_bits": ["train bits", "bits", "training bits", "precision bits"],
}
for _role in ROLES:  # a family's own input: its name, with spaces for underscores
    COMMON_NAMES.setdefault(_role, [_role.replace("_", " ")])
# A column naming the run a row comes from (several rows per run: a learning curve's checkpoints).
# The bootstrap resamples whole runs when there is one (``scale fit --group COLUMN`` names it).
GROUP_NAMES = ["run", "run id", "run name", "run label", "model", "model name", "model id", "name", "group"]
NO_GROUP = "none"  # --group none: resample rows even when a run column is there
MAX_CSV_BYTES = 200_000_000
MAX_ROWS = 1_000_000  # data rows of a CSV; a fit's time grows with rows (benchmarks/fit_memory.py)
# Plausible values per role (the ranges scalecli plans for, units.RANGES): a value outside is a
# data error reported with its line, not an overflow deep in a fit.
VALUE_RANGES = {
    "params": RANGES["count"],
    "tokens": RANGES["count"],
    "steps": RANGES["count"],
    "batch_tokens": RANGES["count"],
    "flops": RANGES["flops"],
    "loss": RANGES["loss"],
    "train_bits": (1.0, 64.0),  # integer-type training precisions
}
for _role in ROLES:
    VALUE_RANGES.setdefault(_role, RANGES["count"])
MAX_LISTED = 8


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
    groups: np.ndarray | None = None  # run label per row (None: every row its own run)
    group_column: str | None = None

    def __getitem__(self, role: str) -> np.ndarray:
        return self.values[role]

    def has(self, role: str) -> bool:
        return role in self.values

    @property
    def rows_used(self) -> int:
        return len(self.lines)

    def subset(self, mask: np.ndarray) -> RunTable:
        groups = None if self.groups is None else self.groups[mask]
        return replace(
            self, lines=self.lines[mask], values={k: v[mask] for k, v in self.values.items()}, groups=groups
        )

    @property
    def runs(self) -> int:
        """Distinct runs: groups when a run column is known, else rows."""
        return self.rows_used if self.groups is None else len(np.unique(self.groups))


# ----- reading the file --------------------------------------------------------------------------
@dataclass
class _Csv:
    """A CSV read in one pass: its header, and for the columns asked for, their cells."""

    header: list[str]
    lines: np.ndarray
    cells: dict[int, list[str]]  # column index -> stripped cell text, one per data row
    digest: str


def _records(path: str, what: str):
    """(digest, header, iterator of (line, record)) for a bounded, UTF-8 CSV file."""
    from scalecli.files import decode_text, read_bytes

    data = read_bytes(path, what, MAX_CSV_BYTES)  # read once: text and hash
    digest = hashlib.sha256(data).hexdigest()
    text = decode_text(data, path, what)
    del data
    reader = csv.reader(io.StringIO(text))

    def rows():
        try:
            for record in reader:
                if not record or all(not c.strip() for c in record) or record[0].lstrip().startswith("#"):
                    continue
                yield reader.line_num, record
        except csv.Error as exc:
            raise InputError(f"{what} {path!r}: malformed CSV at line {reader.line_num}: {exc}") from None

    stream = rows()
    first = next(stream, None)
    if first is None:
        raise InputError(f"{what} {path!r} is empty: expected a header row and one row per run")
    header = [c.strip() for c in first[1]]
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
    return digest, header, stream


def _read_csv(path: str, what: str, wanted=None, extra=None) -> _Csv:
    """One pass over ``path``: keep the cells of the columns ``wanted(header)`` names.

    ``extra`` (from a join) maps a row to more cells, appended after the file's own columns.
    At most MAX_ROWS data rows; a row with the wrong number of fields is an error.
    """
    digest, header, stream = _records(path, what)
    full_header = header + (extra.columns if extra else [])
    keep = sorted(wanted(full_header)) if wanted else list(range(len(full_header)))
    own = [i for i in keep if i < len(header)]
    joined = [i - len(header) for i in keep if i >= len(header)]
    cells: dict[int, list[str]] = {i: [] for i in keep}
    lines: list[int] = []
    for line, record in stream:
        if len(lines) >= MAX_ROWS:
            raise InputError(
                f"{what} {path!r} has more than {MAX_ROWS:,} data rows, the limit; average or subsample "
                "the runs (e.g. every 10th checkpoint) first"
            )
        if len(record) != len(header):
            raise InputError(
                f"{what} {path!r}: line {line} has {len(record)} fields, the header has {len(header)}"
            )
        for i in own:
            cells[i].append(record[i].strip())
        if extra:
            more = extra.lookup(line, record)
            for j in joined:
                cells[len(header) + j].append(more[j].strip())
        lines.append(line)
    if not lines:
        raise InputError(f"{what} {path!r} has a header but no data rows")
    if extra:
        extra.check()
    return _Csv(full_header, np.array(lines, dtype=np.int64), cells, digest)


class _Join:
    """The columns of a second CSV, matched on the columns it shares with the data."""

    def __init__(self, join_path: str, header: list[str]) -> None:
        table = _read_csv(join_path, "join file")
        keys = {normalise(x) for x in header}
        shared = [h for h in table.header if normalise(h) in keys]
        if not shared:
            raise InputError(f"join file {join_path!r} shares no column with the data; nothing to join on")
        self.path = join_path
        self.main_idx = [[normalise(x) for x in header].index(normalise(h)) for h in shared]
        join_idx = [table.header.index(h) for h in shared]
        extra = [i for i, h in enumerate(table.header) if h not in shared]
        self.columns = [table.header[i] for i in extra]
        self.rows: dict[tuple[str, ...], list[str]] = {}
        for k, line in enumerate(table.lines):
            key = tuple(table.cells[i][k] for i in join_idx)
            if key in self.rows:
                raise InputError(f"join file {join_path!r}: line {line} repeats key {', '.join(key)}")
            self.rows[key] = [table.cells[i][k] for i in extra]
        self.missing: list[str] = []
        self.blank = [""] * len(extra)

    def lookup(self, line: int, record: list[str]) -> list[str]:
        key = tuple(record[i].strip() for i in self.main_idx)
        found = self.rows.get(key)
        if found is None:
            self.missing.append(f"line {line} ({', '.join(key)})")
            return self.blank
        return found

    def check(self) -> None:
        if self.missing:
            raise InputError(f"join file {self.path!r} has no row for {_listing(self.missing)}")


def _listing(items: list[str]) -> str:
    shown = "; ".join(items[:MAX_LISTED])
    more = len(items) - MAX_LISTED
    return shown + (f"; and {more} more" if more > 0 else "")


def _numbers(cells: list[str], scale: float) -> np.ndarray:
    """Cells to floats: numpy's parser for plain numbers, the one number parser (70B, 1.4T) for
    the rest; an empty or unreadable cell is nan (reported with its line when the row is used)."""
    try:
        return np.array(cells, dtype=float) * scale
    except ValueError:
        out = np.full(len(cells), np.nan)
        for i, cell in enumerate(cells):
            if cell:
                try:
                    out[i] = parse_number(cell, "cell", positive=False) * scale
                except InputError:
                    pass
        return out


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


MAX_EXPRESSION = 1_000  # characters in one --where or --holdout expression
_OPERATOR = re.compile(r"<=|>=|==|!=|<|>")
_NAME = re.compile(r"[A-Za-z_][\w .\-]*")
_NUMERIC = re.compile(r"^[+-]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?[KMBGTPkmbgtp]?$")


def parse_filter(expr: str, flag: str = "--where") -> list[Condition]:
    """'loss<4.5', 'flops>=1e21 and params<1B', 'label=="Cosine decay"' -> conditions (all hold).

    Numbers compare numerically; a quoted or non-numeric value compares text with == or !=.
    Parsing is one linear scan per condition, and an expression is at most MAX_EXPRESSION long.
    """
    if len(expr) > MAX_EXPRESSION:
        raise InputError(
            f"{flag}: the expression is {len(expr):,} characters; the limit is {MAX_EXPRESSION:,}"
        )
    conditions = []
    for part in re.split(r"\s+and\s+", expr.strip()):
        match = _OPERATOR.search(part)
        name = part[: match.start()].strip() if match else ""
        if match is None or not _NAME.fullmatch(name) or not part[match.end() :].strip():
            raise InputError(f'{flag}: cannot read {part!r}; write NAME OP VALUE, e.g. "loss<4.5"')
        op, value = match.group(), part[match.end() :].strip()
        quoted = len(value) >= 2 and value[0] == value[-1] and value[0] in "'\""
        parsed: float | str
        if not quoted and _NUMERIC.match(value):
            parsed = parse_number(value, f"{flag} {part!r}: the value", positive=False)
        elif op in ("==", "!="):
            parsed = value[1:-1] if quoted else value
        else:
            raise InputError(f"{flag}: {part!r} compares text with {op}; text takes == or != only")
        conditions.append(Condition(name, op, parsed, part))
    return conditions


# ----- the table ---------------------------------------------------------------------------------
def read_runs(
    path: str,
    *,
    columns: dict[str, str] | None = None,
    where: list[str] | tuple[str, ...] = (),
    join: str | None = None,
    group: str | None = None,
) -> RunTable:
    """Read, match, filter and validate a CSV of runs. Every bad row is reported by line number.

    ``group`` names the column saying which run a row comes from (default: a column with a usual
    name, GROUP_NAMES; ``"none"``: no grouping). The file is read in one pass, keeping only the
    columns the roles, filters and run column use."""
    conditions = [c for expr in where for c in parse_filter(expr)]
    plan: dict[str, Any] = {}

    def wanted(header: list[str]) -> set[int]:
        mapping = match_columns(header, columns or {})
        plan["mapping"] = mapping
        plan["group"] = group_column(header, group, {idx for idx, _, _ in mapping.values()})
        plan["filters"] = [
            _resolve(header, c.name, "--where")
            if c.is_text or c.name not in ROLES or c.name not in mapping
            else None
            for c in conditions
        ]
        used = {idx for idx, _, _ in mapping.values()} | {f[0] for f in plan["filters"] if f is not None}
        return used | ({plan["group"]} if plan["group"] is not None else set())

    extra = None
    if join:
        digest, header, _ = _records(path, "data file")
        extra = _Join(join, header)
    table = _read_csv(path, "data file", wanted, extra)
    mapping: dict[str, tuple[int, float, str]] = plan["mapping"]
    values = {role: _numbers(table.cells[idx], scale) for role, (idx, scale, _) in mapping.items()}
    raw_cells = {role: table.cells[idx] for role, (idx, _, _) in mapping.items()}

    keep = np.ones(len(table.lines), dtype=bool)
    for cond, resolved in zip(conditions, plan["filters"], strict=True):
        if cond.is_text:
            keep &= cond.test_text(table.cells[resolved[0]])
            continue
        if resolved is None:
            x = values[cond.name]
        elif cond.name == "tokens" and "flops" in values and "params" in values and "tokens" not in mapping:
            x = compute.training_tokens(values["flops"], values["params"])
        else:
            x = _numbers(table.cells[resolved[0]], resolved[1])
        keep &= cond.test(x)
    if not keep.any():
        raise InputError(f"data file {path!r}: no rows pass --where {' and '.join(where)}")

    problems = []
    count = 0
    for role, v in values.items():
        lo, hi = VALUE_RANGES.get(role, (0.0, math.inf))
        bad = keep & ~((v > 0) & (v >= lo) & (v <= hi))
        count += int(np.count_nonzero(bad))
        label = f"{role} ({mapping[role][2]})"
        for i in np.flatnonzero(bad)[: MAX_LISTED + 1]:
            cell = raw_cells[role][i]
            where_ = f"line {table.lines[i]}: {label}"
            if not cell:
                problems.append(f"{where_} is empty")
            elif not math.isfinite(v[i]):
                problems.append(f"{where_} {cell!r} is not a finite number")
            elif v[i] <= 0:
                problems.append(f"{where_} {cell!r} is not positive")
            else:
                problems.append(f"{where_} {cell!r} is outside the range scalecli accepts ({lo:g} to {hi:g})")
    if problems:
        raise InputError(
            f"data file {path!r}: {count} bad value(s): {_listing(problems)} "
            "(fix them, or leave the rows out with --where)"
        )
    out = RunTable(
        path=str(path),
        sha256=table.digest,
        columns={role: desc for role, (_, _, desc) in mapping.items()},
        lines=table.lines[keep],
        values={k: v[keep] for k, v in values.items()},
        rows_read=len(table.lines),
        filters=list(where),
    )
    if plan["group"] is not None:
        labels = np.array(table.cells[plan["group"]], dtype=object)[keep]
        if any(not label for label in labels):
            first = int(table.lines[keep][[not label for label in labels].index(True)])
            raise InputError(
                f"data file {path!r}: line {first}: the run column is empty (fill it, or --group none)"
            )
        out.groups = labels.astype(str)
        out.group_column = table.header[plan["group"]]
    return derive(out)


def group_column(header: list[str], group: str | None, taken: set[int]) -> int | None:
    """The index of the run column: ``group`` by name, or the one column with a usual run name."""
    if group is not None:
        if normalise(group) == NO_GROUP:
            return None
        return _resolve(header, group, "--group")[0]
    hits = [i for i, h in enumerate(header) if normalise(h) in GROUP_NAMES and i not in taken]
    if len(hits) > 1:
        names = ", ".join(repr(header[i]) for i in hits)
        raise InputError(f"several columns could name the run: {names}; choose one with --group NAME")
    return hits[0] if hits else None


def derive(table: RunTable) -> RunTable:
    v = dict(table.values)
    derived = list(table.derived)
    if "tokens" not in v and "flops" not in v and "steps" in v and "batch_tokens" in v:
        v["tokens"] = v["steps"] * v["batch_tokens"]
        derived.append("tokens = steps·batch_tokens")
    if "tokens" not in v and "flops" in v and "params" in v:
        v["tokens"] = compute.training_tokens(v["flops"], v["params"])
        derived.append("tokens = flops/(6·params)")
    if "flops" not in v and "tokens" in v and "params" in v:
        v["flops"] = compute.training_flops(v["params"], v["tokens"])
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
    groups = None if table.groups is None else table.groups[first][order]
    return replace(
        table,
        values=values,
        lines=table.lines[first][order],
        averaged=int(len(table.lines) - len(first)),
        groups=groups,
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

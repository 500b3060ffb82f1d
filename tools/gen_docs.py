"""Regenerate the parts of docs/ that come from the code's own tables (or check they are current).

* docs/laws.md     ``presets``  every shipped preset's family, constants and source;
* docs/output.md   ``fields``   the plan fields (fields.PLAN_FIELDS) and their assertion keys,
                   ``exit``     the exit codes (errors.ExitStatus);
* docs/files.md    ``options``  the request options (options.OPTIONS): flags, scale.yaml keys,
                                spec keys;
* docs/schemas/preset.schema.json, docs/schemas/check-spec.schema.json;
* presets/_index.json: the shipped presets parsed, so `scale plan` reads them without a YAML parser.

    python tools/gen_docs.py           # rewrite the generated blocks and schema files
    python tools/gen_docs.py --check   # exit 1 when any of them is out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def presets_block() -> str:
    from scalecli import presets

    rows = ["| preset | family | N counts | constants | source |", "| --- | --- | --- | --- | --- |"]
    for p in presets.load_all_shipped():
        alias = f" (alias {', '.join(f'`{a}`' for a in p.aliases)})" if p.aliases else ""
        constants = ", ".join(f"{k}={v:.6g}" for k, v in p.law.params.items())
        rows.append(
            f"| `{p.name}`{alias} | {p.family} | {p.params_convention} | {constants} | {p.source_line()} |"
        )
    return "\n".join(rows)


def fields_block() -> str:
    from scalecli import fields

    rows = ["| field | unit | meaning | assert with |", "| --- | --- | --- | --- |"]
    for f in fields.PLAN_FIELDS:
        where = " (a proposed configuration)" if f.proposed_only else ""
        rows.append(f"| `{f.name}` | {f.unit} | {f.help}{where} | `min_{f.name}`, `max_{f.name}` |")
    return "\n".join(rows)


def exit_block() -> str:
    from scalecli.errors import ExitStatus

    meaning = {
        "OK": "success",
        "CHECK_FAILED": "`scale check`: an assertion failed",
        "INPUT": "bad input: usage, an unreadable, malformed or oversized file, an invalid or out-of-range number, an unknown preset",
        "INFEASIBLE": "no allocation satisfies the constraints, or the only one is implausible; the message names the reason",
        "INTERNAL": "an internal error (a bug in scalecli): the message asks you to report it; `--debug` shows the traceback",
        "OUTPUT": "the output could not be written (e.g. no space left on the device); no file was written",
        "INTERRUPTED": "Ctrl-C (128 + SIGINT); SIGTERM and SIGHUP exit 143 and 129; temporary files are removed",
        "BROKEN_PIPE": "the reader of the output went away (128 + SIGPIPE), e.g. `scale plan ... | head -1`",
    }  # fmt: skip
    rows = ["| code | name | meaning |", "| --- | --- | --- |"]
    rows += [f"| {s.value} | `{s.name}` | {meaning[s.name]} |" for s in ExitStatus]
    return "\n".join(rows)


def options_block() -> str:
    from scalecli import options

    rows = ["| option | kind | commands | `scale.yaml` | spec key |", "| --- | --- | --- | --- | --- |"]
    for o in options.OPTIONS:
        kind = o.metavar or "flag"
        if o.choices:
            kind = " \\| ".join(o.choices)
        config = ", ".join(c for c in o.commands if o.configures(c)) or "-"
        spec = f"`{o.section}.{o.name}`" if o.section else "-"
        rows.append(f"| `{o.flag}` | {kind} | {', '.join(o.commands)} | {config} | {spec} |")
    return "\n".join(rows)


BLOCKS = {
    "laws.md": {"presets": presets_block},
    "output.md": {"fields": fields_block, "exit": exit_block},
    "files.md": {"options": options_block},
}


def schema_files() -> dict[str, str]:
    from scalecli import check, schemas

    return {
        "preset.schema.json": json.dumps(schemas.preset(), indent=2) + "\n",
        "check-spec.schema.json": json.dumps(check.schema(), indent=2) + "\n",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a generated part is out of date")
    args = parser.parse_args()
    from scalecli import presets

    presets._INDEX[:] = [None]  # generate from the YAML files themselves, not from the index
    stale = []
    for name, blocks in BLOCKS.items():
        path = DOCS / name
        text = path.read_text(encoding="utf-8")
        new = text
        for block, make in blocks.items():
            pattern = re.compile(rf"(<!-- {block}:start -->\n).*?(\n<!-- {block}:end -->)", re.S)
            if not pattern.search(new):
                raise SystemExit(f"{path}: no <!-- {block}:start --> ... <!-- {block}:end --> markers")
            new = pattern.sub(lambda m, make=make: m.group(1) + make() + m.group(2), new)
        if new != text:
            stale.append(str(path.relative_to(ROOT)))
            if not args.check:
                path.write_text(new, encoding="utf-8")
    generated = {DOCS / "schemas" / name: content for name, content in schema_files().items()}
    generated[ROOT / "presets" / presets.INDEX_FILE] = presets.build_index()
    for path, content in generated.items():
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            stale.append(str(path.relative_to(ROOT)))
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content, encoding="utf-8")
    if args.check:
        if stale:
            print("out of date (run python tools/gen_docs.py): " + ", ".join(stale))
            return 1
        print("docs are current")
        return 0
    print("rewrote: " + (", ".join(stale) or "nothing"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

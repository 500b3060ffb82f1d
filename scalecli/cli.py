"""Typer app: parse options, call the library, hand results to render. No science here."""

from __future__ import annotations

import sys
from typing import Any

import typer

from scalecli import __version__
from scalecli.errors import InputError, ScaleError
from scalecli.units import parse_number

app = typer.Typer(
    name="scale",
    help="Plan ML compute budgets under published scaling laws.\n\nExample: scale plan --flops 1e23",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
presets_app = typer.Typer(
    help="List the shipped presets, or show one.\n\n"
    "Examples:\n  scale presets\n  scale presets show hoffmann2022",
    invoke_without_command=True,
)
app.add_typer(presets_app, name="presets")

FORMAT_HELP = "Output format: table, json, yaml or csv."


def _num(value: str | None, what: str, *, allow_zero: bool = False) -> float | None:
    return None if value is None else parse_number(value, what, allow_zero=allow_zero)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"scale {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show a traceback on errors."),
) -> None:
    """Plan ML compute budgets under published scaling laws.

    Example: scale plan --flops 1e23
    """


def _emit(payload: dict[str, Any], fmt: str, table, csv_rows) -> None:
    from scalecli import render

    render.check_format(fmt)
    if fmt == "table":
        table()
    elif fmt == "csv":
        typer.echo(render.rows_to_csv(csv_rows))
    else:
        typer.echo(render.dump(payload, fmt))


def _load_laws(laws: list[str] | None):
    from scalecli import presets

    return [presets.load(spec) for spec in laws] if laws else presets.default_presets()


@app.command()
def plan(
    flops: str | None = typer.Option(
        None, "--flops", help="Training compute budget in FLOPs (e.g. 1e23): minimise loss."
    ),
    target_loss: str | None = typer.Option(
        None, "--target-loss", help="Reach this loss at the least compute."
    ),
    law: list[str] | None = typer.Option(
        None, "--law", help="Preset name or YAML file (repeatable). Default: the default presets."
    ),
    inference_tokens: str | None = typer.Option(
        None, "--inference-tokens", help="Lifetime inference tokens, 2·N FLOPs each."
    ),
    max_params: str | None = typer.Option(None, "--max-params", help="Cap on parameters (e.g. 70B)."),
    max_tokens: str | None = typer.Option(None, "--max-tokens", help="Cap on training tokens."),
    max_steps: str | None = typer.Option(None, "--max-steps", help="Cap on optimizer steps."),
    unique_tokens: str | None = typer.Option(
        None, "--unique-tokens", help="Unique data available; tokens beyond it are repeated epochs."
    ),
    allow_repeats: bool = typer.Option(
        False, "--allow-repeats", help="Let laws without a repeated-data model train past --unique-tokens."
    ),
    batch_tokens: str | None = typer.Option(
        None, "--batch-tokens", help="Tokens per optimizer step (default: the preset's batch rule)."
    ),
    fmt: str = typer.Option("table", "--format", help=FORMAT_HELP),
) -> None:
    """Solve for the compute-optimal model size, tokens, steps and loss.

    Examples:
      scale plan --flops 1e23
      scale plan --flops 1e23 --law besiroglu2024 --format json
      scale plan --target-loss 2.1 --law hoffmann2022 --max-params 7B
    """
    from scalecli import planner, render

    render.check_format(fmt)
    request = planner.PlanRequest(
        flops=_num(flops, "--flops"),
        target_loss=_num(target_loss, "--target-loss"),
        inference_tokens=_num(inference_tokens, "--inference-tokens", allow_zero=True) or 0.0,
        max_params=_num(max_params, "--max-params"),
        max_tokens=_num(max_tokens, "--max-tokens"),
        max_steps=_num(max_steps, "--max-steps"),
        unique_tokens=_num(unique_tokens, "--unique-tokens"),
        batch_tokens=_num(batch_tokens, "--batch-tokens"),
        allow_repeats=allow_repeats,
    )
    loaded = _load_laws(law)
    plans = [planner.plan(p, request).to_dict() for p in loaded]
    request_dict = {k: v for k, v in vars(request).items() if v not in (None, False)}
    request_dict["laws"] = [p.name for p in loaded]
    payload = {"scalecli_version": __version__, "request": request_dict, "plans": plans}
    sources = {p.name: p.source_line() for p in loaded}
    _emit(payload, fmt, lambda: render.plan_table(payload, sources), plans)


@app.command()
def predict(
    params: str = typer.Option(..., "--params", help="Model size N (e.g. 70B)."),
    tokens: str | None = typer.Option(None, "--tokens", help="Training tokens D (e.g. 1.4T)."),
    steps: str | None = typer.Option(None, "--steps", help="Optimizer steps (instead of --tokens)."),
    batch_tokens: str | None = typer.Option(None, "--batch-tokens", help="Tokens per step (with --steps)."),
    unique_tokens: str | None = typer.Option(
        None, "--unique-tokens", help="Unique data, for laws that model repeats."
    ),
    law: list[str] | None = typer.Option(None, "--law", help="Preset name or YAML file (repeatable)."),
    fmt: str = typer.Option("table", "--format", help=FORMAT_HELP),
) -> None:
    """Predict the loss and FLOPs of a configuration and its overhead versus compute-optimal.

    Examples:
      scale predict --law hoffmann2022 --params 70B --tokens 1.4T
      scale predict --law kaplan2020 --params 1B --steps 200K --format json
    """
    from scalecli import planner, render
    from scalecli.units import human_count, human_flops

    render.check_format(fmt)
    n = _num(params, "--params")
    d = _num(tokens, "--tokens")
    s = _num(steps, "--steps")
    if (d is None) == (s is None):
        raise InputError("give exactly one of --tokens or --steps with --params")
    b = _num(batch_tokens, "--batch-tokens")
    u = _num(unique_tokens, "--unique-tokens")
    loaded = _load_laws(law)
    preds = [planner.predict(p, n, d, s, b, u).to_dict() for p in loaded]
    payload = {"scalecli_version": __version__, "predictions": preds}

    def table() -> None:
        rows = [
            (
                p["law"],
                human_count(p["params"]),
                human_count(p["tokens"]),
                human_count(p["steps"]),
                f"{p['loss']:.4g}",
                human_flops(p["train_flops"]),
                human_flops(p["optimal_train_flops"]),
                "-" if p["overhead_pct"] is None else f"{p['overhead_pct']:+.1f}%",
            )
            for p in preds
        ]
        notes = render.notes_block({p["law"]: p["notes"] for p in preds})
        render.simple_table(
            "Prediction",
            ["law", "params", "tokens", "steps", "loss", "FLOPs", "optimal", "overhead"],
            rows,
            notes=notes,
        )

    _emit(payload, fmt, table, preds)


@presets_app.callback()
def presets_list(
    ctx: typer.Context,
    fmt: str = typer.Option("table", "--format", help=FORMAT_HELP),
) -> None:
    """List the shipped presets (name, family, source, default or not).

    Examples:
      scale presets
      scale presets show hoffmann2022
    """
    if ctx.invoked_subcommand is not None:
        return
    from scalecli import presets, render

    render.check_format(fmt)
    rows = [
        {
            "name": p.name,
            "family": p.family,
            "default": p.default,
            "aliases": p.aliases,
            "description": p.description,
            "source": p.source_line(),
        }
        for p in presets.load_all_shipped()
    ]
    payload = {"scalecli_version": __version__, "presets": rows}

    def table() -> None:
        render.simple_table(
            "Presets",
            ["name", "family", "default", "description"],
            [(r["name"], r["family"], "yes" if r["default"] else "", r["description"]) for r in rows],
            notes=["scale presets show NAME prints the parameters and their source"],
            text_columns=4,
        )

    _emit(payload, fmt, table, rows)


@presets_app.command("show")
def presets_show(
    name: str = typer.Argument(..., help="Preset name, alias or YAML file."),
    fmt: str = typer.Option("table", "--format", help=FORMAT_HELP),
) -> None:
    """Show one preset with its parameters and provenance.

    Example: scale presets show besiroglu2024
    """
    from scalecli import presets, render

    render.check_format(fmt)
    p = presets.load(name)
    payload = {"scalecli_version": __version__, "preset": p.raw}

    def table() -> None:
        rows = [("name", p.name), ("family", p.family), ("default", "yes" if p.default else "no")]
        if p.description:
            rows.append(("description", p.description))
        values = p.law.params
        rows += [(f"  {k}", f"{v:.8g}") for k, v in values.items()]
        if p.fitted_range:
            rows.append(("fitted range", f"{p.fitted_range[0]:.3g} to {p.fitted_range[1]:.3g} FLOPs"))
        rows += [(f"source.{k}", v) for k, v in p.source.items()]
        rows += [("note", n) for n in p.notes]
        render.key_value_table(f"Preset {p.name}", rows)

    _emit(payload, fmt, table, [{"name": p.name, "family": p.family, **p.law.params}])


def main(argv: list[str] | None = None) -> None:
    """Console entry point: map errors to exit codes (CLI.md) and one-line messages."""
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args
    if not args:
        args = ["--help"]
    try:
        code = app(args=args, prog_name="scale", standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        sys.exit(130)
    except ScaleError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if debug:
            raise
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # click usage errors
            message = " ".join(exc.format_message().split())
            typer.echo(f"error: {message} (see 'scale --help')", err=True)
            sys.exit(2)
        # An internal error is still one line; the traceback comes with --debug.
        typer.echo(
            f"error: internal error ({type(exc).__name__}: {exc}); rerun with --debug and report it",
            err=True,
        )
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)

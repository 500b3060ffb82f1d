"""Typer app: parse options, call the library, hand results to render. No science here."""

from __future__ import annotations

import inspect
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any, Optional

# The arrays here are small: BLAS worker threads only add overhead (3x slower fits measured
# with one other busy process, benchmarks/fit.py). Set before numpy is first imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import typer  # noqa: E402

from scalecli import __version__  # noqa: E402
from scalecli.errors import ExitStatus, InputError, ScaleError, as_flag  # noqa: E402

app = typer.Typer(
    name="scale",
    help="Plan ML compute budgets under published scaling laws.\n\nExample:\n\n\b\n  scale plan --flops 1e23",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
presets_app = typer.Typer(
    help="List the shipped presets, or show one.\n\nExamples:\n\n\b\n"
    "  scale presets\n  scale presets show hoffmann2022",
    invoke_without_command=True,
)
app.add_typer(presets_app, name="presets")

FORMAT_HELP = "Output format: table (default), json, yaml or csv."


def _complete_format(incomplete: str) -> list[str]:
    return [f for f in ("table", "json", "yaml", "csv") if f.startswith(incomplete.lower())]


def _number(option: str, raw: str, flag: str) -> float:
    """A number given to a command-specific flag, parsed as the option ``option`` of options.OPTIONS."""
    from scalecli import options

    value = options.parse_value(options.BY_NAME[option], raw, flag)
    assert isinstance(value, float)  # numeric option rows parse to floats
    return value


def _format(fmt: str | None, command: str) -> str:
    """--format, else scale.yaml's format, else table."""
    from scalecli import config, render

    if fmt is None:
        fmt = config.load(None, command)[0].get("format") or "table"
    return render.check_format(fmt)


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

    Example:

    \b
      scale plan --flops 1e23
    """


def _emit(payload: dict[str, Any], fmt: str, table, csv_rows) -> None:
    from scalecli import render

    render.check_format(fmt)
    try:
        if fmt == "table":
            table()
        elif fmt == "csv":
            typer.echo(render.rows_to_csv(csv_rows))
        else:
            typer.echo(render.dump(payload, fmt))
        sys.stdout.flush()  # a failed write (full disk) surfaces here, before any file is committed
    except BrokenPipeError:
        raise
    except OSError as exc:
        from scalecli.errors import OutputError
        from scalecli.files import describe_os_error

        raise OutputError(f"cannot write the output: {describe_os_error(exc)}") from None


def _outputs(force: bool, **paths: str | None):
    """Every output file of a command, checked before any work (files.Outputs)."""
    from scalecli.files import Outputs

    outputs = Outputs(force)
    for name, path in paths.items():
        outputs.add(path, f"--{name}")
    if paths.get("plot") is not None:
        from scalecli.plot import pyplot

        pyplot()  # the plot extra is installed, or an error now rather than after the work
    return outputs


# ----- commands built from the one table of options (options.py) ---------------------------------
def _complete_law(incomplete: str) -> list[str]:
    from scalecli import presets

    names = presets.shipped_names() + list(presets._alias_map())
    return [n for n in names if n.startswith(incomplete)]


def _complete_gpu(incomplete: str) -> list[str]:
    from scalecli import compute

    return [n for n in compute.hardware() if n.lower().startswith(incomplete.lower())]


def _typer_parameter(option) -> inspect.Parameter:
    """A typer option from a row of options.OPTIONS (values arrive as text; options.parse_value
    reads them, so the command line, scale.yaml and a spec share one parser)."""
    kwargs: dict[str, Any] = {"help": option.help}
    annotation: Any
    if option.metavar:
        kwargs["metavar"] = option.metavar
    if option.kind == "flag":
        default, annotation = typer.Option(False, option.flag, **kwargs), bool
    elif option.kind == "laws":
        default = typer.Option(None, option.flag, autocompletion=_complete_law, **kwargs)
        annotation = Optional[list[str]]  # noqa: UP045 - typer reads the annotation at run time
    else:
        if option.choices:
            choices = option.choices
            kwargs["autocompletion"] = lambda incomplete: [c for c in choices if c.startswith(incomplete)]
        elif option.name in ("gpu", "serve_gpu"):
            kwargs["autocompletion"] = _complete_gpu
        default, annotation = typer.Option(None, option.flag, **kwargs), Optional[str]  # noqa: UP045
    return inspect.Parameter(
        option.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def _options_command(name: str, body, doc: str, short: str, extra: Sequence[inspect.Parameter] = ()):
    """Register command ``name`` with the options of options.for_command(name) plus ``extra``;
    ``body(values, raw)`` gets the parsed values (command line over scale.yaml)."""
    from scalecli import options

    table = options.for_command(name)
    extra_params = [
        *extra,
        inspect.Parameter(
            "config",
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(
                None, "--config", metavar="FILE", help="Defaults from this YAML file (else ./scale.yaml)."
            ),
            annotation=Optional[str],  # noqa: UP045
        ),
    ]

    def command(**raw: Any) -> None:
        from scalecli import config

        given = {}
        for option in table:
            value = raw.get(option.name)
            if value is None or value is False or value == []:
                continue
            given[option.name] = options.parse_value(option, value, option.flag)
        settings, path = config.load(raw.get("config"), name)
        values = config.merge(given, settings)
        values.setdefault("format", "table")
        if path:
            values["_config"] = path
        body(values, raw)

    command.__signature__ = inspect.Signature([*(_typer_parameter(o) for o in table), *extra_params])  # type: ignore[attr-defined]
    command.__doc__ = doc
    command.__name__ = name
    app.command(name, short_help=short)(command)


def _flag(name: str, help: str, default: bool = False) -> inspect.Parameter:
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(default, "--" + name.replace("_", "-"), help=help),
        annotation=bool,
    )


def _text(name: str, metavar: str, help: str) -> inspect.Parameter:
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(None, "--" + name.replace("_", "-"), metavar=metavar, help=help),
        annotation=Optional[str],  # noqa: UP045
    )


def _plan(values: dict[str, Any], raw: dict[str, Any]) -> None:
    from scalecli import app as application
    from scalecli import recipe as recipes
    from scalecli import render

    hardware = application.make_hardware(values)
    request = application.plan_request(values, hardware)
    loaded = application.load_laws(values.get("law"))
    recipe = recipes.from_values(values)
    plans = [
        p.to_dict()
        for p in application.plan_all(loaded, request, hardware, brief=raw.get("brief", False), recipe=recipe)
    ]
    request_dict = request.to_dict()
    request_dict["laws"] = [p["law"] for p in plans]
    if hardware is not None:
        request_dict["hardware"] = {**hardware.train.describe(), "serve": hardware.serve.describe()}
    if values.get("_config"):
        request_dict["config"] = values["_config"]
    payload = {"scalecli_version": __version__, "request": request_dict, "plans": plans}
    sources = {p.name: p.source_line() for p in loaded if p.name in request_dict["laws"]}
    _emit(payload, values["format"], lambda: render.plan_table(payload, sources), plans)


_options_command(
    "plan",
    _plan,
    """Solve for the compute-optimal model size, tokens, steps and loss.

    Exactly one objective: --flops, --target-loss, or a budget as --gpu-hours, --budget-usd or
    --days (with --gpus). Options not given fall back to scale.yaml in the working directory (or
    --config FILE).

    Examples:

    \b
      scale plan --flops 1e23
      scale plan --flops 1e23 --brief
      scale plan --flops 1e23 --law besiroglu2024 --format json
      scale plan --target-loss 2.1 --law hoffmann2022 --max-params 7B
      scale plan --target-loss 1.947 --inference-tokens 2T --law besiroglu2024
      scale plan --flops 1e22 --unique-tokens 25B --law muennighoff2023
      scale plan --gpu-hours 1M --gpu H100 --mfu 0.4 --usd-per-gpu-hour 2.5
      scale plan --days 30 --gpus 1024 --gpu H100 --mfu 0.4
      scale plan --flops 1e23 --shape --hparams deepseek2024
      scale plan --flops 1e23 --flops-convention palm --law besiroglu2024
    """,
    "Compute-optimal model size, tokens, steps and loss.",
    extra=[_flag("brief", "Only the recommended law's plan (or, with --law, the first law's).")],
)


def _predict(values: dict[str, Any], raw: dict[str, Any]) -> None:
    from scalecli import app as application
    from scalecli import render

    hardware = application.make_hardware(values)
    preds = [
        p.to_dict()
        for p in application.predict_all(application.load_laws(values.get("law")), values, hardware)
    ]
    payload = {"scalecli_version": __version__, "predictions": preds}
    _emit(
        payload,
        values["format"],
        lambda: render.predict_table(preds, bool(values.get("inference_tokens")), hardware is not None),
        preds,
    )


_options_command(
    "predict",
    _predict,
    """Predict the loss and FLOPs of a configuration and its overhead versus compute-optimal.

    Give the configuration as --params with --tokens or --steps, or as any two of --params,
    --tokens and --flops (each law's compute model fills in the third: C = 6·N·D for every
    shipped law).

    Examples:

    \b
      scale predict --law hoffmann2022 --params 70B --tokens 1.4T
      scale predict --law kaplan2020 --params 1B --steps 200K --format json
      scale predict --law besiroglu2024 --params 13B --tokens 260B --inference-tokens 2T
      scale predict --law besiroglu2024 --flops 1e23 --params 30B
    """,
    "Loss and FLOPs of a configuration, and its overhead.",
)


def _arch(values: dict[str, Any], raw: dict[str, Any]) -> None:
    from scalecli import app as application
    from scalecli import render

    payload = {"scalecli_version": __version__, **application.arch(values)}
    _emit(payload, values["format"], lambda: render.arch_table(payload), payload["shapes"])


_options_command(
    "arch",
    _arch,
    """Model shapes for a parameter count, or the exact counts of a given shape.

    Lists shapes (layers, width, heads, kv heads, d_ff, vocabulary) whose parameter count is
    nearest --params, each with its total, non-embedding and active parameters, training FLOPs
    per token in every convention, KV-cache bytes per token and memory per GPU. With --layers and
    --d-model, counts that shape exactly.

    Examples:

    \b
      scale arch --params 7B
      scale arch --params 7B --kv-heads 8 --vocab 128256 --gpu H100 --gpus 8 --sharding zero3
      scale arch --layers 32 --d-model 4096 --d-ff 11008 --vocab 32000
      scale arch --layers 12 --d-model 768 --vocab 50257 --seq-len 1024 --style gpt
    """,
    "Model shapes for a parameter count; exact counts of a shape.",
)


def _sweep(values: dict[str, Any], raw: dict[str, Any]) -> None:
    from scalecli import app as application
    from scalecli import options, render
    from scalecli import sweep as sweeping

    plot = raw.get("plot")
    outputs = _outputs(raw.get("force", False), plot=plot)
    lo = options.parse_value(options.BY_NAME["flops"], raw.get("flops_from"), "--flops-from")
    hi = options.parse_value(options.BY_NAME["flops"], raw.get("flops_to"), "--flops-to")
    points = raw.get("points") or "7"
    if not str(points).strip().isdigit():
        raise InputError(f"--points must be a whole number, got {points!r}")
    assert isinstance(lo, float) and isinstance(hi, float)  # the flops row parses to a number
    grid = sweeping.budgets(lo, hi, int(points))
    sweeps = [
        sweeping.sweep(p, grid, values.get("batch_tokens")).to_dict()
        for p in application.load_laws(values.get("law"))
    ]
    payload = {"scalecli_version": __version__, "flops": grid.tolist(), "sweeps": sweeps}
    keys = ("params", "tokens", "steps", "batch_tokens", "tokens_per_param", "loss")
    rows = [
        {"law": s["law"], "flops": c, **{k: s[k][i] for k in keys}}
        for s in sweeps
        for i, c in enumerate(s["flops"])
    ]

    def table() -> None:
        render.sweep_table(rows, plot)

    with outputs:
        if plot is not None:
            from scalecli.plot import plot_sweeps

            outputs.write(plot, lambda tmp: plot_sweeps(sweeps, tmp))
        _emit(payload, values["format"], table, rows)


def _required(name: str, metavar: str, help: str) -> inspect.Parameter:
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(..., "--" + name.replace("_", "-"), metavar=metavar, help=help),
        annotation=str,
    )


_options_command(
    "sweep",
    _sweep,
    """Optimal N, D, steps and loss over a range of budgets, for each law.

    Examples:

    \b
      scale sweep --flops-from 1e19 --flops-to 1e25 --points 7
      scale sweep --flops-from 1e19 --flops-to 1e25 --law besiroglu2024 --format csv
      scale sweep --flops-from 1e19 --flops-to 1e25 --plot allocation.png
    """,
    "Optimal allocation over a range of budgets.",
    extra=[
        _required("flops_from", "FLOPS", "Smallest training budget (FLOPs)."),
        _required("flops_to", "FLOPS", "Largest training budget (FLOPs)."),
        _text("points", "COUNT", "Number of log-spaced budgets (default 7, at most 10000)."),
        _text("plot", "FILE", "Write N*(C) and D*(C) to this PNG (plot extra)."),
        _flag("force", "Overwrite an existing --plot file."),
    ],
)


@app.command(short_help="Fit a law to your runs; write it as a preset.")
def fit(
    data: str = typer.Argument(..., help="CSV of training runs, one row per run."),
    law: list[str] | None = typer.Option(
        None,
        "--law",
        help="Family to fit: chinchilla (default), kaplan, dynamics, dynamics-batch, moe (an experts "
        "column) or precision (a train_bits column). Repeat it with --holdout to compare families out of "
        "sample.",
    ),
    out: str | None = typer.Option(None, "--out", help="Write the fitted law as a preset YAML file."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing --out / --plot files."),
    columns: str | None = typer.Option(
        None,
        "--columns",
        help="role=header,... (roles: params, tokens, flops, steps, batch_tokens, loss, experts, "
        "train_bits).",
    ),
    where: list[str] | None = typer.Option(None, "--where", help='Row filter, e.g. "loss<4.5" (repeatable).'),
    join: str | None = typer.Option(None, "--join", help="CSV joined on the columns it shares with DATA."),
    group: str | None = typer.Option(
        None,
        "--group",
        help="Column naming each row's run (default: a column called run, run_id, model or name); the "
        "bootstrap resamples whole runs. 'none' resamples rows.",
    ),
    fix: list[str] | None = typer.Option(None, "--fix", help="Pin a parameter, e.g. E=1.69 (repeatable)."),
    bootstrap: int = typer.Option(0, "--bootstrap", help="Resample runs K times for intervals and draws."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the bootstrap."),
    holdout: str | None = typer.Option(
        None, "--holdout", help='Fit on the rest, report errors on e.g. "flops>=1e21".'
    ),
    method: str = typer.Option("parametric", "--method", help="parametric or isoflop (Approach 2)."),
    search: str = typer.Option(
        "grid",
        "--search",
        help="Parametric starts: grid (Hoffmann et al.'s, the reference) or projection (variable "
        "projection over the exponents; same objective, often faster).",
    ),
    average: bool = typer.Option(
        False,
        "--average-duplicates",
        help="Average the loss of rows with identical inputs (digitised curves).",
    ),
    name: str | None = typer.Option(None, "--name", help="Name of the fitted preset."),
    dataset: str | None = typer.Option(
        None, "--dataset", help="What the loss is measured on (data and tokenizer), for the preset's notes."
    ),
    plot: str | None = typer.Option(None, "--plot", help="Write data, fitted curves and residuals to a PNG."),
    strict: bool = typer.Option(
        False, "--strict", help="Refuse (exit 2) a fit the data do not identify, instead of warning."
    ),
    fmt: str | None = typer.Option(
        None, "--format", metavar="FORMAT", help=FORMAT_HELP, autocompletion=_complete_format
    ),
) -> None:
    """Fit a scaling law to your runs and write it as a preset for `scale plan --law`.

    Examples:

    \b
      scale fit runs.csv --out mylaw.yaml
      scale fit runs.csv --law chinchilla --bootstrap 1000 --seed 1 --out mylaw.yaml
      scale fit runs.csv --method isoflop --bootstrap 200
      scale fit runs.csv --holdout "flops>=1e21" --fix E=1.69 --format json
      scale fit runs.csv --law chinchilla --law dynamics-batch --holdout "params>7e9"
    """
    from scalecli import render
    from scalecli.fitting.data import parse_column_spec
    from scalecli.fitting.workflow import FitComparison, FitRequest, fit_runs, parse_fixed

    fmt = _format(fmt, "fit")
    laws = tuple(law or ["chinchilla"])
    if len(laws) > 1:
        given = [f for f, v in (("--out", out), ("--plot", plot)) if v is not None]
        if given:
            raise InputError(
                f"{given[0]} takes one --law: compare the families first, then refit the one you choose"
            )
    outputs = _outputs(force, out=out, plot=plot)
    request = FitRequest(
        path=data,
        laws=laws,
        method=method,
        search=search,
        columns=parse_column_spec(columns),
        where=list(where or []),
        join=join,
        group=group,
        fixed=parse_fixed(list(fix or [])),
        bootstrap=bootstrap,
        seed=seed,
        holdout=holdout,
        average_duplicates=average,
        name=name,
        dataset=dataset,
        command=command_line(),
        strict=strict,
    )
    report = fit_runs(request, progress=render.progress_callback("bootstrap"))
    payload = report.to_dict()
    if isinstance(report, FitComparison):
        rows = [
            {
                "law": e["law"],
                "objective": e["objective"],
                **{k: v for k, v in e["holdout"].items() if k != "by_params"},
            }
            for e in report.entries
        ]
        _emit(payload, fmt, lambda: render.fit_comparison(payload), rows)
        return
    with outputs:
        if out is not None:
            outputs.write_text(out, render.preset_yaml(report.law))
        if plot is not None:
            from scalecli.plot import plot_fit, plot_isoflop

            curves, isoflop = report.curves, report.isoflop
            if curves is not None:
                outputs.write(plot, lambda tmp: plot_fit(curves, tmp))
            elif isoflop is not None:
                outputs.write(plot, lambda tmp: plot_isoflop(isoflop, tmp))
        _emit(payload, fmt, lambda: render.fit_report(report, out, plot), [_fit_csv_row(payload)])


def _fit_csv_row(result: dict[str, Any]) -> dict[str, Any]:
    law = result["law"]
    row = {
        "name": law["name"],
        "family": law["family"],
        "method": result["method"],
        "objective": result["objective"],
        "points": result["points"],
    }
    row.update(law.get("params", {}))
    if result.get("isoflop"):
        row.update(
            n_exponent=result["isoflop"]["n_exponent"], tokens_exponent=result["isoflop"]["tokens_exponent"]
        )
    return row


@app.command(short_help="Gate a plan or a proposed run in CI (exit 1 on failure).")
def check(
    spec: str | None = typer.Argument(
        None, help="YAML spec: a plan request and/or a proposed config, and assertions."
    ),
    junit: str | None = typer.Option(None, "--junit", help="Also write a JUnit XML report to this file."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing --junit file."),
    strict: bool = typer.Option(
        False, "--strict", help="A budget outside the fitted compute range is exit 3."
    ),
    schema: bool = typer.Option(False, "--schema", help="Print the JSON Schema of the spec and exit."),
    fmt: str | None = typer.Option(
        None, "--format", metavar="FORMAT", help=FORMAT_HELP, autocompletion=_complete_format
    ),
) -> None:
    """Check a training plan against budget and quality assertions, for CI (exit 1 on failure).

    Examples:

    \b
      scale check examples/7b.yaml
      scale check examples/7b.yaml --format json --junit scale-check.xml
      scale check --schema
    """
    from scalecli import check as checks
    from scalecli import render

    fmt = _format(fmt, "check")
    if schema:
        typer.echo(checks.schema_text().rstrip("\n"))
        return
    if spec is None:
        raise InputError("scale check needs a SPEC.yaml (or --schema); see 'scale check --help'")
    outputs = _outputs(force, junit=junit)
    report = checks.run(checks.load_spec(spec), strict=strict)
    payload = report.to_dict()
    with outputs:
        if junit is not None:
            outputs.write_text(junit, checks.junit_xml(report))
        _emit(payload, fmt, lambda: render.check_table(payload), payload["results"])
    if not report.passed:
        from scalecli.errors import CheckFailed

        failed = payload["failed"]
        raise CheckFailed(f"{failed} of {len(payload['results'])} assertions failed")


@app.command(short_help="Which small runs to train before a big one, and how precise they make it.")
def design(
    target_flops: str | None = typer.Option(
        None, "--target-flops", help="The big run's training budget (FLOPs)."
    ),
    target_params: str | None = typer.Option(
        None, "--target-params", help="Or its size: the budget at which the prior makes it compute-optimal."
    ),
    law: str = typer.Option("besiroglu2024", "--law", help="Prior law: a preset or a fitted law file."),
    fraction: str | None = typer.Option(
        None, "--fraction", help="Share of the target's compute to spend on the ladder (default 0.05)."
    ),
    gpu_hours: str | None = typer.Option(
        None, "--gpu-hours", help="Ladder budget in GPU-hours (--gpu, --mfu)."
    ),
    budget_usd: str | None = typer.Option(
        None, "--budget-usd", help="Ladder budget in dollars (--gpu, --mfu, --usd-per-gpu-hour)."
    ),
    gpu: str | None = typer.Option(
        None, "--gpu", help="Accelerator of the ladder runs (see 'scale hardware')."
    ),
    mfu: str | None = typer.Option(None, "--mfu", help="Model FLOPs utilisation of the ladder runs."),
    usd_per_gpu_hour: str | None = typer.Option(None, "--usd-per-gpu-hour", help="Price of a GPU-hour."),
    noise: float = typer.Option(
        0.01, "--noise", help="Run-to-run noise of the final loss, relative (0.01 = 1%)."
    ),
    sizes: int = typer.Option(5, "--sizes", help="Model sizes per budget."),
    budgets: int = typer.Option(3, "--budgets", help="IsoFLOP budgets."),
    spread: float = typer.Option(4.0, "--spread", help="Sizes span N*/S to N*·S around the prior's optimum."),
    budget_factor: float = typer.Option(2.0, "--budget-factor", help="Ratio between successive budgets."),
    hparams: str | None = typer.Option(
        None,
        "--hparams",
        help="Learning rate and batch per run: deepseek2024, steplaw2025, porian2024 or FILE.",
    ),
    replications: int = typer.Option(100, "--replications", help="Simulated ladders behind the precision."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the simulation."),
    compare: bool = typer.Option(
        False, "--compare", help="Also the precision of alternative ladders at equal cost."
    ),
    next_runs: str | None = typer.Option(
        None,
        "--next",
        help="CSV of runs already trained: rank candidate next runs by variance reduction per FLOP.",
    ),
    fmt: str | None = typer.Option(
        None, "--format", metavar="FORMAT", help=FORMAT_HELP, autocompletion=_complete_format
    ),
) -> None:
    """Design the ladder of small runs for a target budget, with the precision it buys on N*, D*
    and the loss at the target, by simulation from a prior law (docs/statistics.md).

    Examples:

    \b
      scale design --target-flops 1e24 --law besiroglu2024
      scale design --target-flops 1e24 --fraction 0.02 --noise 0.005 --compare
      scale design --target-flops 1e24 --gpu-hours 50000 --gpu H100 --mfu 0.4 --hparams deepseek --format csv
      scale design --target-flops 1e24 --next runs.csv
    """
    from scalecli import app as application
    from scalecli import compute, options, render
    from scalecli import design as designing

    fmt = _format(fmt, "design")
    preset = application.load_laws([law])[0]
    if (target_flops is None) == (target_params is None):
        raise InputError("scale design needs exactly one of --target-flops C or --target-params N")
    if target_flops is not None:
        target = _number("flops", target_flops, "--target-flops")
    else:
        target = designing.flops_for_params(
            preset, _number("max_params", str(target_params), "--target-params")
        )
    if next_runs is not None:
        ranked = designing.next_runs(preset, next_runs, target)
        payload = {"scalecli_version": __version__, **ranked}
        _emit(payload, fmt, lambda: render.next_runs_table(payload), payload["candidates"])
        return
    values: dict[str, Any] = {"gpu": gpu}
    for name, raw_value in (
        ("mfu", mfu),
        ("usd_per_gpu_hour", usd_per_gpu_hour),
        ("gpu_hours", gpu_hours),
        ("budget_usd", budget_usd),
    ):
        if raw_value is not None:
            values[name] = options.parse_value(options.BY_NAME[name], raw_value, as_flag(name))
    hardware = compute.make_hardware(values)
    budget = compute.budget_flops(values, hardware)
    if budget is not None and fraction is not None:
        raise InputError("give the ladder's budget once: --fraction, --gpu-hours or --budget-usd")
    if budget is None:
        share = 0.05 if fraction is None else _number("mfu", fraction, "--fraction")
        budget = share * target
    hp = None
    if hparams is not None:
        from scalecli import hparams as hparam_laws

        hp = hparam_laws.load(hparams)
    shape = designing.Shape(sizes, budgets, spread, budget_factor)
    main = designing.design(
        preset,
        target,
        budget,
        noise=noise,
        shape=shape,
        replications=replications,
        seed=seed,
        hparams=hp,
        hardware=hardware,
    )
    payload = {"scalecli_version": __version__, "law": preset.name, **main.to_dict()}
    alternatives = []
    if compare:
        alternatives = [
            d.to_dict()
            for d in designing.alternatives(
                preset, target, budget, shape=shape, noise=noise, replications=replications, seed=seed
            )
        ]
        payload["alternatives"] = alternatives

    def table() -> None:
        render.design_table(payload)
        if alternatives:
            render.designs_table([payload, *alternatives])

    _emit(payload, fmt, table, payload["runs"])


@app.command(short_help="Compute multiplier of recipe B over recipe A, with an interval.")
def compare(
    baseline: str = typer.Argument(..., help="Recipe A: a CSV of its runs, or a fitted law YAML."),
    candidate: str = typer.Argument(..., help="Recipe B: a CSV of its runs, or a fitted law YAML."),
    flops: str | None = typer.Option(None, "--flops", help="Budget C: m with L_A(m·C) = L_B(C)."),
    target_loss: str | None = typer.Option(
        None, "--target-loss", help="Loss L: m = C_A(L) / C_B(L), the compute each needs."
    ),
    law: str = typer.Option("chinchilla", "--law", help="Family fitted to each CSV (as scale fit --law)."),
    bootstrap: int = typer.Option(200, "--bootstrap", help="Bootstrap draws of each fit (0: no interval)."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the bootstrap."),
    group: str | None = typer.Option(None, "--group", help="Run column of the CSVs (as scale fit --group)."),
    fmt: str | None = typer.Option(
        None, "--format", metavar="FORMAT", help=FORMAT_HELP, autocompletion=_complete_format
    ),
) -> None:
    """Is recipe B better than recipe A, and by how much compute? m > 1: A needs m times the
    compute to match B (docs/statistics.md).

    Examples:

    \b
      scale compare baseline.csv new-recipe.csv --flops 1e21
      scale compare baseline.csv new-recipe.csv --target-loss 2.4 --bootstrap 500 --format json
      scale compare a.yaml b.yaml --flops 1e22
    """
    from scalecli import compare as comparing
    from scalecli import render

    fmt = _format(fmt, "compare")
    budget = None if flops is None else _number("flops", flops, "--flops")
    target = None if target_loss is None else _number("target_loss", target_loss, "--target-loss")
    result = comparing.run(
        baseline,
        candidate,
        flops=budget,
        target_loss=target,
        law=law,
        bootstrap=bootstrap,
        seed=seed,
        group=group,
    )
    payload = {"scalecli_version": __version__, **result.to_dict()}
    row = {k: v for k, v in payload.items() if not isinstance(v, (dict, list))}
    _emit(payload, fmt, lambda: render.compare_table(payload), [row])


@app.command(short_help="Accelerators --gpu accepts, with peaks and sources.")
def hardware(
    fmt: str | None = typer.Option(
        None, "--format", metavar="FORMAT", help=FORMAT_HELP, autocompletion=_complete_format
    ),
) -> None:
    """List the accelerators --gpu accepts, with peak dense FLOP/s and sources.

    Example:

    \b
      scale hardware --format json
    """
    from scalecli import compute, render

    fmt = _format(fmt, "hardware")
    rows: list[dict[str, Any]] = [
        {
            "name": a.name,
            "description": a.description,
            "aliases": list(a.aliases),
            "memory_gb": a.memory_gb,
            **{f"peak_{k}": v for k, v in a.peak_flops.items()},
            "source": a.source,
        }
        for a in compute.hardware().values()
    ]
    payload = {"scalecli_version": __version__, "accelerators": rows}

    def table() -> None:
        render.hardware_table(rows)

    _emit(payload, fmt, table, rows)


@presets_app.callback()
def presets_list(
    ctx: typer.Context,
    schema: bool = typer.Option(False, "--schema", help="Print the JSON Schema of preset files and exit."),
    fmt: str | None = typer.Option(
        None, "--format", metavar="FORMAT", help=FORMAT_HELP, autocompletion=_complete_format
    ),
) -> None:
    """List the shipped presets (name, family, source, default or not).

    Examples:

    \b
      scale presets
      scale presets show hoffmann2022
      scale presets --schema
    """
    if ctx.invoked_subcommand is not None:
        return
    if schema:
        import json

        from scalecli import schemas

        typer.echo(json.dumps(schemas.preset(), indent=2))
        return
    from scalecli import presets, render

    fmt = _format(fmt, "presets")
    rows: list[dict[str, Any]] = [
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
        render.presets_table(rows)

    _emit(payload, fmt, table, rows)


@presets_app.command("show")
def presets_show(
    name: str = typer.Argument(..., help="Preset name, alias or YAML file."),
    fmt: str | None = typer.Option(
        None, "--format", metavar="FORMAT", help=FORMAT_HELP, autocompletion=_complete_format
    ),
) -> None:
    """Show one preset with its parameters and provenance.

    Example:

    \b
      scale presets show besiroglu2024
      scale presets show chinchilla --format yaml > mylaw.yaml
    """
    from scalecli import presets, render

    fmt = _format(fmt, "presets")
    p = presets.load(name)
    payload = {"scalecli_version": __version__, "preset": p.raw}
    if fmt == "yaml":  # the preset itself: save it and load it with --law FILE
        typer.echo(render.preset_file(p.raw, p.name).rstrip("\n"))
        return

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


_ARGV: list[str] = []


def command_line() -> str:
    """The command as the user typed it, for provenance in fitted presets."""
    import shlex

    return "scale " + " ".join(shlex.quote(a) for a in _ARGV)


def main(argv: list[str] | None = None) -> None:
    """Run ``scale``: every outcome ends in one exit code (errors.ExitStatus) and, for errors, one
    line on stderr starting ``error:``; a traceback only with --debug."""
    args = sys.argv[1:] if argv is None else list(argv)
    sys.exit(_run(args))


def _run(args: list[str]) -> int:
    debug = "--debug" in args
    _ARGV[:] = args
    args = [a for a in args if a != "--debug"]  # accepted anywhere on the line
    if sys.stdout is None:  # started with stdout closed (`scale ... >&-`)
        return _fail("standard output is closed; nothing could be printed", ExitStatus.OUTPUT)
    _prepare_streams()
    if not debug:  # numerical edge cases are checked explicitly; numpy's warnings are noise
        import warnings

        warnings.simplefilter("ignore", RuntimeWarning)
    try:
        os.getcwd()
    except OSError:
        return _fail("the working directory no longer exists; cd to an existing folder", ExitStatus.INPUT)
    if not args:
        args = ["--help"]
    try:
        code = app(args=args, prog_name="scale", standalone_mode=False)
    except typer.Exit as exc:  # typer turns Ctrl-C into Exit(130): find the signal behind it
        interrupted = _interruption(exc.__cause__) if exc.__cause__ is not None else None
        return _aborted(interrupted) if interrupted is not None else int(exc.exit_code or 0)
    except ScaleError as exc:
        if debug:
            raise
        return _fail(exc.render(as_flag), exc.exit_code)
    except BrokenPipeError:
        return _broken_pipe()
    except BaseException as exc:  # noqa: BLE001 - every outcome maps to an exit code
        interrupted = _interruption(exc)
        if interrupted is not None:
            return _aborted(interrupted)
        if isinstance(exc, SystemExit):  # typer exits 1 on a closed pipe
            if isinstance(exc.__context__, BrokenPipeError):
                return _broken_pipe()
            raise
        if debug:
            raise
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # click usage errors
            message = " ".join(exc.format_message().split())
            return _fail(f"{message} (see 'scale --help')", ExitStatus.INPUT)
        if isinstance(exc, MemoryError):
            return _fail("out of memory; use a smaller input", ExitStatus.INPUT)
        # An internal error is still one line; the traceback comes with --debug.
        return _fail(
            f"internal error ({type(exc).__name__}: {exc}); this is a bug in scalecli: rerun with --debug "
            "and report it with the command",
            ExitStatus.INTERNAL,
        )
    if code == ExitStatus.INTERRUPTED:  # typer returns 130 for an interrupt it caught
        from scalecli.signals import RECEIVED

        return _aborted(RECEIVED[-1] if RECEIVED else signal.SIGINT)
    return int(code) if isinstance(code, int) else 0


def _interruption(exc: BaseException) -> int | None:
    """The signal number behind an interrupt (Ctrl-C, SIGTERM, SIGHUP), however it was wrapped."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 5:
        if isinstance(current, KeyboardInterrupt):
            return int(getattr(current, "signum", signal.SIGINT))
        if type(current).__name__ == "Abort" and not (current.__cause__ or current.__context__):
            return int(signal.SIGINT)
        current = current.__cause__ or current.__context__
        seen += 1
    return None


def _aborted(signum: int) -> int:
    from scalecli.files import remove_pending

    remove_pending()
    _close_progress()
    return _fail("aborted", 128 + signum)


def _fail(message: str, code: int) -> int:
    try:
        sys.stderr.write(f"error: {message}\n")
        sys.stderr.flush()
    except (OSError, AttributeError):  # stderr closed too: the exit code still says it
        pass
    return int(code)


def _broken_pipe() -> int:
    """The reader went away (e.g. `| head -1`): stop quietly, and keep Python from complaining
    about the unflushed rest at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return int(ExitStatus.BROKEN_PIPE)


def _prepare_streams() -> None:
    """Output never fails on an encoding that lacks a character (e.g. LANG=C or
    PYTHONIOENCODING=ascii): the few non-ASCII symbols scalecli prints get ASCII stand-ins, and
    anything else (a lone surrogate from a non-UTF-8 file name) becomes '?'."""
    import codecs

    try:
        codecs.lookup_error("scalecli-ascii")
    except LookupError:
        codecs.register_error("scalecli-ascii", _ascii_stand_in)
    for stream in (sys.stdout, sys.stderr):  # on UTF-8 this only catches lone surrogates (from argv)
        if hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="scalecli-ascii")
            except (OSError, ValueError):
                pass


_STAND_INS = {
    "•": "-", "·": "*", "×": "x", "≈": "~", "–": "-", "—": "-", "…": "...", "≤": "<=", "≥": ">=",
    "∝": "~", "±": "+/-", "§": "S", "─": "-", "δ": "delta", "α": "alpha", "β": "beta", "γ": "gamma",
    "²": "^2", "′": "'", "→": "->", "ρ": "rho", "η": "eta",
}  # fmt: skip


def _ascii_stand_in(exc: UnicodeError) -> tuple[str, int]:
    text = exc.object[exc.start : exc.end]  # type: ignore[attr-defined]
    return "".join(_STAND_INS.get(ch, "?") for ch in text), exc.end  # type: ignore[attr-defined]


def _close_progress() -> None:
    """A progress bar interrupted mid-way must not leave the terminal cursor hidden."""
    from scalecli import render

    render.stop_progress()

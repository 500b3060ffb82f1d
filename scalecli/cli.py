"""Typer app: parse options, call the library, hand results to render. No science here."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

# The arrays here are small: BLAS worker threads only add overhead (3x slower fits measured
# with one other busy process, benchmarks/fit.py). Set before numpy is first imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import typer  # noqa: E402

from scalecli import __version__  # noqa: E402
from scalecli.errors import ExitStatus, InputError, ScaleError  # noqa: E402
from scalecli.units import parse_number, parse_quantity  # noqa: E402

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


KINDS = {
    "--flops": "flops",
    "--flops-from": "flops",
    "--flops-to": "flops",
    "--target-loss": "loss",
    "--gpu-hours": "hours",
    "--budget-usd": "usd",
    "--usd-per-gpu-hour": "usd",
}


def _num(value: str | None, what: str, *, allow_zero: bool = False) -> float | None:
    """A number from the command line, within the plausible range of its kind (units.RANGES)."""
    if value is None:
        return None
    return parse_quantity(value, what, KINDS.get(what, "count"), allow_zero=allow_zero)


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


def _hardware(gpu, mfu, gpus, usd_per_gpu_hour, precision):
    from scalecli import compute

    if gpu is None:
        given = [n for n, v in (("--mfu", mfu), ("--usd-per-gpu-hour", usd_per_gpu_hour)) if v is not None]
        if given:
            raise InputError(f"{given[0]} needs --gpu NAME (see 'scale hardware')")
        return None
    if mfu is None:
        raise InputError("--gpu needs --mfu F, the fraction of peak FLOP/s you sustain (e.g. 0.4)")
    return compute.HardwarePlan(
        accelerator=compute.find_accelerator(gpu),
        mfu=parse_number(mfu, "--mfu"),
        gpus=gpus,
        usd_per_gpu_hour=_num(usd_per_gpu_hour, "--usd-per-gpu-hour"),
        precision=precision,
    )


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
    gpu: str | None = typer.Option(None, "--gpu", help="Accelerator (see 'scale hardware'), e.g. H100."),
    mfu: str | None = typer.Option(None, "--mfu", help="Model FLOPs utilisation, a fraction (0.4 = 40%)."),
    gpus: int | None = typer.Option(None, "--gpus", help="Number of accelerators (sets wall-clock days)."),
    usd_per_gpu_hour: str | None = typer.Option(None, "--usd-per-gpu-hour", help="Price of one GPU-hour."),
    precision: str | None = typer.Option(None, "--precision", help="Peak to use: bf16 (default) or fp8."),
    gpu_hours: str | None = typer.Option(
        None, "--gpu-hours", help="Budget in GPU-hours instead of --flops (with --gpu, --mfu)."
    ),
    budget_usd: str | None = typer.Option(
        None, "--budget-usd", help="Budget in dollars (with --gpu, --mfu, --usd-per-gpu-hour)."
    ),
    strict: bool = typer.Option(
        False, "--strict", help="A budget outside the fitted compute range is exit 3."
    ),
    config: str | None = typer.Option(
        None, "--config", help="Defaults from this YAML file (else ./scale.yaml)."
    ),
    brief: bool = typer.Option(
        False, "--brief", help="Only the recommended law's plan (or, with --law, the first law's)."
    ),
    fmt: str | None = typer.Option(None, "--format", help=FORMAT_HELP + " Default: table."),
) -> None:
    """Solve for the compute-optimal model size, tokens, steps and loss.

    Options not given fall back to scale.yaml in the working directory (or --config FILE).

    Examples:
      scale plan --flops 1e23
      scale plan --flops 1e23 --brief
      scale plan --flops 1e23 --law besiroglu2024 --format json
      scale plan --target-loss 2.1 --law hoffmann2022 --max-params 7B
      scale plan --target-loss 1.947 --inference-tokens 2T --law besiroglu2024
      scale plan --flops 1e22 --unique-tokens 25B --law muennighoff2023
      scale plan --gpu-hours 1M --gpu H100 --mfu 0.4 --usd-per-gpu-hour 2.5
    """
    from scalecli import compute, planner, render
    from scalecli.config import load_plan_config, merge

    given = dict(
        flops=flops,
        target_loss=target_loss,
        law=law,
        inference_tokens=inference_tokens,
        max_params=max_params,
        max_tokens=max_tokens,
        max_steps=max_steps,
        unique_tokens=unique_tokens,
        allow_repeats=allow_repeats,
        batch_tokens=batch_tokens,
        gpu=gpu,
        mfu=mfu,
        gpus=gpus,
        usd_per_gpu_hour=usd_per_gpu_hour,
        precision=precision,
        gpu_hours=gpu_hours,
        budget_usd=budget_usd,
        strict=strict,
        format=fmt,
    )
    settings, config_path = load_plan_config(config)
    o = merge(given, settings)
    fmt = render.check_format(o["format"] or "table")
    law = o["law"]
    hardware = _hardware(
        o["gpu"],
        o["mfu"],
        1 if o["gpus"] is None else o["gpus"],
        o["usd_per_gpu_hour"],
        o["precision"] or "bf16",
    )
    budget = compute.budget_flops(
        _num(o["flops"], "--flops"),
        _num(o["gpu_hours"], "--gpu-hours"),
        _num(o["budget_usd"], "--budget-usd"),
        hardware,
    )
    request = planner.PlanRequest(
        flops=budget,
        target_loss=_num(o["target_loss"], "--target-loss"),
        inference_tokens=_num(o["inference_tokens"], "--inference-tokens", allow_zero=True) or 0.0,
        max_params=_num(o["max_params"], "--max-params"),
        max_tokens=_num(o["max_tokens"], "--max-tokens"),
        max_steps=_num(o["max_steps"], "--max-steps"),
        unique_tokens=_num(o["unique_tokens"], "--unique-tokens"),
        batch_tokens=_num(o["batch_tokens"], "--batch-tokens"),
        allow_repeats=bool(o["allow_repeats"]),
        strict=bool(o["strict"]),
    )
    loaded = _load_laws(law)
    if brief:
        loaded = [next((p for p in loaded if p.recommended), loaded[0])]
    plans = []
    for preset in loaded:
        result = planner.plan(preset, request)
        if hardware is not None:
            result.add_costs(hardware)
        plans.append(result.to_dict())
    request_dict = {k: v for k, v in vars(request).items() if v not in (None, False)}
    request_dict["laws"] = [p.name for p in loaded]
    if hardware is not None:
        request_dict.update(
            gpu=hardware.accelerator.name,
            mfu=hardware.mfu,
            gpus=hardware.gpus,
            usd_per_gpu_hour=hardware.usd_per_gpu_hour,
            precision=hardware.precision,
        )
    if config_path:
        request_dict["config"] = config_path
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
    inference_tokens: str | None = typer.Option(
        None, "--inference-tokens", help="Lifetime inference tokens: also report the lifetime overhead."
    ),
    law: list[str] | None = typer.Option(None, "--law", help="Preset name or YAML file (repeatable)."),
    fmt: str = typer.Option("table", "--format", help=FORMAT_HELP),
) -> None:
    """Predict the loss and FLOPs of a configuration and its overhead versus compute-optimal.

    Examples:
      scale predict --law hoffmann2022 --params 70B --tokens 1.4T
      scale predict --law kaplan2020 --params 1B --steps 200K --format json
      scale predict --law besiroglu2024 --params 13B --tokens 260B --inference-tokens 2T
    """
    from scalecli import predict as predicting
    from scalecli import render
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
    t = _num(inference_tokens, "--inference-tokens", allow_zero=True) or 0.0
    preds = [predicting.predict(p, n, d, s, b, u, t).to_dict() for p in loaded]
    payload = {"scalecli_version": __version__, "predictions": preds}

    def table() -> None:
        def lifetime(p) -> tuple[str, ...]:
            if p["lifetime_overhead_pct"] is None:
                return ()
            return (human_flops(p["lifetime_flops"]), f"{p['lifetime_overhead_pct']:+.1f}%")

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
                *lifetime(p),
            )
            for p in preds
        ]
        columns = ["law", "params", "tokens", "steps", "loss", "FLOPs", "optimal", "overhead"]
        if t > 0:  # drop steps and the optimal-training column to fit 80 characters
            columns = ["law", "params", "tokens", "loss", "train", "extra", "lifetime", "extra"]
            rows = [row[:3] + row[4:6] + row[7:] for row in rows]
            notes_extra = ["extra: FLOPs above the optimum that reaches the same loss (training, lifetime)"]
        else:
            notes_extra = []
        notes = render.notes_block({p["law"]: p["notes"] for p in preds}) + notes_extra
        render.simple_table("Prediction", columns, rows, notes=notes)

    _emit(payload, fmt, table, preds)


@app.command()
def sweep(
    flops_from: str = typer.Option(..., "--flops-from", help="Smallest training budget (FLOPs)."),
    flops_to: str = typer.Option(..., "--flops-to", help="Largest training budget (FLOPs)."),
    points: int = typer.Option(7, "--points", help="Number of log-spaced budgets."),
    law: list[str] | None = typer.Option(None, "--law", help="Preset name or YAML file (repeatable)."),
    batch_tokens: str | None = typer.Option(None, "--batch-tokens", help="Tokens per optimizer step."),
    plot: str | None = typer.Option(None, "--plot", help="Write N*(C) and D*(C) to this PNG (plot extra)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing --plot file."),
    fmt: str = typer.Option("table", "--format", help=FORMAT_HELP),
) -> None:
    """Optimal N, D, steps and loss over a range of budgets, for each law.

    Examples:
      scale sweep --flops-from 1e19 --flops-to 1e25 --points 7
      scale sweep --flops-from 1e19 --flops-to 1e25 --law besiroglu2024 --format csv
      scale sweep --flops-from 1e19 --flops-to 1e25 --plot allocation.png
    """
    from scalecli import render
    from scalecli import sweep as sweeping
    from scalecli.units import human_count, human_flops

    render.check_format(fmt)
    outputs = _outputs(force, plot=plot)
    grid = sweeping.budgets(_num(flops_from, "--flops-from"), _num(flops_to, "--flops-to"), points)
    batch = _num(batch_tokens, "--batch-tokens")
    sweeps = [sweeping.sweep(p, grid, batch).to_dict() for p in _load_laws(law)]
    payload = {"scalecli_version": __version__, "flops": grid.tolist(), "sweeps": sweeps}
    keys = ("params", "tokens", "steps", "batch_tokens", "tokens_per_param", "loss")
    rows = [
        {"law": s["law"], "flops": c, **{k: s[k][i] for k in keys}}
        for s in sweeps
        for i, c in enumerate(s["flops"])
    ]

    def table() -> None:
        render.simple_table(
            "Compute-optimal allocation by budget",
            ["law", "FLOPs", "params", "tokens", "D/N", "steps", "loss"],
            [
                (
                    r["law"],
                    human_flops(r["flops"]),
                    human_count(r["params"]),
                    human_count(r["tokens"]),
                    human_count(r["tokens_per_param"]),
                    human_count(r["steps"]),
                    f"{r['loss']:.4g}",
                )
                for r in rows
            ],
            notes=[f"plot written to {plot}"] if plot else [],
        )

    with outputs:
        if plot is not None:
            from scalecli.plot import plot_sweeps

            outputs.write(plot, lambda tmp: plot_sweeps(sweeps, tmp))
        _emit(payload, fmt, table, rows)


@app.command()
def fit(
    data: str = typer.Argument(..., help="CSV of training runs, one row per run."),
    law: list[str] | None = typer.Option(
        None,
        "--law",
        help="Family to fit: chinchilla (default), kaplan, dynamics or dynamics-batch. Repeat it with "
        "--holdout to compare families out of sample.",
    ),
    out: str | None = typer.Option(None, "--out", help="Write the fitted law as a preset YAML file."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing --out / --plot files."),
    columns: str | None = typer.Option(
        None, "--columns", help="role=header,... (roles: params, tokens, flops, steps, batch_tokens, loss)."
    ),
    where: list[str] | None = typer.Option(None, "--where", help='Row filter, e.g. "loss<4.5" (repeatable).'),
    join: str | None = typer.Option(None, "--join", help="CSV joined on the columns it shares with DATA."),
    fix: list[str] | None = typer.Option(None, "--fix", help="Pin a parameter, e.g. E=1.69 (repeatable)."),
    bootstrap: int = typer.Option(0, "--bootstrap", help="Resample runs K times for intervals and draws."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the bootstrap."),
    holdout: str | None = typer.Option(
        None, "--holdout", help='Fit on the rest, report errors on e.g. "flops>=1e21".'
    ),
    method: str = typer.Option("parametric", "--method", help="parametric or isoflop (Approach 2)."),
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
    fmt: str = typer.Option("table", "--format", help=FORMAT_HELP),
) -> None:
    """Fit a scaling law to your runs and write it as a preset for `scale plan --law`.

    Examples:
      scale fit runs.csv --out mylaw.yaml
      scale fit runs.csv --law chinchilla --bootstrap 1000 --seed 1 --out mylaw.yaml
      scale fit runs.csv --method isoflop --bootstrap 200
      scale fit runs.csv --holdout "flops>=1e21" --fix E=1.69 --format json
      scale fit runs.csv --law chinchilla --law dynamics-batch --holdout "params>7e9"
    """
    from scalecli import render
    from scalecli.fitting.data import parse_column_spec
    from scalecli.fitting.workflow import FitRequest, fit_runs, parse_fixed

    render.check_format(fmt)
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
        columns=parse_column_spec(columns),
        where=list(where or []),
        join=join,
        fixed=parse_fixed(list(fix or [])),
        bootstrap=bootstrap,
        seed=seed,
        holdout=holdout,
        average_duplicates=average,
        name=name,
        dataset=dataset,
        command=command_line(),
    )
    result = fit_runs(request, progress=render.progress_callback("bootstrap"))
    if "comparison" in result:
        rows = [
            {
                "law": e["law"],
                "objective": e["objective"],
                **{k: v for k, v in e["holdout"].items() if k != "by_params"},
            }
            for e in result["comparison"]
        ]
        _emit(result, fmt, lambda: render.fit_comparison(result), rows)
        return
    plot_data = result.pop("_plot", None)
    with outputs:
        if out is not None:
            outputs.write_text(out, render.preset_yaml(result["law"]))
        if plot is not None:
            from scalecli.plot import plot_fit, plot_isoflop

            if plot_data is not None:
                outputs.write(plot, lambda tmp: plot_fit(plot_data, tmp))
            else:
                outputs.write(plot, lambda tmp: plot_isoflop(result["isoflop"], tmp))
        _emit(result, fmt, lambda: render.fit_report(result, out, plot), [_fit_csv_row(result)])


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


@app.command()
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
    fmt: str = typer.Option("table", "--format", help=FORMAT_HELP),
) -> None:
    """Check a training plan against budget and quality assertions, for CI (exit 1 on failure).

    Examples:
      scale check examples/7b.yaml
      scale check examples/7b.yaml --format json --junit scale-check.xml
      scale check --schema
    """
    from scalecli import check as checks
    from scalecli import render

    render.check_format(fmt)
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
        raise typer.Exit(1)


@app.command()
def hardware(fmt: str = typer.Option("table", "--format", help=FORMAT_HELP)) -> None:
    """List the accelerators --gpu accepts, with peak dense FLOP/s and sources.

    Example: scale hardware --format json
    """
    from scalecli import compute, render

    render.check_format(fmt)
    rows = [
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
        render.simple_table(
            "Accelerators (peak dense FLOP/s)",
            ["name", "description", "bf16", "fp8"],
            [
                (
                    r["name"],
                    r["description"],
                    f"{r['peak_bf16']:.4g}",
                    f"{r['peak_fp8']:.4g}" if "peak_fp8" in r else "-",
                )
                for r in rows
            ],
            notes=[f"{r['name']}: {r['source'].get('status', '')}" for r in rows],
            text_columns=2,
        )

    _emit(payload, fmt, table, rows)


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
        return _fail(str(exc), exc.exit_code)
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
        from scalecli.entry import RECEIVED

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
    except OSError:
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

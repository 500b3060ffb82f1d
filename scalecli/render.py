"""Table / JSON / YAML / CSV output of plain result dicts; human magnitudes (70.0B, 1.40T).

rich is imported only for the table format, so scripted output starts fast.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from collections.abc import Sequence
from typing import Any

from scalecli import textlayout as layout
from scalecli.errors import InputError
from scalecli.units import human_count, human_flops

FORMATS = ("table", "json", "yaml", "csv")


def check_format(fmt: str) -> str:
    """The output format, case-insensitive ('JSON' is 'json')."""
    lowered = fmt.strip().lower() if isinstance(fmt, str) else fmt
    if lowered not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return lowered


def _clean(value: Any) -> Any:
    """JSON-safe: numpy scalars to float, non-finite floats to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dump(payload: dict[str, Any], fmt: str) -> str:
    payload = _clean(payload)
    if fmt == "json":
        return json.dumps(payload, indent=2)
    if fmt == "yaml":
        from scalecli.yamlio import dump as dump_yaml

        return dump_yaml(payload).rstrip("\n")
    raise InputError(f"unsupported format {fmt!r}")


def rows_to_csv(rows: Sequence[dict[str, Any]]) -> str:
    rows = [_clean(r) for r in rows]
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(v) for k, v in row.items()})
    return buf.getvalue().rstrip("\n")


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return "" if value is None else value


def console(stderr: bool = False):
    """A rich Console (for the progress bar on stderr) that honours NO_COLOR and plain pipes."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    no_color = bool(os.environ.get("NO_COLOR")) or not stream.isatty()
    return Console(
        file=stream,
        no_color=no_color,
        highlight=False,
        color_system=None if no_color else "auto",
        soft_wrap=False,
    )


def notes_block(notes_by_law: dict[str, list[str]]) -> list[str]:
    """Each distinct note once, prefixed by the laws it applies to (none when it applies to all)."""
    owners: dict[str, list[str]] = {}
    for law, notes in notes_by_law.items():
        for note in notes:
            owners.setdefault(note, []).append(law)
    lines = []
    for note, laws in owners.items():
        prefix = "" if len(laws) == len(notes_by_law) else ", ".join(laws) + ": "
        lines.append(f"• {prefix}{note}")
    return lines


def plan_table(payload: dict[str, Any], sources: dict[str, str]) -> None:
    plans = payload["plans"]
    with_inference = any(p["inference_flops"] for p in plans)
    with_cost = any(p.get("gpu_hours") is not None for p in plans)
    rows = [
        (
            p["law"] + (" *" if p.get("recommended") and len(plans) > 1 else ""),
            human_count(p["params"]),
            human_count(p["tokens"]),
            human_count(p["tokens_per_param"]),
            human_count(p["steps"]),
            human_count(p["batch_tokens"]),
            f"{p['loss']:.4g}",
            human_flops(p["total_flops"] if with_inference else p["train_flops"]),
        )
        for p in plans
    ]
    columns = ["law", "params", "tokens", "D/N", "steps", "batch", "loss", "FLOPs"]
    lines = layout.table("Compute-optimal plan", columns, rows)
    if len(plans) > 1 and any(p.get("recommended") for p in plans):
        lines += layout.wrap(
            "* recommended: the law to use when you want one answer (scale plan --brief prints only it)"
        )
    lines += layout.wrap("Sources: " + "; ".join(f"{k}: {v}" for k, v in sources.items()))
    if with_inference and not with_cost:
        flops_rows = [
            (
                p["law"],
                human_flops(p["train_flops"]),
                human_flops(p["inference_flops"]),
                human_flops(p["total_flops"]),
            )
            for p in plans
        ]
        lines += [""] + layout.table("Compute (FLOPs)", ["law", "training", "serving", "total"], flops_rows)
    if with_cost:
        lines += [""] + _cost_lines(plans)
    for p in plans:
        iv = p.get("interval")
        if iv:
            level = int(round(iv["level"] * 100))
            params, tokens, loss = iv["params"], iv["tokens"], iv["loss"]
            lines += layout.wrap(
                f"{p['law']}: {level}% interval params {human_count(params[0])}–{human_count(params[1])}, "
                f"tokens {human_count(tokens[0])}–{human_count(tokens[1])}, loss {loss[0]:.4g}–{loss[1]:.4g}"
            )
    for p in plans:
        comp = p.get("comparison")
        if comp:
            lines += layout.wrap(
                f"{p['law']}: lifetime FLOPs {comp['total_flops_ratio']:.2%} of the compute-optimal model "
                f"at the same loss ({human_count(comp['params'])} params on {human_count(comp['tokens'])} "
                f"tokens, {human_flops(comp['total_flops'])} FLOPs with the same inference); "
                f"params {comp['params_ratio']:.2%}, tokens {comp['tokens_ratio']:.2%}"
            )
    moe = [p for p in plans if p.get("experts") is not None]
    if moe:
        moe_rows = [
            (p["law"], f"{p['experts']:g}", human_count(p["params_active"]), human_count(p["params_total"]))
            for p in moe
        ]
        lines += [""] + layout.table(
            "Mixture of experts", ["law", "experts", "active params", "total params"], moe_rows
        )
    precise = [p for p in plans if p.get("train_bits") is not None]
    if precise:
        rows_p = [
            (
                p["law"],
                f"{p['train_bits']:g}",
                human_count(p["params_effective"]),
                "-" if p.get("ptq_bits") is None else f"{p['ptq_bits']:g}",
                "-" if p.get("ptq_loss_increase") is None else f"+{p['ptq_loss_increase']:.4g}",
                "-" if p.get("ptq_critical_tokens") is None else human_count(p["ptq_critical_tokens"]),
            )
            for p in precise
        ]
        lines += [""] + layout.table(
            "Precision (loss after quantising = loss + PTQ loss; more tokens than D_crit hurt it)",
            ["law", "train bits", "N_eff", "PTQ bits", "PTQ loss", "D_crit"],
            rows_p,
        )
    if any(p.get("shape") or p.get("hparams") for p in plans):
        lines += [""] + _recipe_lines(plans)
    for p in plans:
        if p["binding"]:
            lines += layout.wrap(f"{p['law']}: binding constraints: {', '.join(p['binding'])}")
    lines.append("Notes:")
    for note in notes_block({p["law"]: p["notes"] for p in plans}):
        lines += layout.wrap(note, subsequent="  ")
    layout.write(lines)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def _usd(x: float | None) -> str:
    return "-" if x is None else "$" + human_count(x)


def _cost_lines(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Training and serving apart, each on its own hardware and price (Sardana et al.'s cost
    model); days are training wall-clock on the stated number of GPUs."""
    serving = any(r.get("inference_flops") for r in rows)
    counts = {r["hardware"]["gpus"] for r in rows if r.get("hardware")}
    count = counts.pop() if len(counts) == 1 else None
    days = "days" if count is None else f"days on {count:,} GPU" + ("s" if count != 1 else "")
    hw = next((r["hardware"] for r in rows if r.get("hardware")), None)

    def on(h: dict[str, Any]) -> str:
        price = "" if h.get("usd_per_gpu_hour") is None else f", ${h['usd_per_gpu_hour']:g}/GPU-hour"
        return f"{h['gpu']} {h['precision']} at MFU {h['mfu']:g}{price}"

    train = [
        (r["law"], human_flops(r["train_flops"]), human_count(r.get("train_gpu_hours")), _fmt(r.get("days")),
         _usd(r.get("train_cost_usd")))
        for r in rows
    ]  # fmt: skip
    title = "Training cost" + (f" ({on(hw)})" if hw else "")
    lines = layout.table(title, ["law", "FLOPs", "GPU-hours", days, "USD"], train)
    if serving:
        serve = [
            (r["law"], human_flops(r.get("inference_flops")), human_count(r.get("serve_gpu_hours")),
             _usd(r.get("serve_cost_usd")), _usd(r.get("cost_usd")))
            for r in rows
        ]  # fmt: skip
        title = "Serving cost, lifetime" + (f" ({on(hw['serve'])})" if hw else "")
        lines += layout.table(title, ["law", "FLOPs", "GPU-hours", "USD", "total USD"], serve)
    return lines


def cost_table(rows: Sequence[dict[str, Any]]) -> None:
    layout.write([""] + _cost_lines(rows))


def key_value_table(title: str, rows: Sequence[tuple[str, str]]) -> None:
    layout.write(layout.key_values(title, rows))


def simple_table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    caption: str | None = None,
    notes: Sequence[str] = (),
    text_columns: int = 1,
) -> None:
    """Columns after the first ``text_columns`` are numbers, right-aligned, never cut."""
    lines = layout.table(title, columns, rows, text_columns)
    if caption:
        lines += layout.wrap(caption)
    for n in notes:
        lines += layout.wrap(n if n.startswith("• ") else f"• {n}", subsequent="  ")
    layout.write(lines)


# ----- fits ----------------------------------------------------------------------------------------
def preset_file(mapping: dict[str, Any], name: str) -> str:
    """A preset as a YAML file --law loads (scale presets show NAME --format yaml)."""
    from scalecli import __version__
    from scalecli.yamlio import dump as dump_yaml

    header = f"# preset {name}, shown by scalecli {__version__}; load with: scale plan --law THIS_FILE\n"
    return header + dump_yaml(_clean(mapping), width=100)


def preset_yaml(mapping: dict[str, Any]) -> str:
    from scalecli import __version__
    from scalecli.yamlio import dump as dump_yaml

    header = f"# written by scalecli {__version__} (scale fit); load with: scale plan --law THIS_FILE\n"
    return header + dump_yaml(_clean(mapping), width=100)


class _Progress:
    """A progress bar on stderr for work that takes longer than a second (TTY only)."""

    def __init__(self, label: str) -> None:
        import time

        self.label = label
        self.start = time.monotonic()
        self.bar: Any = None  # rich.progress.Progress once shown
        self.task: Any = None

    def __call__(self, done: int, total: int) -> None:
        import time

        if self.bar is None:
            if not sys.stderr.isatty() or time.monotonic() - self.start < 1.0:
                return
            from rich.progress import Progress

            self.bar = Progress(console=console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        self.bar.update(self.task, completed=done)
        if done >= total:
            self.bar.stop()
            self.bar = None
            self.start = float("inf")


_ACTIVE: list[_Progress] = []


def progress_callback(label: str):
    bar = _Progress(label)
    _ACTIVE.append(bar)
    return bar


def stop_progress() -> None:
    """Stop any progress bar still showing (after an interrupt): restores the terminal cursor."""
    while _ACTIVE:
        bar = _ACTIVE.pop()
        if bar.bar is not None:
            bar.bar.stop()
            bar.bar = None


def _pm(value: float, se: float | None, interval: list[float] | None) -> str:
    text = f"{value:.6g}"
    if interval:
        return f"{text}  [{interval[0]:.4g}, {interval[1]:.4g}]"
    if se is not None:
        return f"{text} ± {se:.2g}"
    return text


def _resampled_text(r: dict[str, Any]) -> str:
    """What a fit's bootstrap resampled (fitting.workflow._resampled), in words."""
    if r["unit"] == "rows":
        return f"rows ({r['rows']:,}; no run column: name one with --group if rows share runs)"
    how = "named by --group" if r["column_from"] == "--group" else r["column_from"]
    return f"runs ({r['runs']:,} in column {r['column']!r}, {how}; {r['rows']:,} rows)"


def fit_report(report, out: str | None, plot: str | None) -> None:
    """The fit as a table: the preset's parameters (fitting.workflow.FitReport) with their
    uncertainty, the diagnostics and the warnings."""
    result = report.to_dict()
    law = result["law"]
    fit = law.get("fit", {})
    rows: list[tuple[str, str]] = [("law", f"{law['name']} ({law['family']}, {result['method']})")]
    rows.append(("data", f"{fit.get('file')}: {fit.get('rows_used')} of {fit.get('rows_read')} rows used"))
    if fit.get("derived"):
        rows.append(("derived", "; ".join(fit["derived"])))
    if result["method"] == "parametric":
        iv = result.get("intervals") or {}
        level = f" ({int(round(iv['level'] * 100))}% bootstrap interval)" if iv else " (± asymptotic SE)"
        for name, value in law["params"].items():
            p = report.parameters.get(name)
            pinned = p is None or p.pinned  # not fitted: --fix, or a value the family pins (Kaplan's B_crit)
            label = f"  {name}" + (" (pinned)" if pinned else "")
            rows.append((label, _pm(value, p.stderr if p else None, p.interval if p else None)))
        rows.append(("", f"uncertainty{level}"))
        if fit.get("resampled"):
            rows.append(("resampled", _resampled_text(fit["resampled"])))
        rows.append(("objective", f"{result['objective']:.10g} (summed Huber, δ = 1e-3, on log loss)"))
        rows.append(("points", str(result["points"])))
        rows.append(
            (
                "best basin",
                f"{result['best_basin_starts']} of {result['starts']} local runs "
                f"(from {result['grid_size']} starts)",
            )
        )
        res = result["residuals"]
        rows.append(
            ("residuals", f"mean |rel| {res['mean_abs_rel_error']:.2%}, max {res['max_abs_rel_error']:.2%}")
        )
        if result.get("holdout_summary"):
            h = result["holdout_summary"]
            rows.append(
                (
                    "holdout",
                    f"{len(result['holdout'])} rows ({fit['options']['holdout']}): mean |rel| "
                    f"{h['mean_abs_rel_error']:.2%}, max {h['max_abs_rel_error']:.2%}",
                )
            )
        if fit.get("spectral"):
            rows.append(("spectral", f"a = {fit['spectral']['a']:.4g}, b = {fit['spectral']['b']:.4g}"))
        for entry in result.get("regime", []):
            rows.append(("regime", str(entry["reading"])))
    else:
        iso = result["isoflop"]
        iv = iso.get("n_exponent_interval")
        ivt = iso.get("tokens_exponent_interval")
        pct = int(round(iso.get("level", 0.9) * 100))
        rows.append(
            (
                "N* ∝ C^a",
                f"a = {iso['n_exponent']:.4f}" + (f"  [{iv[0]:.4f}, {iv[1]:.4f}] {pct}%" if iv else ""),
            )
        )
        rows.append(
            (
                "D* ∝ C^b",
                f"b = {iso['tokens_exponent']:.4f}" + (f"  [{ivt[0]:.4f}, {ivt[1]:.4f}]" if ivt else ""),
            )
        )
        rows.append(("budgets", f"{iso['budgets_used']} with an interior minimum"))
    for w in result.get("warnings", []):
        rows.append(("warning", w))
    rows.append(("written", out or "nothing (pass --out FILE.yaml to save the preset)"))
    if plot:
        rows.append(("plot", plot))
    key_value_table("Fit", rows)


def fit_comparison(result: dict[str, Any]) -> None:
    """Families fitted on the same rows, side by side on the held-out rows."""
    entries = result["comparison"]
    sizes = sorted({g["params"] for e in entries for g in e["holdout"]["by_params"]})
    per_size = len(sizes) <= 4  # learning curves of a few held-out models; else one row per run
    if not per_size:
        sizes = []
    columns = ["law", "objective", "mean |rel|", "max |rel|", *[f"{human_count(n)} final" for n in sizes]]
    rows = []
    for e in entries:
        h = e["holdout"]
        finals = {g["params"]: g["final_rel_error"] for g in h["by_params"]}
        rows.append(
            (
                e["law"] + (" *" if e["law"] == result["best"] else ""),
                f"{e['objective']:.6g}",
                f"{h['mean_abs_rel_error']:.2%}",
                f"{h['max_abs_rel_error']:.2%}",
                *[f"{finals[n]:+.2%}" if n in finals else "-" for n in sizes],
            )
        )
    notes = [
        f"fitted on {result['rows']['fitted']} rows, held out {result['rows']['held_out']} "
        f"({result['holdout_expression']}); relative errors of the predictions on the held-out rows",
        *(
            [
                "final: the held-out model's last rows (within 2% of its largest tokens), mean prediction "
                "against mean observed loss"
            ]
            if per_size
            else ["errors by model size: --format json (holdout.by_params)"]
        ),
        f"* extrapolates best: {result['best']} ({result['criterion']})",
    ]
    notes += [f"{e['law']}: {w}" for e in entries for w in e["warnings"]]
    simple_table("Families compared out of sample", columns, rows, notes=notes)


def check_table(payload: dict[str, Any]) -> None:
    def show(value: Any) -> str:
        if isinstance(value, float):
            return human_count(value) if abs(value) >= 1e4 else f"{value:.4g}"
        return "-" if value is None else str(value)

    rows = [
        (r["assertion"], r["law"], show(r["measured"]), r["bound"], "pass" if r["passed"] else "FAIL")
        for r in payload["results"]
    ]
    failed = payload["failed"]
    verdict = "all assertions pass" if not failed else f"{failed} of {len(rows)} assertions FAIL"
    informative = ("within_fitted_range", "max_interval_width")
    notes = [
        f"{r['law']}: {r['assertion']}: {r['detail']}"
        for r in payload["results"]
        if r["detail"] and (not r["passed"] or r["assertion"] in informative or "lifetime" in r["detail"])
    ]
    simple_table(
        f"scale check {payload['spec']}: {verdict}",
        ["assertion", "law", "measured", "bound", "result"],
        rows,
        notes=notes,
        text_columns=2,
    )


def predict_table(preds: list[dict[str, Any]], with_inference: bool, costed: bool) -> None:
    """``scale predict``: one row per law; with inference demand, training and lifetime overheads."""
    rows = []
    for p in preds:
        overhead = "-" if p["overhead_pct"] is None else f"{p['overhead_pct']:+.1f}%"
        if with_inference:
            extra = "-" if p["lifetime_overhead_pct"] is None else f"{p['lifetime_overhead_pct']:+.1f}%"
            rows.append(
                (p["law"], human_count(p["params"]), human_count(p["tokens"]), f"{p['loss']:.4g}",
                 human_flops(p["train_flops"]), overhead, human_flops(p["lifetime_flops"]), extra)
            )  # fmt: skip
        else:
            optimal = human_flops(p["optimal_train_flops"])
            rows.append(
                (p["law"], human_count(p["params"]), human_count(p["tokens"]), human_count(p["steps"]),
                 f"{p['loss']:.4g}", human_flops(p["train_flops"]), optimal, overhead)
            )  # fmt: skip
    if with_inference:
        columns = ["law", "params", "tokens", "loss", "train", "extra", "lifetime", "extra"]
        notes_extra = ["extra: FLOPs above the optimum that reaches the same loss (training, lifetime)"]
    else:
        columns = ["law", "params", "tokens", "steps", "loss", "FLOPs", "optimal", "overhead"]
        notes_extra = []
    simple_table(
        "Prediction", columns, rows, notes=notes_block({p["law"]: p["notes"] for p in preds}) + notes_extra
    )
    if costed:
        cost_table(preds)


def sweep_table(rows: list[dict[str, Any]], plot: str | None) -> None:
    """``scale sweep``: one row per law and budget."""
    simple_table(
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
        ],  # fmt: skip
        notes=[f"plot written to {plot}"] if plot else [],
    )


def hardware_table(rows: list[dict[str, Any]]) -> None:
    """`scale hardware`: one row per accelerator, peak dense FLOP/s and where the figure comes from."""
    simple_table(
        "Accelerators (peak dense FLOP/s)",
        ["name", "description", "bf16", "fp8"],
        [
            (
                str(r["name"]),
                str(r["description"]),
                f"{r['peak_bf16']:.4g}",
                f"{r['peak_fp8']:.4g}" if "peak_fp8" in r else "-",
            )
            for r in rows
        ],
        notes=[f"{r['name']}: {r['source'].get('status', '')}" for r in rows],
        text_columns=2,
    )


def presets_table(rows: list[dict[str, Any]]) -> None:
    """`scale presets`: name, family, whether it is the default, and what it is."""
    simple_table(
        "Presets",
        ["name", "family", "default", "description"],
        [
            (str(r["name"]), str(r["family"]), "yes" if r["default"] else "", str(r["description"]))
            for r in rows
        ],
        notes=["scale presets show NAME prints the parameters and their source"],
        text_columns=4,
    )


def arch_table(payload: dict[str, Any]) -> None:
    """`scale arch`: one row per shape, its counts, FLOPs per token and memory."""
    shapes = payload["shapes"]
    rows = []
    for s in shapes:
        heads = f"{s['n_heads']}" + (f"/{s['n_kv_heads']}" if s["n_kv_heads"] != s["n_heads"] else "")
        rows.append(
            (
                str(s["n_layers"]),
                str(s["d_model"]),
                heads,
                str(s["d_ff"]),
                f"{s['total_params']:,}",
                f"{s['non_embedding_params']:,}",
                f"{s['kv_cache_bytes_per_token'] / 1024:.4g}",
                f"{s['memory']['total_gb']:.4g}",
            )
        )
    columns = ["layers", "d_model", "heads", "d_ff", "params", "non-emb", "KV KiB", "GB"]
    first = shapes[0]
    title = (
        f"Shapes ({first['style']}: {'GLU' if first['glu'] else 'GELU'} MLP, "
        f"{'tied' if first['tied'] else 'untied'} embeddings, vocab {first['vocab']:,})"
    )
    lines = layout.table(title, columns, rows, text_columns=0)
    flop_rows = [
        (
            str(s["n_layers"]) + "x" + str(s["d_model"]),
            *(human_flops(v) for v in s["flops_per_token"].values()),
        )
        for s in shapes
    ]
    conventions = list(first["flops_per_token"])
    lines += layout.table(
        f"Training FLOPs per token at sequence length {first['n_ctx']}",
        ["shape", *conventions],
        flop_rows,
        text_columns=1,
    )
    mem = first["memory"]
    lines.append("Notes:")
    notes = [
        "heads a/b: a query heads, b key/value heads (grouped-query attention); params: total, "
        "embeddings and output layer included; non-emb: without them (Kaplan et al. 2020 §2.1)",
        "KV KiB: bf16 keys and values of every layer per token of context",
        "GB: training weights, gradients and Adam states per GPU "
        f"({mem['precision']}, {mem['sharding']} over "
        f"{mem['gpus']} GPU(s)); activations come on top (docs/recipe.md)",
        "FLOP conventions: docs/recipe.md (6nd, Kaplan eq. 2.2, PaLM App. B, Chinchilla App. F, "
        "Megatron-LM, DeepSeek eq. 2)",
    ]
    if mem.get("gpu"):
        fits = [f"{s['n_layers']}x{s['d_model']}" for s in shapes if s["memory"]["fits"]]
        notes.append(
            f"{mem['gpu']} ({mem['gpu_memory_gb']:g} GB): "
            + (f"fits before activations: {', '.join(fits)}" if fits else "none fits before activations")
        )
    for note in notes:
        lines += layout.wrap("• " + note, subsequent="  ")
    layout.write(lines)


def _recipe_lines(plans: list[dict[str, Any]]) -> list[str]:
    """The recipe block of a plan table: shape, learning rate, warmup, schedule, memory per GPU."""
    rows = []
    for p in plans:
        s, h, m = p.get("shape"), p.get("hparams"), p.get("memory")
        shape = "-"
        if s:
            kv = f"/{s['n_kv_heads']}" if s["n_kv_heads"] != s["n_heads"] else ""
            shape = f"{s['n_layers']}x{s['d_model']} h{s['n_heads']}{kv}"
        cooldown = "-"
        if h:
            cooldown = f"{h['schedule'].get('stable_until_step', h['schedule']['warmup_steps']):,}"
        rows.append(
            (
                p["law"],
                shape,
                str(s["d_ff"]) if s else "-",
                f"{h['learning_rate']:.3g}" if h else "-",
                f"{h['warmup_steps']:,.0f}" if h else "-",
                cooldown,
                f"{m['total_gb']:.4g}" if m else "-",
            )
        )
    columns = ["law", "shape", "d_ff", "peak lr", "warmup", "decay at", "GB/GPU"]
    return layout.table("Recipe (shape: layers x d_model, heads)", columns, rows, text_columns=2)


def compare_table(result: dict[str, Any]) -> None:
    """scale compare: the compute multiplier of the candidate recipe over the baseline."""
    m = result["compute_multiplier"]
    where = (
        f"at {human_flops(result['flops'])} FLOPs"
        if result["flops"] is not None
        else f"at loss {result['target_loss']:g}"
    )
    rows: list[tuple[str, str]] = [
        ("baseline (A)", result["baseline"]),
        ("candidate (B)", result["candidate"]),
        ("multiplier", f"{m:.3f}x {where}"),
    ]
    iv = result.get("interval")
    if iv:
        lo, hi = iv["compute_multiplier"]
        rows.append(("interval", f"{lo:.3f}x to {hi:.3f}x ({iv['level']:.0%}, {result['draws']} draw pairs)"))
        rows.append(("bootstrap", str(result["pairing"])))
    if result["flops"] is not None:
        rows.append(
            ("loss A / B", f"{result['loss_baseline']:.4g} / {result['loss_candidate']:.4g} at the optimum")
        )
    verdict = "B is better" if m > 1 else "A is better" if m < 1 else "no difference"
    if iv:
        lo, hi = iv["compute_multiplier"]
        if lo <= 1 <= hi:
            verdict += f", but the {iv['level']:.0%} interval includes 1 (no difference)"
    rows.append(("reading", f"{verdict}: A needs {m:.3g}x the compute to match B"))
    for note in result.get("notes", []):
        rows.append(("note", note))
    key_value_table("Compare", rows)


def _precision_text(p: dict[str, float]) -> str:
    if not math.isfinite(p["lo"]):
        return "-"
    return f"x{p['lo']:.2f}-{p['hi']:.2f} ({p['bias']:+.1%})"


def design_table(result: dict[str, Any]) -> None:
    """scale design: the ladder's runs, then the precision it buys at the target."""
    runs = result["runs"]
    lr = any("learning_rate" in r for r in runs)
    money = any("gpu_hours" in r for r in runs)
    columns = ["run", "params", "tokens", "FLOPs", "steps", "batch", *(["peak LR"] if lr else [])]
    columns += ["GPU-hours", *(["USD"] if any("cost_usd" in r for r in runs) else [])] if money else []
    rows = []
    for i, r in enumerate(runs, 1):
        row = [
            str(i),
            human_count(r["params"]),
            human_count(r["tokens"]),
            human_flops(r["flops"]),
            human_count(r["steps"]),
            human_count(r["batch_tokens"]),
        ]
        if lr:
            row.append(f"{r['learning_rate']:.3g}")
        if money:
            row.append(human_count(r["gpu_hours"]))
            if "cost_usd" in r:
                row.append(human_count(r["cost_usd"]))
        rows.append(row)
    simple_table(
        f"Ladder: {result['design']} ({len(runs)} runs, {result['fraction']:.1%} of the target)",
        columns,
        rows,
    )
    designs_table([result])


def designs_table(results: list[dict[str, Any]]) -> None:
    """Precision of one or several designs: the 90% range of estimate / truth at the target."""
    first = results[0]
    target = first["prior_target"]
    simple_table(
        f"Predicted precision at {human_flops(first['target_flops'])} FLOPs",
        ["design", "runs", "N*", "D*", "loss"],
        [
            (
                r["design"],
                str(len(r["runs"])),
                _precision_text(r["precision"]["params"]),
                _precision_text(r["precision"]["tokens"]),
                _precision_text(r["precision"]["loss"]),
            )
            for r in results
        ],
        notes=[
            f"90% range of the fitted answer over the prior's (N* {human_count(target['params'])}, D* "
            f"{human_count(target['tokens'])}, loss {target['loss']:.4g}) and the median bias, over "
            f"{first['replications']} simulated ladders with {first['noise']:.2%} run-to-run noise",
            *[n for r in results for n in r.get("notes", [])],
        ],
    )


def next_runs_table(result: dict[str, Any]) -> None:
    """scale design --next: candidate runs ranked by variance reduction of ln N* per FLOP."""
    simple_table(
        f"Next runs for {human_flops(result['target_flops'])} FLOPs (fitted on {result['runs']} runs: N* "
        f"{human_count(result['n_star'])}, sd of ln N* {result['sd_ln_n_star']:.3f})",
        ["rank", "params", "tokens", "FLOPs", "sd ln N* after", "reduction / 1e18 FLOPs"],
        [
            (
                str(i),
                human_count(c["params"]),
                human_count(c["tokens"]),
                human_flops(c["flops"]),
                f"{c['sd_ln_n_star']:.3f}",
                f"{c['reduction_per_exaflop']:.3g}",
            )
            for i, c in enumerate(result["candidates"], 1)
        ],
        notes=["linearised (delta method) variance of ln N* at the target; a cost-aware V-optimal ranking"],
    )

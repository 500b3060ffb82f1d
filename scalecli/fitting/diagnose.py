"""Reading a fit: residuals, held-out errors, and the regime reading of Bahri et al. (REFERENCE §7)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

VARIANCE_LIMITED_TOLERANCE = 0.15  # |exponent - 1| below this reads as the variance-limited exponent 1


def residual_summary(loss: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    rel = (predicted - loss) / loss
    return {
        "mean_abs_rel_error": float(np.mean(np.abs(rel))),
        "max_abs_rel_error": float(np.max(np.abs(rel))),
        "rms_log_residual": float(np.sqrt(np.mean((np.log(predicted) - np.log(loss)) ** 2))),
    }


def holdout_rows(lines: np.ndarray, loss: np.ndarray, predicted: np.ndarray) -> list[dict[str, float]]:
    return [
        {"line": int(n), "loss": float(y), "predicted": float(p), "rel_error": float((p - y) / y)}
        for n, y, p in zip(lines, loss, predicted, strict=True)
    ]


FINAL_FRACTION = 0.98  # "final" rows of a held-out model: within 2% of its largest tokens (or steps)


def final_errors(held, predicted: np.ndarray) -> list[dict[str, float]]:
    """Per held-out model size: the error of its final loss (mean prediction against the mean
    observed loss over the rows within 2% of its largest tokens, or steps), and its mean error.

    On learning curves the final rows are the end of each held-out run, the number a plan cares
    about; on one row per run they are that row.
    """
    x_role = next((r for r in ("tokens", "steps", "flops") if held.has(r)), None)
    loss = held["loss"]
    rel = (predicted - loss) / loss
    out = []
    for size in np.unique(held["params"]):
        rows = held["params"] == size
        x = held[x_role][rows] if x_role else np.ones(int(rows.sum()))
        final = x >= FINAL_FRACTION * x.max()
        observed = float(np.mean(loss[rows][final]))
        pred = float(np.mean(predicted[rows][final]))
        out.append(
            {
                "params": float(size),
                "rows": int(rows.sum()),
                "final_" + (x_role or "row"): float(np.max(x)),
                "final_loss": observed,
                "final_predicted": pred,
                "final_rel_error": pred / observed - 1.0,
                "mean_rel_error": float(np.mean(rel[rows])),
            }
        )
    return out


def regime_reading(exponents: dict[str, tuple[float, str]]) -> list[dict[str, object]]:
    """For each exponent (value, what it scales): Bahri et al.'s reading (REFERENCE §7, §11 item 12).

    An exponent near 1 suggests the variance-limited regime; otherwise the resolution-limited
    regime with intrinsic dimension d ≈ 4/alpha.
    """
    out = []
    for name, (value, scales) in exponents.items():
        entry: dict[str, object] = {"exponent": name, "value": value, "scales_with": scales}
        if not value > 0:  # scale fit refuses such fits; a reading of them is still well defined
            entry["regime"] = "none"
            entry["reading"] = f"{name} = {value:.3g} <= 0: the loss does not fall with {scales}"
        elif abs(value - 1.0) <= VARIANCE_LIMITED_TOLERANCE:
            entry["regime"] = "variance-limited"
            entry["reading"] = (
                f"{name} = {value:.3g} is near 1: a variance-limited regime in {scales} (Bahri et al. 2024)"
            )
        else:
            d = 4.0 / value
            entry["regime"] = "resolution-limited"
            entry["intrinsic_dimension"] = d
            reading = (
                f"{name} = {value:.3g}: resolution-limited in {scales}, implied intrinsic dimension "
                f"d ≈ 4/{name} = {d:.3g} (Bahri et al. 2024)"
            )
            if scales == "parameters" and abs(value - 0.5) <= 0.1:
                reading += (
                    "; for deep nets P ∝ width², so the variance-limited exponent in parameters is "
                    "1/2 (Bahri et al. 2024): this one is ambiguous"
                )
            entry["reading"] = reading
        out.append(entry)
    return out


DISTINCT_FOR_A_LAW = 4  # model sizes (or tokens, steps) a power law in them needs to be told apart
FAR_BELOW = 0.1  # an irreducible loss under a tenth of every observed loss: pushed to its bound (0)


def identification(
    params: dict[str, float],
    standard_errors: Mapping[str, float | None],
    fixed: dict[str, float],
    loss: np.ndarray,
    inputs: dict[str, np.ndarray],
) -> list[str]:
    """Why a fit is not identified, if it is not: a free parameter whose standard error is larger
    than its value (or cannot be estimated), an irreducible loss far below every loss in the data,
    or too few distinct model sizes or budgets. Empty when the data determine the law."""
    issues = []
    for name, value in params.items():
        if name in fixed:
            continue
        se = standard_errors.get(name)
        if se is None or not np.isfinite(se):
            issues.append(f"{name} = {value:.4g} has no standard error: the data do not determine it")
        elif se > abs(value):
            issues.append(f"{name} = {value:.4g} ± {se:.2g}: the standard error is larger than the value")
    lowest = float(np.min(loss))
    if "E" in params and "E" not in fixed and params["E"] < FAR_BELOW * lowest:
        issues.append(
            f"E = {params['E']:.3g} is far below the lowest loss in the data ({lowest:.4g}): the runs do not "
            "reach far enough to separate the irreducible loss from the power laws"
        )
    for role, values in inputs.items():
        distinct = int(np.unique(values).size)
        if distinct < DISTINCT_FOR_A_LAW:
            issues.append(
                f"only {distinct} distinct {role} values: a power law in {role} needs {DISTINCT_FOR_A_LAW}"
                " or more"
            )
    return issues

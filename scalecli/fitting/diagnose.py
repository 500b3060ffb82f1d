"""Reading a fit: residuals, held-out errors, and the regime reading of Bahri et al. (REFERENCE §7)."""

from __future__ import annotations

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
            entry["reading"] = (
                f"{name} = {value:.3g}: resolution-limited in {scales}, implied intrinsic dimension "
                f"d ≈ 4/{name} = {d:.3g} (Bahri et al. 2024)"
            )
            if scales == "parameters" and abs(value - 0.5) <= 0.1:
                entry["reading"] += (
                    "; for deep nets P ∝ width², so the variance-limited exponent in parameters is "
                    "1/2 (Bahri et al. 2024): this one is ambiguous"
                )
        out.append(entry)
    return out

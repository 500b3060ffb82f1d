"""The one table of request options: name, kind, metavar, help, and where each one applies.

This table drives the command-line options of ``plan``, ``predict`` and ``sweep`` (their flags,
metavars, help and completion), the keys ``scale.yaml`` accepts for each command, the keys of a
``scale check`` spec's ``plan:`` and ``hardware:`` sections, and their JSON Schema. A new option
is one row here (and a field of the request it fills).

Kinds: ``flops``, ``loss``, ``count`` (params, tokens, steps), ``hours``, ``usd``, ``days``,
``fraction`` are numbers parsed by units.parse_quantity in their plausible range; ``int`` a whole
number; ``flag`` a boolean; ``text`` a string; ``laws`` a repeatable preset name or file;
``choice`` one of ``choices``.
"""

from __future__ import annotations

from dataclasses import dataclass

NUMBER_KINDS = ("flops", "loss", "count", "hours", "usd", "days", "fraction")


@dataclass(frozen=True)
class Option:
    name: str
    kind: str
    metavar: str
    help: str
    commands: tuple[str, ...]  # CLI commands that take it
    section: str | None = None  # its section in a `scale check` spec: "plan" or "hardware"
    config: bool = True  # may be set in scale.yaml
    choices: tuple[str, ...] = ()
    allow_zero: bool = False
    objective: bool = False  # one of the mutually exclusive budgets / targets of a plan
    config_for: tuple[str, ...] | None = None  # commands scale.yaml sets it for (default: all of them)

    def configures(self, command: str) -> bool:
        return (
            self.config
            and command in self.commands
            and (self.config_for is None or command in self.config_for)
        )

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def is_number(self) -> bool:
        return self.kind in NUMBER_KINDS


P, PR, SW, A = "plan", "predict", "sweep", "arch"
HARDWARE_HELP = " (with --gpu, --mfu)"

OPTIONS: tuple[Option, ...] = (
    # objectives of a plan: exactly one
    Option("flops", "flops", "FLOPS", "Training compute budget in FLOPs (e.g. 1e23): minimise loss.", (P, PR), "plan", objective=True, config_for=(P,)),
    Option("target_loss", "loss", "LOSS", "Reach this loss at the least compute.", (P,), "plan", objective=True),
    Option("gpu_hours", "hours", "HOURS", "Budget in GPU-hours instead of --flops" + HARDWARE_HELP + ".", (P,), "plan", objective=True),
    Option("budget_usd", "usd", "USD", "Budget in dollars, at --usd-per-gpu-hour on --gpu at --mfu.", (P,), "plan", objective=True),
    Option("days", "days", "DAYS", "Budget in days of training on --gpus accelerators" + HARDWARE_HELP + ".", (P,), "plan", objective=True),
    # the configuration of a prediction
    Option("params", "count", "PARAMS", "Model size N (e.g. 70B).", (PR, A), config=False),
    Option("tokens", "count", "TOKENS", "Training tokens D (e.g. 1.4T).", (PR,), config=False),
    Option("steps", "count", "STEPS", "Optimizer steps (instead of --tokens).", (PR,), config=False),
    # laws
    Option("law", "laws", "LAW", "Preset name or YAML file (repeatable). Default: the default presets.", (P, PR, SW)),
    # demand and constraints
    Option("inference_tokens", "count", "TOKENS", "Lifetime inference tokens, 2·N FLOPs each.", (P, PR), "plan", allow_zero=True),
    Option("max_params", "count", "PARAMS", "Cap on parameters (e.g. 70B).", (P,), "plan"),
    Option("max_tokens", "count", "TOKENS", "Cap on training tokens.", (P,), "plan"),
    Option("max_steps", "count", "STEPS", "Cap on optimizer steps.", (P,), "plan"),
    Option("max_days", "days", "DAYS", "Cap on training wall-clock days on --gpus accelerators" + HARDWARE_HELP + ".", (P,), "plan"),
    Option("max_train_cost_usd", "usd", "USD", "Cap on the training bill in dollars (with --gpu, --mfu, --usd-per-gpu-hour).", (P,), "plan"),
    Option("max_total_params", "count", "PARAMS", "Cap on all parameters in memory (a mixture of experts: every expert).", (P,), "plan"),
    Option("memory_per_gpu", "count", "GB", "GB of bf16 weights each of --gpus accelerators holds: a cap on total parameters.", (P,), "plan"),
    Option("experts", "count", "COUNT", "A mixture of experts' expert count, fixed (default: the plan chooses).", (P, PR), "plan"),
    Option("train_bits", "count", "BITS", "Training precision in bits (a precision-aware law; default: the plan chooses).", (P, PR), "plan"),
    Option("ptq_bits", "count", "BITS", "Bits the weights are quantised to after training: the loss it adds, and where more tokens start to hurt.", (P, PR), "plan"),
    Option("max_experts", "count", "COUNT", "Largest expert count a plan may choose (default: the law's, 32).", (P,), "plan"),
    Option("unique_tokens", "count", "TOKENS", "Unique data available; tokens beyond it are repeated epochs.", (P, PR), "plan"),
    Option("allow_repeats", "flag", "", "Let laws without a repeated-data model train past --unique-tokens.", (P,), "plan"),
    Option("batch_tokens", "count", "TOKENS", "Tokens per optimizer step (default: the preset's batch rule).", (P, PR, SW), "plan"),
    # hardware for training
    Option("gpu", "text", "GPU", "Accelerator for training (see 'scale hardware'), e.g. H100.", (P, PR, A), "hardware"),
    Option("mfu", "fraction", "FRACTION", "Model FLOPs utilisation in training, a fraction (0.4 = 40%).", (P, PR), "hardware"),
    Option("gpus", "int", "COUNT", "Number of accelerators training runs on (sets wall-clock days; with --memory-per-gpu, holds the weights).", (P, PR, A), "hardware"),
    Option("usd_per_gpu_hour", "usd", "USD", "Price of one training GPU-hour.", (P, PR), "hardware"),
    Option("precision", "choice", "PRECISION", "Peak to use: bf16 (default) or fp8.", (P, PR), "hardware", choices=("bf16", "fp8")),
    # hardware for serving (defaults: the training ones)
    Option("serve_gpu", "text", "GPU", "Accelerator for serving (default: --gpu).", (P, PR), "hardware"),
    Option("serve_mfu", "fraction", "FRACTION", "Utilisation in serving (default: --mfu).", (P, PR), "hardware"),
    Option("serve_usd_per_gpu_hour", "usd", "USD", "Price of one serving GPU-hour (default: --usd-per-gpu-hour).", (P, PR), "hardware"),
    # from a plan to a recipe (docs/recipe.md)
    Option("shape", "flag", "", "Add the nearest model shape (layers, width, heads, d_ff), its exact counts and memory per GPU.", (P,)),
    Option("hparams", "text", "LAW", "Add peak learning rate, batch (it sets the steps), warmup and schedule: deepseek2024, steplaw2025, porian2024 or a YAML file.", (P,)),
    Option("schedule", "choice", "SCHEDULE", "Learning-rate schedule with --hparams: wsd (default; 20% 1-sqrt cooldown) or cosine.", (P,), choices=("wsd", "cosine")),
    Option("params_convention", "choice", "CONVENTION", "What your parameter counts (--params, --max-params) mean: total, non_embedding or with_head (default: each law's own; total for arch).", (P, PR, A), choices=("total", "non_embedding", "with_head")),
    Option("flops_convention", "choice", "CONVENTION", "How your --flops budget counts: 6nd, kaplan, palm, chinchilla, megatron or deepseek (converted to the law's 6·N·D).", (P,), choices=("6nd", "kaplan", "palm", "chinchilla", "megatron", "deepseek")),
    Option("seq_len", "int", "TOKENS", "Sequence length for shapes and FLOP conventions (default 2048).", (P, A)),
    Option("style", "choice", "STYLE", "Architecture: llama (default; SwiGLU, RMSNorm, untied), gpt (GPT-2/3) or neox (Pythia).", (P, A), choices=("llama", "gpt", "neox")),
    Option("vocab", "int", "SIZE", "Vocabulary size (default 32000).", (P, A)),
    Option("sharding", "choice", "SHARDING", "Memory per GPU: none (default), zero1, zero2 or zero3 over --gpus.", (P, A), choices=("none", "zero1", "zero2", "zero3")),
    Option("training_precision", "choice", "PRECISION", "Training states for memory: bf16 (mixed, 16 bytes/param; default) or fp32.", (P, A), choices=("bf16", "fp32")),
    # an explicit shape (scale arch)
    Option("layers", "int", "COUNT", "Number of layers (an explicit shape, with --d-model).", (A,), config=False),
    Option("d_model", "int", "WIDTH", "Model width (an explicit shape, with --layers).", (A,), config=False),
    Option("d_ff", "int", "WIDTH", "MLP hidden size (default: 4·d_model, or 8/3·d_model rounded up to 256 with GLU).", (A,), config=False),
    Option("heads", "int", "COUNT", "Attention heads (default: d_model / head dim).", (A,), config=False),
    Option("kv_heads", "int", "COUNT", "Key/value heads for grouped-query attention (default: --heads).", (A,)),
    Option("head_dim", "int", "SIZE", "Head dimension (default 128; 64 below 5e8 params).", (A,)),
    Option("glu", "flag", "", "Gated (SwiGLU) MLP with three matrices (the llama style has it).", (A,)),
    Option("tied", "flag", "", "Output layer tied to the input embedding (the gpt style has it).", (A,)),
    Option("aspect", "text", "RANGE", "d_model / n_layers range to search (default 32-128).", (A,)),
    Option("shapes", "int", "COUNT", "How many shapes to list (default 5).", (A,)),
    # how to answer
    Option("strict", "flag", "", "A budget outside the fitted compute range is exit 3.", (P,), config=True),
    Option("format", "choice", "FORMAT", "Output format: table (default), json, yaml or csv.", (P, PR, SW, A, "fit", "check", "hardware", "presets"), choices=("table", "json", "yaml", "csv")),
)  # fmt: skip

BY_NAME = {o.name: o for o in OPTIONS}
OBJECTIVES = tuple(o.name for o in OPTIONS if o.objective)
HARDWARE = tuple(o.name for o in OPTIONS if o.section == "hardware")
UNIT_KIND = {"days": "hours"}  # parse ranges (units.RANGES) of these kinds


def for_command(command: str) -> tuple[Option, ...]:
    return tuple(o for o in OPTIONS if command in o.commands)


def config_keys(command: str | None = None) -> tuple[str, ...]:
    """Keys scale.yaml may set: for one command, or for any."""
    return tuple(o.name for o in OPTIONS if o.config and (command is None or o.configures(command)))


def spec_keys(section: str) -> tuple[str, ...]:
    return tuple(o.name for o in OPTIONS if o.section == section)


def parse_value(option: Option, value: object, where: str) -> object:
    """One value of ``option`` from the command line, scale.yaml or a spec, validated."""
    from scalecli.errors import InputError
    from scalecli.units import parse_quantity

    if option.kind == "flag":
        if not isinstance(value, bool):
            raise InputError(f"{where} must be true or false")
        return value
    if option.kind == "int":
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InputError(f"{where} must be a whole number >= 1, got {value!r}")
        return value
    if option.kind in ("text", "choice"):
        if not isinstance(value, str):
            raise InputError(f"{where} must be text, got {value!r}")
        if option.choices:
            lowered = value.strip().lower()
            if lowered not in option.choices:
                raise InputError(f"{where} must be one of {', '.join(option.choices)}, got {value!r}")
            return lowered
        return value
    if option.kind == "laws":
        if isinstance(value, str):
            return [value]
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
            return list(value)
        raise InputError(f"{where} must be a preset name or a list of them")
    if isinstance(value, (list, dict)) or value is None or isinstance(value, bool):
        raise InputError(f"{where} must be a number, got {value!r}")
    if option.kind == "fraction":
        from scalecli.units import RANGES, parse_number

        number = parse_number(value, where)
        lo, hi = RANGES["fraction"]
        if not lo <= number <= hi:
            raise InputError(f"{where} must be a fraction from {lo:g} to {hi:g}, got {number:g} (40% is 0.4)")
        return number
    return parse_quantity(value, where, UNIT_KIND.get(option.kind, option.kind), allow_zero=option.allow_zero)

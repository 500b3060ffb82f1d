"""From a plan to a training recipe (issue 12): exact parameter counts of public models, FLOPs per
token in each convention against hand-derived values, parameter conventions, hyperparameter laws
against their formulas, memory, and the CLI (`scale arch`, `scale plan --shape --hparams`).

Published counts come from the models' own cards and checkpoints: GPT-2 small 124,439,808 (the
OpenAI checkpoint, learned positions, tied embeddings); Pythia's model card table (total and
non-embedding); Llama-2-7B 6,738,415,616, Llama-3-8B 8,030,261,248 and Mistral-7B 7,241,732,096
(their safetensors metadata); GPT-3 175B's shape from Brown et al. 2020 Table 2.1.
"""

from __future__ import annotations

import math

import pytest

from scalecli import hparams as hp
from scalecli import presets
from scalecli import shape as sh
from scalecli.errors import InputError
from scalecli.memory import training_memory
from scalecli.planner import PlanRequest
from scalecli.recipe import Recipe
from scalecli.recipe import plan as recipe_plan

GPT2_SMALL = sh.make_shape(12, 768, style="gpt", n_heads=12, vocab=50257, n_ctx=1024)


# ----- exact counts ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("shape", "total", "non_embedding"),
    [
        # learned positions, tied embeddings, biases, LayerNorm
        (GPT2_SMALL, 124_439_808, None),
        # rotary, untied, biases, LayerNorm: Pythia's model card gives both counts
        (sh.make_shape(12, 768, style="neox", n_heads=12, vocab=50304), 162_322_944, 85_056_000),
        (sh.make_shape(24, 2048, style="neox", n_heads=16, vocab=50304), 1_414_647_808, 1_208_602_624),
        (sh.make_shape(32, 4096, style="neox", n_heads=32, vocab=50432), 6_857_302_016, 6_444_163_072),
        # SwiGLU, RMSNorm, no biases, untied
        (sh.make_shape(32, 4096, n_heads=32, d_ff=11008, vocab=32000), 6_738_415_616, None),
        # grouped-query attention (8 kv heads)
        (sh.make_shape(32, 4096, n_heads=32, n_kv_heads=8, d_ff=14336, vocab=128256), 8_030_261_248, None),
        (sh.make_shape(32, 4096, n_heads=32, n_kv_heads=8, d_ff=14336, vocab=32000), 7_241_732_096, None),
    ],
    ids=["gpt2-small", "pythia-160m", "pythia-1.4b", "pythia-6.9b", "llama-2-7b", "llama-3-8b", "mistral-7b"],
)
def test_exact_counts_of_public_models(shape, total, non_embedding):
    assert shape.total_params == total
    if non_embedding is not None:
        assert shape.non_embedding_params == non_embedding


def test_gpt3_175b_from_table_2_1():
    # 96 layers, d_model 12288, 96 heads of 128, d_ff = 4·d_model, n_ctx 2048, GPT-2's 50,257 tokens:
    # 96·(12·12288² + 13·12288) + 50257·12288 + 2048·12288 + 2·12288, "175.0B" in Table 2.1
    g = sh.make_shape(96, 12288, style="gpt", n_heads=96, vocab=50257, n_ctx=2048)
    assert g.total_params == 96 * (12 * 12288**2 + 13 * 12288) + 50257 * 12288 + 2048 * 12288 + 2 * 12288
    assert g.total_params == 174_604_259_328
    # Kaplan et al. 2020 eq. 2.1 (REFERENCE §1.5): N ≈ 12·n_layer·d_model², biases and norms left out
    assert g.non_embedding_params == pytest.approx(12 * 96 * 12288**2, rel=2e-4)


def test_llama_d_ff_rule_and_kv_cache():
    # 8/3·4096 rounded up to a multiple of 256 is Llama-2-7B's 11,008
    assert sh.default_d_ff(4096, glu=True) == 11008
    llama3 = sh.make_shape(32, 4096, n_kv_heads=8, d_ff=14336, vocab=128256)
    # 2 (K and V) · 32 layers · 8 kv heads · 128 · 2 bytes
    assert llama3.kv_cache_bytes_per_token() == 2 * 32 * 8 * 128 * 2 == 131072


# ----- FLOPs per token, derived by hand for GPT-2 small at n_ctx 1024 ---------------------------------
# N = 124,439,808; N_nonemb = 12·(12·768² + 13·768) + 2·768 = 85,056,000; V·d = 50257·768 = 38,597,376
@pytest.mark.parametrize(
    ("convention", "expected"),
    [
        ("6nd", 6 * 124_439_808),  # 746,638,848
        # Kaplan eq. 2.2 x3: 3·(2·85,056,000 + 2·12·1024·768)
        ("kaplan", 3 * (2 * 85_056_000 + 2 * 12 * 1024 * 768)),  # 566,959,104
        # PaLM App. B: 6N + 12·L·H·Q·T = 746,638,848 + 12·12·12·64·1024
        ("palm", 6 * 124_439_808 + 12 * 12 * 12 * 64 * 1024),  # 859,885,056
        # Chinchilla App. F x3: embeddings and logits 2·(2·38,597,376); per layer attention
        # 2·768·2304 + 2·1024·768 + 3·12·1024 + 2·1024·768 + 2·768·768 = 7,901,184, dense 4·768·3072
        ("chinchilla", 3 * (4 * 38_597_376 + 12 * (7_901_184 + 4 * 768 * 3072))),  # 1,087,349,760
        # Megatron-LM: 6·[12·(768·2304 + 768·1024 + 768·768 + 2·768·3072) + 768·50257]
        ("megatron", 6 * (12 * (768 * 2304 + 768 * 1024 + 768 * 768 + 2 * 768 * 3072) + 768 * 50257)),
        # DeepSeek eq. 2: 72·12·768² + 12·12·768·1024
        ("deepseek", 72 * 12 * 768**2 + 12 * 12 * 768 * 1024),
    ],
)
def test_flops_per_token_by_convention(convention, expected):
    assert sh.flops_per_token(GPT2_SMALL, convention) == pytest.approx(expected, rel=1e-12)


def test_megatron_against_the_72_blsh2_formula():
    # Korthikanti et al. 2022 App. A (model FLOPs, no recomputation), per token:
    # 72·l·h²·(1 + s/(6h) + V/(12·h·l)) = 72·l·h² + 12·l·h·s + 6·h·V, the full s x s attention.
    # Megatron-LM's current count halves the causal attention: 72·l·h² + 6·l·h·s + 6·h·V for an
    # MHA, 4h-MLP shape without biases (the weights only enter through the matmuls).
    s = sh.make_shape(24, 2048, style="neox", n_heads=16, vocab=50304, n_ctx=2048)
    layers, h, seq, v = 24, 2048, 2048, 50304
    korthikanti = 72 * layers * h**2 * (1 + seq / (6 * h) + v / (12 * h * layers))
    assert sh.flops_per_token(s, "megatron") == pytest.approx(korthikanti - 6 * layers * h * seq, rel=1e-12)


def test_deepseek_m_of_the_7b_shape():
    # REFERENCE §9.2: 30 layers, d_model 4096, l_seq 4096 -> M = 4.2279e10 FLOPs/token
    s = sh.make_shape(30, 4096, n_ctx=4096)
    assert sh.flops_per_token(s, "deepseek") == pytest.approx(4.2279e10, rel=1e-4)


def test_unknown_flops_convention_is_refused():
    with pytest.raises(InputError, match="flops_convention"):
        sh.flops_per_token(GPT2_SMALL, "hand-waved")


# ----- parameter conventions without a shape (Pearce & Song 2024) -----------------------------------
def test_pearce_song_conversion():
    # N_total = N_nonemb + 47491·N_nonemb^(1/3): at 1e9 non-embedding, 1e9 + 47491·1000
    assert sh.convert_params(1e9, "non_embedding", "total") == pytest.approx(1.047491e9, rel=1e-12)
    assert sh.convert_params(1.047491e9, "total", "non_embedding") == pytest.approx(1e9, rel=1e-10)
    assert sh.convert_params(5e9, "total", "with_head") == 5e9


def test_shapes_for_a_count_are_near_it_and_in_the_aspect_range():
    shapes = sh.shapes_for(7e9, count=5)
    assert len(shapes) == 5
    errors = [abs(s.total_params / 7e9 - 1) for s in shapes]
    assert errors == sorted(errors) and errors[-1] < 0.01
    assert all(32 <= s.aspect_ratio <= 128 and s.d_model % s.head_dim == 0 for s in shapes)
    kaplan = sh.shapes_for(7e9, convention="non_embedding", count=1)[0]
    assert kaplan.non_embedding_params == pytest.approx(7e9, rel=0.01)


# ----- hyperparameter laws at two points against their formulas -------------------------------------
LAWS = hp.shipped()


@pytest.mark.parametrize(("flops", "lr", "batch"), [(1e21, 7.394e-4, 2.160e6), (1e23, 4.158e-4, 9.743e6)])
def test_deepseek_eq_1(flops, lr, batch):
    # REFERENCE §9.2 worked table: eta = 0.3118·C^-0.125, B = 0.2920·C^0.3271 tokens
    got_lr, got_batch = hp.evaluate(LAWS["deepseek2024"], 1e9, 1e10, flops)
    assert got_lr == pytest.approx(lr, rel=1e-3)
    assert got_batch == pytest.approx(batch, rel=1e-3)


@pytest.mark.parametrize(("params", "tokens"), [(1e9, 2e10), (7e9, 1.4e12)])
def test_step_law(params, tokens):
    # Li et al. 2025: eta = 1.79·N^-0.713·D^0.307, B = 0.58·D^0.571 tokens
    lr, batch = hp.evaluate(LAWS["steplaw2025"], params, tokens, 1.0)
    assert lr == pytest.approx(1.79 * params**-0.713 * tokens**0.307, rel=1e-12)
    assert batch == pytest.approx(0.58 * tokens**0.571, rel=1e-12)


# Porian et al.'s tuned values (their make_paper.ipynb: N -> (batch in sequences of 2048, lr)) over
# the range the power laws were fitted on (2.5e7 < N < 1.1e8, analysis.py). The batch grid steps by
# 16-32 sequences (12-25%), the learning rates are rounded to 2 digits.
PORIAN_TUNED = {
    28_672_000: (64, 7.4e-3),
    37_060_608: (80, 6.8e-3),
    57_384_960: (104, 5.9e-3),
    84_787_200: (128, 5.1e-3),
    108_462_080: (160, 4.7e-3),
}


@pytest.mark.parametrize(("params", "tuned"), PORIAN_TUNED.items())
def test_porian_laws_reproduce_their_tuned_values(params, tuned):
    lr, batch = hp.evaluate(LAWS["porian2024"], params, 1.0, 1.0)
    assert lr == pytest.approx(3.7 * params**-0.36, rel=1e-12)
    assert lr == pytest.approx(tuned[1], rel=0.05)
    assert batch == pytest.approx(tuned[0] * 2048, rel=0.10)  # within half a grid step


def test_wsd_schedule_phases():
    s = hp.schedule("wsd", 10_000, 500)
    assert (s["warmup_steps"], s["stable_until_step"], s["cooldown_steps"]) == (500, 8000, 2000)
    c = hp.schedule("cosine", 10_000, 500)
    assert c["decay_steps"] == 9500 and c["final_lr_fraction"] == 0.1


def test_user_hparams_law_file(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text(
        "mine:\n  learning_rate: {coef: 0.01, params: -0.5}\n"
        "  batch_tokens: {coef: 1e6}\n  warmup: {steps: 100}\n"
    )
    law = hp.load(str(f))
    assert hp.evaluate(law, 1e8, 1e9, 1e20) == (pytest.approx(1e-6), pytest.approx(1e6))
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "bad:\n  learning_rate: {coef: 0.01, parms: -0.5}\n  batch_tokens: {coef: 1}\n  warmup: {steps: 1}\n"
    )
    with pytest.raises(InputError, match="unknown key 'parms'"):
        hp.load(str(bad))


# ----- memory (Rajbhandari et al. 2020: 2 + 2 + 12 bytes per parameter in mixed precision) ----------
def test_training_memory_by_sharding():
    n = 7e9
    none = training_memory(n)
    assert none.total_gb == pytest.approx(16 * n / 1e9)
    z1 = training_memory(n, sharding="zero1", gpus=8)
    assert z1.total_gb == pytest.approx((2 + 2 + 12 / 8) * n / 1e9)
    z3 = training_memory(n, sharding="zero3", gpus=8, gpu="H100", gpu_memory_gb=80)
    assert z3.total_gb == pytest.approx(2 * n / 1e9) and z3.fits is True
    assert training_memory(n, gpu="H100", gpu_memory_gb=80).fits is False
    with pytest.raises(InputError, match="gpus"):
        training_memory(n, sharding="zero3", gpus=1)


# ----- plans with a recipe ----------------------------------------------------------------------------
def test_budget_in_another_flops_convention_is_converted_at_the_planned_shape():
    preset = presets.load("besiroglu2024")
    recipe = Recipe(flops_convention="palm")
    p = recipe_plan(preset, PlanRequest(flops=1e23), recipe)
    shape = sh.nearest_shape(p.params, "total", **recipe.shape_options())
    ratio = 6 * shape.total_params / sh.flops_per_token(shape, "palm")
    assert p.train_flops == pytest.approx(1e23 * ratio, rel=1e-9)
    assert p.flops_convention["difference_pct"] == pytest.approx(100 * (ratio - 1), rel=1e-9)
    same = recipe_plan(preset, PlanRequest(flops=1e23), Recipe(flops_convention="6nd"))
    assert same.train_flops == pytest.approx(1e23, rel=1e-12)


def test_hparams_batch_sets_the_steps():
    preset = presets.load("besiroglu2024")
    p = recipe_plan(preset, PlanRequest(flops=1e23), Recipe(hparams="steplaw2025"))
    assert p.batch_tokens == pytest.approx(0.58 * p.tokens**0.571, rel=1e-9)
    assert p.steps == pytest.approx(p.tokens / p.batch_tokens, rel=1e-9)
    assert p.hparams["warmup_steps"] == 2000 and p.hparams["schedule"]["kind"] == "wsd"


def test_a_total_cap_is_planned_in_the_laws_units():
    preset = presets.load("kaplan2020")
    cap = 3e9  # total parameters
    p = recipe_plan(preset, PlanRequest(flops=1e23, max_params=cap), Recipe(params_convention="total"))
    assert p.binding == ["max_params"]
    assert p.params == pytest.approx(sh.convert_params(cap, "total", "non_embedding"), rel=1e-9)
    assert p.params_total == pytest.approx(cap, rel=1e-9)


# ----- the CLI --------------------------------------------------------------------------------------------
def test_arch_counts_an_explicit_shape(cli):
    r = cli(
        "arch",
        "--layers",
        "32",
        "--d-model",
        "4096",
        "--d-ff",
        "11008",
        "--vocab",
        "32000",
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    (row,) = r.json()["shapes"]
    assert row["total_params"] == 6_738_415_616
    assert row["flops_per_token"]["6nd"] == 6 * 6_738_415_616


def test_arch_lists_shapes_for_a_count(cli):
    r = cli(
        "arch", "--params", "7B", "--gpu", "H100", "--gpus", "8", "--sharding", "zero3", "--format", "json"
    )
    assert r.code == 0, r.err
    rows = r.json()["shapes"]
    assert len(rows) == 5 and all(abs(row["params_error_pct"]) < 1 for row in rows)
    assert all(row["memory"]["fits"] for row in rows)  # 16 bytes x 7B / 8 = 14 GB


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--layers", "32"), "--d-model"),
        (("--params", "7B", "--d-ff", "11008"), "explicit shape"),
        (("--params", "1e20"), "between 1e3 and 1e16"),
        (
            ("--layers", "32", "--d-model", "4096", "--heads", "32", "--kv-heads", "5"),
            "multiple of --kv-heads",
        ),
        (("--params", "7B", "--aspect", "abc"), "--aspect"),
        (("--params", "7B", "--gpus", "8"), "--gpu"),
    ],
)
def test_arch_refuses_bad_input_in_one_line(cli, args, fragment):
    r = cli("arch", *args)
    assert r.code == 2 and fragment in r.err and "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_plan_with_shape_and_hparams(cli):
    r = cli(
        "plan",
        "--flops",
        "1e23",
        "--law",
        "besiroglu2024",
        "--shape",
        "--hparams",
        "deepseek2024",
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    p = r.json()["plans"][0]
    assert p["shape"]["total_params"] == pytest.approx(p["params"], rel=0.01)
    assert p["hparams"]["law"] == "deepseek2024" and p["steps"] == pytest.approx(
        p["tokens"] / p["batch_tokens"]
    )
    # DeepSeek's C = M·D at the shape
    m = sh.flops_per_token(sh.Shape(**{k: p["shape"][k] for k in sh.Shape.__dataclass_fields__}), "deepseek")
    assert p["hparams"]["learning_rate"] == pytest.approx(0.3118 * (m * p["tokens"]) ** -0.125, rel=1e-9)
    assert p["memory"]["total_gb"] == pytest.approx(16 * p["shape"]["total_params"] / 1e9)
    assert math.isfinite(p["params_non_embedding"])


def test_predict_reads_params_in_the_users_convention(cli):
    # 1B total parameters under the non-embedding kaplan2020-joint law: N_nonemb from Pearce & Song
    base = cli(
        "predict", "--law", "kaplan2020-joint", "--params", "1B", "--tokens", "10B", "--format", "json"
    )
    conv = cli(
        "predict", "--law", "kaplan2020-joint", "--params", "1B", "--tokens", "10B",
        "--params-convention", "total", "--format", "json",
    )  # fmt: skip
    assert base.code == conv.code == 0
    assert base.json()["predictions"][0]["loss"] == pytest.approx(2.4197, rel=1e-4)  # REFERENCE §1.6
    n = sh.convert_params(1e9, "total", "non_embedding")
    assert conv.json()["predictions"][0]["params"] == pytest.approx(n, rel=1e-12)


def test_porian_warmup_is_n_tokens():
    preset = presets.load("besiroglu2024")
    p = recipe_plan(preset, PlanRequest(flops=1e21), Recipe(hparams="porian", shape=True))
    n_head = p.hparams["inputs"]["params_with_head"]
    assert p.hparams["warmup_tokens"] == pytest.approx(n_head, rel=1e-9)
    assert p.batch_tokens == pytest.approx(0.7576 * n_head**0.703, rel=1e-9)


def test_unknown_hparams_law_is_one_line(cli):
    r = cli("plan", "--flops", "1e23", "--hparams", "deepseak")
    assert r.code == 2 and "did you mean" in r.err and len(r.err.strip().splitlines()) == 1


def test_presets_declare_their_convention_or_take_the_familys(tmp_path):
    from scalecli.presets import parse_preset

    text = (tmp_path / "x.yaml").write_text(
        "family: kaplan\nparams: {N_c: 6.4e13, alpha_N: 0.076, D_c: 1.8e13, alpha_D: 0.103}\n"
    )
    assert text > 0
    assert parse_preset((tmp_path / "x.yaml").read_text(), "t").params_convention == "non_embedding"
    with pytest.raises(InputError, match="params_convention"):
        parse_preset(
            "family: chinchilla\nparams_convention: some\n"
            "params: {E: 1.7, A: 400, B: 400, alpha: 0.3, beta: 0.3}\n",
            "t",
        )

"""FLOPs of training and inference (REFERENCE §1.5, §2.5, §4.1)."""

from __future__ import annotations

TRAIN_FLOPS_PER_PARAM_TOKEN = 6.0  # forward + backward, C ≈ 6·N·D
INFERENCE_FLOPS_PER_PARAM_TOKEN = 2.0  # forward only, 2·N per token (Sardana et al.)


def training_flops(params, tokens):
    return TRAIN_FLOPS_PER_PARAM_TOKEN * params * tokens


def inference_flops(params, inference_tokens):
    return INFERENCE_FLOPS_PER_PARAM_TOKEN * params * inference_tokens

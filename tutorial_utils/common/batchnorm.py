"""BatchNorm statistics: measured on real images, drawn at random, or checked for freshness.

Calibration. A fresh BatchNorm has running mean 0 and variance 1. In eval mode it then
passes values through almost unchanged, and in a network whose every stage ends in ReLU
the small, biased activations of random weights are often clipped to a constant:
attention maps come out flat. Measuring the statistics on real images (one train-mode
pass, no gradients) is what training would do first, and it leaves every weight untouched.

Randomisation. Tests and benchmarks need BatchNorm layers that look trained (statistics and
affine terms far from 0 and 1), so that folding them or comparing two implementations in eval
mode checks something.
"""

from __future__ import annotations

import torch
from torch import nn


def batchnorm_layers(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """Every BatchNorm layer (1-D, 2-D or 3-D) inside ``module``, in module order."""
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def calibrate_batchnorm(model: nn.Module, *inputs: torch.Tensor) -> nn.Module:
    """Set every BatchNorm's running statistics to those of ``inputs``; returns ``model`` in eval.

    One forward pass in train mode with ``momentum=None`` (a cumulative average, which after
    one batch equals that batch's statistics) and no gradients. Weights do not change.
    The batch must hold at least 2 samples (BatchNorm needs a spread on 1x1 maps).
    """
    norms = batchnorm_layers(model)
    if not norms:
        raise ValueError(f"{type(model).__name__} has no BatchNorm layer to calibrate")
    if inputs and inputs[0].shape[0] < 2:
        raise ValueError(
            f"calibration needs a batch of at least 2 samples, got {inputs[0].shape[0]}"
        )
    saved = [(m, m.momentum) for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for m, momentum in saved:
            m.momentum = momentum
        model.eval()
    return model


def randomize_batchnorm(module: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm random running statistics and affine terms, as if trained.

    Running mean ~ N(0, 0.2^2), running variance and weight ~ U(0.5, 1.5), bias ~ N(0, 0.2^2),
    drawn from a generator seeded with ``seed`` (the global RNG is left alone).
    Changes ``module`` in place and returns it; its mode (train or eval) is kept.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in batchnorm_layers(module):
            if m.running_mean is not None:
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.2)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            if m.weight is not None:
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.2)
    return module


def has_measured_statistics(module: nn.Module) -> bool:
    """True when some BatchNorm's running statistics differ from the fresh mean 0, variance 1."""
    return any(
        bool((m.running_mean != 0).any() or (m.running_var != 1).any())
        for m in batchnorm_layers(module)
        if m.running_mean is not None
    )

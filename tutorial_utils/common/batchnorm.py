"""BatchNorm statistics for an untrained network, so that its maps show structure.

A fresh BatchNorm has running mean 0 and variance 1. In eval mode it then passes values
through almost unchanged, and in a network whose every stage ends in ReLU the small,
biased activations of random weights are often clipped to a constant: attention maps come
out flat. Measuring the statistics on real images (one train-mode pass, no gradients) is
what training would do first, and it leaves every weight untouched.
"""

from __future__ import annotations

import torch
from torch import nn


def calibrate_batchnorm(model: nn.Module, *inputs: torch.Tensor) -> nn.Module:
    """Set every BatchNorm's running statistics to those of ``inputs``; returns ``model`` in eval.

    One forward pass in train mode with ``momentum=None`` (a cumulative average, which after
    one batch equals that batch's statistics) and no gradients. Weights do not change.
    The batch must hold at least 2 samples (BatchNorm needs a spread on 1x1 maps).
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
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

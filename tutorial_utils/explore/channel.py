"""Lesson 02's explorer: channel-attention weights of HA-CNN's stage features on real photos.

The HA-CNN and the ChannelAttention are built with seeded random weights and run in eval
mode, so the bars show what an untrained network computes, not what a trained one attends to.
By default both first get BatchNorm running statistics measured on the photos
(tutorial_utils.calibrate_batchnorm): with the fresh statistics (mean 0, variance 1) the
weights barely depend on the photo. Only statistics are measured; no weight is trained.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import torch
from matplotlib.figure import Figure

from ..common.batchnorm import calibrate_batchnorm
from ..common.images import hacnn_batch, sample_image_names
from ..common.plotting import show_image
from ..common.validation import check_bool, check_positive_int
from ..hacnn.model import HACNN, StageRecord
from ..hacnn.soft_attention import ChannelAttention
from .base import STAGES, check_sample_name, check_stage, prepare_figure

REDUCTION_RATES = (1, 2, 4, 8, 16, 32, 64)  # all divide HA-CNN's 128, 256 and 384 channels


def channel_attention_parameters(channels: int, reduction_rate: int) -> int:
    """Parameters of ChannelAttention(channels, reduction_rate), counted by hand.

    With m = channels / r: conv1 C*m weights + m biases, bn1 2m, conv2 m*C + C, bn2 2C,
    so 2*C*m + 3*m + 3*C in all.
    """
    check_positive_int(channels, "channels")
    check_positive_int(reduction_rate, "reduction_rate")
    if channels % reduction_rate != 0:
        raise ValueError(f"channels={channels} is not divisible by reduction_rate={reduction_rate}")
    m = channels // reduction_rate
    return 2 * channels * m + 3 * m + 3 * channels


@lru_cache(maxsize=4)
def _stage_features_cached(
    names: tuple[str, ...], seed: int, calibrate: bool
) -> tuple[torch.Tensor, ...]:
    torch.manual_seed(seed)
    model = HACNN(num_classes=10).eval()
    _, batch = hacnn_batch(list(names))
    if calibrate:
        calibrate_batchnorm(model, batch)
    records: list[StageRecord] = []
    with torch.no_grad():
        model.forward_features(batch, records)
    return tuple(record.features for record in records)


def stage_features(
    names: list[str] | tuple[str, ...], seed: int = 0, calibrate: bool = True
) -> tuple[torch.Tensor, ...]:
    """Features of HA-CNN's three stages (before attention) for the named photos.

    A seeded, untrained HACNN(num_classes=10) in eval mode on hacnn_batch(names):
    (N, 3, 160, 64) -> ((N, 128, 40, 16), (N, 256, 20, 8), (N, 384, 10, 4)).
    ``calibrate=True`` (at least 2 names): its BatchNorm statistics are first measured on
    these photos with calibrate_batchnorm; ``False`` keeps the fresh ones (mean 0, var 1).
    Results are cached, so the widget does not rerun the network on every move.
    """
    check_bool(calibrate, "calibrate")
    for name in names:
        check_sample_name(name)
    return _stage_features_cached(tuple(names), seed, calibrate)


def channel_weights(
    features: torch.Tensor, reduction_rate: int, seed: int = 0, calibrate: bool = True
) -> torch.Tensor:
    """A seeded ChannelAttention(C, reduction_rate) in eval mode: (N, C, H, W) -> (N, C).

    ``calibrate=True`` (N >= 2): its BatchNorm statistics are first measured on ``features``
    with calibrate_batchnorm, so each weight says how this photo differs from the others.
    """
    check_bool(calibrate, "calibrate")
    torch.manual_seed(seed)
    attention = ChannelAttention(features.shape[1], reduction_rate).eval()
    if calibrate:
        calibrate_batchnorm(attention, features)
    with torch.no_grad():
        return attention(features).flatten(1)


def explore_channel_weights(
    image_name: str,
    stage: int,
    reduction_rate: int,
    seed: int = 0,
    fig: Figure | None = None,
    features: Sequence[torch.Tensor] | None = None,
    calibrate: bool = True,
) -> dict[str, object]:
    """Draw one photo, its per-channel weights at one stage, and how they differ between photos.

    Top bars: the weights (C,) for ``image_name``. Bottom bars: those weights minus their mean
    over all bundled photos, which shows what this photo changes.
    ``features``: the three stages' features of all bundled photos, in sample_image_names()
    order, as stage_features returns them; computed (and cached) when None.
    ``calibrate``: measure BatchNorm statistics on the photos (network and ChannelAttention)
    before computing the weights; with False the fresh statistics make all photos look alike.
    Returns {"channels", "reduction_rate", "parameters", "weights" (C,) tensor, "deviation"
    (C,) tensor, "feature_shape", "top_channels" (5 largest weights, largest first),
    "zero_fraction", "figure"}.
    """
    check_sample_name(image_name)
    check_stage(stage)
    check_bool(calibrate, "calibrate")
    names = sample_image_names()
    if features is None:
        features = stage_features(tuple(names), seed, calibrate)
    if len(features) != len(STAGES) or features[0].shape[0] != len(names):
        raise ValueError(
            f"features must hold {len(STAGES)} stage tensors of {len(names)} photos each, "
            f"got {len(features)} tensors with batch size {features[0].shape[0]}"
        )
    features_all = features[stage - 1]
    index = names.index(image_name)
    channels = features_all.shape[1]
    if channels % reduction_rate != 0:
        raise ValueError(
            f"reduction_rate={reduction_rate} does not divide stage {stage}'s {channels} channels"
        )
    all_weights = channel_weights(features_all, reduction_rate, seed, calibrate)  # (N, C)
    weights = all_weights[index]  # (C,)
    deviation = weights - all_weights.mean(dim=0)
    parameters = channel_attention_parameters(channels, reduction_rate)

    fig = prepare_figure(fig, (10, 4.4))
    grid = fig.add_gridspec(2, 5)
    ax_image = fig.add_subplot(grid[:, 0])
    ax_bars = fig.add_subplot(grid[0, 1:])
    ax_dev = fig.add_subplot(grid[1, 1:], sharex=ax_bars)
    pictures, _ = hacnn_batch([image_name])
    show_image(ax_image, pictures[0], image_name)
    ax_bars.bar(range(channels), weights.numpy(), width=1.0, color="tab:blue")
    ax_bars.set_xlim(-0.5, channels - 0.5)
    ax_bars.set_ylabel("weight (>= 0)")
    ax_dev.bar(range(channels), deviation.numpy(), width=1.0, color="tab:orange")
    ax_dev.set_xlabel("channel")
    ax_dev.set_ylabel("minus mean\nover photos")
    ax_bars.set_title(
        f"stage {stage}: {channels} channels, r={reduction_rate} "
        f"({channels} -> {channels // reduction_rate} -> {channels}), "
        f"{parameters:,} parameters (random weights, "
        f"{'measured' if calibrate else 'fresh'} BatchNorm statistics)",
        fontsize=10,
    )
    fig.tight_layout()
    top = torch.argsort(weights, descending=True)[:5]
    return {
        "channels": channels,
        "reduction_rate": reduction_rate,
        "parameters": parameters,
        "weights": weights,
        "deviation": deviation,
        "feature_shape": (1, *features_all.shape[1:]),
        "top_channels": top.tolist(),
        "zero_fraction": float((weights == 0).float().mean()),
        "figure": fig,
    }

"""Lesson 02b's explorer: channel-attention weights of HA-CNN's stage features, per image.

Two sources of weights:
- a network the caller gives (``model=``, one HACNN or a mapping such as {"trained": ...,
  "initial": ...} with ``network=`` choosing one): the weights are that network's own
  ``ha{stage}.soft_attn.channel_attn`` on its own stage features, for the bundled photos and
  any named images the caller adds (synthetic pedestrians, say). The lesson passes the shipped
  trained HA-CNN and the same network at initialisation; this room does not load them itself.
- without ``model``: a seeded full-width HA-CNN and a ChannelAttention(C, r) of any
  reduction rate r, both with random weights, in eval mode. By default both first get
  BatchNorm statistics measured on the photos (tutorial_utils.calibrate_batchnorm): with the
  fresh statistics (mean 0, variance 1) the weights barely depend on the photo. Only
  statistics are measured; no weight is trained.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import torch
from matplotlib.figure import Figure

from ..common.batchnorm import calibrate_batchnorm
from ..common.images import normalize, sample_image_names
from ..common.plotting import show_image
from ..common.seeding import seeded
from ..common.validation import check_bool, check_positive_int
from ..hacnn.inputs import hacnn_batch
from ..hacnn.model import HACNN, StageRecord
from ..hacnn.soft_attention import ChannelAttention
from .base import STAGES, check_sample_name, check_stage, prepare_figure, remembered
from .spatial import check_input_name, explorer_inputs, pick_network

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
def _random_network(names: tuple[str, ...], seed: int, calibrate: bool) -> HACNN:
    """The seeded, untrained HACNN(num_classes=10) in eval mode, calibrated on ``names``."""
    with seeded(seed):
        model = HACNN(num_classes=10).eval()
    if calibrate:
        _, batch = hacnn_batch(list(names))
        calibrate_batchnorm(model, batch)
    return model


def _features(model: HACNN, batch: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The three stages' features (before attention) of a normalised batch (N, 3, 160, 64)."""
    records: list[StageRecord] = []
    with torch.no_grad():
        model.forward_features(batch, records)
    return tuple(record.features for record in records)


@lru_cache(maxsize=4)
def _stage_features_cached(
    names: tuple[str, ...], seed: int, calibrate: bool
) -> tuple[torch.Tensor, ...]:
    _, batch = hacnn_batch(list(names))
    return _features(_random_network(names, seed, calibrate), batch)


def stage_features(
    names: list[str] | tuple[str, ...],
    seed: int = 0,
    calibrate: bool = True,
    images: Mapping[str, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, ...]:
    """Features of HA-CNN's three stages (before attention) for the named photos.

    A seeded, untrained HACNN(num_classes=10) in eval mode on hacnn_batch(names):
    (N, 3, 160, 64) -> ((N, 128, 40, 16), (N, 256, 20, 8), (N, 384, 10, 4)).
    ``calibrate=True`` (at least 2 names): its BatchNorm statistics are first measured on
    these photos with calibrate_batchnorm; ``False`` keeps the fresh ones (mean 0, var 1).
    ``images``: named (3, 160, 64) images in [0, 1] (pedestrians, say) run through the same
    network after the photos, so each stage holds N + len(images) rows; the statistics are
    still the photos' alone, so the photos' rows do not change.
    The photos' results are cached, so the widget does not rerun the network on every move.
    """
    check_bool(calibrate, "calibrate")
    for name in names:
        check_sample_name(name)
    photos = _stage_features_cached(tuple(names), seed, calibrate)
    if not images:
        return photos
    _, inputs = explorer_inputs(images)  # checks the images; the bundled photos come first
    added = _features(
        _random_network(tuple(names), seed, calibrate),
        normalize(inputs[len(sample_image_names()) :]),
    )
    return tuple(torch.cat([p, a]) for p, a in zip(photos, added, strict=True))


def channel_weights(
    features: torch.Tensor, reduction_rate: int, seed: int = 0, calibrate: bool = True
) -> torch.Tensor:
    """A seeded ChannelAttention(C, reduction_rate) in eval mode: (N, C, H, W) -> (N, C).

    ``calibrate=True`` (N >= 2): its BatchNorm statistics are first measured on ``features``
    with calibrate_batchnorm, so each weight says how this photo differs from the others.
    """
    check_bool(calibrate, "calibrate")
    with seeded(seed):
        attention = ChannelAttention(features.shape[1], reduction_rate).eval()
    if calibrate:
        calibrate_batchnorm(attention, features)
    with torch.no_grad():
        return attention(features).flatten(1)


def network_channel_weights(model: HACNN, pictures: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """A network's own channel weights at each stage, in eval mode, without gradients.

    ``pictures`` (N, 3, 160, 64) in [0, 1] (ImageNet-normalised here, as in training) ->
    one (N, C) tensor per stage, C the stage's width: ``ha{i}.soft_attn.channel_attn`` applied
    to the stage's features (the Inception output the attention sees).
    """
    if not isinstance(model, HACNN):
        raise TypeError(f"model must be an HACNN, got {type(model).__name__}")
    model.eval()
    records: list[StageRecord] = []
    with torch.no_grad():
        model.forward_features(normalize(pictures), records)
        return tuple(
            getattr(model, f"ha{stage}").soft_attn.channel_attn(record.features).flatten(1)
            for stage, record in zip(STAGES, records, strict=True)
        )


def own_reduction_rate(model: HACNN, stage: int) -> int:
    """The reduction rate r a network's channel attention was built with at ``stage``."""
    check_stage(stage)
    attention = getattr(model, f"ha{stage}").soft_attn.channel_attn
    return attention.conv2.conv.out_channels // attention.conv1.conv.out_channels


def reduction_rate_note(model: HACNN | None, network: str = "given") -> str:
    """Why an r control cannot act on ``model``: "" when it can (None: random weights, any r).

    A given network was built, and trained, with its own r; another r would be another
    network. So its explorer disables the control and says so, e.g.
    "r is fixed at 16 in the trained network; the random network takes any r".
    """
    if model is None:
        return ""
    if not isinstance(model, HACNN):
        raise TypeError(f"model must be an HACNN or None, got {type(model).__name__}")
    rates = sorted({own_reduction_rate(model, stage) for stage in STAGES})
    fixed = " / ".join(str(rate) for rate in rates)
    return f"r is fixed at {fixed} in the {network} network; the random network takes any r"


def explore_channel_weights(
    image_name: str,
    stage: int,
    reduction_rate: int | None = 16,
    seed: int = 0,
    fig: Figure | None = None,
    features: Sequence[torch.Tensor] | None = None,
    calibrate: bool = True,
    *,
    model: HACNN | Mapping[str, HACNN] | None = None,
    network: str | None = None,
    images: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, object]:
    """Draw one photo, its per-channel weights at one stage, and how they differ between photos.

    Top bars: the weights (C,) for ``image_name``. Bottom bars: those weights minus their mean
    over all inputs (the bundled photos and ``images``), which shows what this input changes.
    ``features``: the three stages' features of all bundled photos, in sample_image_names()
    order (then of ``images``), as stage_features returns them; computed when None.
    ``calibrate``: measure BatchNorm statistics on the photos (network and ChannelAttention)
    before computing the weights; with False the fresh statistics make all photos look alike.
    ``images``: named (3, 160, 64) images in [0, 1] offered after the bundled photos, with or
    without ``model`` (without it, ``features`` must then hold their rows after the photos',
    as ``stage_features(names, images=images)`` returns them).
    ``model``: draw the weights of a given network instead (one HACNN, or a mapping
    {name: HACNN} with ``network`` naming one); ``reduction_rate`` must then be None or the
    network's own (reduction_rate_note says why a control for it cannot act), and ``seed``,
    ``features`` and ``calibrate`` are not used.
    Returns {"channels", "reduction_rate", "parameters", "weights" (C,) tensor, "deviation"
    (C,) tensor, "all_weights" (N, C) for every input, "spread_across_images" (the std over
    the inputs, averaged over channels), "feature_shape" (None with ``model``),
    "top_channels" (5 largest weights, largest first), "zero_fraction", "network" (a label),
    "figure"}.
    """
    check_stage(stage)
    check_bool(calibrate, "calibrate")
    if model is not None:
        chosen, label = pick_network(model, network)
        names, pictures = explorer_inputs(images)
        check_input_name(image_name, names)
        # the network runs once per network and inputs, not on every move
        all_weights = remembered(network_channel_weights, chosen, pictures)[stage - 1]  # (N, C)
        own_rate = own_reduction_rate(chosen, stage)
        if reduction_rate is not None and reduction_rate != own_rate:
            raise ValueError(
                f"reduction_rate={reduction_rate} differs from the given network's own "
                f"reduction rate {own_rate} at stage {stage}; pass None or {own_rate}"
            )
        return _draw_weights(
            image_name,
            names,
            pictures,
            all_weights,
            stage,
            own_rate,
            label,
            fig,
            feature_shape=None,
        )
    if network is not None:
        raise ValueError(
            "network= chooses among networks given with model=; "
            f"got network={network!r} without a model"
        )
    if reduction_rate is None:
        reduction_rate = 16
    photos = sample_image_names()
    names, pictures = explorer_inputs(images)
    check_input_name(image_name, names)
    if features is None:
        features = stage_features(tuple(photos), seed, calibrate, images=images)
    if len(features) != len(STAGES) or features[0].shape[0] != len(names):
        raise ValueError(
            f"features must hold {len(STAGES)} stage tensors of {len(names)} inputs each "
            f"(the photos, then images), got {len(features)} tensors with batch size "
            f"{features[0].shape[0]}"
        )
    features_all = features[stage - 1]
    channels = features_all.shape[1]
    if channels % reduction_rate != 0:
        raise ValueError(
            f"reduction_rate={reduction_rate} does not divide stage {stage}'s {channels} channels"
        )
    all_weights = channel_weights(features_all, reduction_rate, seed, calibrate)  # (N, C)
    label = f"random weights, {'measured' if calibrate else 'fresh'} BatchNorm statistics"
    return _draw_weights(
        image_name,
        names,
        pictures,
        all_weights,
        stage,
        reduction_rate,
        label,
        fig,
        feature_shape=(1, *features_all.shape[1:]),
    )


def _draw_weights(
    image_name: str,
    names: list[str],
    pictures: torch.Tensor,
    all_weights: torch.Tensor,
    stage: int,
    reduction_rate: int,
    label: str,
    fig: Figure | None,
    feature_shape: tuple[int, ...] | None,
) -> dict[str, object]:
    """Draw one input, its weights (C,) and their difference from the mean over all inputs."""
    index = names.index(image_name)
    channels = all_weights.shape[1]
    weights = all_weights[index]  # (C,)
    deviation = weights - all_weights.mean(dim=0)
    parameters = channel_attention_parameters(channels, reduction_rate)

    fig = prepare_figure(fig, (10, 4.4))
    grid = fig.add_gridspec(2, 5)
    ax_image = fig.add_subplot(grid[:, 0])
    ax_bars = fig.add_subplot(grid[0, 1:])
    ax_dev = fig.add_subplot(grid[1, 1:], sharex=ax_bars)
    show_image(ax_image, pictures[index], image_name)
    ax_bars.bar(range(channels), weights.numpy(), width=1.0, color="tab:blue")
    ax_bars.set_xlim(-0.5, channels - 0.5)
    ax_bars.set_ylabel("weight (>= 0)")
    ax_dev.bar(range(channels), deviation.numpy(), width=1.0, color="tab:orange")
    ax_dev.set_xlabel("channel")
    ax_dev.set_ylabel(f"minus mean over\n{len(names)} inputs")
    ax_bars.set_title(
        f"stage {stage}: {channels} channels, r={reduction_rate} "
        f"({channels} -> {channels // reduction_rate} -> {channels}), "
        f"{parameters:,} parameters ({label})",
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
        "all_weights": all_weights,
        "spread_across_images": float(all_weights.std(dim=0).mean()),
        "feature_shape": feature_shape,
        "top_channels": top.tolist(),
        "zero_fraction": float((weights == 0).float().mean()),
        "network": label,
        "figure": fig,
    }

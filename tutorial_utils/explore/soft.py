"""Lesson 04b's explorer: one channel of a soft attention map beside a photograph."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from ..common.images import normalize
from ..common.plotting import show_image, show_map
from ..common.seeding import seeded
from ..common.validation import check_int
from ..hacnn.blocks import ConvBlock
from ..hacnn.inputs import hacnn_batch
from ..hacnn.model import HACNN, StageRecord
from ..hacnn.soft_attention import SoftAttention
from .base import check_stage, prepare_figure, projector_figure

STEM_CHANNELS = 32  # HA-CNN's first ConvBlock gives 32 channels
NETWORKS = ("trained", "initial")  # the shipped HA-CNN and the same network at initialisation
FIGURE_SIZE = (5.8, 5.0)  # inches: 870 px at 150 dpi, about 730 px once cropped to its content


def check_network(network: object) -> str:
    """Return ``network`` unless it is not one of NETWORKS; then raise a ValueError naming it."""
    if not isinstance(network, str) or network not in NETWORKS:
        raise ValueError(f"network must be one of {NETWORKS}, got {network!r}")
    return network


def choose_network(maps: dict[str, torch.Tensor], network: object) -> torch.Tensor:
    """``maps[network]`` for maps {"trained": ..., "initial": ...}; a ValueError names a bad
    ``network`` or a dict without that entry."""
    check_network(network)
    if network not in maps:
        raise ValueError(f"no {network!r} entry in the maps; they hold {sorted(maps)}")
    return maps[network]


def soft_maps_for_photos(
    names: list[str], size: tuple[int, int] = (128, 128), seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Photos through a seeded random stem and SoftAttention(32), in eval mode.

    The stem is HA-CNN's first layer, ConvBlock(3, 32, 3, stride=2, padding=1).
    Returns (pictures (N, 3, *size) in [0, 1], soft maps (N, 32, size[0] / 2, size[1] / 2)).
    """
    if not names:
        raise ValueError("names is empty; pass sample image names, e.g. ['astronaut']")
    with seeded(seed):
        stem = ConvBlock(3, STEM_CHANNELS, 3, stride=2, padding=1).eval()
        soft = SoftAttention(STEM_CHANNELS).eval()
    pictures, batch = hacnn_batch(names, size)
    with torch.no_grad():
        maps = soft(stem(batch))
    return pictures, maps


def network_soft_maps(model: HACNN, images: torch.Tensor, stage: int = 1) -> torch.Tensor:
    """Every channel of one stage's soft map of ``model`` (an HA-CNN, run in eval mode).

    (N, 3, 160, 64) images in [0, 1] (ImageNet-normalised here, as in training)
    -> (N, C, h, w) gate in [0.5, 1), e.g. (N, 32, 40, 16) at stage 1 of the shipped network.
    """
    check_stage(stage)
    if not isinstance(model, HACNN):
        raise ValueError(f"model must be a tutorial_utils.HACNN, got {type(model).__name__}")
    if not (isinstance(images, torch.Tensor) and images.ndim == 4 and images.shape[1] == 3):
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a (N, 3, 160, 64) tensor in [0, 1], got {shape}")
    records: list[StageRecord] = []
    was_training = model.training
    model.eval()  # train-mode BatchNorm would use this batch's statistics
    try:
        with torch.no_grad():
            model.forward_features(normalize(images.float()), records=records)
    finally:
        model.train(was_training)
    return records[stage - 1].soft_map


def explore_soft_channel(
    picture: torch.Tensor,
    soft_map: torch.Tensor | dict[str, torch.Tensor],
    channel: int,
    fig: Figure | None = None,
    *,
    network: str | None = None,
    stage: int | None = None,
) -> dict[str, object]:
    """Draw ``picture`` (3, H, W) and channel ``channel`` of ``soft_map`` (C, h, w) side by side.

    The map is drawn beside the picture, never over it, so its colours do not mix with the
    photo's: each cell a flat block in the picture's pixel coordinates, in magma on one colour
    scale fixed to the soft map's possible range [0.5, 1], with a colour bar, so channels and
    networks can be compared by eye. The figure is drawn for a projector (``projector_figure``).

    ``stage`` (1, 2 or 3), when the map is one of HA-CNN's stages, goes into the title: two
    flat channels of different stages look alike, and the title tells them apart.

    ``soft_map`` may also be {"trained": (C, h, w), "initial": (C, h, w)}, the same picture
    through the trained network and through the network at initialisation; ``network``
    ("trained" or "initial") then chooses which one is drawn.
    A channel whose rounded min and max agree is titled "(flat)". Returns "channel",
    "network", "stage", "map" (h, w), the rounded "min", "max", "mean", "flat" and "figure".
    """
    if isinstance(soft_map, dict):
        soft_map = choose_network(soft_map, network)
    elif network is not None:
        raise ValueError(
            f"network={network!r} chooses among a dict of maps {{'trained': ..., 'initial': ...}}"
            "; soft_map is a single tensor"
        )
    if soft_map.ndim != 3:
        raise ValueError(
            f"soft_map must be (C, h, w), got shape {tuple(soft_map.shape)}; index the batch first"
        )
    check_int(channel, "channel", low=0, high=soft_map.shape[0] - 1)
    if stage is not None:
        check_stage(stage)
    chosen = soft_map[channel].detach().float().cpu()
    stats = {
        k: round(v, 4)
        for k, v in (
            ("min", chosen.min().item()),
            ("max", chosen.max().item()),
            ("mean", chosen.mean().item()),
        )
    }

    fig = projector_figure(prepare_figure(fig, FIGURE_SIZE), FIGURE_SIZE)
    axes = fig.subplots(1, 2)
    prefix = "" if network is None else f"{network}, "
    prefix += "" if stage is None else f"stage {stage}, "
    # A flat channel looks the same as its flat neighbours: the title says why nothing moved.
    flat = " (flat)" if stats["min"] == stats["max"] else ""
    show_image(axes[0], picture, "image")
    heat = show_map(axes[1], chosen, picture.shape[-2:], "magma", 0.5, 1.0)
    axes[1].set_title(f"channel {channel}", fontsize=10)
    fig.colorbar(heat, ax=list(axes), fraction=0.05, pad=0.03, label="soft attention value")
    fig.suptitle(
        f"{prefix}channel {channel}: {stats['min']:.4f} .. {stats['max']:.4f}{flat}", fontsize=10
    )
    return {
        "channel": channel,
        "network": network,
        "stage": stage,
        "map": chosen,
        **stats,
        "flat": bool(flat),
        "figure": fig,
    }

"""Lesson 01's explorer: how kernel size, stride and padding change a ConvBlock's output.

The ConvBlock's weights are random (seeded), so the maps show what an untrained layer does:
smoothed, shifted mixtures of the colour channels, sampled on a grid set by the stride.
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from ..common.images import crop_to_aspect, load_sample_image, normalize, resize_image
from ..common.plotting import show_image
from ..common.seeding import seeded
from ..common.validation import check_int, check_positive_int
from ..hacnn.blocks import ConvBlock
from .base import prepare_figure

EXPLORER_SIZE = (96, 96)  # (H, W) the photo is resized to, so sizes are easy to check by hand
SHOWN_CHANNELS = 3  # output channels drawn next to the photo


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """floor((size + 2 * padding - kernel_size) / stride) + 1, the length of a conv's output.

    Raises ValueError when the kernel does not fit in the padded input (output would be empty).
    """
    check_positive_int(size, "size")
    check_positive_int(kernel_size, "kernel_size")
    check_positive_int(stride, "stride")
    check_int(padding, "padding", low=0)
    padded = size + 2 * padding
    if kernel_size > padded:
        raise ValueError(
            f"kernel_size={kernel_size} is larger than the padded input {size} + 2 * {padding} "
            f"= {padded}; use a smaller kernel or more padding"
        )
    return (padded - kernel_size) // stride + 1


def explorer_image(image_name: str) -> torch.Tensor:
    """A sample photo centre-cropped and resized to EXPLORER_SIZE: (3, 96, 96) in [0, 1]."""
    image = load_sample_image(image_name)
    return resize_image(crop_to_aspect(image, EXPLORER_SIZE), EXPLORER_SIZE)


def explore_convblock(
    image_name: str,
    kernel_size: int,
    stride: int,
    padding: int,
    seed: int = 0,
    fig: Figure | None = None,
) -> dict[str, object]:
    """Run a seeded ConvBlock(3, 3, kernel_size, stride, padding) in eval mode on a photo.

    The photo is ImageNet-normalised first, as HA-CNN's input is.
    (1, 3, 96, 96) -> (1, 3, H', W'). Draws the photo and the output channels on ``fig`` (a new
    figure if None) and returns {"input_size", "output_size" (measured), "formula_size",
    "maps" (3, H', W') tensor, "figure"}.
    """
    out_h = conv_output_size(EXPLORER_SIZE[0], kernel_size, stride, padding)
    out_w = conv_output_size(EXPLORER_SIZE[1], kernel_size, stride, padding)
    with seeded(seed):
        block = ConvBlock(3, SHOWN_CHANNELS, kernel_size, stride=stride, padding=padding).eval()
    picture = explorer_image(image_name)
    with torch.no_grad():
        maps = block(normalize(picture[None]))[0]  # (3, H', W')

    fig = prepare_figure(fig, (10, 2.8))
    axes = fig.subplots(1, 1 + SHOWN_CHANNELS)
    show_image(axes[0], picture, f"input {EXPLORER_SIZE[0]} x {EXPLORER_SIZE[1]}")
    for c, ax in enumerate(axes[1:]):
        # Same extent as the photo, so a smaller output shows as bigger, coarser pixels.
        ax.imshow(
            maps[c].numpy(),
            cmap="viridis",
            extent=(0, EXPLORER_SIZE[1], EXPLORER_SIZE[0], 0),
            interpolation="nearest",
        )
        ax.set_axis_off()
        ax.set_title(f"channel {c}: {out_h} x {out_w}", fontsize=10)
    fig.suptitle(
        f"k={kernel_size}, s={stride}, p={padding}: "
        f"floor(({EXPLORER_SIZE[0]} + 2*{padding} - {kernel_size}) / {stride}) + 1 = {out_h}"
        "   (random weights)",
        fontsize=10,
    )
    return {
        "input_size": EXPLORER_SIZE,
        "output_size": tuple(maps.shape[-2:]),
        "formula_size": (out_h, out_w),
        "maps": maps,
        "figure": fig,
    }

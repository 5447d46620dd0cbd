"""Lesson 05b's explorer: one region (tx, ty, sx, sy) drawn on a photo, next to its crop, with
the stripes of the trained or the initial network and the true part boxes when given."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..common.plotting import STRIPE_COLOURS, draw_boxes, show_image
from ..hacnn.hard_attention import crop_region, theta_to_boxes
from .base import STAGES, check_stage, prepare_figure
from .soft import choose_network

STRIPE_COLORS = list(STRIPE_COLOURS)  # the collection's one stripe palette


def explore_region(
    image: torch.Tensor,
    tx: float = 0.0,
    ty: float = 0.0,
    sx: float = 1.0,
    sy: float = 0.25,
    fig: Figure | None = None,
    *,
    stripes: dict[str, torch.Tensor] | dict[str, Sequence[torch.Tensor]] | None = None,
    network: str | None = None,
    parts: torch.Tensor | None = None,
    stage: int | None = None,
) -> dict[str, object]:
    """Draw the region with centre (tx, ty) and half-size (sx, sy) on ``image`` and its crop.

    image (3, H, W) in [0, 1]; tx, ty in normalised coordinates ([-1, 1] spans the image);
    sx, sy > 0 (sx = 1, sy = 0.25 is one HA-CNN stripe: full width, a quarter of the height).
    ``stripes`` {"trained": (T, 4), "initial": (T, 4)}: a network's stripe boxes in pixels for
    this image; ``network`` ("trained" or "initial") chooses which are drawn (dashed, coloured).
    ``stage`` (1, 2 or 3): ``stripes`` then holds one (T, 4) tensor per stage for each network,
    the stage's are drawn, and when the chosen network's stripes are the same at every stage
    (HA-CNN at initialisation: zero weights, so the bias alone places them) the title says so,
    since moving the stage then truly changes nothing in the stripes.
    ``parts`` (K, 4): true part boxes in pixels, drawn dashed in white.
    Returns theta (2, 3), box (4,) in pixels (x1, y1, x2, y2), crop (3, h, w) at the box's
    own pixel size, inside (fraction of the box that lies in the image), stripes (T, 4) or
    None, network, stage, same_at_every_stage (None without ``stage``) and the figure.
    """
    if not isinstance(image, torch.Tensor) or image.ndim != 3 or image.shape[0] != 3:
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"image must be a (3, H, W) tensor, got {shape}")
    for name, value in (("sx", sx), ("sy", sy)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValueError(f"{name} must be > 0 (a half-size in normalised units), got {value!r}")
    chosen = None
    same = None
    if stage is not None:
        check_stage(stage)
        if stripes is None:
            raise ValueError(f"stage={stage!r} chooses among per-stage stripes; stripes is None")
    if stripes is not None:
        chosen = choose_network(stripes, network)
        if stage is not None:
            if isinstance(chosen, torch.Tensor) or len(chosen) != len(STAGES):
                raise ValueError(
                    f"with stage={stage}, stripes[{network!r}] must hold one (T, 4) tensor per "
                    f"stage ({len(STAGES)}), got {type(chosen).__name__}"
                )
            per_stage = [boxes.detach().float().cpu() for boxes in chosen]
            same = all(torch.allclose(per_stage[0], other, atol=1e-3) for other in per_stage)
            chosen = per_stage[stage - 1]
        chosen = chosen.detach().float().cpu()
        if chosen.ndim != 2 or chosen.shape[1] != 4:
            raise ValueError(
                f"stripes[{network!r}] must be (T, 4) pixel boxes, got {tuple(chosen.shape)}"
            )
    elif network is not None:
        raise ValueError(f"network={network!r} needs stripes {{'trained': ..., 'initial': ...}}")
    if parts is not None and (parts.ndim != 2 or parts.shape[1] != 4):
        raise ValueError(f"parts must be (K, 4) pixel boxes, got {tuple(parts.shape)}")
    image = image.detach().float().cpu()
    height, width = image.shape[-2:]
    theta = torch.tensor([[sx, 0.0, tx], [0.0, sy, ty]], dtype=torch.float32)
    box = theta_to_boxes(theta, height, width)
    out_size = (max(1, round(height * sy)), max(1, round(width * sx)))
    crop = crop_region(image[None], theta[None], out_size)[0].clamp(0, 1)

    x1, y1, x2, y2 = box.tolist()
    overlap_w = max(0.0, min(x2, width) - max(x1, 0.0))
    overlap_h = max(0.0, min(y2, height) - max(y1, 0.0))
    inside = overlap_w * overlap_h / ((x2 - x1) * (y2 - y1))

    fig = prepare_figure(fig, (6, 4))
    ax_image, ax_crop = fig.subplots(1, 2)
    show_image(ax_image, image, f"tx={tx:.2f} ty={ty:.2f} sx={sx:.2f} sy={sy:.2f}")
    ax_image.set_xlim(-0.5, width - 0.5)
    ax_image.set_ylim(height - 0.5, -0.5)
    if parts is not None:
        for x0, y0, x1_, y1_ in parts.tolist():
            ax_image.add_patch(
                Rectangle((x0 - 0.5, y0 - 0.5), x1_ - x0, y1_ - y0, fill=False, ec="white", ls=":")
            )
    if chosen is not None:
        draw_boxes(ax_image, chosen, colors=STRIPE_COLORS, labels=True)
        for patch in ax_image.patches[-len(chosen) :]:
            patch.set_linestyle("--")
            patch.set_linewidth(2.0)
        where = "" if stage is None else f", stage {stage}"
        if same:
            where += " (same at every stage)"
        ax_image.set_title(f"{network} stripes{where}\nyellow: tx={tx:.2f} ty={ty:.2f}", fontsize=9)
    draw_boxes(ax_image, box[None], colors=["yellow"], labels=False)
    show_image(ax_crop, crop, f"crop {out_size[0]}x{out_size[1]}, {inside:.0%} inside")
    return {
        "theta": theta,
        "box": box,
        "crop": crop,
        "inside": inside,
        "stripes": chosen,
        "network": network,
        "stage": stage,
        "same_at_every_stage": same,
        "figure": fig,
    }

"""Lesson 06b's explorer: one HA-CNN stage's soft map and stripes on a picture, for a trained
network or the same network at initialisation."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from ..common.plotting import draw_boxes, show_image, show_map, stripe_legend
from ..common.validation import check_int, is_int
from ..hacnn.hard_attention import crop_region, theta_to_boxes
from ..hacnn.model import HACNN, StageRecord
from .base import STAGES, check_stage, prepare_figure


def collect_stages(model: HACNN, batch: torch.Tensor) -> list[StageRecord]:
    """Run ``model`` once in eval mode without gradients: one StageRecord per stage (3)."""
    if not isinstance(model, HACNN):
        raise TypeError(f"model must be an HACNN, got {type(model).__name__}")
    if not model.learn_region:
        raise ValueError("model has no local branch (learn_region=False): there are no stripes")
    was_training = model.training
    records: list[StageRecord] = []
    model.eval()
    try:
        with torch.no_grad():
            model.forward_features(batch, records)
    finally:
        model.train(was_training)
    return records


# The soft gate's range (a sigmoid after a ReLU): one fixed colour scale for every map the
# explorer draws, so switching network, stage or picture never rescales the colours.
GATE_RANGE = (0.5, 1.0)


def _pick_network(
    records: list[StageRecord] | dict[str, list[StageRecord]], network: str | None
) -> tuple[list[StageRecord], str | None]:
    if isinstance(records, dict):
        if not records:
            raise ValueError("records is an empty dict; expected {network name: records}")
        names = list(records)
        name = names[0] if network is None else network
        if name not in records:
            raise ValueError(f"network must be one of {names}, got {network!r}")
        return records[name], name
    if network is not None:
        raise ValueError(
            f"network={network!r} needs records as a dict {{name: records}}, "
            "e.g. {'trained': ..., 'initial': ...}"
        )
    return records, None


def explore_stage(
    records: list[StageRecord] | dict[str, list[StageRecord]],
    pictures: torch.Tensor,
    stage: int = 1,
    image_index: int = 0,
    channel: int | str = "mean",
    fig: Figure | None = None,
    network: str | None = None,
) -> dict[str, object]:
    """Draw stage ``stage`` (1, 2 or 3) for picture ``image_index``.

    records from ``collect_stages``, or a dict of them per network (e.g. ``{"trained": ...,
    "initial": ...}``), from which ``network`` picks one (default: the first). pictures
    (N, 3, H, W) in [0, 1], the images the batch was made from (photos or pedestrians).
    ``channel`` is a soft-map channel index or "mean" (mean over channels). Panels: stripes on
    the picture, soft map over the picture (magma, fixed scale 0.5-1 with a colour bar), the
    stripes' crops; when the network places the same stripes at every stage (at
    initialisation), the stripes panel says so, and a map flat to 3 decimals is titled
    "(flat)". Returns soft_map (h, w), boxes (T, 4) in picture pixels, translations (T, 2),
    the map's min and max, the network's name (None for a plain list), same_at_every_stage
    and the figure.
    """
    records, name = _pick_network(records, network)
    if len(records) != len(STAGES):
        raise ValueError(
            f"records must hold one StageRecord per stage ({len(STAGES)}), got {len(records)}; "
            "make them with collect_stages"
        )
    check_stage(stage)
    if pictures.ndim != 4 or pictures.shape[1] != 3:
        raise ValueError(f"pictures must be (N, 3, H, W), got {tuple(pictures.shape)}")
    check_int(image_index, "image_index", low=0, high=pictures.shape[0] - 1)
    record = records[stage - 1]
    if record.theta is None:
        raise ValueError("this record has no regions (the model was built with learn_region=False)")
    channels = record.soft_map.shape[1]
    if channel == "mean":
        soft_map = record.soft_map[image_index].mean(dim=0)
        label = "mean over channels"
    elif is_int(channel) and 0 <= channel < channels:
        soft_map = record.soft_map[image_index, channel]
        label = f"channel {channel}"
    else:
        raise ValueError(
            f"channel must be 'mean' or an int in [0, {channels - 1}], got {channel!r}"
        )

    picture = pictures[image_index].detach().float().cpu()
    height, width = picture.shape[-2:]
    theta = record.theta[image_index].detach().float().cpu()  # (T, 2, 3)
    boxes = theta_to_boxes(theta, height, width)
    stripe_h = max(1, round(height * theta[0, 1, 1].item()))
    crops = crop_region(picture.expand(theta.shape[0], -1, -1, -1), theta, (stripe_h, width))
    stacked = torch.cat(list(crops.clamp(0, 1)), dim=1)  # (3, T * stripe_h, W)

    fig = prepare_figure(fig, (7.5, 4.5))
    ax_boxes, ax_map, ax_crops = fig.subplots(1, 3)
    prefix = "" if name is None else f"{name}, "
    # At initialisation the regions' weights are zero, so every stage places the same stripes.
    same = all(
        torch.allclose(other.theta[image_index], record.theta[image_index], atol=1e-5)
        for other in records
        if other.theta is not None
    )
    note = "\n(same at every stage)" if same else ""
    show_image(ax_boxes, picture, f"{prefix}stage {stage}: stripes{note}")
    ax_boxes.set_ylim(height - 0.5, -0.5)
    draw_boxes(ax_boxes, boxes)
    stripe_legend(fig, num_stripes=len(boxes), loc="lower center", ncol=len(boxes))
    shown = soft_map.detach().float().cpu()
    lo, hi = shown.min().item(), shown.max().item()
    # A flat gate (at initialisation) looks the same in every channel: the title says why.
    flat = " (flat)" if f"{lo:.3f}" == f"{hi:.3f}" else ""
    # the map beside the picture, not over it, so its colours do not mix with the photo's
    artist = show_map(ax_map, shown, (height, width), "magma", GATE_RANGE[0], GATE_RANGE[1])
    ax_map.set_title(f"soft map, {label}\n[{lo:.3f}, {hi:.3f}]{flat}", fontsize=10)
    fig.colorbar(artist, ax=ax_map, fraction=0.08, pad=0.04).set_label("gate")
    show_image(ax_crops, stacked, "stripe crops")
    return {
        "soft_map": shown,
        "boxes": boxes,
        "translations": record.translations[image_index].detach().cpu(),
        "map_min": lo,
        "map_max": hi,
        "network": name,
        "same_at_every_stage": same,
        "figure": fig,
    }

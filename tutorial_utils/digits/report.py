"""How the experiment's results are shown: the results table, where the glimpses went, and
one canvas with what a model attended to."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from ..common.plotting import draw_boxes, show_image, show_map
from ..common.table import format_table
from ..hacnn.hard_attention import theta_to_boxes
from .data import DigitSplit
from .models import DigitNet
from .train import RunResult


def format_results(results: Sequence[RunResult], seconds: bool = True) -> str:
    """The results table: variant, test accuracy (%), parameters, training seconds.

    ``seconds=False`` leaves the timing column out (for output that must not vary).
    """
    header = ["variant", "test acc (%)", "params"] + (["train s"] if seconds else [])
    rows = [
        [r.name, f"{r.test_accuracy:.2f}", f"{r.parameters:,}"]
        + ([f"{r.seconds:.1f}"] if seconds else [])
        for r in results
    ]
    return format_table(header, rows)


def format_glimpses(results: Sequence[RunResult]) -> str:
    """One line per hard-attention variant: window centre mean/spread and its correlation."""
    lines = []
    for r in results:
        g = r.glimpse
        if g:
            lines.append(
                f"{r.name}: glimpse centre x {g['mean_x']:.1f}±{g['std_x']:.1f} px, "
                f"y {g['mean_y']:.1f}±{g['std_y']:.1f} px; correlation with the digit centre "
                f"x {g['corr_x']:.2f}, y {g['corr_y']:.2f}; mean distance {g['distance']:.1f} px"
            )
    return "\n".join(lines)


def draw_attention(
    ax: Axes,
    model: DigitNet,
    split: DigitSplit,
    index: int,
    digit_size: int = 24,
    map_ax: Axes | None = None,
) -> dict[str, object]:
    """Draw test canvas ``index`` and what ``model`` attends to; returns what was drawn.

    ``ax`` shows the canvas alone, in grey, with the glimpse window as a solid orange box and
    the true digit as a dashed white box. ``map_ax``, when given, shows the soft map (mean over
    channels, (h, w)) *beside* the canvas, never over it, so the map's colours do not mix with
    the canvas: each map cell a flat block in the canvas's pixel coordinates (the same boxes
    line up), in magma on the gate's whole range [0.5, 1], one scale for every canvas, so a
    nearly flat map looks flat. A model without soft attention leaves ``map_ax`` empty with a
    note saying so. Returns "label", "prediction", "soft_map" ((h, w) tensor or None), "box"
    ((4,) pixel box x1, y1, x2, y2 or None) and "image" (the map's AxesImage, for a colour bar,
    or None when no map was drawn).
    """
    if not 0 <= index < len(split):
        raise ValueError(f"index must lie in 0..{len(split) - 1}, got {index}")
    model.eval()
    with torch.no_grad():
        logits = model(split.images[index : index + 1])
    image = split.images[index]
    size = image.shape[-1]
    prediction = int(logits.argmax(dim=1).item())
    label = int(split.labels[index].item())
    soft_map = model.last["soft_map"][0].mean(dim=0) if "soft_map" in model.last else None
    show_image(ax, image, f"{model.variant}: says {prediction} (is {label})")
    box = None
    if "theta" in model.last:
        box = theta_to_boxes(model.last["theta"][0], size, size)
    drawn_map = None
    if map_ax is not None:
        if soft_map is None:
            map_ax.set_axis_off()
            map_ax.text(0.5, 0.5, f"{model.variant}:\nno soft map", ha="center", va="center")
        else:
            drawn_map = show_map(map_ax, soft_map, image.shape[-2:], "magma", 0.5, 1.0)
            map_ax.set_title("soft map (mean)", fontsize=10)
    x, y = split.positions[index].tolist()
    half = digit_size / 2
    for target in [ax] if drawn_map is None else [ax, map_ax]:
        if box is not None:
            draw_boxes(target, box[None], colors=["#ff7f0e"], labels=False)
        target.add_patch(
            Rectangle(
                (x - half - 0.5, y - half - 0.5),
                digit_size,
                digit_size,
                fill=False,
                ls="--",
                ec="w",
            )
        )
    return {
        "label": label,
        "prediction": prediction,
        "soft_map": soft_map,
        "box": box,
        "image": drawn_map,
    }

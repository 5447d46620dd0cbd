"""HA-CNN's architecture drawn with matplotlib boxes and arrows (no image files needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # matplotlib loads on the first drawing, not with the package
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# (label, x, y, colour): centres in axis units of a 16 x 7 canvas
_GLOBAL = [
    ("input\n3×160×64", 1.0, 4.6, "#dddddd"),
    ("stem\nConvBlock 3×3 s2\n32×80×32", 3.1, 4.6, "#c6dbef"),
    ("stage 1\nInceptionA+B\n128×40×16", 5.4, 4.6, "#9ecae1"),
    ("stage 2\nInceptionA+B\n256×20×8", 7.8, 4.6, "#9ecae1"),
    ("stage 3\nInceptionA+B\n384×10×4", 10.2, 4.6, "#9ecae1"),
    ("global\navg pool + FC\n512", 12.6, 4.6, "#fdd0a2"),
]
_LOCAL = [
    ("4 stripes\n32×24×28\n→ local conv 1", 5.4, 1.3, "#c7e9c0"),
    ("4 stripes\n128×12×14 + prev.\n→ local conv 2", 7.8, 1.3, "#c7e9c0"),
    ("4 stripes\n256×6×7 + prev.\n→ local conv 3", 10.2, 1.3, "#c7e9c0"),
    ("local\n4×384 → FC\n512", 12.6, 1.3, "#fdd0a2"),
]


def _box(ax: Axes, label: str, x: float, y: float, colour: str, width: float = 1.9) -> None:
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - 0.55),
            width,
            1.1,
            boxstyle="round,pad=0.05",
            fc=colour,
            ec="#333333",
        )
    )
    ax.text(x, y, label, ha="center", va="center", fontsize=7.5)


def _arrow(
    ax: Axes, start: tuple[float, float], end: tuple[float, float], style: str = "-"
) -> None:
    from matplotlib.patches import FancyArrowPatch

    ax.add_patch(
        FancyArrowPatch(
            start, end, arrowstyle="-|>", mutation_scale=10, lw=1.1, ls=style, color="#333333"
        )
    )


def draw_hacnn(ax: Axes | None = None) -> Figure:
    """Draw HA-CNN: global stream on top, harmonious attention per stage, local stream below."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    if ax is None:
        _, ax = plt.subplots(figsize=(12, 5.2))
    for label, x, y, colour in _GLOBAL:
        _box(ax, label, x, y, colour)
    for a, b in zip(_GLOBAL, _GLOBAL[1:], strict=False):
        _arrow(ax, (a[1] + 0.95, a[2]), (b[1] - 0.95, b[2]))
    for stage_x in (5.4, 7.8, 10.2):
        # Harmonious attention sits on each stage: soft map multiplies, theta crops stripes.
        ax.add_patch(
            FancyBboxPatch(
                (stage_x - 0.95, 5.35),
                1.9,
                0.8,
                boxstyle="round,pad=0.05",
                fc="#fcbba1",
                ec="#333333",
            )
        )
        ax.text(
            stage_x,
            5.75,
            "harmonious attn\nsoft map ×  |  theta",
            ha="center",
            va="center",
            fontsize=7,
        )
        _arrow(ax, (stage_x + 0.4, 4.05), (stage_x + 0.4, 1.85), style="--")
    ax.text(4.75, 3.0, "theta crops\nthe stage input", fontsize=7, ha="center", color="#555555")
    for label, x, y, colour in _LOCAL:
        _box(ax, label, x, y, colour)
    for a, b in zip(_LOCAL, _LOCAL[1:], strict=False):
        _arrow(ax, (a[1] + 0.95, a[2]), (b[1] - 0.95, b[2]))
    _box(ax, "feature 1024\n(eval: each half\nL2-normalised)", 14.95, 2.95, "#fdae6b")
    _arrow(ax, (13.55, 4.6), (14.55, 3.5))
    _arrow(ax, (13.55, 1.3), (14.55, 2.4))
    ax.text(0.2, 6.6, "global stream", fontsize=9, fontweight="bold")
    ax.text(
        0.2,
        2.2,
        "local stream\n(shared convs,\nrun once per stripe)",
        fontsize=9,
        fontweight="bold",
    )
    ax.set_xlim(0, 16.1)
    ax.set_ylim(0.3, 7)
    ax.set_axis_off()
    return ax.figure

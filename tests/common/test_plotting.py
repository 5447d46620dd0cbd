"""Maps over images and region boxes."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import torch

from tutorial_utils import draw_boxes, load_sample_image, overlay_map


def test_overlay_and_boxes_draw():
    fig, ax = plt.subplots()
    image = overlay_map(ax, load_sample_image("coffee"), torch.rand(5, 7), alpha=0.4)
    assert image.get_array().shape == (213, 320)
    draw_boxes(ax, torch.tensor([[0.0, 0.0, 10.0, 20.0], [5.0, 5.0, 30.0, 40.0]]))
    assert len(ax.patches) == 2
    plt.close(fig)


def test_boxes_take_the_stripe_palette_and_thick_lines_by_default():
    from matplotlib.colors import to_rgba

    from tutorial_utils import STRIPE_COLOURS

    fig, ax = plt.subplots()
    boxes = torch.tensor([[0.0, 0.0, 10.0, 20.0]] * 4)
    draw_boxes(ax, boxes)
    assert [p.get_edgecolor() for p in ax.patches] == [to_rgba(c) for c in STRIPE_COLOURS]
    assert all(p.get_linewidth() >= 3 for p in ax.patches)
    plt.close(fig)


def test_stripe_legend_names_every_stripe_in_its_colour():
    from tutorial_utils import STRIPE_COLOURS, stripe_legend

    fig, ax = plt.subplots()
    legend = stripe_legend(ax, num_stripes=3)
    assert [t.get_text() for t in legend.get_texts()] == ["stripe 0", "stripe 1", "stripe 2"]
    assert [h.get_color() for h in legend.legend_handles] == list(STRIPE_COLOURS[:3])
    plt.close(fig)


def test_stripe_legend_refuses_more_stripes_than_colours():
    import pytest

    from tutorial_utils import stripe_legend

    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="num_stripes=5; expected 1 to 4"):
        stripe_legend(ax, num_stripes=5)
    plt.close(fig)


def test_projector_style_sets_100_dpi():
    from tutorial_utils import projector_style

    with plt.rc_context():
        plt.rcParams["figure.dpi"] = 72
        projector_style()
        fig = plt.figure(figsize=(7, 3))
        assert fig.dpi >= 100 and fig.get_size_inches()[0] * fig.dpi >= 700
        plt.close(fig)


def test_map_beside_its_image_keeps_the_photo_out_and_the_cells_whole():
    from tutorial_utils import plot_map_grid

    images = torch.rand(2, 3, 16, 8)
    maps = torch.rand(2, 4, 2)
    fig = plot_map_grid(images, {"m": maps}, over_image=False, vmax=0.5, extend="max")
    map_axes = fig.axes[2:4]
    for ax, m in zip(map_axes, maps, strict=True):
        assert m.shape == (4, 2)
        (drawn,) = ax.get_images()  # the map only: no photo underneath
        assert drawn.get_array().shape == (4, 2)
        assert drawn.get_extent() == [-0.5, 7.5, 15.5, -0.5]  # the image's pixel coordinates
        assert drawn.get_clim() == (float(maps.min()), 0.5)
    assert fig.axes[-1].get_label() == "<colorbar>"
    plt.close(fig)

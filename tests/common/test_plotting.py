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

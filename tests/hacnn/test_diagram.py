import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from tutorial_utils import draw_hacnn


def test_draw_hacnn_draws_every_block():
    fig = draw_hacnn()
    ax = fig.axes[0]
    texts = " ".join(t.get_text() for t in ax.texts)
    for label in (
        "input",
        "stem",
        "stage 1",
        "stage 3",
        "harmonious attn",
        "4 stripes",
        "feature 1024",
    ):
        assert label in texts
    assert len(ax.patches) > 20  # boxes and arrows
    plt.close(fig)

"""What every explorer shares: entry points named and shaped alike, checks, one way to draw."""

import inspect
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

import tutorial_utils.explore as explore
from tutorial_utils.explore import STAGES, check_stage, prepare_figure, projector_figure

ENTRY_POINTS = [getattr(explore, name) for name in explore.__all__ if name.startswith("explore_")]


def test_one_entry_point_per_lesson():
    assert sorted(f.__name__ for f in ENTRY_POINTS) == [
        "explore_attention",  # 10
        "explore_channel_weights",  # 02
        "explore_convblock",  # 01
        "explore_region",  # 05
        "explore_soft_channel",  # 04
        "explore_spatial_map",  # 03
        "explore_stage",  # 06
    ]


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda f: f.__name__)
def test_entry_points_take_an_optional_figure_and_return_it(entry):
    fig = inspect.signature(entry).parameters["fig"]
    assert fig.default is None and fig.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    # The entry point, or a drawing helper of its own module that it calls, makes or reuses
    # the figure one way and hands the drawn figure back.
    module = inspect.getmodule(entry)
    called = set(re.findall(r"\b(_\w+)\(", inspect.getsource(entry)))
    sources = [inspect.getsource(entry)] + [
        inspect.getsource(getattr(module, name))
        for name in sorted(called)
        if inspect.isfunction(getattr(module, name, None))
    ]
    assert any("prepare_figure(fig," in source for source in sources)
    assert any('"figure": fig' in source for source in sources)


def test_check_stage():
    for stage in STAGES:
        check_stage(stage)
    for bad in (0, 4, True, 1.0, "1"):
        with pytest.raises(ValueError, match=f"stage must be one of \\(1, 2, 3\\).*got {bad!r}"):
            check_stage(bad)


def test_projector_figure_sets_the_size_and_raises_a_low_dpi_only():
    from matplotlib.figure import Figure

    low = projector_figure(Figure(figsize=(2, 2), dpi=72), (5, 4.6))
    assert tuple(low.get_size_inches()) == (5, 4.6) and low.get_dpi() == 150
    assert low.get_size_inches()[0] * low.get_dpi() >= 700  # legible when projected
    assert projector_figure(Figure(dpi=200), (5, 4.6)).get_dpi() == 200  # never lowered


def test_prepare_figure_reuses_and_clears_or_makes_a_pyplot_figure():
    fig = plt.figure()
    fig.add_subplot()
    assert prepare_figure(fig, (3, 2)) is fig and not fig.axes
    new = prepare_figure(None, (3, 2))
    assert plt.fignum_exists(new.number)  # so plt.show() displays it
    assert tuple(new.get_size_inches()) == (3, 2)
    plt.close("all")


def _rng_untouched(call) -> None:
    """``call()`` must leave the global CPU RNG exactly where it was."""
    import torch

    torch.manual_seed(123)
    expected = torch.rand(4)
    torch.manual_seed(123)
    call()
    assert torch.equal(torch.rand(4), expected), "the call moved the global RNG"


def test_seeded_draws_from_the_seed_and_restores_the_global_rng():
    import torch

    from tutorial_utils.common.seeding import seeded

    torch.manual_seed(7)
    reference = torch.rand(3)
    draws = []
    _rng_untouched(lambda: draws.append(_draw_inside(seeded, 7)))
    assert torch.equal(draws[0], reference)


def _draw_inside(seeded, seed: int):
    import torch

    with seeded(seed):
        return torch.rand(3)


@pytest.mark.parametrize(
    "name",
    ["seeded_hacnn", "soft_maps_for_photos", "explore_convblock", "channel_weights", "stages"],
)
def test_explorers_leave_the_global_rng_alone_and_stay_seeded(name):
    import torch

    from tutorial_utils import HACNN, ConvBlock, SoftAttention, hacnn_batch
    from tutorial_utils.common import normalize

    calls = {
        "seeded_hacnn": (
            lambda: explore.seeded_hacnn(seed=3).conv.conv.weight,
            lambda: HACNN(10).conv.conv.weight,
        ),
        "soft_maps_for_photos": (
            lambda: explore.soft_maps_for_photos(["astronaut"], seed=3)[1],
            lambda: _stem_then_soft(
                ConvBlock, SoftAttention, hacnn_batch(["astronaut"], (128, 128))[1]
            ),
        ),
        "explore_convblock": (
            lambda: explore.explore_convblock("chelsea", 3, 1, 1, seed=3)["maps"],
            lambda: ConvBlock(3, 3, 3, padding=1).eval()(
                normalize(explore.explorer_image("chelsea")[None])
            )[0],
        ),
        "channel_weights": (
            lambda: explore.channel_weights(torch.ones(2, 32, 3, 3), 16, seed=3, calibrate=False),
            lambda: _channel_attention(32, 16)(torch.ones(2, 32, 3, 3)).flatten(1),
        ),
        "stages": (
            lambda: explore.stage_features(("astronaut", "camera"), seed=3, calibrate=False)[0],
            lambda: _uncalibrated_stage1(("astronaut", "camera")),
        ),
    }
    ours, by_hand = calls[name]
    results = []
    _rng_untouched(lambda: results.append(ours()))
    torch.manual_seed(3)  # the values stay those of seeding the global RNG by hand
    with torch.no_grad():
        expected = by_hand()
    torch.testing.assert_close(results[0].detach(), expected.detach())
    plt.close("all")


def _channel_attention(channels: int, r: int):
    from tutorial_utils import ChannelAttention

    return ChannelAttention(channels, r).eval()


def _uncalibrated_stage1(names):
    import torch

    from tutorial_utils import HACNN, hacnn_batch

    model = HACNN(num_classes=10).eval()
    records = []
    with torch.no_grad():
        model.forward_features(hacnn_batch(list(names))[1], records)
    return records[0].features


def _stem_then_soft(conv_block, soft_attention, batch):
    stem = conv_block(3, 32, 3, stride=2, padding=1).eval()  # built first, as the explorer does
    return soft_attention(32).eval()(stem(batch))


def test_remembered_runs_once_per_model_weights_and_input():
    import torch

    from tutorial_utils.explore.base import remembered

    calls = []

    def double(model, x):
        calls.append(1)
        return model(x) * 2

    model = torch.nn.Linear(3, 2)
    x = torch.ones(4, 3)
    first = remembered(double, model, x)
    assert remembered(double, model, x.clone()) is first and len(calls) == 1  # same values
    remembered(double, model, x + 1)  # other input: runs again
    assert len(calls) == 2
    with torch.no_grad():
        model.weight.add_(1.0)  # the network changed in place: run again, new values
    changed = remembered(double, model, x)
    assert len(calls) == 3 and not torch.equal(changed, first)
    model.eval()  # another mode: run again
    remembered(double, model, x)
    assert len(calls) == 4

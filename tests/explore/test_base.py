"""What every explorer shares: entry points named and shaped alike, checks, one way to draw."""

import inspect
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

import tutorial_utils.explore as explore
from tutorial_utils.explore import STAGES, check_alpha, check_stage, prepare_figure

ENTRY_POINTS = [getattr(explore, name) for name in explore.__all__ if name.startswith("explore_")]


def test_one_entry_point_per_lesson():
    assert sorted(f.__name__ for f in ENTRY_POINTS) == [
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


def test_check_alpha():
    check_alpha(0)
    check_alpha(1.0)
    for bad in (-0.1, 1.5, True, "0.5"):
        with pytest.raises(ValueError, match="alpha must be an opacity"):
            check_alpha(bad)


def test_prepare_figure_reuses_and_clears_or_makes_a_pyplot_figure():
    fig = plt.figure()
    fig.add_subplot()
    assert prepare_figure(fig, (3, 2)) is fig and not fig.axes
    new = prepare_figure(None, (3, 2))
    assert plt.fignum_exists(new.number)  # so plt.show() displays it
    assert tuple(new.get_size_inches()) == (3, 2)
    plt.close("all")

"""The lesson-08 models, training loop, results and command line.

Quick runs only, never the full training.
"""

import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from tutorial_utils import count_parameters, data_file, region_theta
from tutorial_utils.digits import (
    CONTROLS,
    VARIANTS,
    DigitNet,
    PooledLocaliser,
    RunResult,
    SoftArgmaxLocaliser,
    TrainConfig,
    build_variant,
    draw_attention,
    format_results,
    glimpse_statistics,
    load_model,
    make_cluttered_digits,
    run_variant,
    save_checkpoint,
    train_variant,
    trained_seeds,
)
from tutorial_utils.digits.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Small convolutions run no faster on more threads, and much slower on a busy machine.
    # The command line also switches deterministic kernels on; restore both for other tests.
    before = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before[0])
    torch.use_deterministic_algorithms(before[1])


@pytest.fixture(scope="module")
def tiny_data():
    return make_cluttered_digits(num_train=96, num_test=48, seed=1)


@pytest.mark.parametrize("name", VARIANTS)
def test_every_variant_maps_canvases_to_logits(name):
    model = build_variant(name)
    logits = model(torch.rand(3, 1, 64, 64))
    assert logits.shape == (3, 10)
    assert model.variant == name
    assert ("soft_map" in model.last) == (name in ("soft", "harmonious"))
    assert ("theta" in model.last) == (name in ("hard", "harmonious"))


def test_attention_records_have_documented_shapes():
    model = build_variant("harmonious")
    model(torch.rand(2, 1, 64, 64))
    assert model.last["soft_map"].shape == (2, 24, 8, 8)
    assert model.last["theta"].shape == (2, 2, 3)
    assert model.last["glimpse"].shape == (2, 1, 16, 16)


def test_matched_baseline_has_about_the_parameters_of_harmonious():
    harmonious = count_parameters(build_variant("harmonious"))
    baseline = count_parameters(build_variant("global"))
    narrow = count_parameters(build_variant("global", matched_baseline=False))
    assert abs(baseline - harmonious) / harmonious < 0.05
    assert narrow < baseline / 1.5


def test_localiser_starts_centred_and_follows_a_peak():
    loc = SoftArgmaxLocaliser(4)
    torch.testing.assert_close(loc(torch.rand(2, 4, 8, 8)), torch.zeros(2, 2))
    # A huge score in cell (row 1, col 6) of an 8x8 map moves the window to that cell's centre.
    with torch.no_grad():
        loc.score.weight.zero_()
        loc.score.weight[0, 0, 1, 1] = 1000.0
    x = torch.zeros(1, 4, 8, 8)
    x[0, 0, 1, 6] = 1.0
    expected = torch.tensor([[(2 * 6 + 1) / 8 - 1, (2 * 1 + 1) / 8 - 1]])
    torch.testing.assert_close(loc(x), expected)
    assert loc.last_map.shape == (1, 8, 8)


def test_glimpse_statistics_of_perfect_and_fixed_windows():
    positions = torch.tensor([[12.0, 20.0], [40.0, 30.0], [30.0, 50.0]])
    translation = positions / 32 - 1  # pixel centre -> normalised centre on a 64 canvas
    theta = region_theta(translation, torch.eye(2) * 0.5)
    stats = glimpse_statistics(theta, positions, 64)
    assert stats["corr_x"] == pytest.approx(1.0) and stats["corr_y"] == pytest.approx(1.0)
    assert stats["distance"] == pytest.approx(0.0, abs=1e-4)
    assert stats["mean_x"] == pytest.approx(positions[:, 0].mean().item(), abs=1e-4)
    fixed = region_theta(torch.zeros(3, 2), torch.eye(2) * 0.5)
    stats = glimpse_statistics(fixed, positions, 64)
    assert stats["std_x"] == 0 and stats["corr_x"] == 0.0
    assert stats["mean_x"] == pytest.approx(32.0)


def test_training_is_reproducible_and_learns(tiny_data):
    config = TrainConfig(epochs=2, batch_size=32, seed=5)
    torch.manual_seed(0)
    _, first = run_variant("harmonious", tiny_data, config, progress=False)
    _, second = run_variant("harmonious", tiny_data, config, progress=False)
    assert first.history == second.history
    assert first.test_accuracy == second.test_accuracy
    assert set(first.history) >= {"train_loss", "test_accuracy", "corr_x", "distance"}
    assert first.history["train_loss"][-1] < first.history["train_loss"][0]
    assert set(first.glimpse) >= {"mean_x", "std_y", "corr_y"}


def test_run_variant_leaves_the_callers_random_stream_alone(tiny_data):
    """The weights come from config.seed, and the caller's generator is where it was."""
    config = TrainConfig(epochs=1, batch_size=48, seed=4)
    torch.manual_seed(99)
    torch.rand(2)
    before = torch.random.get_rng_state()
    model, _ = run_variant("hard", tiny_data, config, progress=False)
    assert torch.equal(torch.random.get_rng_state(), before)
    torch.manual_seed(4)  # the same numbers as seeding the global generator with config.seed
    again = build_variant("hard")
    train_variant(again, tiny_data, config, progress=False)
    expected = again.state_dict()
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, expected[name], rtol=0, atol=0, msg=name)


def test_checkpoint_round_trip(tmp_path, tiny_data):
    config = TrainConfig(epochs=1, batch_size=48)
    model, result = run_variant("hard", tiny_data, config, progress=False)
    path = tmp_path / "digits.pt"
    torch.manual_seed(1)
    other = build_variant("pooled_hard")
    save_checkpoint({0: ({"hard": model}, [result]), 3: ({"pooled_hard": other}, [])}, path)
    assert trained_seeds(path) == [0, 3]
    models, histories = load_model(path)
    assert histories["hard"] == result.history
    model.eval()
    x = tiny_data.test.images[:5]
    torch.testing.assert_close(models["hard"](x), model(x))
    with pytest.raises(KeyError, match="no run with seed 1; it holds seed0, seed3"):
        load_model(path, seed=1)


def test_pooled_localiser_ignores_where_the_content_is():
    torch.manual_seed(0)
    localiser = PooledLocaliser(4)
    torch.testing.assert_close(localiser(torch.rand(2, 4, 6, 6)), torch.zeros(2, 2))
    with torch.no_grad():
        localiser.fc.weight.normal_()
    features = torch.rand(1, 4, 6, 6)
    moved = torch.roll(features, shifts=(2, -3), dims=(2, 3))
    torch.testing.assert_close(localiser(moved), localiser(features))


def test_controls_are_the_narrow_global_network_and_the_pooled_head():
    narrow = build_variant("narrow_global")
    assert count_parameters(narrow) == count_parameters(build_variant("global", False))
    pooled = build_variant("pooled_hard")
    assert isinstance(pooled.localiser, PooledLocaliser)
    assert isinstance(build_variant("hard").localiser, SoftArgmaxLocaliser)
    with pytest.raises(ValueError, match="unknown localiser 'argmax'"):
        DigitNet(hard=True, localiser="argmax")


def test_format_results_order_and_columns():
    rows = [RunResult(n, 50.0 + i, 1000 * (i + 1), 1.5) for i, n in enumerate(VARIANTS)]
    lines = format_results(rows).splitlines()
    assert lines[0].split() == ["variant", "test", "acc", "(%)", "params", "train", "s"]
    assert [line.split()[0] for line in lines[2:]] == list(VARIANTS)
    assert lines[2].split()[1:] == ["50.00", "1,000", "1.5"]
    assert len(format_results(rows, seconds=False).splitlines()[2].split()) == 3


def test_draw_attention_returns_what_it_drew(tiny_data):
    fig, (ax, map_ax) = plt.subplots(1, 2)
    drawn = draw_attention(ax, build_variant("harmonious"), tiny_data.test, 3, map_ax=map_ax)
    assert drawn["label"] == tiny_data.test.labels[3].item()
    assert drawn["soft_map"].shape == (8, 8)
    assert drawn["image"] is map_ax.images[0]
    assert drawn["image"].get_clim() == (0.5, 1.0)  # one fixed scale for every canvas
    assert drawn["image"].get_cmap().name == "magma"
    torch.testing.assert_close(drawn["box"], torch.tensor([16.0, 16.0, 48.0, 48.0]))
    assert len(ax.patches) == 2 and len(map_ax.patches) == 2  # glimpse and true digit on both
    plt.close(fig)
    fig, ax = plt.subplots()
    drawn = draw_attention(ax, build_variant("global"), tiny_data.test, 0)
    assert drawn["box"] is None and drawn["soft_map"] is None and drawn["image"] is None
    with pytest.raises(ValueError, match="index"):
        draw_attention(ax, build_variant("global"), tiny_data.test, 48)
    plt.close(fig)


def test_draw_attention_never_blends_the_map_into_the_canvas(tiny_data):
    fig, (ax, map_ax) = plt.subplots(1, 2)
    drawn = draw_attention(ax, build_variant("soft"), tiny_data.test, 1, map_ax=map_ax)
    # the canvas panel holds the canvas alone, opaque and grey; the map has a panel of its own
    assert len(ax.images) == 1 and ax.images[0].get_alpha() in (None, 1.0)
    assert ax.images[0].get_cmap().name == "gray"
    assert list(map_ax.images) == [drawn["image"]] and drawn["image"].get_alpha() in (None, 1.0)
    # each map cell a flat block laid over the canvas's pixel coordinates, so boxes line up
    assert drawn["image"].get_extent() == [-0.5, 63.5, 63.5, -0.5]
    plt.close(fig)
    fig, ax = plt.subplots()
    drawn = draw_attention(ax, build_variant("soft"), tiny_data.test, 1)
    assert len(ax.images) == 1 and drawn["image"] is None  # no map_ax: no map anywhere
    plt.close(fig)


def test_draw_attention_says_when_a_model_has_no_soft_map(tiny_data):
    fig, (ax, map_ax) = plt.subplots(1, 2)
    drawn = draw_attention(ax, build_variant("hard"), tiny_data.test, 2, map_ax=map_ax)
    assert drawn["image"] is None and not map_ax.images
    assert [t.get_text() for t in map_ax.texts] == ["hard:\nno soft map"]
    plt.close(fig)


def test_cli_quick_prints_the_table_last_and_repeats(capsys):
    argv = ["--quick", "--no-progress", "--variants", "global", "hard"]
    assert main(argv) == 0
    first = capsys.readouterr().out.strip().splitlines()
    assert first[-4].split()[:3] == ["variant", "test", "acc"]
    assert [line.split()[0] for line in first[-2:]] == ["global", "hard"]
    assert any(line.startswith("hard: glimpse centre") for line in first)
    assert main(argv) == 0
    second = capsys.readouterr().out.strip().splitlines()
    # Same seed, same accuracies and parameter counts; only the seconds column may differ.
    assert [line.split()[:3] for line in first[-2:]] == [line.split()[:3] for line in second[-2:]]


def test_cli_takes_an_old_variant_name_and_says_its_new_one(capsys):
    assert main(["--quick", "--no-progress", "--variants", "baseline"]) == 0
    captured = capsys.readouterr()
    assert "variant 'baseline' is now 'global'" in captured.err
    assert captured.out.strip().splitlines()[-1].split()[0] == "global"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epochs", "0"], "--epochs must be a positive integer, got 0"),
        (["--threads", "0"], "--threads must be a positive integer, got 0"),
        (["--data-seed", "-1"], "--data-seed must be a non-negative integer, got -1"),
    ],
)
def test_cli_reports_a_mistake_in_one_line_with_status_2(argv, message, capsys):
    assert main(["--quick", *argv]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"python -m tutorial_utils.digits: error: {message}"]


def test_cli_refuses_a_folder_as_the_save_path(tmp_path, capsys):
    assert main(["--quick", "--save", str(tmp_path)]) == 2
    assert "--save must name a file" in capsys.readouterr().err


def test_python_dash_m_runs_the_command_line():
    done = subprocess.run(
        [sys.executable, "-m", "tutorial_utils.digits", "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert done.stdout.startswith("usage: python -m tutorial_utils.digits")


def test_bad_model_arguments_are_named():
    with pytest.raises(ValueError, match="unknown variant 'both'"):
        build_variant("both")
    with pytest.raises(ValueError, match="glimpse_scale"):
        DigitNet(hard=True, glimpse_scale=1.5)
    with pytest.raises(ValueError, match="widths"):
        DigitNet(widths=(8, 16))
    with pytest.raises(ValueError, match="1 channels"):
        build_variant("global")(torch.rand(1, 3, 64, 64))


def test_stored_checkpoint_fits_the_four_variants():
    """The lesson-08 checkpoint in the data folder loads strictly and has its learning curves."""
    path = data_file("cluttered_digits_attention.pt")
    assert path.stat().st_size < 1_800_000, "keep the lesson checkpoint small"
    assert trained_seeds(path) == [0, 1]
    models, histories = load_model(path, seed=1)
    assert list(models) == list(VARIANTS + CONTROLS)
    assert isinstance(models["pooled_hard"].localiser, PooledLocaliser)
    for name, model in models.items():
        assert model.variant == name or name in CONTROLS
        assert len(histories[name]["test_accuracy"]) == 10
        assert model(torch.rand(2, 1, 64, 64)).shape == (2, 10)
    assert "distance" in histories["hard"] and "distance" not in histories["global"]


@pytest.mark.parametrize(
    ("old", "new"), [("baseline", "global"), ("narrow_baseline", "narrow_global")]
)
def test_old_variant_names_warn_and_build_the_renamed_network(old: str, new: str):
    with pytest.warns(DeprecationWarning, match=rf"'{old}'.*'{new}'"):
        model = build_variant(old)
    assert count_parameters(model) == count_parameters(build_variant(new))
    assert model.variant == "global"


def test_an_old_variant_name_runs_under_its_new_name(tiny_data):
    config = TrainConfig(epochs=1, batch_size=48)
    with pytest.warns(DeprecationWarning, match="'baseline'"):
        _, result = run_variant("baseline", tiny_data, config, progress=False)
    assert result.name == "global"


def test_the_stored_checkpoint_is_read_in_the_new_vocabulary():
    """The shipped file keeps its "baseline" keys; they load, silently, as "global"."""
    path = data_file("cluttered_digits_attention.pt")
    assert "baseline" in torch.load(path, map_location="cpu", weights_only=True)["seed0"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        models, _ = load_model(path)
    assert "global" in models and "baseline" not in models


@pytest.mark.parametrize("module", ["tutorial_utils.digits", "tutorial_utils.digits.weights"])
def test_load_trained_is_load_models_old_name(module: str):
    room = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=rf"{module}\.load_trained.*load_model"):
        old = room.load_trained
    assert old is load_model

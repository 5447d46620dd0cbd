import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from tutorial_utils import (
    HACNN,
    check_exercise,
    describe_device,
    draw_boxes,
    format_trace,
    hacnn_batch,
    load_sample_image,
    overlay_map,
    pick_device,
    print_shapes,
    sample_image_names,
    time_call,
    trace_shapes,
)
from tutorial_utils.common.images import crop_to_aspect, normalize


def test_trace_shapes_lists_every_stage_of_hacnn():
    rows = trace_shapes(HACNN(5).eval(), torch.randn(1, 3, 160, 64))
    by_name = {r.name: r for r in rows}
    assert by_name["conv"].shape == "(1, 32, 80, 32)"
    assert by_name["ha3"].shape == "(1, 384, 10, 4), (1, 4, 2)"
    assert by_name["local_conv2"].calls == 4
    assert by_name["(output)"].shape == "(1, 1024)"
    assert by_name["inception1"].params == sum(p.numel() for p in HACNN(5).inception1.parameters())


def test_trace_depth_and_table(capsys):
    model = nn.Sequential(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), nn.Flatten())
    rows = trace_shapes(model, torch.randn(2, 1, 5, 5), depth=2)
    assert [r.name for r in rows] == ["0", "0.0", "0.1", "1", "(output)"]
    assert rows[1].params == 20
    table = format_trace(rows)
    assert table.splitlines()[0].split() == ["module", "type", "output", "shape", "params", "calls"]
    print_shapes(model, torch.randn(2, 1, 5, 5))
    assert "(2, 18)" in capsys.readouterr().out


def test_pick_device():
    device = pick_device()
    assert device.type in {"cpu", "cuda", "mps"}
    assert pick_device("cpu").type == "cpu"
    assert describe_device(torch.device("cpu")).startswith("cpu: ")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device("cuda")


def test_time_call_measures_something():
    timing = time_call(
        torch.mm, torch.randn(64, 64), torch.randn(64, 64), label="mm", min_run_time=0.05
    )
    assert timing.median_ms > 0 and timing.runs >= 1 and "mm:" in str(timing)


def test_sample_images():
    names = sample_image_names()
    assert {"astronaut", "camera", "chelsea", "coffee", "grace_hopper"} <= set(names)
    image = load_sample_image("astronaut")
    assert image.shape == (3, 320, 320) and image.dtype == torch.float32
    assert image.min() >= 0 and image.max() <= 1
    with pytest.raises(ValueError, match="no sample image 'nope'"):
        load_sample_image("nope")


def test_crop_to_aspect_and_hacnn_batch():
    assert crop_to_aspect(torch.zeros(3, 320, 320), (160, 64)).shape == (3, 320, 128)
    assert crop_to_aspect(torch.zeros(3, 100, 400), (160, 64)).shape == (3, 100, 40)
    pictures, batch = hacnn_batch(["camera", "coffee"])
    assert pictures.shape == batch.shape == (2, 3, 160, 64)
    torch.testing.assert_close(normalize(pictures), batch)


def test_overlay_and_boxes_draw():
    fig, ax = plt.subplots()
    image = overlay_map(ax, load_sample_image("coffee"), torch.rand(5, 7), alpha=0.4)
    assert image.get_array().shape == (213, 320)
    draw_boxes(ax, torch.tensor([[0.0, 0.0, 10.0, 20.0], [5.0, 5.0, 30.0, 40.0]]))
    assert len(ax.patches) == 2
    plt.close(fig)


def test_check_exercise_verdicts(capsys):
    def unsolved():
        raise NotImplementedError

    def wrong():
        torch.testing.assert_close(torch.tensor(1.0), torch.tensor(2.0))

    for name, test in (
        ("E1", unsolved),
        ("E2", wrong),
        ("E3", lambda: 1 / 0),
        ("E4", lambda: None),
    ):
        assert check_exercise(name, test) is None
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("E1: not solved yet")
    assert out[1].startswith("E2: not right yet:")
    assert out[2] == "E3: your code raised ZeroDivisionError: division by zero"
    assert out[3] == "E4: solved"

"""The standardisation HA-CNN expects is part of the API: data sets offer it, models say it."""

from __future__ import annotations

import pytest
import torch

from tutorial_utils.common.images import IMAGENET_MEAN, normalize
from tutorial_utils.reid import SyntheticPedestrians
from tutorial_utils.reid.checkpoints import load_model, save_checkpoint
from tutorial_utils.reid.data_options import check_data_options, valid_data_options
from tutorial_utils.reid.variants import build_model

SMALL = {"num_train_ids": 4, "num_test_ids": 3, "images_per_id": 4}


def test_a_normalized_data_set_gives_what_the_model_expects() -> None:
    raw = SyntheticPedestrians("query", **SMALL)
    standard = SyntheticPedestrians("query", **SMALL, normalize=True)
    torch.testing.assert_close(standard[0]["img"], normalize(raw[0]["img"][None])[0])
    torch.testing.assert_close(standard[0]["img"][None], normalize(raw[0]["img"][None]))
    stacked = standard.tensors(float_images=True)["img"]
    torch.testing.assert_close(stacked[0], standard[0]["img"])
    assert raw[0]["img"].min() >= 0 and standard[0]["img"].min() < 0
    with pytest.raises(TypeError, match="normalize must be True or False, got 'yes'"):
        SyntheticPedestrians("query", **SMALL, normalize="yes")


def test_load_model_says_what_input_it_expects(tmp_path) -> None:
    model = build_model(4, (16, 16, 16), 16, "harmonious")
    path = save_checkpoint(
        tmp_path / "m.pt", model, num_classes=4, nchannels=(16, 16, 16), feat_dim=16,
        variant="harmonious", epoch=1,
    )  # fmt: skip
    note = load_model(path).input_note
    assert "ImageNet" in note and str(IMAGENET_MEAN) in note and "normalize=True" in note


def test_data_option_keys_are_the_data_sets_own() -> None:
    assert "difficulty" in valid_data_options("synthetic")
    assert "normalize" not in valid_data_options("synthetic")  # the cache holds [0, 1] images
    assert valid_data_options("market1501") == ("height", "width")
    check_data_options("synthetic", {"difficulty": "medium"})
    with pytest.raises(ValueError, match="unknown data options 'bogus', 'nope' for dataset"):
        check_data_options("synthetic", {"bogus": 1, "nope": 2})

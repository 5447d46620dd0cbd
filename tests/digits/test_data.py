"""The cluttered-digits data: deterministic, disjoint splits, right shapes, digits where stated."""

import pytest
import torch

from tutorial_utils.digits import load_upscaled_digits, make_cluttered_digits, split_sources

SMALL = {"num_train": 120, "num_test": 60, "seed": 3}


@pytest.fixture(scope="module")
def data():
    return make_cluttered_digits(**SMALL)


def test_same_seed_same_tensors(data):
    again = make_cluttered_digits(**SMALL)
    for a, b in ((data.train, again.train), (data.test, again.test)):
        torch.testing.assert_close(a.images, b.images, rtol=0, atol=0)
        assert torch.equal(a.labels, b.labels)
        assert torch.equal(a.positions, b.positions)
        assert torch.equal(a.sources, b.sources)


def test_other_seed_other_tensors(data):
    other = make_cluttered_digits(**{**SMALL, "seed": 4})
    assert not torch.equal(data.train.images, other.train.images)


def test_shapes_and_dtypes(data):
    s = data.canvas_size
    assert data.train.images.shape == (SMALL["num_train"], 1, s, s)
    assert data.test.images.shape == (SMALL["num_test"], 1, s, s)
    assert data.train.images.dtype == torch.float32
    assert data.train.labels.shape == (SMALL["num_train"],)
    assert data.train.labels.dtype == torch.int64
    assert data.train.positions.shape == (SMALL["num_train"], 2)
    assert len(data.train) == SMALL["num_train"]


def test_value_range_and_labels(data):
    for split in (data.train, data.test):
        assert split.images.min() >= 0 and split.images.max() <= 1
        assert split.images.amax(dim=(1, 2, 3)).min() > 0.5  # every canvas has ink
        assert split.labels.min() >= 0 and split.labels.max() <= 9


def test_pools_and_splits_are_disjoint(data):
    train_pool, test_pool = set(data.train_pool.tolist()), set(data.test_pool.tolist())
    assert not train_pool & test_pool
    assert len(train_pool) + len(test_pool) == 1797
    assert set(data.train.sources.tolist()) <= train_pool
    assert set(data.test.sources.tolist()) <= test_pool


def test_split_sources_fraction_and_seed():
    train, test = split_sources(100, 0.3, seed=1)
    assert len(test) == 30 and len(train) == 70
    assert not set(train.tolist()) & set(test.tolist())
    again = split_sources(100, 0.3, seed=1)
    assert (again[0] == train).all()


def test_positions_point_at_the_digit(data):
    """The stated window holds the digit: the canvas there is at least the upscaled digit."""
    digits, labels = load_upscaled_digits(data.digit_size)
    d = data.digit_size
    for split in (data.train, data.test):
        assert torch.equal(split.labels, labels[split.sources])
        corners = (split.positions - d / 2).long()  # (x, y) of the top-left pixel
        assert corners.min() >= 0 and (corners + d).max() <= data.canvas_size
        for i in range(len(split)):
            x, y = corners[i].tolist()
            window = split.images[i, 0, y : y + d, x : x + d]
            assert (window >= digits[split.sources[i]] - 1e-6).all()


def test_digit_is_inside_and_positions_vary(data):
    half = data.digit_size / 2
    pos = data.train.positions
    assert pos.min() >= half and pos.max() <= data.canvas_size - half
    assert pos.std(dim=0).min() > 5  # digits really move around


@pytest.mark.parametrize(
    ("kwargs", "error", "needle"),
    [
        ({"num_train": 0}, ValueError, "num_train"),
        ({"digit_size": 80}, ValueError, "digit_size=80"),
        ({"num_fragments": (5, 2)}, ValueError, "num_fragments"),
        ({"fragment_size": (4, 40)}, ValueError, "fragment_size"),
        ({"num_fragments": (True, 2)}, ValueError, "num_fragments"),
        ({"num_fragments": (1, 2, 3)}, ValueError, "num_fragments"),
        ({"test_fraction": 1.5}, ValueError, "test_fraction"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, needle):
    with pytest.raises(error, match=needle):
        make_cluttered_digits(**{"num_train": 4, "num_test": 4, **kwargs})

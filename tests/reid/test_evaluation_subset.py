"""The fixed evaluation subset: which images, and that they do not depend on the training ids."""

from __future__ import annotations

import pytest
import torch

from tests.reid.tiny_data import TinyPedestrians
from tutorial_utils.reid.cached import cache_split, load_split
from tutorial_utils.reid.evaluation_subset import evaluation_subset


def test_query_images_do_not_depend_on_the_number_of_training_ids():
    small = dict(num_test_ids=4, images_per_id=4, difficulty="medium")
    a = load_split("synthetic", "query", seed=0, options={**small, "num_train_ids": 3})
    b = load_split("synthetic", "query", seed=0, options={**small, "num_train_ids": 9})
    assert torch.equal(a.images, b.images) and torch.equal(a.masks, b.masks)
    assert torch.equal(a.offsets, b.offsets)
    sub = evaluation_subset(a, size=5)
    assert torch.equal(sub.images, a.images[:5]) and torch.equal(sub.parts, a.parts[:5])


def test_subset_of_a_loaded_split_is_its_first_images():
    split = cache_split(TinyPedestrians("gallery"))
    sub = evaluation_subset(split, size=7)
    assert len(sub) == 7 and torch.equal(sub.pids, split.pids[:7])
    assert len(evaluation_subset(split, size=10_000)) == len(split)


def test_default_subset_is_the_medium_query_split():
    sub = evaluation_subset()
    query = load_split("synthetic", "query", seed=0, options={"difficulty": "medium"})
    assert len(sub) == 256 and torch.equal(sub.images, query.images[:256])


@pytest.mark.parametrize("size", [1, 0, 2.0])
def test_subset_refuses_a_bad_size(size):
    with pytest.raises(ValueError, match="size must be an int >= 2"):
        evaluation_subset(cache_split(TinyPedestrians("query")), size=size)


def test_subset_refuses_data_without_ground_truth():
    split = cache_split(TinyPedestrians("query"))
    split.masks = None
    with pytest.raises(ValueError, match="needs ground truth"):
        evaluation_subset(split)


def test_subset_of_a_data_set_reads_only_its_first_images():
    data = TinyPedestrians("gallery")
    sub = evaluation_subset(data, size=5)
    assert len(sub) == 5 and torch.equal(sub.pids, cache_split(data).pids[:5])
    assert torch.equal(sub.masks, cache_split(data).masks[:5])


def test_options_only_go_with_a_split_drawn_here():
    with pytest.raises(ValueError, match="options only apply when data is None"):
        evaluation_subset(cache_split(TinyPedestrians("query")), options={"distractors": 1.0})
    with pytest.raises(TypeError, match="must be a CachedSplit"):
        evaluation_subset([1, 2, 3])

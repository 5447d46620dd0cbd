"""Device choice and description."""

import pytest
import torch

from tutorial_utils import describe_device, pick_device


def test_pick_device():
    device = pick_device()
    assert device.type in {"cpu", "cuda", "mps"}
    assert pick_device("cpu").type == "cpu"
    assert describe_device(torch.device("cpu")).startswith("cpu: ")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device("cuda")

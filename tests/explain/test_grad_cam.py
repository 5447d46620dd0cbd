"""Grad-CAM on a tiny network whose map can be worked out by hand, and its clear errors."""

import pytest
import torch
from torch import nn

from tutorial_utils import HACNN
from tutorial_utils.explain import classifier_mode, grad_cam


class Tiny(nn.Module):
    """1x1 conv (no bias) with weights (1, 2) -> channels (x, 2x); global mean; a fixed linear."""

    def __init__(self, heads: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 1, bias=False)
        self.fc = nn.Linear(2, 2, bias=False)
        self.heads = heads
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([1.0, 2.0]).view(2, 1, 1, 1))
            self.fc.weight.copy_(torch.tensor([[1.0, 0.0], [0.5, -1.0]]))

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        logits = self.fc(self.conv(x).mean(dim=(2, 3)))
        return logits if self.heads == 1 else (logits, 3 * logits)


X = torch.tensor([[[[1.0, -2.0], [3.0, -4.0]]]])  # (1, 1, 2, 2)


def test_by_hand_class_0() -> None:
    # dy0/dA = fc[0] / 4 = (1/4, 0): map = relu(x / 4)
    model = Tiny()
    cam = grad_cam(model, X, model.conv, 0)
    torch.testing.assert_close(cam, torch.tensor([[[0.25, 0.0], [0.75, 0.0]]]))


def test_by_hand_class_1_keeps_only_the_positive_part() -> None:
    # weights (0.5 / 4, -1 / 4): 0.125 x - 0.25 * 2x = -0.375 x, then relu
    model = Tiny()
    cam = grad_cam(model, X, model.conv, torch.tensor([1]))
    torch.testing.assert_close(cam, torch.tensor([[[0.0, 0.75], [0.0, 1.5]]]))


def test_each_image_gets_its_own_class() -> None:
    model = Tiny()
    both = grad_cam(model, torch.cat([X, X]), model.conv, torch.tensor([0, 1]))
    torch.testing.assert_close(both[0], grad_cam(model, X, model.conv, 0)[0])
    torch.testing.assert_close(both[1], grad_cam(model, X, model.conv, 1)[0])


def test_head_picks_the_output() -> None:
    model = Tiny(heads=2)
    first = grad_cam(model, X, model.conv, 0, head=0)
    second = grad_cam(model, X, model.conv, 0, head=1)
    torch.testing.assert_close(second, 3 * first)


def test_works_under_no_grad_and_leaves_no_gradient() -> None:
    model = Tiny()
    with torch.no_grad():
        cam = grad_cam(model, X, model.conv, 0)
    assert cam.shape == (1, 2, 2) and not cam.requires_grad
    assert model.conv.weight.grad is None


@pytest.mark.parametrize(
    ("target", "error", "words"),
    [
        (2, ValueError, r"target must lie in \[0, 1\].*got \[2\]"),
        (-1, ValueError, r"target must lie in \[0, 1\]"),
        (torch.tensor([0, 1]), ValueError, r"shape \(1,\)"),
        (torch.tensor([0.0]), TypeError, "integer class indices"),
        (True, TypeError, "class indices"),
    ],
)
def test_bad_target_raises(target: object, error: type, words: str) -> None:
    model = Tiny()
    with pytest.raises(error, match=words):
        grad_cam(model, X, model.conv, target)


def test_layer_must_belong_to_the_model() -> None:
    with pytest.raises(ValueError, match="not a submodule"):
        grad_cam(Tiny(), X, nn.Conv2d(1, 2, 1), 0)


def test_bad_head_raises() -> None:
    model = Tiny(heads=2)
    with pytest.raises(ValueError, match=r"head must be an index in \[0, 1\]"):
        grad_cam(model, X, model.conv, 0, head=2)


@pytest.fixture(scope="module")
def small_hacnn() -> HACNN:
    torch.manual_seed(0)
    return HACNN(num_classes=5, nchannels=(16, 32, 48), feat_dim=8)


def test_batchnorm_in_train_mode_raises(small_hacnn: HACNN) -> None:
    small_hacnn.train()
    with pytest.raises(ValueError, match=r"BatchNorm layer 'conv.bn' is in train mode"):
        grad_cam(small_hacnn, torch.rand(2, 3, 160, 64), small_hacnn.inception3, 0)


def test_eval_mode_hacnn_gives_features_not_logits(small_hacnn: HACNN) -> None:
    small_hacnn.eval()
    with pytest.raises(ValueError, match="returns features, not logits"):
        grad_cam(small_hacnn, torch.rand(2, 3, 160, 64), small_hacnn.inception3, 0)


def test_shared_layer_raises(small_hacnn: HACNN) -> None:
    with classifier_mode(small_hacnn), pytest.raises(ValueError, match="ran 4 times"):
        grad_cam(small_hacnn, torch.rand(2, 3, 160, 64), small_hacnn.local_conv1, 0)


def test_hacnn_maps_and_modes_restored(small_hacnn: HACNN) -> None:
    small_hacnn.eval()
    images = torch.rand(3, 3, 160, 64)
    with classifier_mode(small_hacnn):
        assert small_hacnn.training and not small_hacnn.conv.bn.training
        cam = grad_cam(small_hacnn, images, small_hacnn.inception2, torch.tensor([0, 1, 4]))
        alone = grad_cam(small_hacnn, images[1:2], small_hacnn.inception2, 1)
    assert not small_hacnn.training and not small_hacnn.conv.bn.training
    assert cam.shape == (3, 20, 8) and (cam >= 0).all()
    # frozen BatchNorm: an image's map does not depend on the rest of the batch
    torch.testing.assert_close(cam[1:2], alone)

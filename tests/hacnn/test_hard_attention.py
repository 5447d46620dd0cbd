"""Hard attention: the translations, the affine matrices and the crops they make."""

import torch

from tutorial_utils import HardAttention, crop_region, region_theta, theta_to_boxes
from tutorial_utils.hacnn import default_stripe_centres


def test_hard_attention_init_matches_torchreid_bias():
    module = HardAttention(8)
    assert module.fc.weight.abs().sum() == 0
    torch.testing.assert_close(module.fc.bias, torch.tensor([0, -0.75, 0, -0.25, 0, 0.25, 0, 0.75]))
    theta = module(torch.randn(3, 8, 5, 5))
    assert theta.shape == (3, 4, 2)
    torch.testing.assert_close(theta[0, :, 1], torch.tanh(torch.tensor([-0.75, -0.25, 0.25, 0.75])))


def test_default_stripe_centres_tile_the_height():
    torch.testing.assert_close(default_stripe_centres(2), torch.tensor([-0.5, 0.5]))
    assert default_stripe_centres(1).tolist() == [0.0]


def test_gradients_reach_hard_attention_through_grid_sample():
    module = HardAttention(6, num_regions=2)
    torch.nn.init.normal_(module.fc.weight, std=0.1)
    features = torch.randn(2, 6, 9, 7)
    image = torch.randn(2, 3, 16, 8)
    theta = module(features)
    scale = torch.tensor([[1.0, 0.0], [0.0, 0.5]])
    crops = [crop_region(image, region_theta(theta[:, r], scale), (4, 8)) for r in range(2)]
    (torch.stack(crops) * torch.randn(2, 2, 3, 4, 8)).sum().backward()
    assert module.fc.weight.grad is not None and module.fc.weight.grad.abs().sum() > 0
    assert module.fc.bias.grad.abs().sum() > 0


def test_crop_region_identity_theta_returns_input():
    x = torch.randn(1, 2, 8, 6)
    theta = region_theta(torch.zeros(1, 2), torch.eye(2))
    torch.testing.assert_close(crop_region(x, theta, (8, 6)), x, atol=1e-5, rtol=1e-5)


def test_region_theta_follows_translation_dtype():
    translation = torch.zeros(3, 2, dtype=torch.float64, requires_grad=True)
    theta = region_theta(translation, torch.tensor([[1.0, 0.0], [0.0, 0.25]]))
    assert theta.dtype == torch.float64 and theta.shape == (3, 2, 3) and theta.requires_grad


def test_theta_to_boxes_full_image_and_stripe():
    full = region_theta(torch.zeros(1, 2), torch.eye(2))
    assert theta_to_boxes(full, 160, 64).tolist() == [[0.0, 0.0, 64.0, 160.0]]
    top = region_theta(torch.tensor([[0.0, -0.75]]), torch.tensor([[1.0, 0.0], [0.0, 0.25]]))
    assert theta_to_boxes(top, 160, 64).tolist() == [[0.0, 0.0, 64.0, 40.0]]

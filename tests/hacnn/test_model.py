import warnings

import pytest
import torch

import tutorial_utils.hacnn.model as model_module
from tutorial_utils import (
    HACNN,
    count_parameters,
    load_checkpoint,
    randomize_batchnorm,
    read_state_dict,
)
from tutorial_utils.hacnn import NUM_REGIONS


@pytest.fixture(scope="module")
def model() -> HACNN:
    torch.manual_seed(0)
    return randomize_batchnorm(HACNN(num_classes=10)).eval()


def test_parameter_count_without_classifiers(model):
    assert count_parameters(model, ("classifier_",)) == 2_929_112


def test_eval_returns_two_unit_norm_halves(model):
    with torch.no_grad():
        features = model(torch.randn(2, 3, 160, 64))
    assert features.shape == (2, 1024)
    torch.testing.assert_close(features[:, :512].norm(dim=1), torch.ones(2))
    torch.testing.assert_close(features[:, 512:].norm(dim=1), torch.ones(2))


def test_train_returns_global_and_local_logits():
    net = HACNN(num_classes=7).train()
    logits_global, logits_local = net(torch.randn(2, 3, 160, 64))
    assert logits_global.shape == (2, 7) and logits_local.shape == (2, 7)


def test_without_local_branch():
    net = HACNN(num_classes=7, learn_region=False)
    assert not any(k.startswith("local_conv") for k in net.state_dict())
    assert net.train()(torch.randn(2, 3, 160, 64)).shape == (2, 7)
    assert net.eval()(torch.randn(2, 3, 160, 64)).shape == (2, 512)


def test_no_warnings_in_forward(model):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with torch.no_grad():
            model(torch.randn(1, 3, 160, 64))
        HACNN(num_classes=3).train()(torch.randn(2, 3, 160, 64))


def test_added_buffers_are_not_saved_and_move_with_the_module():
    net = HACNN(num_classes=3)
    assert "region_scale" not in net.state_dict()
    net = net.to(torch.float64).eval()
    assert net.region_scale.dtype == torch.float64
    with torch.no_grad():
        assert net(torch.randn(1, 3, 160, 64, dtype=torch.float64)).dtype == torch.float64


def test_stage_records(model):
    records = []
    with torch.no_grad():
        model.forward_features(torch.randn(2, 3, 160, 64), records)
    assert [tuple(r.soft_map.shape) for r in records] == [
        (2, 128, 40, 16),
        (2, 256, 20, 8),
        (2, 384, 10, 4),
    ]
    assert [tuple(r.stage_input.shape[1:]) for r in records] == [
        (32, 80, 32),
        (128, 40, 16),
        (256, 20, 8),
    ]
    assert all(r.theta.shape == (2, 4, 2, 3) for r in records)


def test_checkpoint_round_trip_through_a_torchreid_style_file(model, tmp_path):
    path = tmp_path / "model.pth.tar"
    wrapped = {"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}, "epoch": 3}
    torch.save(wrapped, path)
    loaded = load_checkpoint(HACNN(num_classes=10), path).eval()
    x = torch.randn(2, 3, 160, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    assert read_state_dict(path).keys() == model.state_dict().keys()


def test_num_regions_reaches_every_stage(monkeypatch):
    """The model's one NUM_REGIONS sets the hard attention's regions and the local branch."""
    assert HACNN(num_classes=3).ha1.hard_attn.num_regions == NUM_REGIONS == 4
    monkeypatch.setattr(model_module, "NUM_REGIONS", 2)
    net = HACNN(num_classes=3, nchannels=(16, 32, 48), feat_dim=8).eval()
    assert [ha.hard_attn.num_regions for ha in (net.ha1, net.ha2, net.ha3)] == [2, 2, 2]
    assert net.fc_local[0].in_features == 48 * 2
    records = []
    with torch.no_grad():
        net.forward_features(torch.randn(1, 3, 160, 64), records)
    assert all(r.theta.shape == (1, 2, 2, 3) for r in records)

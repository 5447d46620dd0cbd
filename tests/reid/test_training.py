"""Trainer, ablation variants and checkpoints, on a tiny stand-in data set at a tiny width."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from tests.reid.tiny_data import TinyPedestrians
from tutorial_utils import HACNN, load_checkpoint
from tutorial_utils.common import normalize
from tutorial_utils.reid.cached import cache_split
from tutorial_utils.reid.checkpoints import load_model, read_architecture
from tutorial_utils.reid.training import (
    TrainConfig,
    loss_and_logits,
    make_scheduler,
    parameter_groups,
    train,
)
from tutorial_utils.reid.variants import VARIANTS, build_model, parameter_count

TINY = {"nchannels": (16, 16, 16), "feat_dim": 16}


@pytest.fixture(scope="module")
def tiny_train():
    return cache_split(TinyPedestrians("train", num_ids=4, per_id=4))


def test_variants_leave_out_what_their_names_say() -> None:
    models = {v: build_model(5, **TINY, variant=v) for v in VARIANTS}
    counts = {v: parameter_count(m) for v, m in models.items()}
    assert counts["global"] < counts["soft"] < counts["harmonious"]
    assert counts["global"] < counts["hard"] < counts["harmonious"]
    # The full model is HA-CNN itself: same parameters, same state_dict keys.
    reference = HACNN(5, **TINY)
    assert models["harmonious"].state_dict().keys() == reference.state_dict().keys()
    for v in ("global", "hard"):
        keys = models[v].state_dict().keys()
        assert not any(".soft_attn." in k for k in keys)
    for v in ("global", "soft"):
        keys = models[v].state_dict().keys()
        assert not any(
            k.startswith(("local_conv", ".hard_attn.")) or ".hard_attn." in k for k in keys
        )
    x = torch.rand(2, 3, 160, 64)
    for v, m in models.items():
        out = m.train()(x)
        assert isinstance(out, tuple) == (v in ("hard", "harmonious"))


def test_without_soft_attention_the_stage_output_is_the_features() -> None:
    model = build_model(5, **TINY, variant="hard").eval()
    records = []
    model.forward_features(torch.rand(2, 3, 160, 64), records=records)
    assert all(torch.equal(r.soft_map, torch.ones_like(r.features)) for r in records)


def test_unknown_variant_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown variant 'local'.*global, soft, hard, harmonious"):
        build_model(5, **TINY, variant="local")


def test_loss_is_torchreids_smoothed_cross_entropy_averaged_over_heads() -> None:
    torch.manual_seed(0)
    logits = (torch.randn(4, 6), torch.randn(4, 6))
    labels = torch.tensor([0, 5, 2, 2])
    eps = 0.1

    def torchreid_ce(x: torch.Tensor) -> torch.Tensor:
        # torchreid.losses.CrossEntropyLoss(label_smooth=True)
        targets = (1 - eps) * F.one_hot(labels, 6).float() + eps / 6
        return (-targets * F.log_softmax(x, dim=1)).mean(0).sum()

    loss, global_logits = loss_and_logits(logits, labels, eps)
    expected = (torchreid_ce(logits[0]) + torchreid_ce(logits[1])) / 2
    torch.testing.assert_close(loss, expected)
    assert global_logits is logits[0]


def test_step_schedule_drops_the_rate_at_the_milestones() -> None:
    config = TrainConfig(epochs=4, schedule="step", lr=0.1, milestones=(0.5, 0.75))
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=config.lr)
    scheduler = make_scheduler(optimizer, config, steps_per_epoch=10)  # 40 iterations
    rates = []
    for _ in range(40):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[19] == pytest.approx(0.1) and rates[20] == pytest.approx(0.01)
    assert rates[29] == pytest.approx(0.01) and rates[30] == pytest.approx(0.001)


def test_localisation_lr_scales_only_the_stripe_predictors_through_one_cycle() -> None:
    model = build_model(10, (16, 32, 48), 32, "harmonious")
    config = TrainConfig(epochs=2, lr=0.1, localisation_lr=0.1)
    optimizer = torch.optim.SGD(parameter_groups(model, config), lr=config.lr)
    stripe_ids = {id(p) for n, p in model.named_parameters() if n.split(".")[1:2] == ["hard_attn"]}
    assert len(stripe_ids) == 6  # a Linear's weight and bias at each of the 3 stages
    assert {id(p) for p in optimizer.param_groups[1]["params"]} == stripe_ids
    scheduler = make_scheduler(optimizer, config, steps_per_epoch=10)
    peaks = [0.0, 0.0]
    for _ in range(20):
        for i, group in enumerate(optimizer.param_groups):
            peaks[i] = max(peaks[i], group["lr"])
        optimizer.step()
        scheduler.step()
    assert peaks[0] == pytest.approx(0.1) and peaks[1] == pytest.approx(0.01)


def test_without_a_local_branch_there_is_one_group() -> None:
    groups = parameter_groups(build_model(10, (16, 32, 48), 32, "soft"), TrainConfig())
    assert len(groups) == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("variant", "soft+hard", "unknown variant"),
        ("schedule", "cosine", "unknown schedule 'cosine'"),
        ("nchannels", (16, 20, 32), "multiples of 16"),
        ("batch_size", 1, "batch_size must be >= 2"),
        ("epochs", 0, "epochs must be a positive integer"),
        ("localisation_lr", 0.0, "localisation_lr must be > 0"),
    ],
)
def test_bad_training_options_are_refused(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value}).check()


def test_training_learns_and_writes_a_checkpoint_torchreids_layout_loads(
    tiny_train, tmp_path
) -> None:
    out = tmp_path / "m.pt"
    config = TrainConfig(
        out=str(out), **TINY, epochs=3, batch_size=8, lr=0.05, progress=False, threads=1
    )
    torch.manual_seed(config.seed)
    initial = build_model(4, **TINY)
    result = train(config, train_set=tiny_train)

    log = json.loads(out.with_suffix(".json").read_text())
    assert [e["epoch"] for e in log["epochs"]] == [1, 2, 3]
    assert {"loss", "accuracy", "seconds", "images_per_s"} <= set(log["epochs"][0])
    assert log["args"]["nchannels"] == [16, 16, 16] and log["torch"] == torch.__version__
    assert log["num_classes"] == 4 and log["parameters"] == parameter_count(result.model)
    assert log["epochs"][-1]["loss"] < log["epochs"][0]["loss"]

    # torchreid's layout: loads with strict=True into the package's HACNN at the same widths.
    model = load_checkpoint(HACNN(4, **TINY), out, strict=True)
    changed = [
        k for k, v in initial.state_dict().items() if not torch.equal(v, model.state_dict()[k])
    ]
    assert "classifier_global.weight" in changed and "ha1.hard_attn.fc.weight" in changed

    loaded = load_model(out)
    assert not loaded.training and read_architecture(out)["nchannels"] == [16, 16, 16]
    x = normalize(tiny_train.images[:3])
    torch.testing.assert_close(loaded(x), model.eval()(x))


def test_load_model_rebuilds_a_variant(tiny_train, tmp_path) -> None:
    out = tmp_path / "g.pt"
    train(
        TrainConfig(out=str(out), **TINY, variant="global", epochs=1, batch_size=8, progress=False),
        train_set=tiny_train,
    )
    model = load_model(out)
    assert not model.learn_region and model(torch.rand(2, 3, 160, 64)).shape == (2, 16)


def test_missing_or_foreign_checkpoints_are_refused(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no checkpoint file at .*nowhere.pt"):
        load_model(tmp_path / "nowhere.pt")
    foreign = tmp_path / "plain.pt"
    torch.save(HACNN(3, **TINY).state_dict(), foreign)
    with pytest.raises(ValueError, match="no architecture entry 'hacnn'"):
        load_model(foreign)


def test_full_gate_reaches_below_one_half_and_keeps_hacnns_keys() -> None:
    half = build_model(5, **TINY)
    full = build_model(5, **TINY, gate="full")
    assert full.state_dict().keys() == half.state_dict().keys()
    x = torch.rand(4, 3, 160, 64)
    for model, low in ((half, 0.5), (full, 0.0)):
        records = []
        with torch.no_grad():
            model.train().forward_features(x, records=records)
        lowest = min(float(r.soft_map.min()) for r in records)
        assert lowest >= low
    assert lowest < 0.4  # the full gate does close (BatchNorm centres its logits at 0)
    with pytest.raises(ValueError, match="unknown gate 'wide'"):
        build_model(5, **TINY, gate="wide")

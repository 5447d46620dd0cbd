"""Evaluation: the attention measures on cases with known answers, and the CLI end to end."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from tests.reid.tiny_data import TinyPedestrians
from tutorial_utils.reid.attention_measures import attention_measures, hard_measures, soft_measures
from tutorial_utils.reid.cached import CachedSplit, cache_split, load_split
from tutorial_utils.reid.cli import main
from tutorial_utils.reid.evaluation import choose_data, evaluate
from tutorial_utils.reid.training import TrainConfig, train
from tutorial_utils.reid.variants import build_model

TINY = {"nchannels": (16, 16, 16), "feat_dim": 16}


def test_soft_measures_of_a_map_that_halves_the_background() -> None:
    mask = torch.zeros(2, 8, 4, dtype=torch.bool)
    mask[:, 2:6, 1:3] = True  # the person covers 8 of 32 cells: a quarter
    gate = torch.where(mask, 1.0, 0.5)[:, None].expand(2, 3, 8, 4)  # 3 channels, the same map
    m = soft_measures(gate, mask)
    # Mass inside: 8 * 1 / (8 * 1 + 24 * 0.5) = 0.4, against a uniform share of 0.25.
    assert m["uniform_inside"] == pytest.approx(0.25)
    assert m["mass_inside"] == pytest.approx(0.4)
    assert m["mass_ratio"] == pytest.approx(1.6)
    assert m["gate_in_out_median"] == pytest.approx(2.0)  # the most a gate in [0.5, 1) can do
    flat = soft_measures(torch.full((2, 3, 8, 4), 0.7), mask)
    assert flat["mass_ratio"] == pytest.approx(1.0) and flat["gate_in_out_max"] == pytest.approx(
        1.0
    )
    # A spatial map that is zero everywhere has no inside/outside ratio: None, not 0.
    spatial = torch.where(mask, 3.0, 1.0)[:, None]
    assert soft_measures(gate, mask, spatial)["spatial_in_out"] == pytest.approx(3.0)
    assert soft_measures(gate, mask, torch.zeros(2, 1, 8, 4))["spatial_in_out"] is None


def _theta(ty: torch.Tensor) -> torch.Tensor:
    """(N, T) vertical centres -> (N, T, 2, 3) stripes of full width and a quarter height."""
    n, t = ty.shape
    theta = torch.zeros(n, t, 2, 3)
    theta[..., 0, 0], theta[..., 1, 1], theta[..., 1, 2] = 1.0, 0.25, ty
    return theta


def test_hard_measures_of_stripes_that_follow_the_person() -> None:
    dy = torch.tensor([-0.2, -0.1, 0.0, 0.1, 0.2])
    centres = torch.tensor([-0.75, -0.25, 0.25, 0.75])
    ty = centres + dy[:, None]  # every stripe moves with the person
    theta = _theta(ty)
    offsets = torch.stack([torch.zeros(5), dy], 1)
    # Parts: a head box inside the top stripe, a lower-body box inside the bottom one.
    # The top stripe spans y = (ty -/+ 0.25 + 1) * 80 pixels, i.e. 0..40 when dy = 0.
    top = (centres[0] + dy + 1) * 80
    parts = torch.stack(
        [
            torch.stack([torch.full((5,), 10.0), top - 15, torch.full((5,), 50.0), top + 15], 1),
            torch.tensor([[0.0, 40.0, 64.0, 120.0]]).expand(5, 4)
            + torch.stack([torch.zeros(5), dy * 80, torch.zeros(5), dy * 80], 1),
            torch.tensor([[0.0, 120.0, 64.0, 160.0]]).expand(5, 4)
            + torch.stack([torch.zeros(5), dy * 80, torch.zeros(5), dy * 80], 1),
        ],
        1,
    )
    m = hard_measures(ty[..., None].expand(5, 4, 2), theta, offsets, parts, (160, 64))
    assert m["ty_corr_dy"] == pytest.approx([1.0] * 4)
    assert m["tx_corr_dx"] == [0.0] * 4  # constant: no correlation, not NaN
    assert m["coverage"]["head"] == pytest.approx(1.0)
    assert m["coverage"]["upper"] == pytest.approx(1.0)
    # The lower box reaches past the image bottom when dy > 0; inside the image it is covered.
    assert 0.8 < m["coverage"]["lower"] <= 1.0
    assert m["best_iou"]["lower"] == pytest.approx(1.0, abs=0.2)
    fixed = hard_measures(
        ty[..., None].expand(5, 4, 2), _theta(centres.expand(5, 4)), offsets, parts, (160, 64)
    )
    # Fixed stripes tile the image, so their union still covers everything; the best-matching
    # stripe no longer sits on the head, though.
    assert fixed["ty_corr_dy"] == [0.0] * 4
    assert fixed["best_iou"]["head"] < m["best_iou"]["head"] - 0.05


def test_attention_measures_need_ground_truth() -> None:
    plain = CachedSplit(torch.rand(4, 3, 160, 64).half(), torch.arange(4), torch.zeros(4).long())
    with pytest.raises(ValueError, match="need ground truth"):
        attention_measures(build_model(3, **TINY), plain)


def test_attention_measures_skip_what_a_variant_lacks() -> None:
    data = cache_split(TinyPedestrians("query", num_ids=4))
    glob = attention_measures(build_model(3, **TINY, variant="global"), data, max_images=4)
    assert glob["soft"] is None and glob["hard"] is None
    full = attention_measures(build_model(3, **TINY), data, max_images=4)
    assert len(full["soft"]) == 3 and len(full["hard"]) == 3
    assert set(full["hard"][0]["coverage"]) == {"head", "upper", "lower"}


def test_evaluate_reports_trained_and_initial(tmp_path) -> None:
    train_split = cache_split(TinyPedestrians("train", num_ids=4, per_id=4))
    query = cache_split(TinyPedestrians("query", seed=1, num_ids=4))
    gallery = cache_split(TinyPedestrians("gallery", seed=2, num_ids=4))
    out = tmp_path / "m.pt"
    train(
        TrainConfig(out=str(out), **TINY, epochs=1, batch_size=8, progress=False),
        train_set=train_split,
    )
    report = evaluate(out, splits=(query, gallery, train_split), attention_images=8)
    for key in ("rank1", "rank5", "rank10", "mAP"):
        assert 0.0 <= report[key] <= 1.0
        assert 0.0 <= report["initial"][key] <= 1.0
    assert set(report["attention"]) == {"trained", "initial", "initial_bn_calibrated"}
    json.dumps(report)  # JSON-ready
    empty = query.subset(torch.zeros(len(query), dtype=torch.bool))
    with pytest.raises(ValueError, match="gallery is empty"):
        evaluate(out, splits=(query, empty, None))


def test_cli_trains_and_evaluates_on_synthetic_pedestrians(tmp_path, capsys) -> None:
    small = [
        "--data-option", "num_train_ids=4",
        "--data-option", "num_test_ids=3",
        "--data-option", "images_per_id=4",
    ]  # fmt: skip
    out = tmp_path / "cli.pt"
    main(
        ["train", "--out", str(out), "--nchannels", "16", "16", "16", "--feat-dim", "16",
         "--epochs", "1", "--batch-size", "8", "--no-progress", "--threads", "1", *small]
    )  # fmt: skip
    report_path = tmp_path / "r.json"
    # No data options: evaluate finds the training data's options in the checkpoint.
    main(["evaluate", "--checkpoint", str(out), "--json", str(report_path),
          "--attention-images", "8"])  # fmt: skip
    captured = capsys.readouterr()
    printed = captured.out
    assert "rank-1" in printed and "mAP" in printed and "warning" not in captured.err
    report = json.loads(report_path.read_text())
    assert report["data_options"] == {"num_train_ids": 4, "num_test_ids": 3, "images_per_id": 4}
    assert report["data_as_recorded"] is True
    assert {"rank1", "mAP", "attention", "initial"} <= set(report)
    soft = report["attention"]["trained"]["soft"][0]
    assert 0.0 < soft["uniform_inside"] < 1.0 and math.isfinite(soft["mass_ratio"])
    hard = report["attention"]["trained"]["hard"][2]
    assert len(hard["ty_corr_dy"]) == 4

    # Told to use other data, evaluate says so.
    with pytest.warns(UserWarning, match=r"num_test_ids=5.*not on the data it was trained on"):
        assert choose_data(out, data_options={"num_test_ids": 5})["as_recorded"] is False
    # A resumed run keeps its settings; a finished run has nothing to resume.
    line = _one_line_error(["train", "--resume", str(out), "--lr", "0.1"], capsys)
    assert "drop --lr 0.1 (the run has 0.05)" in line
    assert "has finished all 1 epochs" in _one_line_error(["train", "--resume", str(out)], capsys)


def test_evaluate_finds_the_shipped_models_data_in_its_log() -> None:
    from tutorial_utils.common.images import data_file

    data = choose_data(data_file("hacnn_synthetic.pt"))
    assert data["data_options"] == {"difficulty": "medium"} and data["as_recorded"] is True
    with pytest.warns(UserWarning, match="difficulty='hard'.*difficulty='medium'"):
        choose_data(data_file("hacnn_synthetic.pt"), data_options={"difficulty": "hard"})


def _one_line_error(argv: list[str], capsys) -> str:
    """Run the CLI; assert it exits with status 2 and one line on stderr; return that line."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["train", "--data-option", "bogus=1"], "unknown data option 'bogus' for dataset "
         "'synthetic'; valid keys: num_train_ids, num_test_ids, images_per_id"),
        (["train", "--nchannels", "8", "16", "24"], "nchannels must be 3 multiples of 16, got "
         "(8, 16, 24)"),
        (["train", "--lr", "nan"], "lr must be > 0 and finite (a learning rate), got nan"),
        (["train", "--lr", "-1"], "lr must be > 0 and finite (a learning rate), got -1.0"),
        (["train", "--resume", "absent.pt"], "no checkpoint file at absent.pt"),
        (["evaluate", "--checkpoint", "absent.pt"], "no checkpoint file at absent.pt"),
        (["train", "--variant", "bogus"], "argument --variant: invalid choice: 'bogus'"),
        (["ablation", "--out-dir", "o", "--json", "t.json", "--variants", "soft", "bogus"],
         "argument --variants: invalid choice: 'bogus'"),
        (["train", "--variant", "confusing_backgrounds", "--dataset", "market1501"],
         "variant 'confusing_backgrounds' draws its own data (distractors=1.0, "
         "distractor_looks='identities'), which dataset 'market1501' cannot"),
    ],
)  # fmt: skip
def test_cli_mistakes_are_one_line_with_status_2(argv, expected, capsys) -> None:
    line = _one_line_error(argv, capsys)
    assert line.startswith(f"python -m tutorial_utils.reid {argv[0]}: error: ")
    assert expected in line


def test_cli_names_an_unreadable_checkpoint(tmp_path, capsys) -> None:
    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint\n")
    line = _one_line_error(["evaluate", "--checkpoint", str(text)], capsys)
    assert f"cannot read checkpoint {text}" in line and "not a PyTorch file" in line


def test_cli_refuses_a_missing_checkpoint_and_a_bad_split(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no checkpoint file"):
        evaluate(tmp_path / "absent.pt")
    with pytest.raises(ValueError, match="unknown split 'test'.*train, query, gallery"):
        load_split("synthetic", "test")
    with pytest.raises(ValueError, match="unknown dataset 'duke'"):
        load_split("duke", "train")


def test_ablation_per_seed_tables_merge_into_one(tmp_path, capsys) -> None:
    common = [
        "--nchannels", "16", "16", "16", "--feat-dim", "16", "--epochs", "1",
        "--batch-size", "8", "--no-progress", "--threads", "1", "--attention-images", "4",
        "--variants", "global", "harmonious", "--out-dir", str(tmp_path),
        "--data-option", "num_train_ids=4", "--data-option", "num_test_ids=3",
        "--data-option", "images_per_id=4",
    ]  # fmt: skip
    for seed in (0, 1):
        main(["ablation", *common, "--seeds", str(seed), "--json", str(tmp_path / f"s{seed}.json")])
    merged = tmp_path / "ablation.json"

    def merge(*tables: str) -> None:
        main(["merge-ablation", *(str(tmp_path / t) for t in tables), "--json", str(merged)])

    merge("s0.json", "s1.json")
    table = json.loads(merged.read_text())
    assert table["settings"]["seeds"] == [0, 1]
    for variant in ("global", "harmonious"):
        entry = table["variants"][variant]
        assert [r["seed"] for r in entry["runs"]] == [0, 1]
        values = [r["rank1"] for r in entry["runs"]]
        assert entry["rank1"]["mean"] == pytest.approx(sum(values) / 2)
    assert table["variants"]["global"]["parameters"] < table["variants"]["harmonious"]["parameters"]
    assert table["variants"]["global"]["runs"][0]["attention"]["soft"] is None

    with pytest.raises(SystemExit):
        merge("s0.json", "s0.json")
    assert "global with seed 0 is in more than one table" in capsys.readouterr().err

    other = json.loads((tmp_path / "s1.json").read_text())
    other["settings"]["epochs"] = 5
    (tmp_path / "s1.json").write_text(json.dumps(other))
    with pytest.raises(SystemExit):
        merge("s0.json", "s1.json")
    assert "other settings (epochs)" in capsys.readouterr().err


def test_ablation_draws_the_data_each_variant_asks_for(tmp_path, monkeypatch, capsys) -> None:
    import tutorial_utils.reid.cli as cli
    from tutorial_utils.reid.checkpoints import read_checkpoint

    drawn: list[tuple[str, dict]] = []

    def recording_load_split(dataset, split, **kwargs):
        drawn.append((split, dict(kwargs["options"])))
        return load_split(dataset, split, **kwargs)

    monkeypatch.setattr(cli, "load_split", recording_load_split)
    small = {"num_train_ids": 4, "num_test_ids": 3, "images_per_id": 4}
    main(
        ["ablation", "--nchannels", "16", "16", "16", "--feat-dim", "16", "--epochs", "1",
         "--batch-size", "8", "--no-progress", "--threads", "1", "--attention-images", "4",
         "--variants", "harmonious", "confusing_backgrounds", "fixed_stripes", "--seeds", "0",
         "--out-dir", str(tmp_path), "--json", str(tmp_path / "table.json"),
         *(f"--data-option={k}={v}" for k, v in small.items())]
    )  # fmt: skip
    confusing = {**small, "distractors": 1.0, "distractor_looks": "identities"}
    # Drawn once per set of options, shared by the variants that ask for the same.
    assert sorted(split for split, _ in drawn) == sorted(["train", "query", "gallery"] * 2)
    assert {json.dumps(o, sort_keys=True) for _, o in drawn} == {
        json.dumps(small, sort_keys=True),
        json.dumps(confusing, sort_keys=True),
    }
    for variant, options in (("harmonious", small), ("confusing_backgrounds", confusing)):
        record = read_checkpoint(tmp_path / f"{variant}_seed0.pt")["data"]
        assert record["data_options"] == options
    table = json.loads((tmp_path / "table.json").read_text())
    assert set(table["variants"]) == {"harmonious", "confusing_backgrounds", "fixed_stripes"}
    capsys.readouterr()


def _market_folder(root) -> None:
    """A tiny Market-1501 folder: 128 x 64 JPEGs named PPPP_cCsS_FFFFFF_NN.jpg, with junk and
    distractors."""
    splits = {
        "bounding_box_train": ["0002_c1s1_000451_03.jpg", "0002_c2s1_000301_01.jpg",
                               "0007_c3s3_077419_03.jpg", "0007_c1s3_077419_01.jpg"],
        "query": ["0001_c1s1_001051_00.jpg", "0003_c2s1_000301_00.jpg"],
        "bounding_box_test": ["0001_c2s1_000301_01.jpg", "0003_c6s1_000451_01.jpg",
                              "0000_c4s1_002001_04.jpg", "-1_c5s1_000101_01.jpg"],
    }  # fmt: skip
    rng = np.random.default_rng(0)
    for folder, names in splits.items():
        (root / folder).mkdir(parents=True)
        for name in names:
            array = rng.integers(0, 256, size=(128, 64, 3), dtype=np.uint8)
            Image.fromarray(array).save(root / folder / name)


def test_cli_trains_and_evaluates_on_a_market1501_folder(tmp_path, capsys) -> None:
    root = tmp_path / "Market-1501"
    _market_folder(root)
    out = tmp_path / "market.pt"
    data = ["--dataset", "market1501", "--root", str(root)]
    main(
        ["train", "--out", str(out), "--nchannels", "16", "16", "16", "--feat-dim", "16",
         "--epochs", "1", "--batch-size", "2", "--no-progress", "--threads", "1", *data]
    )  # fmt: skip
    assert json.loads(out.with_suffix(".json").read_text())["num_classes"] == 2
    report_path = tmp_path / "r.json"
    main(["evaluate", "--checkpoint", str(out), "--json", str(report_path), *data])
    report = json.loads(report_path.read_text())
    # Junk (-1) is gone and the distractor (0) stays: 3 gallery images, 2 scorable queries.
    assert report["num_gallery"] == 3 and report["num_valid_queries"] == 2
    assert "attention" not in report  # real data has no masks to measure attention against
    assert "rank-1" in capsys.readouterr().out


def test_features_of_a_module_without_parameters_are_computed_on_the_cpu():
    """A compiled package (PackagedHACNN) holds no parameters; its features still come out."""

    class NoParameters(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.flatten(1)[:, :5]

    from tutorial_utils.reid.evaluation import extract_features

    images = torch.rand(3, 3, 160, 64)
    features = extract_features(NoParameters(), images, batch_size=2)
    assert features.shape == (3, 5) and features.device.type == "cpu"

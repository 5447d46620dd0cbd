"""The experiments' table and the interventions CLI, end to end on tiny checkpoints."""

from __future__ import annotations

import json

import pytest
import torch

from tests.reid.test_attention_estimates import small
from tutorial_utils.reid.attend_table import find_runs, seed_spread
from tutorial_utils.reid.checkpoints import save_checkpoint
from tutorial_utils.reid.cli import main
from tutorial_utils.reid.variants import parameter_count

# Small synthetic data: 4 test identities, 4 images each (query 1-2 per identity).
DATA = {
    "dataset": "synthetic",
    "root": None,
    "data_seed": 0,
    "data_options": {"num_test_ids": 4, "images_per_id": 4, "difficulty": "medium"},
}


def write_run(folder, variant: str, seed: int, log: bool = True):
    model = small(variant, seed)
    path = save_checkpoint(
        folder / f"{variant}_seed{seed}.pt", model, num_classes=6, nchannels=(16, 32, 48),
        feat_dim=32, variant=variant, epoch=2, extra={"data": DATA},
    )  # fmt: skip
    if log:
        (folder / f"{variant}_seed{seed}.json").write_text(
            json.dumps({"args": {"epochs": 3}, "epochs": [{}, {}], "train_seconds": 12.5})
        )
    return model, path


def test_attend_table_measures_every_run(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    model, _ = write_run(runs, "harmonious", 1)
    write_run(runs, "global", 0, log=False)
    write_run(runs, "taught_gate", 0)
    (runs / "notes_seed0.txt").write_text("not a run")
    out = tmp_path / "table.json"
    main(["attend-table", "--runs", str(runs), "--json", str(out), "--boot", "20",
          "--no-progress", "--interventions-of", str(runs / "harmonious_seed1.pt")])  # fmt: skip
    table = json.loads(out.read_text())
    assert [(r["variant"], r["seed"]) for r in table["runs"]] == [
        ("global", 0), ("harmonious", 1), ("taught_gate", 0),
    ]  # fmt: skip
    glob, harmonious, taught = table["runs"]
    assert glob["train_seconds"] is None and glob["attention"]["hard"] is None
    assert harmonious["train_seconds"] == 12.5 and harmonious["epochs_done"] == 2
    assert harmonious["parameters"] == parameter_count(model)
    assert taught["taught"] and not harmonious["taught"]
    assert harmonious["data_options"] == DATA["data_options"]
    r1 = harmonious["rank1"]
    assert set(r1) == {"value", "low", "high"} and r1["low"] <= r1["value"] <= r1["high"]
    assert isinstance(harmonious["attention"]["soft"][0]["auroc"]["value"], float)
    assert table["settings"]["boot"] == 20
    spread = table["seed_spread"]
    assert list(spread) == ["global", "harmonious", "taught_gate"]
    assert spread["global"]["mass_ratio"] == [None, None, None]
    assert spread["harmonious"]["rank1"]["mean"] == pytest.approx(r1["value"])
    assert spread["harmonious"]["auroc"][0]["n"] == 1
    rows = table["interventions"]["results"]
    assert rows[0]["intervention"] == "spatial_mean" and "delta_mAP" in rows[0]


def test_find_runs_skips_unknown_variants(tmp_path):
    write_run(tmp_path, "harmonious", 0, log=False)
    torch.save({}, tmp_path / "mystery_seed0.pt")
    with pytest.warns(UserWarning, match="unknown variant 'mystery'"):
        runs = find_runs(tmp_path)
    assert [(v, s) for v, s, _ in runs] == [("harmonious", 0)]


def test_interventions_cli_prints_and_writes(tmp_path, capsys):
    _, path = write_run(tmp_path, "harmonious", 0)
    out = tmp_path / "int.json"
    main(["interventions", "--checkpoint", str(path), "--json", str(out), "--boot", "10"])
    printed = capsys.readouterr().out
    assert "unmodified" in printed and "fixed_stripes" in printed
    report = json.loads(out.read_text())
    assert report["data"] == DATA and len(report["gate_constants"]) == 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["attend-table", "--runs", "missing", "--json", "t.json"], "is not a folder"),
        (["attend-table", "--runs", ".", "--json", "t.json", "--boot", "0"], "--boot must be"),
        (
            ["attend-table", "--runs", ".", "--json", "t.json", "--interventions-of", "no.pt"],
            "no such file",
        ),  # fmt: skip
        (["interventions", "--checkpoint", "missing.pt"], "missing.pt"),
    ],
)
def test_cli_mistakes_are_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_empty_folder_is_a_user_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["attend-table", "--runs", str(tmp_path), "--json", str(tmp_path / "t.json")])
    assert exited.value.code == 2 and "no <variant>_seed<k>.pt" in capsys.readouterr().err


def test_seed_spread_over_two_seeds():
    def row(seed: int, rank1: float, auroc: float | None):
        est = lambda v: None if v is None else {"value": v, "low": v, "high": v}  # noqa: E731
        soft = [{"mass_ratio": est(1.0), "auroc": est(auroc)}] * 3
        return {"variant": "soft", "seed": seed, "rank1": est(rank1), "mAP": est(0.1),
                "attention": {"soft": soft, "hard": None}}  # fmt: skip

    spread = seed_spread([row(0, 0.2, 0.6), row(1, 0.4, None)])["soft"]
    assert spread["seeds"] == [0, 1]
    assert spread["rank1"] == {"mean": pytest.approx(0.3), "min": 0.2, "max": 0.4, "n": 2}
    assert spread["auroc"][0] == {"mean": 0.6, "min": 0.6, "max": 0.6, "n": 1}
    assert spread["mean_abs_corr"] == [None, None, None]


def test_finished_only_leaves_out_runs_still_training(tmp_path, capsys):
    write_run(tmp_path, "harmonious", 0)  # its log: 2 of 3 epochs
    write_run(tmp_path, "global", 0, log=False)  # no log: kept
    out = tmp_path / "t.json"
    main(["attend-table", "--runs", str(tmp_path), "--json", str(out), "--boot", "5",
          "--no-progress", "--finished-only"])  # fmt: skip
    table = json.loads(out.read_text())
    assert [r["variant"] for r in table["runs"]] == ["global"]
    assert table["settings"]["finished_only"] is True

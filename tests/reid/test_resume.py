"""A stopped run loses nothing: per-epoch atomic checkpoints, resume, signals, bad numbers."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.reid.tiny_data import TinyPedestrians
from tutorial_utils.reid.cached import cache_split
from tutorial_utils.reid.checkpoints import read_architecture, read_checkpoint
from tutorial_utils.reid.training import (
    TrainConfig,
    TrainingDiverged,
    TrainingStopped,
    resume_config,
    save_epoch,
    setup,
    train,
    train_epoch,
)

ROOT = Path(__file__).resolve().parents[2]
TINY = {"nchannels": (16, 16, 16), "feat_dim": 16}


@pytest.fixture(scope="module")
def tiny_train():
    return cache_split(TinyPedestrians("train", num_ids=4, per_id=4))  # 16 images: 2 steps


def _config(out: Path, **changes) -> TrainConfig:
    settings = dict(TINY, epochs=3, batch_size=8, lr=0.05, progress=False, threads=1)
    settings.update(changes)
    return TrainConfig(out=str(out), **settings)


def _differences(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> list[str]:
    assert a.keys() == b.keys()
    return [k for k in a if not torch.equal(a[k], b[k])]


def _stop_in_epoch(stop_epoch: int):
    """A callback that sends this process SIGTERM after the first step of ``stop_epoch``."""

    def callback(epoch: int, step: int) -> None:
        if epoch == stop_epoch and step == 0:
            signal.raise_signal(signal.SIGTERM)

    return callback


@pytest.mark.parametrize("schedule", ["onecycle", "step"])
def test_a_stopped_and_resumed_run_ends_with_the_same_weights(
    tiny_train, tmp_path, schedule
) -> None:
    whole = train(_config(tmp_path / "whole.pt", schedule=schedule), train_set=tiny_train)
    whole = whole.model.state_dict()

    out = tmp_path / "stopped.pt"
    with pytest.raises(TrainingStopped, match="SIGTERM in epoch 2.*holds epoch 1") as info:
        train(_config(out, schedule=schedule), train_set=tiny_train, callback=_stop_in_epoch(1))
    assert info.value.epoch == 1 and info.value.signum == signal.SIGTERM
    assert read_checkpoint(out)["epoch"] == 1
    # The handlers are ours only while training: SIGTERM's default is back.
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL

    assert info.value.checkpoint == out
    resumed = train(resume_config(out, progress=False), train_set=tiny_train, resume=out)
    # Exactly equal, not close: the data order, flips, optimizer and schedule all continue.
    assert _differences(whole, resumed.model.state_dict()) == []
    log = json.loads(out.with_suffix(".json").read_text())
    assert [e["epoch"] for e in log["epochs"]] == [1, 2, 3] and log["resumed_from"] == [1]
    assert read_checkpoint(out)["epoch"] == 3


@pytest.mark.parametrize(
    ("variant", "untaught"), [("taught_gate", "harmonious"), ("taught_stripes", "conv_stripes")]
)
def test_a_taught_variant_resumes_to_the_same_weights(
    tiny_train, tmp_path, variant, untaught
) -> None:
    """The teaching loss follows the same flips and data order after a resume."""
    whole = train(_config(tmp_path / "whole.pt", variant=variant), train_set=tiny_train)
    out = tmp_path / "stopped.pt"
    with pytest.raises(TrainingStopped):
        train(_config(out, variant=variant), train_set=tiny_train, callback=_stop_in_epoch(1))
    resumed = train(resume_config(out, progress=False), train_set=tiny_train, resume=out)
    assert read_architecture(out)["variant"] == variant
    assert _differences(whole.model.state_dict(), resumed.model.state_dict()) == []
    # The taught run differs from the untaught one: the loss did something.
    plain = train(_config(tmp_path / "plain.pt", variant=untaught), train_set=tiny_train)
    assert _differences(whole.model.state_dict(), plain.model.state_dict()) != []


def test_a_sigterm_sent_to_a_training_process_keeps_the_last_epoch(tmp_path) -> None:
    """A real training process gets SIGTERM from outside in its second epoch, then resumes."""
    out, ready, sent = tmp_path / "run.pt", tmp_path / "ready", tmp_path / "sent"
    script = f"""
import sys, time
from pathlib import Path
from tests.reid.tiny_data import TinyPedestrians
from tutorial_utils.reid.cached import cache_split
from tutorial_utils.reid.training import TrainConfig, TrainingStopped, train

def wait_for_the_signal(epoch, step):
    if epoch == 1 and step == 0:  # epoch 1 is on disk; the test sends SIGTERM now
        Path({str(ready)!r}).touch()
        for _ in range(1200):
            if Path({str(sent)!r}).exists():
                return
            time.sleep(0.05)

data = cache_split(TinyPedestrians("train", num_ids=4, per_id=4))
config = TrainConfig(out={str(out)!r}, nchannels=(16, 16, 16), feat_dim=16, epochs=3,
                     batch_size=8, progress=False, threads=1)
try:
    train(config, train_set=data, callback=wait_for_the_signal)
except TrainingStopped as stopped:
    print(stopped, file=sys.stderr)
    sys.exit(128 + stopped.signum)
"""
    process = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 300
    while not ready.exists():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "the training process never reached epoch 2"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGTERM)
    sent.touch()
    _, err = process.communicate(timeout=300)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "stopped by SIGTERM in epoch 2" in err and f"--resume {out}" in err
    assert read_checkpoint(out)["epoch"] == 1
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind

    data = cache_split(TinyPedestrians("train", num_ids=4, per_id=4))
    resumed = train(resume_config(out), train_set=data, resume=out).model.state_dict()
    whole = train(_config(tmp_path / "whole.pt", lr=0.05), train_set=data).model.state_dict()
    assert _differences(whole, resumed) == []


def test_a_non_finite_loss_stops_the_run_and_keeps_the_last_good_checkpoint(
    tiny_train, tmp_path
) -> None:
    out = tmp_path / "m.pt"
    run = setup(_config(out), train_set=tiny_train)
    save_epoch(run, train_epoch(run, 0))
    good = {k: v.clone() for k, v in run.model.state_dict().items()}
    with torch.no_grad():
        run.model.classifier_global.bias.fill_(math.nan)  # the loss of the next step is NaN
    with pytest.raises(
        TrainingDiverged, match=r"loss became nan at epoch 2, step 1.*holds epoch 1"
    ):
        train_epoch(run, 1)
    saved = read_checkpoint(out)
    assert saved["epoch"] == 1 and _differences(good, saved["state_dict"]) == []
    assert all(
        torch.isfinite(v).all() for v in saved["state_dict"].values() if v.is_floating_point()
    )


@pytest.mark.parametrize("lr", [math.nan, math.inf, 0.0, -0.1])
def test_non_finite_or_non_positive_learning_rates_are_refused(lr) -> None:
    with pytest.raises(ValueError, match=rf"lr must be > 0 and finite .*got {lr!r}"):
        TrainConfig(lr=lr).check()


def test_true_is_not_an_epoch_count() -> None:
    with pytest.raises(ValueError, match="epochs must be a positive integer, got True"):
        TrainConfig(epochs=True).check()


def test_a_failed_write_leaves_the_previous_checkpoint_whole(
    tiny_train, tmp_path, monkeypatch
) -> None:
    out = tmp_path / "m.pt"
    run = setup(_config(out), train_set=tiny_train)
    save_epoch(run, train_epoch(run, 0))
    before = out.read_bytes()

    def full_disk(obj, handle, *args, **kwargs):
        handle.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(
        OSError, match=r"could not write .*m.pt \(No space left on device\); the prev"
    ):
        save_epoch(run, train_epoch(run, 1))
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_resume_refuses_other_settings_a_finished_run_and_a_plain_file(
    tiny_train, tmp_path
) -> None:
    out = tmp_path / "m.pt"
    with pytest.raises(TrainingStopped):
        train(_config(out), train_set=tiny_train, callback=_stop_in_epoch(1))
    with pytest.raises(ValueError, match=r"cannot resume .*other settings \(lr: 0.05 -> 0.1\)"):
        train(_config(out, lr=0.1), train_set=tiny_train, resume=out)
    with pytest.raises(ValueError, match="only out, log, device, threads, progress may change"):
        resume_config(out, lr=0.1)
    other = cache_split(TinyPedestrians("train", seed=5, num_ids=4, per_id=4))
    with pytest.raises(ValueError, match="training data differ"):
        train(resume_config(out), train_set=other, resume=out)

    train(resume_config(out), train_set=tiny_train, resume=out)
    with pytest.raises(ValueError, match="finished all 3 epochs"):
        train(resume_config(out), train_set=tiny_train, resume=out)
    plain = tmp_path / "plain.pt"
    torch.save({"state_dict": {}, "epoch": 1}, plain)
    with pytest.raises(ValueError, match="no training state"):
        resume_config(plain)


def test_a_run_stopped_in_its_first_epoch_says_nothing_was_saved(tiny_train, tmp_path) -> None:
    out = tmp_path / "m.pt"
    with pytest.raises(TrainingStopped, match="No epoch had finished") as info:
        train(_config(out), train_set=tiny_train, callback=_stop_in_epoch(0))
    assert info.value.checkpoint is None and not out.exists()


def test_a_resumed_run_stopped_again_points_at_the_file_it_resumed(tiny_train, tmp_path) -> None:
    out = tmp_path / "m.pt"
    with pytest.raises(TrainingStopped):
        train(_config(out), train_set=tiny_train, callback=_stop_in_epoch(1))
    elsewhere = resume_config(out, out=str(tmp_path / "next.pt"))
    with pytest.raises(TrainingStopped, match=r"m.pt holds epoch 1") as info:
        train(elsewhere, train_set=tiny_train, resume=out, callback=_stop_in_epoch(1))
    assert info.value.checkpoint == out

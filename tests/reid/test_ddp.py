"""DistributedDataParallel: two CPU processes (gloo) train on different data and end equal.

Each rank gets its *own* data set (another seed), so ranks that did not average their
gradients would end with different weights; the control trains the same two data sets
without a process group and checks exactly that.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import torch
import torch.multiprocessing as mp

from tests.reid.tiny_data import TinyPedestrians
from tutorial_utils.reid.cached import cache_split
from tutorial_utils.reid.training import TrainConfig, train

TINY = {"nchannels": (16, 16, 16), "feat_dim": 16}


def _config(out: Path) -> TrainConfig:
    return TrainConfig(
        out=str(out), **TINY, epochs=1, batch_size=4, lr=0.05, progress=False, threads=1
    )


def _data(rank: int):
    return cache_split(TinyPedestrians("train", seed=rank, num_ids=4, per_id=4))


def _join(rank: int, world_size: int, port: int) -> None:
    """Describe this process to torch.distributed as torchrun would, one thread per rank."""
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world_size),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)


def _worker(rank: int, world_size: int, port: int, folder: str) -> None:
    _join(rank, world_size, port)
    try:
        result = train(_config(Path(folder) / "ddp.pt"), train_set=_data(rank))
        torch.save(result.model.state_dict(), Path(folder) / f"rank{rank}.pt")
        torch.save(torch.tensor(result.log["world_size"]), Path(folder) / f"world{rank}.pt")
    finally:
        torch.distributed.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _differences(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> list[str]:
    return [k for k in a if not torch.equal(a[k], b[k])]


def test_ddp_ranks_end_with_equal_weights(tmp_path) -> None:
    mp.start_processes(
        _worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True, start_method="spawn"
    )
    states = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert all(int(torch.load(tmp_path / f"world{r}.pt")) == 2 for r in range(2))
    assert _differences(*states) == []  # parameters and BatchNorm statistics alike
    assert (tmp_path / "ddp.pt").is_file() and (tmp_path / "ddp.json").is_file()  # rank 0 wrote

    # Control: the same two data sets without a process group give different weights,
    # so the equality above is the gradient averaging's doing.
    alone = [
        train(_config(tmp_path / f"alone{r}.pt"), train_set=_data(r)).model.state_dict()
        for r in range(2)
    ]
    assert "classifier_global.weight" in _differences(*alone)


def _resume_worker(rank: int, world_size: int, port: int, folder: str) -> None:
    """Both ranks: a whole 2-epoch run, then one stopped in epoch 2 by a SIGTERM that only
    rank 0 receives, resumed. Saves each rank's two final states."""
    import signal

    from tutorial_utils.reid.training import TrainingStopped, resume_config

    _join(rank, world_size, port)
    data = _data(0)  # the same images on both ranks, as under torchrun
    try:
        whole = train(_two_epochs(Path(folder) / "whole.pt"), train_set=data).model
        torch.save(whole.state_dict(), Path(folder) / f"whole{rank}.pt")

        def stop_rank_0(epoch: int, step: int) -> None:
            if rank == 0 and epoch == 1 and step == 0:
                signal.raise_signal(signal.SIGTERM)

        out = Path(folder) / "stopped.pt"
        try:
            train(_two_epochs(out), train_set=data, callback=stop_rank_0)
        except TrainingStopped as stopped:
            torch.save(torch.tensor(stopped.epoch), Path(folder) / f"stopped_at{rank}.pt")
        resumed = train(resume_config(out), train_set=data, resume=out).model
        torch.save(resumed.state_dict(), Path(folder) / f"resumed{rank}.pt")
    finally:
        torch.distributed.destroy_process_group()


def _two_epochs(out: Path) -> TrainConfig:
    return TrainConfig(
        out=str(out), **TINY, epochs=2, batch_size=4, lr=0.05, progress=False, threads=1
    )


def test_ddp_run_stopped_on_one_rank_resumes_to_the_same_weights(tmp_path) -> None:
    mp.start_processes(
        _resume_worker,
        args=(2, _free_port(), str(tmp_path)),
        nprocs=2,
        join=True,
        start_method="spawn",
    )
    # Both ranks stopped in epoch 2, though only rank 0 got the signal.
    assert [int(torch.load(tmp_path / f"stopped_at{r}.pt")) for r in range(2)] == [1, 1]
    for r in range(2):
        whole = torch.load(tmp_path / f"whole{r}.pt", weights_only=True)
        resumed = torch.load(tmp_path / f"resumed{r}.pt", weights_only=True)
        assert _differences(whole, resumed) == []

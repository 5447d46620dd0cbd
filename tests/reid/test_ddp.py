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


def _worker(rank: int, world_size: int, port: int, folder: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world_size),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
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

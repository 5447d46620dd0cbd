"""Train HA-CNN for re-identification: torchreid's recipe, sized for a laptop, DDP-ready.

Loss: cross-entropy with label smoothing on the global and the local identity logits,
averaged (torchreid's ``DeepSupervision``). Optimiser: SGD with momentum and weight decay.
Schedule: the paper's steps (x ``gamma`` at fractions ``milestones`` of training) or a
one-cycle schedule, which reaches a useful model in far fewer epochs on a CPU.

Run under ``torchrun --nproc_per_node K`` and every process trains on its own share of each
epoch (DistributedDataParallel averages the gradients: gloo on CPU, nccl on GPU); rank 0
writes the checkpoint and the log.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler
from tqdm.auto import tqdm

from ..common.device import describe_device, pick_device
from ..common.images import normalize
from .cached import CachedSplit, load_split, relabel
from .checkpoints import save_checkpoint, unwrap
from .variants import GATES, build_model, check_variant, parameter_count

SCHEDULES = ("step", "onecycle")


@dataclass
class TrainConfig:
    """Every choice of a run; the defaults train a quarter-width HA-CNN on 2 CPU cores.

    The paper's recipe (torchreid's author, deep-person-reid #27): ``nchannels=(128, 256,
    384), feat_dim=512, epochs=300, lr=0.03, schedule="step", milestones=(0.5, 0.75)``.
    """

    out: str = "hacnn_reid.pt"
    log: str | None = None  # JSON log; default: the checkpoint's name with .json
    variant: str = "harmonious"
    gate: str = "half"  # "full": an experiment, the soft gate spans (0, 1)
    nchannels: tuple[int, int, int] = (32, 64, 96)
    feat_dim: int = 128
    epochs: int = 12
    batch_size: int = 32  # per process
    lr: float = 0.05
    # An experiment: the stripe predictors' (ha*.hard_attn) rate is lr times this. Stripes
    # that jump to the image's edge early stay there (tanh saturates); a smaller rate may let
    # them move only once the features carry something to follow.
    localisation_lr: float = 1.0
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "onecycle"
    milestones: tuple[float, ...] = (0.5, 0.75)  # fractions of training (step schedule)
    gamma: float = 0.1
    label_smoothing: float = 0.1
    flip: bool = True
    seed: int = 0
    dataset: str = "synthetic"
    root: str | None = None
    data_seed: int = 0
    data_options: dict[str, Any] = field(default_factory=dict)
    device: str | None = None
    threads: int | None = None
    channels_last: bool = False
    progress: bool = True

    def check(self) -> None:
        check_variant(self.variant)
        if self.gate not in GATES:
            raise ValueError(f"unknown gate {self.gate!r}; expected one of {', '.join(GATES)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"unknown schedule {self.schedule!r}; expected one of {', '.join(SCHEDULES)}"
            )
        for name in ("epochs", "batch_size", "feat_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if len(self.nchannels) != 3 or any(c < 16 or c % 16 for c in self.nchannels):
            # Each stage's channel attention divides by its reduction rate 16.
            raise ValueError(f"nchannels must be 3 multiples of 16, got {self.nchannels!r}")
        if self.batch_size < 2:
            raise ValueError(
                f"batch_size must be >= 2 (BatchNorm needs a spread), got {self.batch_size}"
            )
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not self.localisation_lr > 0:
            raise ValueError(
                f"localisation_lr must be > 0 (a factor on lr), got {self.localisation_lr}"
            )


@dataclass
class DistContext:
    """Where this process stands: rank among world_size, and whether a process group runs."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device_type: str) -> DistContext:
    """Join the process group torchrun describes in RANK / WORLD_SIZE / MASTER_ADDR (if any)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistContext()
    ctx = DistContext(
        rank=int(os.environ["RANK"]),
        world_size=world_size,
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
    )
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return ctx


def loss_and_logits(
    outputs: torch.Tensor | tuple[torch.Tensor, ...], labels: torch.Tensor, smoothing: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cross-entropy over the heads (torchreid's DeepSupervision); the global logits.

    outputs: (N, K) or a tuple of (N, K), labels (N,) -> (loss (), global logits (N, K)).
    PyTorch's ``label_smoothing`` is torchreid's CrossEntropyLoss(label_smooth=True) formula.
    """
    heads = outputs if isinstance(outputs, tuple) else (outputs,)
    loss = sum(F.cross_entropy(h, labels, label_smoothing=smoothing) for h in heads) / len(heads)
    return loss, heads[0]


def parameter_groups(model: nn.Module, config: TrainConfig) -> list[dict[str, Any]]:
    """SGD parameter groups: the stripe predictors at ``lr * localisation_lr``, the rest at lr."""
    localisation, rest = [], []
    for name, parameter in model.named_parameters():
        (localisation if ".hard_attn." in f".{name}" else rest).append(parameter)
    groups = [{"params": rest, "lr": config.lr}]
    if localisation:
        groups.append({"params": localisation, "lr": config.lr * config.localisation_lr})
    return groups


def make_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """Per-iteration schedule: one-cycle, or the paper's steps at fractions of all iterations."""
    total = config.epochs * steps_per_epoch
    if config.schedule == "onecycle":
        if total < 4:  # too short to warm up and anneal: keep the rate constant
            return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
        # Warm up over a quarter of training (at least 2 steps), then anneal.
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=[group["lr"] for group in optimizer.param_groups],
            total_steps=total,
            pct_start=max(0.25, 2 / total),
        )
    milestones = sorted(max(1, round(f * total)) for f in config.milestones)
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=config.gamma)


def epoch_batches(sampler: DistributedSampler, epoch: int, batch_size: int) -> list[torch.Tensor]:
    """This process's index batches for one epoch, full batches only (BatchNorm, equal steps)."""
    sampler.set_epoch(epoch)
    indices = torch.tensor(list(sampler), dtype=torch.long)
    n = len(indices) // batch_size * batch_size
    return list(indices[:n].split(batch_size))


@dataclass
class TrainResult:
    """The trained model (unwrapped, on its device, in train mode) and the run's log."""

    model: nn.Module
    log: dict[str, Any]


def train(config: TrainConfig, train_set: CachedSplit | None = None) -> TrainResult:
    """Train as ``config`` says; rank 0 writes the checkpoint and the JSON log.

    ``train_set`` overrides ``config.dataset`` (tests pass a small one).
    """
    config.check()
    device = pick_device(config.device)
    ctx = init_distributed(device.type)
    if device.type == "cuda" and ctx.enabled:
        device = torch.device("cuda", ctx.local_rank)
        torch.cuda.set_device(device)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)  # the same initial weights on every rank

    data = train_set
    if data is None:
        data = load_split(
            config.dataset,
            "train",
            root=config.root,
            seed=config.data_seed,
            options=config.data_options,
        )
    labels, num_classes = relabel(data.pids)
    if len(data) < config.batch_size * ctx.world_size:
        raise ValueError(
            f"{len(data)} training images cannot fill one batch of {config.batch_size} on each "
            f"of {ctx.world_size} processes; lower batch_size"
        )

    model = build_model(
        num_classes, config.nchannels, config.feat_dim, config.variant, gate=config.gate
    ).to(device)
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    net: nn.Module = model
    if ctx.enabled:
        # Broadcasts rank 0's weights now, then averages gradients at every backward.
        net = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )

    optimizer = torch.optim.SGD(
        parameter_groups(model, config),
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
        nesterov=False,
    )
    sampler = DistributedSampler(
        range(len(data)),
        num_replicas=ctx.world_size,
        rank=ctx.rank,
        shuffle=True,
        seed=config.seed,
        drop_last=True,
    )
    steps = len(epoch_batches(sampler, 0, config.batch_size))
    scheduler = make_scheduler(optimizer, config, steps)
    # Flips differ per rank (each sees other images anyway) but repeat from run to run.
    flip_rng = torch.Generator().manual_seed(config.seed * 1000 + ctx.rank)

    log_path = Path(config.log) if config.log else Path(config.out).with_suffix(".json")
    log: dict[str, Any] = {
        "args": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()},
        "device": describe_device(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "world_size": ctx.world_size,
        "num_train_images": len(data),
        "data_fingerprint": data_fingerprint(data),
        "dataset_version": _dataset_version(config.dataset) if train_set is None else None,
        "num_classes": num_classes,
        "parameters": parameter_count(model),
        "parameters_with_classifiers": sum(p.numel() for p in model.parameters()),
        "epochs": [],
    }
    started = time.perf_counter()
    for epoch in range(config.epochs):
        net.train()
        t0 = time.perf_counter()
        totals = torch.zeros(3, dtype=torch.float64)  # loss sum, correct, images
        batches = epoch_batches(sampler, epoch, config.batch_size)
        bar = tqdm(
            batches,
            desc=f"epoch {epoch + 1}/{config.epochs}",
            disable=not (config.progress and ctx.is_main),
            leave=False,
        )
        for index in bar:
            images = data.images[index].float()
            if config.flip:  # horizontal flip: a person seen from the other side is the same person
                flip = torch.rand(len(index), generator=flip_rng) < 0.5
                images[flip] = images[flip].flip(-1)
            x = normalize(images.to(device)).contiguous(memory_format=memory_format)
            y = labels[index].to(device)
            loss, logits = loss_and_logits(net(x), y, config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            correct = (logits.argmax(1) == y).sum().item()
            totals += torch.tensor(
                [loss.item() * len(index), correct, len(index)], dtype=torch.float64
            )
            bar.set_postfix(loss=f"{loss.item():.3f}", acc=f"{correct / len(index):.2f}")
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - t0
        if ctx.enabled:
            dist.all_reduce(totals)  # every rank's images count toward the epoch's figures
        entry = {
            "epoch": epoch + 1,
            "loss": totals[0].item() / totals[2].item(),
            "accuracy": totals[1].item() / totals[2].item(),
            "lr_end": scheduler.get_last_lr()[0],
            "seconds": seconds,
            "images_per_s": totals[2].item() / seconds,
        }
        log["epochs"].append(entry)
        if ctx.is_main:
            print(
                f"epoch {entry['epoch']:3d}  loss {entry['loss']:.3f}  "
                f"acc {entry['accuracy']:.3f}  "
                f"{entry['seconds']:.0f} s  {entry['images_per_s']:.1f} img/s",
                flush=True,
            )
            _write_json(log_path, log)

    if ctx.enabled:
        # Each rank updated its BatchNorm running statistics on its own images; keep rank 0's.
        for buffer in unwrap(net).buffers():
            dist.broadcast(buffer, src=0)
    log["total_seconds"] = time.perf_counter() - started
    log["checkpoint"] = str(config.out)
    if ctx.is_main:
        save_checkpoint(
            config.out,
            model.to(memory_format=torch.contiguous_format),
            num_classes=num_classes,
            nchannels=config.nchannels,
            feat_dim=config.feat_dim,
            variant=config.variant,
            epoch=config.epochs,
            gate=config.gate,
        )
        _write_json(log_path, log)
    if ctx.enabled:
        dist.barrier()
    return TrainResult(model=model, log=log)


def data_fingerprint(data: CachedSplit) -> str:
    """SHA-256 (first 16 hex digits) of the training images and ids: which data a run saw."""
    digest = hashlib.sha256(data.images.numpy().tobytes())
    digest.update(data.pids.numpy().tobytes())
    return digest.hexdigest()[:16]


def _dataset_version(dataset: str) -> int | None:
    """The synthetic generator's DATASET_VERSION (same seed, same images within a version)."""
    if dataset != "synthetic":
        return None
    from .synthetic import DATASET_VERSION

    return DATASET_VERSION


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")

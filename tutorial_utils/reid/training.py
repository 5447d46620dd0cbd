"""Train HA-CNN for re-identification: torchreid's recipe, sized for a laptop, DDP-ready.

Loss: cross-entropy with label smoothing on the global and the local identity logits,
averaged (torchreid's ``DeepSupervision``). Optimiser: SGD with momentum and weight decay.
Schedule: the paper's steps (x ``gamma`` at fractions ``milestones`` of training) or a
one-cycle schedule, which reaches a useful model in far fewer epochs on a CPU.

Run under ``torchrun --nproc_per_node K`` and every process trains on its own share of each
epoch (DistributedDataParallel averages the gradients: gloo on CPU, nccl on GPU); rank 0
writes the checkpoint and the log.

A run survives being stopped. After every epoch rank 0 writes the checkpoint atomically
(temporary file, then rename), with what ``resume`` needs: optimizer, scheduler, random
states (each rank's flip stream too), settings and log. The data order follows from
(seed, epoch), so a resumed run sees the same batches. SIGTERM or SIGINT (Ctrl-C) stops the
run before its next update, leaving the last finished epoch's checkpoint; a second Ctrl-C
aborts at once. A non-finite loss stops the run with a clear error before it can touch the
weights.

``train`` = ``setup`` + ``train_epoch`` per epoch (each followed by ``save_epoch``) + ``finish``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler
from tqdm.auto import tqdm

from ..common.device import describe_device, pick_device
from ..common.images import normalize
from ..common.validation import check_int
from .cached import CachedSplit, load_split, relabel
from .checkpoints import atomic_write, read_checkpoint, save_checkpoint, unwrap
from .data_options import check_data_options, valid_data_options
from .supervision import captured_attention, mask_loss, stripe_loss, stripe_targets
from .variants import GATES, build_model, check_variant, gate_range, parameter_count, variant_spec

SCHEDULES = ("step", "onecycle")
# Settings that may change when a run is resumed: where it writes and how it runs, not what
# it computes. Every other setting comes from the checkpoint.
RUNTIME_SETTINGS = ("out", "log", "device", "threads", "progress")


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

    def dataset_options(self) -> dict[str, Any]:
        """The data options the run uses: the variant's own (``confusing_backgrounds``), then
        ``data_options``, which win where both set a key."""
        return {**variant_spec(self.variant).data_options, **self.data_options}

    def check(self) -> None:
        check_variant(self.variant)
        if self.gate not in GATES:
            raise ValueError(f"unknown gate {self.gate!r}; expected one of {', '.join(GATES)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"unknown schedule {self.schedule!r}; expected one of {', '.join(SCHEDULES)}"
            )
        for name in ("epochs", "batch_size", "feat_dim"):
            check_int(getattr(self, name), name, low=1)
        for name in ("seed", "data_seed"):
            check_int(getattr(self, name), name, low=0)
        if self.threads is not None:
            check_int(self.threads, "threads", low=1)
        if (
            not isinstance(self.nchannels, tuple | list)
            or len(self.nchannels) != 3
            or any(isinstance(c, bool) or not isinstance(c, int) for c in self.nchannels)
            or any(c < 16 or c % 16 for c in self.nchannels)
        ):
            # Each stage's channel attention divides by its reduction rate 16.
            raise ValueError(f"nchannels must be 3 multiples of 16, got {self.nchannels!r}")
        if self.batch_size < 2:
            raise ValueError(
                f"batch_size must be >= 2 (BatchNorm needs a spread), got {self.batch_size}"
            )
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        for name, what in (("lr", "a learning rate"), ("localisation_lr", "a factor on lr")):
            value = getattr(self, name)
            if not _finite_number(value) or value <= 0:
                raise ValueError(f"{name} must be > 0 and finite ({what}), got {value!r}")
        for name in ("momentum", "weight_decay", "gamma"):
            value = getattr(self, name)
            if not _finite_number(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if not self.milestones or not all(_finite_number(f) and 0 < f < 1 for f in self.milestones):
            raise ValueError(
                f"milestones must be fractions of training in (0, 1), got {self.milestones!r}"
            )
        if not isinstance(self.data_options, dict):
            raise TypeError(f"data_options must be a dict, got {type(self.data_options).__name__}")
        check_data_options(self.dataset, self.data_options)
        own = variant_spec(self.variant).data_options
        if own and set(own) - set(valid_data_options(self.dataset)):
            drawn = ", ".join(f"{k}={v!r}" for k, v in own.items())
            raise ValueError(
                f"variant {self.variant!r} draws its own data ({drawn}), which dataset "
                f"{self.dataset!r} cannot: use the synthetic pedestrians"
            )


def _finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class TrainingStopped(Exception):
    """The run was stopped by SIGTERM or SIGINT; ``checkpoint`` holds ``epoch`` finished epochs
    (``epoch`` is 0 and nothing was written if the first epoch had not finished)."""

    def __init__(self, message: str, signum: int, epoch: int, checkpoint: Path | None) -> None:
        super().__init__(message)
        self.signum, self.epoch, self.checkpoint = signum, epoch, checkpoint


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the checkpoint on disk (if any) is the last good one."""


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


@dataclass
class Run:
    """Everything one epoch needs: built by ``setup``, advanced by ``train_epoch``."""

    config: TrainConfig
    device: torch.device
    ctx: DistContext
    data: CachedSplit
    labels: torch.Tensor
    num_classes: int
    model: nn.Module
    net: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    sampler: DistributedSampler
    memory_format: torch.memory_format
    flip_rng: torch.Generator
    log: dict[str, Any]
    log_path: Path
    data_given: bool = False  # a data set passed in, not the one config names
    teaching: bool = False  # the variant adds a teaching loss (``supervision``)
    first_epoch: int = 0  # epochs finished before this process started (resume)
    last_saved: Path | None = None  # the checkpoint of the last finished epoch
    seconds_before: float = 0.0  # training time of earlier processes (resume)
    started: float = field(default_factory=time.perf_counter)


class StopRequest:
    """Set by SIGTERM / SIGINT while a run trains; the loop stops before its next update."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __call__(self, signum: int, frame: object) -> None:
        if self.signum is None:
            self.signum = signum
            print(
                f"\n{signal.Signals(signum).name}: stopping before the next update; the last "
                "finished epoch's checkpoint stays (send it again to abort at once)",
                file=sys.stderr,
                flush=True,
            )
        # A second signal gets the handler that was there before: Ctrl-C twice aborts.
        signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))

    @contextmanager
    def installed(self) -> Iterator[StopRequest]:
        """Catch SIGTERM and SIGINT inside the block (main thread only), then restore."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self)
        try:
            yield self
        finally:
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)


def setup(
    config: TrainConfig,
    train_set: CachedSplit | None = None,
    resume: str | Path | None = None,
    data_from_config: bool = False,
) -> Run:
    """Check ``config``, join the process group, load the data, build model and optimizer;
    with ``resume``, restore them (and the random states) from that checkpoint.

    ``data_from_config``: ``train_set`` is the training split ``config`` names, drawn once by
    a caller that trains many runs on it; the checkpoint then records that data, as if the
    run had drawn it itself."""
    config.check()
    saved = None
    if resume is not None:
        saved = read_training_state(resume)
        check_resumable(config, saved["training"]["config"], resume)
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
            options=config.dataset_options(),
        )
    spec = variant_spec(config.variant)
    if (spec.mask_loss or spec.stripe_loss) and not data.has_ground_truth:
        raise ValueError(
            f"variant {config.variant!r} is taught from the person masks and part boxes; the "
            f"training data ({config.dataset}) has none: use the synthetic pedestrians"
        )
    labels, num_classes = relabel(data.pids)
    if len(data) < config.batch_size * ctx.world_size:
        raise ValueError(
            f"{len(data)} training images cannot fill one batch of {config.batch_size} on each "
            f"of {ctx.world_size} processes; lower batch_size"
        )
    fingerprint = data_fingerprint(data)
    if saved is not None:
        _check_same_run(saved, fingerprint, ctx.world_size, resume)

    model = build_model(
        num_classes, config.nchannels, config.feat_dim, config.variant, gate=config.gate
    ).to(device)
    if saved is not None:
        model.load_state_dict(saved["state_dict"])
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
        "args": _config_dict(config),
        "device": describe_device(device),
        "torch": str(torch.__version__),
        "python": platform.python_version(),
        "world_size": ctx.world_size,
        "num_train_images": len(data),
        "data_fingerprint": fingerprint,
        "dataset_version": (
            _dataset_version(config.dataset) if train_set is None or data_from_config else None
        ),
        "num_classes": num_classes,
        "parameters": parameter_count(model),
        "parameters_with_classifiers": sum(p.numel() for p in model.parameters()),
        "epochs": [],
    }
    run = Run(
        config, device, ctx, data, labels, num_classes, model, net, optimizer, scheduler,
        sampler, memory_format, flip_rng, log, log_path,
        data_given=train_set is not None and not data_from_config,
    )  # fmt: skip
    run.teaching = bool(spec.mask_loss or spec.stripe_loss)
    if saved is not None:
        training = saved["training"]
        optimizer.load_state_dict(training["optimizer"])
        scheduler_state = dict(training["scheduler"])
        if "milestones" in scheduler_state:  # MultiStepLR looks its milestones up in a Counter
            scheduler_state["milestones"] = Counter(scheduler_state["milestones"])
        scheduler.load_state_dict(scheduler_state)
        _set_rng_state(training["rng"], device)
        flip_rng.set_state(training["flip_rng"][ctx.rank])
        run.first_epoch = int(saved["epoch"])
        run.last_saved = Path(resume)
        run.seconds_before = float(training["log"].get("train_seconds", 0.0))
        log["epochs"] = list(training["log"]["epochs"])
        log["resumed_from"] = [*training["log"].get("resumed_from", []), run.first_epoch]
    return run


def train_epoch(
    run: Run,
    epoch: int,
    stop: StopRequest | None = None,
    callback: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """One epoch (``epoch`` counts from 0); returns its log entry.

    Raises TrainingStopped when ``stop`` was signalled (before the next update) and
    TrainingDiverged when the loss is not finite (before it reaches the weights). Under DDP
    the ranks agree on both at every step, so they stop together. ``callback(epoch, step)``
    runs after every update.
    """
    config, ctx, device = run.config, run.ctx, run.device
    run.net.train()
    t0 = time.perf_counter()
    totals = torch.zeros(3, dtype=torch.float64)  # loss sum, correct, images
    batches = epoch_batches(run.sampler, epoch, config.batch_size)
    bar = tqdm(
        batches,
        desc=f"epoch {epoch + 1}/{config.epochs}",
        disable=not (config.progress and ctx.is_main),
        leave=False,
    )
    for step, index in enumerate(bar):
        images = run.data.images[index].float()
        flip = torch.zeros(len(index), dtype=torch.bool)
        if config.flip:  # horizontal flip: a person seen from the other side is the same person
            flip = torch.rand(len(index), generator=run.flip_rng) < 0.5
            images[flip] = images[flip].flip(-1)
        x = normalize(images.to(device)).contiguous(memory_format=run.memory_format)
        y = run.labels[index].to(device)
        taught_only = variant_spec(config.variant).stripes_taught_only
        with captured_attention(run.model, taught_only) as attention:
            outputs = run.net(x)
        loss, logits = loss_and_logits(outputs, y, config.label_smoothing)
        if run.teaching:
            loss = loss + teaching_loss(run, index, flip, attention)
        loss_value = loss.item()
        flags = torch.tensor(
            [not math.isfinite(loss_value), stop is not None and stop.signum is not None],
            dtype=torch.float32,
        )
        if ctx.enabled:
            flags = flags.to(device)
            dist.all_reduce(flags, op=dist.ReduceOp.MAX)
            flags = flags.cpu()
        if flags[0]:
            raise TrainingDiverged(
                f"the loss became {loss_value} at epoch {epoch + 1}, step {step + 1} "
                f"(lr {run.scheduler.get_last_lr()[0]:.3g}); the weights were not updated with "
                f"it. {_kept(run, epoch)} Lower --lr (now {config.lr}) or check the data"
            )
        if flags[1]:
            signum = stop.signum if stop is not None and stop.signum else signal.SIGTERM
            raise TrainingStopped(
                f"stopped by {signal.Signals(signum).name} in epoch {epoch + 1}, before step "
                f"{step + 1}. {_kept(run, epoch)}",
                signum,
                epoch,
                run.last_saved,
            )
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        run.scheduler.step()
        correct = (logits.argmax(1) == y).sum().item()
        totals += torch.tensor([loss_value * len(index), correct, len(index)], dtype=torch.float64)
        bar.set_postfix(loss=f"{loss_value:.3f}", acc=f"{correct / len(index):.2f}")
        if callback is not None:
            callback(epoch, step)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - t0
    if ctx.enabled:
        dist.all_reduce(totals)  # every rank's images count toward the epoch's figures
    return {
        "epoch": epoch + 1,
        "loss": totals[0].item() / totals[2].item(),
        "accuracy": totals[1].item() / totals[2].item(),
        "lr_end": run.scheduler.get_last_lr()[0],
        "seconds": seconds,
        "images_per_s": totals[2].item() / seconds,
    }


def teaching_loss(
    run: Run, index: torch.Tensor, flip: torch.Tensor, attention: Any
) -> torch.Tensor:
    """The taught variants' extra loss for one batch (see ``supervision``): the masks and
    stripe targets of the images at ``index``, flipped where the images were."""
    spec = variant_spec(run.config.variant)
    loss = torch.zeros((), device=run.device)
    if spec.mask_loss:
        masks = run.data.masks[index].clone()
        masks[flip] = masks[flip].flip(-1)
        value_range = gate_range(run.config.variant, run.config.gate)
        loss = loss + spec.mask_loss * mask_loss(attention.soft, masks.to(run.device), value_range)
    if spec.stripe_loss:
        parts = run.data.parts[index].clone()
        offsets = run.data.offsets[index].clone()
        width = run.data.images.shape[-1]
        # A mirrored image mirrors the boxes and the horizontal offset.
        parts[flip] = torch.stack(
            [width - parts[flip][..., 2], parts[flip][..., 1], width - parts[flip][..., 0],
             parts[flip][..., 3]], dim=-1,
        )  # fmt: skip
        offsets[flip, 0] = -offsets[flip, 0]
        num_regions = attention.translations[0].shape[1]
        targets = stripe_targets(parts, offsets, run.data.images.shape[-2], num_regions)
        loss = loss + spec.stripe_loss * stripe_loss(attention.translations, targets.to(run.device))
    return loss


def _kept(run: Run, epoch: int) -> str:
    if run.last_saved is None:
        return "No epoch had finished, so no checkpoint was written."
    return (
        f"{run.last_saved} holds epoch {epoch}, the last finished one; continue with "
        f"`python -m tutorial_utils.reid train --resume {run.last_saved}`."
    )


def save_epoch(run: Run, entry: dict[str, Any]) -> None:
    """Log epoch ``entry`` and (rank 0) write the checkpoint and the JSON log, atomically."""
    run.log["epochs"].append(entry)
    run.log["train_seconds"] = run.seconds_before + time.perf_counter() - run.started
    # Every rank's flip stream, so that each rank of a resumed run continues its own.
    flip_states = [run.flip_rng.get_state()]
    if run.ctx.enabled:
        flip_states = [None] * run.ctx.world_size
        dist.all_gather_object(flip_states, run.flip_rng.get_state())
    if not run.ctx.is_main:
        run.last_saved = Path(run.config.out)  # rank 0 writes it
        return
    print(
        f"epoch {entry['epoch']:3d}  loss {entry['loss']:.3f}  acc {entry['accuracy']:.3f}  "
        f"{entry['seconds']:.0f} s  {entry['images_per_s']:.1f} img/s",
        flush=True,
    )
    config = run.config
    save_checkpoint(
        config.out,
        run.model.to(memory_format=torch.contiguous_format),
        num_classes=run.num_classes,
        nchannels=config.nchannels,
        feat_dim=config.feat_dim,
        variant=config.variant,
        epoch=entry["epoch"],
        gate=config.gate,
        extra={
            "data": _data_record(run),
            "training": {
                "config": _config_dict(config),
                "optimizer": run.optimizer.state_dict(),
                "scheduler": run.scheduler.state_dict(),
                "rng": _rng_state(run.device),
                "flip_rng": flip_states,
                "log": run.log,
                "world_size": run.ctx.world_size,
            },
        },
    )
    run.model.to(memory_format=run.memory_format)
    run.last_saved = Path(config.out)
    _write_json(run.log_path, run.log)


def finish(run: Run) -> TrainResult:
    """Give every rank rank 0's BatchNorm statistics; rank 0 completes the JSON log."""
    if run.ctx.enabled:
        # Each rank updated its BatchNorm running statistics on its own images; keep rank 0's
        # (the ones its checkpoint holds).
        for buffer in unwrap(run.net).buffers():
            dist.broadcast(buffer, src=0)
    run.log["total_seconds"] = run.seconds_before + time.perf_counter() - run.started
    run.log["checkpoint"] = str(run.config.out)
    if run.ctx.is_main:
        _write_json(run.log_path, run.log)
    if run.ctx.enabled:
        dist.barrier()
    return TrainResult(model=run.model, log=run.log)


def train(
    config: TrainConfig,
    train_set: CachedSplit | None = None,
    *,
    resume: str | Path | None = None,
    callback: Callable[[int, int], None] | None = None,
    data_from_config: bool = False,
) -> TrainResult:
    """Train as ``config`` says; rank 0 writes the checkpoint and the JSON log after every epoch.

    ``train_set`` overrides ``config.dataset`` (tests pass a small one). ``resume``: a
    checkpoint this function wrote; training continues after its last finished epoch and
    ends with the weights an uninterrupted run would have (``config`` must match the run's
    settings except ``RUNTIME_SETTINGS``; see ``resume_config``). ``callback(epoch, step)``
    runs after every update; ``data_from_config``: see ``setup``. Raises TrainingStopped on
    SIGTERM / SIGINT and TrainingDiverged on a non-finite loss; either way the last finished
    epoch's checkpoint stays on disk.
    """
    run = setup(config, train_set, resume, data_from_config)
    with StopRequest().installed() as stop:
        for epoch in range(run.first_epoch, config.epochs):
            save_epoch(run, train_epoch(run, epoch, stop, callback))
    return finish(run)


def read_training_state(path: str | Path) -> dict[str, Any]:
    """A checkpoint's contents, checked to hold what ``resume`` needs."""
    blob = read_checkpoint(path)
    training = blob.get("training")
    if not isinstance(training, dict) or not {
        "config",
        "optimizer",
        "scheduler",
        "rng",
        "log",
    } <= set(training):
        raise ValueError(
            f"{path} holds no training state (optimizer, scheduler, random states), so it "
            "cannot be resumed; it was not written by this version's "
            "`python -m tutorial_utils.reid train`"
        )
    return blob


def resume_config(path: str | Path, **runtime: Any) -> TrainConfig:
    """The settings of the run saved at ``path``, with ``runtime`` ones (``RUNTIME_SETTINGS``:
    out, log, device, threads, progress) replaced; ``out`` defaults to ``path`` itself."""
    bad = sorted(set(runtime) - set(RUNTIME_SETTINGS))
    if bad:
        raise ValueError(
            f"a resumed run keeps its settings; only {', '.join(RUNTIME_SETTINGS)} may change, "
            f"got {', '.join(bad)}"
        )
    saved = read_training_state(path)["training"]["config"]
    values = _config_from_dict(saved)
    values["out"] = str(path)
    values.update({k: v for k, v in runtime.items() if v is not None})
    return TrainConfig(**values)


def check_resumable(config: TrainConfig, saved: dict[str, Any], path: str | Path) -> None:
    """Raise unless ``config`` equals the saved settings outside ``RUNTIME_SETTINGS``."""
    ours = _config_dict(config)
    different = sorted(
        k for k in ours if k not in RUNTIME_SETTINGS and k in saved and ours[k] != saved[k]
    )
    if different:
        changes = "; ".join(f"{k}: {saved[k]!r} -> {ours[k]!r}" for k in different)
        raise ValueError(
            f"cannot resume {path} with other settings ({changes}); a resumed run keeps its "
            f"own settings, only {', '.join(RUNTIME_SETTINGS)} may change"
        )


def _check_same_run(saved: dict[str, Any], fingerprint: str, world_size: int, path: Any) -> None:
    log = saved["training"]["log"]
    if log.get("data_fingerprint") not in (None, fingerprint):
        raise ValueError(
            f"cannot resume {path}: the training data differ from the run's (fingerprint "
            f"{fingerprint}, the run's {log['data_fingerprint']}); same data set, seed and options "
            "needed"
        )
    saved_world = int(saved["training"].get("world_size", 1))
    if saved_world != world_size:
        raise ValueError(
            f"cannot resume {path} on {world_size} process(es): it was trained on {saved_world}, "
            "and each process's share of the data follows from that number"
        )
    if int(saved["epoch"]) >= int(saved["training"]["config"]["epochs"]):
        raise ValueError(
            f"{path} has finished all {saved['epoch']} epochs of its run: nothing to resume"
        )


def _config_dict(config: TrainConfig) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}


def _config_from_dict(saved: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(TrainConfig)}
    values = {k: v for k, v in saved.items() if k in names}
    for k in ("nchannels", "milestones"):
        if k in values:
            values[k] = tuple(values[k])
    return values


def _data_record(run: Run) -> dict[str, Any] | None:
    """Which data set the run trained on, for ``evaluate`` (None for a data set passed in)."""
    if run.data_given:
        return None
    config = run.config
    return {
        "dataset": config.dataset,
        "root": config.root,
        "data_seed": config.data_seed,
        "data_options": config.dataset_options(),
    }


def _rng_state(device: torch.device) -> dict[str, Any]:
    """Every random generator's state as tensors and plain values (weights_only-loadable)."""
    keys, position, has_gauss, cached = np.random.get_state()[1:]
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


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
    text = json.dumps(payload, indent=2) + "\n"
    atomic_write(path, lambda handle: handle.write(text.encode()))

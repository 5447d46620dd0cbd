"""Training and evaluation of the DigitNet variants on cluttered digits, with one budget.

The same seed gives the same accuracies on the same CPU (seconds vary).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ..common.seeding import seeded
from ..common.tracing import count_parameters
from ..common.validation import check_positive_int
from ..hacnn.hard_attention import theta_to_boxes
from .data import ClutteredDigits, DigitSplit, make_cluttered_digits
from .models import VARIANTS, DigitNet, build_variant, variant_name

DEFAULT_EPOCHS = 10
DEFAULT_TRAIN = 6000
DEFAULT_TEST = 2000


@dataclass
class TrainConfig:
    """One training budget, shared by every variant."""

    epochs: int = DEFAULT_EPOCHS
    batch_size: int = 64
    lr: float = 5e-3
    weight_decay: float = 1e-4
    seed: int = 0


@dataclass
class RunResult:
    """What training one variant produced."""

    name: str
    test_accuracy: float  # percent
    parameters: int
    seconds: float
    history: dict[str, list[float]] = field(default_factory=dict)  # per epoch
    glimpse: dict[str, float] = field(default_factory=dict)  # where the glimpses went (hard only)


def set_determinism(seed: int, threads: int | None = None) -> None:
    """Seed torch, insist on deterministic kernels and optionally fix the thread count.

    Float sums split over threads can round differently with another thread count, so fix
    ``threads`` when results must match across machines.
    """
    if threads is not None:
        check_positive_int(threads, "threads")
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


@torch.no_grad()
def evaluate(model: nn.Module, split: DigitSplit, batch_size: int = 500) -> dict[str, float]:
    """Accuracy (%) and mean loss of ``model`` on ``split``.

    For models with a glimpse, where it looked is added (see ``glimpse_statistics``).
    """
    model.eval()
    correct, loss_sum, thetas = 0, 0.0, []
    for start in range(0, len(split), batch_size):
        x = split.images[start : start + batch_size]
        y = split.labels[start : start + batch_size]
        logits = model(x)
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(dim=1) == y).sum().item()
        if isinstance(model, DigitNet) and "theta" in model.last:
            thetas.append(model.last["theta"])
    result = {"accuracy": 100.0 * correct / len(split), "loss": loss_sum / len(split)}
    if thetas:
        size = split.images.shape[-1]
        result.update(glimpse_statistics(torch.cat(thetas), split.positions, size))
    return result


def glimpse_statistics(
    theta: torch.Tensor, positions: torch.Tensor, canvas_size: int
) -> dict[str, float]:
    """How well glimpse windows theta (N, 2, 3) follow the true digit centres (N, 2) in pixels.

    Returns the mean and spread (std) of the window centre in pixels, its Pearson correlation
    with the true centre along x and y, and the mean distance between the two in pixels.
    """
    boxes = theta_to_boxes(theta, canvas_size, canvas_size)  # (N, 4) x1, y1, x2, y2
    centre = torch.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], dim=1)
    stats = {}
    for axis, name in enumerate("xy"):
        c, p = centre[:, axis], positions[:, axis]
        stats[f"mean_{name}"] = c.mean().item()
        stats[f"std_{name}"] = c.std().item()
        stats[f"corr_{name}"] = _pearson(c, p)
    stats["distance"] = (centre - positions).norm(dim=1).mean().item()
    return stats


def _pearson(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a - a.mean(), b - b.mean()
    denom = (a.norm() * b.norm()).item()
    return 0.0 if denom < 1e-12 else (a * b).sum().item() / denom


def train_variant(
    model: nn.Module,
    data: ClutteredDigits,
    config: TrainConfig,
    progress: bool = True,
    desc: str = "",
) -> dict[str, list[float]]:
    """Adam + one-cycle learning rate, cross-entropy; returns per-epoch history.

    History keys: train_loss, train_accuracy, test_accuracy, and for hard attention
    corr_x, corr_y, distance (glimpse centre vs true digit centre on the test split).
    The batch order comes from a generator seeded with ``config.seed``.
    """
    check_positive_int(config.epochs, "epochs")
    check_positive_int(config.batch_size, "batch_size")
    train = data.train
    steps = math.ceil(len(train) / config.batch_size)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=config.lr, total_steps=config.epochs * steps
    )
    order = torch.Generator().manual_seed(config.seed)
    history: dict[str, list[float]] = {}
    bar = tqdm(range(config.epochs), desc=desc or "training", disable=not progress, unit="epoch")
    for _ in bar:
        model.train()
        perm = torch.randperm(len(train), generator=order)
        loss_sum, correct = 0.0, 0
        for start in range(0, len(train), config.batch_size):
            idx = perm[start : start + config.batch_size]
            x, y = train.images[idx], train.labels[idx]
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(dim=1) == y).sum().item()
        test = evaluate(model, data.test)
        epoch = {
            "train_loss": loss_sum / len(train),
            "train_accuracy": 100.0 * correct / len(train),
            "test_accuracy": test["accuracy"],
        }
        epoch.update({k: test[k] for k in ("corr_x", "corr_y", "distance") if k in test})
        for key, value in epoch.items():
            history.setdefault(key, []).append(value)
        bar.set_postfix(loss=f"{epoch['train_loss']:.3f}", test=f"{epoch['test_accuracy']:.1f}%")
    return history


def run_variant(
    name: str, data: ClutteredDigits, config: TrainConfig, progress: bool = True
) -> tuple[DigitNet, RunResult]:
    """Build variant ``name`` from ``config.seed`` and train it; returns (model, result).

    The initial weights are those drawn after ``torch.manual_seed(config.seed)``; the caller's
    random stream is left as it was.
    """
    name = variant_name(name)
    with seeded(config.seed):
        model = build_variant(name)
        start = time.perf_counter()
        history = train_variant(model, data, config, progress=progress, desc=f"{name:>10}")
        seconds = time.perf_counter() - start
    final = evaluate(model, data.test)
    glimpse = {k: v for k, v in final.items() if k not in ("accuracy", "loss")}
    result = RunResult(name, final["accuracy"], count_parameters(model), seconds, history, glimpse)
    return model, result


def run_experiment(
    variants: Sequence[str] = VARIANTS,
    config: TrainConfig | None = None,
    num_train: int = DEFAULT_TRAIN,
    num_test: int = DEFAULT_TEST,
    progress: bool = True,
    data_seed: int | None = None,
) -> tuple[dict[str, DigitNet], list[RunResult]]:
    """Make the data once, then train every variant from scratch with the same budget.

    The data come from ``data_seed`` (default: ``config.seed``). Runs that differ only in the
    training seed should share one ``data_seed``, so they are measured on the same test set and
    no seed trains on another's test digits.
    """
    config = config or TrainConfig()
    seed = config.seed if data_seed is None else data_seed
    data = make_cluttered_digits(num_train=num_train, num_test=num_test, seed=seed)
    models, results = {}, []
    for name in variants:
        models[name], result = run_variant(name, data, config, progress=progress)
        results.append(result)
    return models, results

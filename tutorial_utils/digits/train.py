"""Does attention help? Train the four DigitNet variants on cluttered digits with one budget.

Run ``python -m tutorial_utils.experiment`` (``--quick`` for a seconds-long smoke run). The
results table is printed last: one row per variant, test accuracy (%), parameters, seconds.
The same seed gives the same accuracies on the same CPU (seconds vary).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle
from torch import nn
from tqdm import tqdm

from ..common.plotting import draw_boxes, overlay_map, show_image
from ..common.validation import check_positive_int
from ..hacnn.hard_attention import theta_to_boxes
from ..hacnn.model import count_parameters
from .data import ClutteredDigits, DigitSplit, make_cluttered_digits
from .models import VARIANTS, DigitNet, build_variant

DEFAULT_EPOCHS = 10
DEFAULT_TRAIN = 6000
DEFAULT_TEST = 2000
QUICK = {"epochs": 1, "num_train": 512, "num_test": 256}


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
    """Accuracy (%) and mean loss of ``model`` on ``split``; for hard attention also where it looked.

    Glimpse statistics (see ``glimpse_statistics``) are added for models with a glimpse.
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
    """Build variant ``name`` from ``config.seed`` and train it; returns (model, result)."""
    torch.manual_seed(config.seed)
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
) -> tuple[dict[str, DigitNet], list[RunResult]]:
    """Make the data once, then train every variant from scratch with the same budget."""
    config = config or TrainConfig()
    data = make_cluttered_digits(num_train=num_train, num_test=num_test, seed=config.seed)
    models, results = {}, []
    for name in variants:
        models[name], result = run_variant(name, data, config, progress=progress)
        results.append(result)
    return models, results


def format_results(results: Sequence[RunResult], seconds: bool = True) -> str:
    """The results table: variant, test accuracy (%), parameters, training seconds.

    ``seconds=False`` leaves the timing column out (for output that must not vary).
    """
    header = ["variant", "test acc (%)", "params"] + (["train s"] if seconds else [])
    rows = [
        [r.name, f"{r.test_accuracy:.2f}", f"{r.parameters:,}"]
        + ([f"{r.seconds:.1f}"] if seconds else [])
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_glimpses(results: Sequence[RunResult]) -> str:
    """One line per hard-attention variant: window centre mean/spread and its correlation."""
    lines = []
    for r in results:
        g = r.glimpse
        if g:
            lines.append(
                f"{r.name}: glimpse centre x {g['mean_x']:.1f}±{g['std_x']:.1f} px, "
                f"y {g['mean_y']:.1f}±{g['std_y']:.1f} px; correlation with the digit centre "
                f"x {g['corr_x']:.2f}, y {g['corr_y']:.2f}; mean distance {g['distance']:.1f} px"
            )
    return "\n".join(lines)


def save_checkpoint(models: dict[str, nn.Module], results: Sequence[RunResult], path: Path) -> None:
    """Save every model's state_dict and its learning curves as plain tensors (weights_only-safe)."""
    payload: dict[str, dict[str, torch.Tensor]] = {}
    for r in results:
        state = {k: v.detach().clone() for k, v in models[r.name].state_dict().items()}
        curves = {
            f"history.{k}": torch.tensor(v, dtype=torch.float64) for k, v in r.history.items()
        }
        payload[r.name] = {**state, **curves}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)


def load_trained(path: Path) -> tuple[dict[str, DigitNet], dict[str, dict[str, list[float]]]]:
    """Models and learning curves saved by ``save_checkpoint`` (read with weights_only=True)."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    models, histories = {}, {}
    for name, entries in payload.items():
        model = build_variant(name)
        state = {k: v for k, v in entries.items() if not k.startswith("history.")}
        model.load_state_dict(state, strict=True)
        models[name] = model.eval()
        histories[name] = {
            k.removeprefix("history."): v.tolist()
            for k, v in entries.items()
            if k.startswith("history.")
        }
    return models, histories


def draw_attention(
    ax: Axes, model: DigitNet, split: DigitSplit, index: int, digit_size: int = 24
) -> dict[str, object]:
    """Draw test canvas ``index`` with what ``model`` attends to; returns what was drawn.

    The soft map (mean over channels) is drawn over the canvas on its full range [0.5, 1]
    (blue 0.5, red 1), so a nearly flat map looks flat; the glimpse window is a solid
    box, the true digit as a dashed white box. Returns "label", "prediction", "soft_map"
    ((h, w) tensor or None) and "box" ((4,) pixel box x1, y1, x2, y2 or None).
    """
    if not 0 <= index < len(split):
        raise ValueError(f"index must lie in 0..{len(split) - 1}, got {index}")
    model.eval()
    with torch.no_grad():
        logits = model(split.images[index : index + 1])
    image = split.images[index]
    size = image.shape[-1]
    prediction = int(logits.argmax(dim=1).item())
    label = int(split.labels[index].item())
    soft_map = model.last["soft_map"][0].mean(dim=0) if "soft_map" in model.last else None
    title = f"{model.variant}: says {prediction} (is {label})"
    if soft_map is None:
        show_image(ax, image, title)
    else:
        overlay_map(ax, image, soft_map, alpha=0.45, title=title, vmin=0.5, vmax=1.0)
    box = None
    if "theta" in model.last:
        box = theta_to_boxes(model.last["theta"][0], size, size)
        draw_boxes(ax, box[None], colors=["#ff7f0e"], labels=False)
    x, y = split.positions[index].tolist()
    half = digit_size / 2
    ax.add_patch(
        Rectangle(
            (x - half - 0.5, y - half - 0.5), digit_size, digit_size, fill=False, ls="--", ec="w"
        )
    )
    return {"label": label, "prediction": prediction, "soft_map": soft_map, "box": box}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tutorial_utils.experiment",
        description="Train baseline, soft, hard and harmonious DigitNets on cluttered digits.",
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help=f"epochs (default {DEFAULT_EPOCHS})"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch.set_num_threads value (default 1: these small convolutions gain little from "
        "more threads, and one thread makes the numbers independent of the core count)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK['epochs']} epoch on {QUICK['num_train']} train canvases",
    )
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--save", type=Path, default=None, help="save weights and curves here")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be a positive integer, got {args.epochs}")
    num_train, num_test = DEFAULT_TRAIN, DEFAULT_TEST
    epochs = args.epochs or DEFAULT_EPOCHS
    if args.quick:
        num_train, num_test = QUICK["num_train"], QUICK["num_test"]
        epochs = args.epochs or QUICK["epochs"]
    set_determinism(args.seed, args.threads)
    config = TrainConfig(epochs=epochs, seed=args.seed)
    start = time.perf_counter()
    models, results = run_experiment(
        args.variants, config, num_train, num_test, progress=not args.no_progress
    )
    total = time.perf_counter() - start
    if args.save is not None:
        save_checkpoint(models, results, args.save)
        print(f"saved weights and learning curves to {args.save}")
    glimpses = format_glimpses(results)
    if glimpses:
        print(glimpses)
    print(
        f"total time {total:.1f} s ({epochs} epochs, {num_train} train / {num_test} test canvases)"
    )
    print(format_results(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

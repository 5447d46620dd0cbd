"""Cluttered digits: small handwritten digits placed at random on a larger canvas full of clutter.

The digits are scikit-learn's bundled copy of the UCI optical digits (``load_digits``: 1,797
greyscale 8x8 images, values 0..16, no download). Each canvas holds one digit, upscaled and
placed at a random position, plus fragments cut from *other* digits as clutter. The task is to
name the digit; the true digit position is returned too, so a model's attention can be checked.

Train and test canvases are drawn from disjoint sets of original 8x8 images (clutter too), so
a test digit was never seen in training, not even as a fragment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..common.validation import check_positive_int, is_int

NUM_CLASSES = 10


@dataclass
class DigitSplit:
    """One split of cluttered canvases.

    images    (N, 1, S, S) float32 in [0, 1], S = canvas size
    labels    (N,) int64 in 0..9
    positions (N, 2) float32, the digit's centre (x, y) in pixels (x = column, y = row);
              the digit occupies [x - d/2, x + d/2) x [y - d/2, y + d/2), d = digit size
    sources   (N,) int64, index into ``load_digits()`` of the digit on each canvas
    """

    images: torch.Tensor
    labels: torch.Tensor
    positions: torch.Tensor
    sources: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass
class ClutteredDigits:
    """Train and test splits plus the settings that made them."""

    train: DigitSplit
    test: DigitSplit
    canvas_size: int
    digit_size: int
    train_pool: torch.Tensor  # indices into load_digits() the train split may use (digits, clutter)
    test_pool: torch.Tensor  # disjoint from train_pool


def load_upscaled_digits(digit_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 scikit-learn digits, bilinearly upscaled.

    Returns ((1797, d, d) images in [0, 1], (1797,) labels), d = digit_size.
    """
    from sklearn.datasets import load_digits  # imported here: only this function needs it

    check_positive_int(digit_size, "digit_size")
    digits = load_digits()
    small = torch.from_numpy(digits.images).float().div(16.0).unsqueeze(1)  # (1797, 1, 8, 8)
    big = F.interpolate(small, size=(digit_size, digit_size), mode="bilinear", align_corners=False)
    return big.squeeze(1).clamp(0, 1), torch.from_numpy(digits.target).long()


def split_sources(
    num_images: int, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle image indices 0..num_images-1 with ``seed`` and cut them into (train, test)."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction!r}")
    order = np.random.default_rng(seed).permutation(num_images)
    num_test = max(1, round(num_images * test_fraction))
    return np.sort(order[num_test:]), np.sort(order[:num_test])


def _make_split(
    digits: np.ndarray,
    labels: np.ndarray,
    pool: np.ndarray,
    count: int,
    canvas_size: int,
    num_fragments: tuple[int, int],
    fragment_size: tuple[int, int],
    rng: np.random.Generator,
) -> DigitSplit:
    d = digits.shape[-1]
    images = np.zeros((count, canvas_size, canvas_size), dtype=np.float32)
    sources = rng.choice(pool, size=count)
    corners = rng.integers(0, canvas_size - d + 1, size=(count, 2))  # (row, col) of the digit
    # All random draws up front (fast), then only slicing in the loop.
    counts = rng.integers(num_fragments[0], num_fragments[1] + 1, size=count)
    total = int(counts.sum())
    others = rng.choice(pool, size=total)  # which digit each fragment is cut from
    sizes = rng.integers(fragment_size[0], fragment_size[1] + 1, size=total)
    cut = (rng.random((total, 2)) * (d - sizes[:, None] + 1)).astype(np.int64)
    put = (rng.random((total, 2)) * (canvas_size - sizes[:, None] + 1)).astype(np.int64)
    owner = np.repeat(np.arange(count), counts)
    for k in range(total):
        f, (fr, fc), (r, c) = sizes[k], cut[k], put[k]
        window = images[owner[k], r : r + f, c : c + f]
        np.maximum(window, digits[others[k], fr : fr + f, fc : fc + f], out=window)
    for i in range(count):
        r, c = corners[i]
        window = images[i, r : r + d, c : c + d]
        np.maximum(window, digits[sources[i]], out=window)
    centres = corners[:, ::-1] + d / 2  # (x, y) = (col, row) + half the digit
    return DigitSplit(
        images=torch.from_numpy(images).unsqueeze(1),
        labels=torch.from_numpy(labels[sources]).long(),
        positions=torch.from_numpy(centres.astype(np.float32)),
        sources=torch.from_numpy(sources).long(),
    )


def _check_range_pair(pair: tuple[int, int], name: str, low: int, high: int | None = None) -> None:
    """Raise unless ``pair`` is (a, b), two ints with low <= a <= b (<= high)."""
    ok = (
        isinstance(pair, tuple | list)
        and len(pair) == 2
        and all(is_int(v) for v in pair)
        and low <= pair[0] <= pair[1]
        and (high is None or pair[1] <= high)
    )
    if not ok:
        bound = f" <= {high}" if high is not None else ""
        raise ValueError(
            f"{name} must be (low, high), two integers with {low} <= low <= high{bound}, "
            f"got {pair!r}"
        )


def make_cluttered_digits(
    num_train: int = 6000,
    num_test: int = 2000,
    canvas_size: int = 64,
    digit_size: int = 24,
    num_fragments: tuple[int, int] = (4, 8),
    fragment_size: tuple[int, int] = (8, 12),
    test_fraction: float = 0.3,
    seed: int = 0,
) -> ClutteredDigits:
    """Build the cluttered-digits data set; the same arguments always give the same tensors.

    Each canvas (1, canvas_size, canvas_size) holds one digit upscaled to digit_size x digit_size
    at a uniformly random position (wholly inside), and between ``num_fragments`` pieces of
    fragment_size x fragment_size pixels cut from other digits, anywhere (pixel-wise maximum).
    The 1,797 original digits are split into train and test images first (``test_fraction``);
    each split's canvases, clutter included, use only its own images.
    """
    for value, name in ((num_train, "num_train"), (num_test, "num_test")):
        check_positive_int(value, name)
    check_positive_int(canvas_size, "canvas_size")
    check_positive_int(digit_size, "digit_size")
    if digit_size > canvas_size:
        raise ValueError(
            f"digit_size={digit_size} does not fit on a canvas of {canvas_size} pixels"
        )
    _check_range_pair(num_fragments, "num_fragments", low=0)
    _check_range_pair(fragment_size, "fragment_size", low=1, high=digit_size)
    digits, labels = load_upscaled_digits(digit_size)
    digits_np, labels_np = digits.numpy(), labels.numpy()
    train_pool, test_pool = split_sources(len(labels_np), test_fraction, seed)
    rng = np.random.default_rng(seed)
    args = (canvas_size, num_fragments, fragment_size)
    train = _make_split(digits_np, labels_np, train_pool, num_train, *args, rng)
    test = _make_split(digits_np, labels_np, test_pool, num_test, *args, rng)
    return ClutteredDigits(
        train=train,
        test=test,
        canvas_size=canvas_size,
        digit_size=digit_size,
        train_pool=torch.from_numpy(train_pool).long(),
        test_pool=torch.from_numpy(test_pool).long(),
    )

"""Load a state_dict (for example a torchreid HA-CNN checkpoint) with errors a person can act on."""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

_WRAPPER_KEYS = ("state_dict", "model")  # torchreid saves {"state_dict": ..., "epoch": ...}
_EXPECTED = (
    "expected a file written by torch.save that holds only tensors and plain containers "
    "(a state_dict, or torchreid's {'state_dict': ..., 'epoch': ...})"
)
# torch's own boilerplate around the reason a weights-only load was refused.
_BOILERPLATE = ("Weights only load failed", "Check the documentation", "Please file an issue")


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read safely: truncated, damaged, not PyTorch's, or
    holding pickled objects other than tensors and plain containers."""


def read_checkpoint_file(path: str | Path) -> object:
    """What ``torch.load(path, map_location="cpu", weights_only=True)`` reads, or a clear error.

    Never runs code from the file: a file that would need arbitrary unpickling is refused
    unread. Raises FileNotFoundError for a missing file and CheckpointError (a ValueError)
    naming the file and what was expected for one that is truncated, damaged, a text file
    or an unsafe pickle.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if not _looks_like_torch_save(path):  # text and other files fail as odd "operands"
            raise _unreadable(path) from None
        raise CheckpointError(
            f"refused to read checkpoint {path}: it holds something besides tensors and plain "
            f"containers ({_refusal_reason(error)}), and weights_only=True never runs code "
            f"from a file; {_EXPECTED}. Re-save it from a trusted copy as a state_dict"
        ) from None
    except PermissionError:
        raise
    except (RuntimeError, EOFError, KeyError, ValueError, OSError, zipfile.BadZipFile):
        # miniz "central directory" errors or EINVAL (truncated), EOFError (empty), KeyError
        # (text): torch's messages name none of these causes.
        raise _unreadable(path) from None


def _looks_like_torch_save(path: Path) -> bool:
    """A zip archive (torch.save's format) or a pickle (its legacy format and plain pickles)."""
    with path.open("rb") as handle:
        head = handle.read(4)
    return head.startswith((b"PK\x03\x04", b"\x80"))


def _unreadable(path: Path) -> CheckpointError:
    return CheckpointError(
        f"cannot read checkpoint {path} ({path.stat().st_size} bytes): it is truncated, damaged "
        f"or not a PyTorch file; {_EXPECTED}. Copy or write it again (an interrupted save or "
        "download leaves a truncated file)"
    )


def _refusal_reason(error: Exception) -> str:
    """The line of torch's refusal that names what was refused, without its boilerplate."""
    text = str(error)
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1]
        text = text.split("Please use", 1)[0]
    lines = [line.strip() for line in text.splitlines()]
    kept = [line for line in lines if line and not line.startswith(_BOILERPLATE)]
    return " ".join(kept).strip() or "an object weights_only loading does not allow"


def read_state_dict(source: str | Path | Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A plain state_dict from a path or mapping: unwraps ``state_dict`` and strips ``module.``.

    Files are read with ``torch.load(..., weights_only=True)``: tensors and plain containers
    only, never arbitrary pickled code (see ``read_checkpoint_file`` for the errors).
    """
    if isinstance(source, str | Path):
        source = read_checkpoint_file(source)
    if not isinstance(source, Mapping):
        raise TypeError(
            f"expected a state_dict (a mapping of names to tensors), got {type(source).__name__}"
        )
    for key in _WRAPPER_KEYS:
        if key in source and isinstance(source[key], Mapping):
            source = source[key]
            break
    # Models saved from nn.DataParallel carry a "module." prefix on every key.
    return {k.removeprefix("module."): v for k, v in source.items()}


def check_state_dict(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor], strict: bool = True
) -> None:
    """Raise one ValueError that lists missing, unexpected and mis-shaped keys."""
    expected = model.state_dict()
    problems = []
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    if strict and missing:
        problems.append(f"missing keys ({len(missing)}): {_preview(missing)}")
    if strict and unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): {_preview(unexpected)}")
    mismatched = [
        f"{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in sorted(set(expected) & set(state_dict))
        if tuple(state_dict[k].shape) != tuple(expected[k].shape)
    ]
    if mismatched:
        problems.append(f"shape mismatches ({len(mismatched)}): {_preview(mismatched)}")
    if problems:
        raise ValueError(
            f"checkpoint does not fit {type(model).__name__}: "
            + "; ".join(problems)
            + ". If only the classifiers differ (another number of identities), drop the "
            "'classifier_' keys and load with strict=False."
        )


def load_checkpoint(
    model: nn.Module, source: str | Path | Mapping[str, torch.Tensor], strict: bool = True
) -> nn.Module:
    """Check, then load ``source`` into ``model`` in place; returns the model."""
    state_dict = read_state_dict(source)
    check_state_dict(model, state_dict, strict=strict)
    model.load_state_dict(state_dict, strict=strict)
    return model


def _preview(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... (+{len(items) - limit} more)" if len(items) > limit else "")

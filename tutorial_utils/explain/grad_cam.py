"""Grad-CAM: which places of a layer's output raise one class score.

For a layer output A (N, C, h, w) and a score y_c per image, Grad-CAM (Selvaraju et al.,
ICCV 2017) weighs each channel by its average gradient and keeps the positive part:
``relu(sum_k mean_ij(dy_c / dA_kij) * A_k)`` -> (N, h, w).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..hacnn.model import HACNN

__all__ = ["classifier_mode", "grad_cam"]


@contextmanager
def classifier_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Inside the ``with`` block: ``model`` in train mode (HA-CNN then returns its logits)
    with every BatchNorm in eval mode (running statistics, so each image is explained on its
    own and nothing is updated). The modes of all modules are restored afterwards."""
    modes = {module: module.training for module in model.modules()}
    try:
        model.train()
        for module in model.modules():
            if isinstance(module, _BatchNorm):
                module.eval()
        yield model
    finally:
        for module, training in modes.items():
            module.train(training)


def _check_batchnorm_frozen(model: nn.Module) -> None:
    for name, module in model.named_modules():
        if isinstance(module, _BatchNorm) and module.training:
            raise ValueError(
                f"BatchNorm layer {name!r} is in train mode: it would normalise with this batch's "
                "statistics (each image's explanation would depend on the others) and update its "
                "running statistics; put BatchNorm in eval mode, "
                "e.g. `with classifier_mode(model):`"
            )


def _check_target(target: torch.Tensor | int, n: int, num_classes: int) -> torch.Tensor:
    if isinstance(target, bool):
        raise TypeError(f"target must be class indices (an int or an (N,) tensor), got {target!r}")
    if isinstance(target, int):
        target = torch.full((n,), target, dtype=torch.long)
    if (
        not isinstance(target, torch.Tensor)
        or target.dtype.is_floating_point
        or target.is_complex()
    ):
        raise TypeError(
            f"target must be integer class indices, got {type(target).__name__}"
            + (f" of dtype {target.dtype}" if isinstance(target, torch.Tensor) else "")
        )
    if target.shape != (n,):
        raise ValueError(
            f"target must have shape ({n},), one class per image, got {tuple(target.shape)}"
        )
    bad = (target < 0) | (target >= num_classes)
    if bad.any():
        raise ValueError(
            f"target must lie in [0, {num_classes - 1}] (the model scores {num_classes} classes), "
            f"got {target[bad].tolist()}"
        )
    return target.long()


def grad_cam(
    model: nn.Module,
    images: torch.Tensor,
    layer: nn.Module,
    target: torch.Tensor | int,
    head: int = 0,
) -> torch.Tensor:
    """Grad-CAM of ``layer`` for the class ``target`` of each image: (N, C_in, H, W) -> (N, h, w).

    ``model(images)`` must return logits (N, K), or a tuple of them from which ``head`` picks
    one (HA-CNN in train mode: 0 global, 1 local). ``layer`` is a submodule that runs once per
    forward pass and returns an (N, C, h, w) tensor. BatchNorm must be in eval mode (see
    :func:`classifier_mode`). ``target`` is an int or an (N,) tensor of class indices.
    The maps are >= 0, in the units of the layer's output times the score's gradient.
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be an (N, C, H, W) tensor, got {shape}")
    if not any(module is layer for module in model.modules()):
        raise ValueError(f"layer {type(layer).__name__} is not a submodule of the model")
    _check_batchnorm_frozen(model)

    outputs: list[torch.Tensor] = []

    def keep(_module: nn.Module, _inputs: object, output: object) -> torch.Tensor:
        if not isinstance(output, torch.Tensor) or output.ndim != 4:
            raise ValueError(
                f"layer {type(layer).__name__} must return an (N, C, h, w) tensor for Grad-CAM, "
                f"got {type(output).__name__}"
            )
        # A leaf of its own: gradients stop here, so frozen weights or no_grad upstream do not
        # matter and nothing below the layer is differentiated.
        leaf = output.detach().requires_grad_(True)
        outputs.append(leaf)
        return leaf

    if isinstance(model, HACNN) and not model.training:
        raise ValueError(
            "HACNN in eval mode returns features, not logits; use `with classifier_mode(model):`"
        )

    handle = layer.register_forward_hook(keep)
    try:
        with torch.enable_grad():  # also under an outer no_grad
            result = model(images)
            if len(outputs) != 1:
                raise ValueError(
                    f"layer {type(layer).__name__} ran {len(outputs)} times in one forward pass; "
                    "Grad-CAM needs a layer that runs once (a shared layer has no single map)"
                )
            if isinstance(result, tuple | list):
                if not (isinstance(head, int) and 0 <= head < len(result)):
                    raise ValueError(
                        f"head must be an index in [0, {len(result) - 1}], got {head!r}"
                    )
                result = result[head]
            if not isinstance(result, torch.Tensor) or result.ndim != 2:
                shape = getattr(result, "shape", type(result).__name__)
                raise ValueError(f"the model must return logits (N, K), got {shape}")
            target = _check_target(target, images.shape[0], result.shape[1]).to(result.device)
            # One backward pass for the batch: each image's score depends on itself only.
            score = result.gather(1, target[:, None]).sum()
            activation = outputs[0]
            (gradient,) = torch.autograd.grad(score, activation)
    finally:
        handle.remove()
    weights = gradient.mean(dim=(2, 3), keepdim=True)  # (N, C, 1, 1), one weight per channel
    return torch.relu((weights * activation).sum(dim=1)).detach()

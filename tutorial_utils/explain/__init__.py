"""The explanation room: maps that say where a trained network looks, to set beside its attention.

- ``grad_cam``: Grad-CAM (Selvaraju et al., ICCV 2017) of one layer for one class score per
  image, and ``classifier_mode``, the model state it needs (logits out, BatchNorm frozen);
- ``maps``: plain activation maps (mean absolute features of a layer) and ``mask_ratio``, the
  share of a map's mass inside a mask over the share a flat map would put there.

This room imports the reference model's room and the shared room only; no room imports it
(the lessons do).
"""

from .grad_cam import classifier_mode, grad_cam
from .maps import activation_map, mask_ratio

__all__ = ["activation_map", "classifier_mode", "grad_cam", "mask_ratio"]

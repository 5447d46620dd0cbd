"""Person re-identification with HA-CNN: synthetic pedestrians, a Market-1501 loader, training,
evaluation and what attention learned (lesson 09)."""

from .market1501 import Market1501
from .synthetic import PART_NAMES, SyntheticPedestrians, show_pedestrians

__all__ = [
    "Market1501",
    "PART_NAMES",
    "SyntheticPedestrians",
    "show_pedestrians",
]

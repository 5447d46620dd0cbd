"""The explorer room: the logic behind each lesson's widget, as plain functions tests can call.

One module per lesson, each with one entry point ``explore_<what>(<widget values>, ...,
fig=None)`` that draws and returns what it drew (see ``base``, which they all share):
convblock (01), channel (02), spatial (03), soft (04), regions (05), stages (06),
attend (10).
This room imports the reference model and the shared room.
"""

from .attend import RELATIVE_RANGE, explore_attention, relative_map, relative_maps_grid
from .base import STAGES, check_stage, prepare_figure, projector_figure
from .channel import (
    REDUCTION_RATES,
    channel_attention_parameters,
    channel_weights,
    explore_channel_weights,
    network_channel_weights,
    own_reduction_rate,
    reduction_rate_note,
    stage_features,
)
from .convblock import EXPLORER_SIZE, conv_output_size, explore_convblock, explorer_image
from .regions import explore_region
from .soft import (
    NETWORKS,
    check_network,
    explore_soft_channel,
    network_soft_maps,
    soft_maps_for_photos,
)
from .spatial import explore_spatial_map, seeded_hacnn, spatial_maps_by_stage
from .stages import collect_stages, explore_stage

__all__ = [
    "EXPLORER_SIZE",
    "RELATIVE_RANGE",
    "NETWORKS",
    "REDUCTION_RATES",
    "STAGES",
    "channel_attention_parameters",
    "channel_weights",
    "check_network",
    "check_stage",
    "collect_stages",
    "conv_output_size",
    "explore_attention",
    "explore_channel_weights",
    "explore_convblock",
    "explore_region",
    "explore_soft_channel",
    "explore_spatial_map",
    "explore_stage",
    "explorer_image",
    "network_channel_weights",
    "network_soft_maps",
    "own_reduction_rate",
    "prepare_figure",
    "projector_figure",
    "reduction_rate_note",
    "relative_map",
    "relative_maps_grid",
    "seeded_hacnn",
    "soft_maps_for_photos",
    "spatial_maps_by_stage",
    "stage_features",
]

"""The reference model room: the modules HA-CNN is made of, as lessons 01-06 build them.

blocks (ConvBlock, InceptionA, InceptionB) -> soft_attention (channel, spatial, soft) and
hard_attention (translations, crops) -> harmonious (both side by side) -> model (HACNN) ->
checkpoint (loading torchreid's weights); diagram (the architecture drawn) and inputs
(photos as an input batch). This room imports only the shared room.
"""

from .blocks import ConvBlock, InceptionA, InceptionB
from .checkpoint import check_state_dict, load_checkpoint, read_state_dict
from .diagram import draw_hacnn
from .hard_attention import (
    HardAttention,
    crop_region,
    default_stripe_centres,
    region_theta,
    theta_to_boxes,
)
from .harmonious import HarmoniousAttention
from .inputs import hacnn_batch
from .model import (
    HACNN,
    INPUT_SIZE,
    NUM_REGIONS,
    STRIPE_SIZES,
    StageRecord,
    block_output_size,
    check_hacnn_input,
    check_input_size,
    stripe_sizes,
)
from .soft_attention import ChannelAttention, SoftAttention, SpatialAttention

__all__ = [
    "HACNN",
    "INPUT_SIZE",
    "NUM_REGIONS",
    "STRIPE_SIZES",
    "ChannelAttention",
    "ConvBlock",
    "HardAttention",
    "HarmoniousAttention",
    "InceptionA",
    "InceptionB",
    "SoftAttention",
    "SpatialAttention",
    "StageRecord",
    "block_output_size",
    "check_hacnn_input",
    "check_input_size",
    "check_state_dict",
    "crop_region",
    "draw_hacnn",
    "hacnn_batch",
    "default_stripe_centres",
    "load_checkpoint",
    "read_state_dict",
    "region_theta",
    "stripe_sizes",
    "theta_to_boxes",
]

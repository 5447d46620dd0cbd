"""Attention, step by step: the tested reference package the lessons build toward.

Modules, one concern each:
- the model: blocks, soft_attention, hard_attention, harmonious, hacnn, checkpoint;
- inference speed: optimize (with optimize_fold, optimize_soft, optimize_hacnn), bench;
- the training experiment: cluttered_digits, digit_models, experiment;
- helpers: tracing, device, timing, images, plotting, diagram, validation, exercises;
- teaching: explore (widget logic, one module per lesson), classroom (student copies, HTML).
"""

from .common.batchnorm import calibrate_batchnorm
from .common.device import describe_device, pick_device
from .common.exercises import check_exercise
from .common.images import data_dir, data_file, hacnn_batch, load_sample_image, sample_image_names
from .common.plotting import draw_boxes, overlay_map, show_image
from .common.timing import Timing, time_call
from .common.tracing import format_trace, print_shapes, trace_shapes
from .hacnn.blocks import ConvBlock, InceptionA, InceptionB
from .hacnn.checkpoint import load_checkpoint, read_state_dict
from .hacnn.hard_attention import HardAttention, crop_region, region_theta, theta_to_boxes
from .hacnn.harmonious import HarmoniousAttention
from .hacnn.model import HACNN, StageRecord, count_parameters
from .hacnn.soft_attention import ChannelAttention, SoftAttention, SpatialAttention
from .infer.optimize import optimize_for_inference

__version__ = "0.1.0"

__all__ = [
    "HACNN",
    "ChannelAttention",
    "ConvBlock",
    "HardAttention",
    "HarmoniousAttention",
    "InceptionA",
    "InceptionB",
    "SoftAttention",
    "SpatialAttention",
    "StageRecord",
    "Timing",
    "calibrate_batchnorm",
    "check_exercise",
    "count_parameters",
    "crop_region",
    "data_dir",
    "data_file",
    "describe_device",
    "draw_boxes",
    "format_trace",
    "hacnn_batch",
    "load_checkpoint",
    "load_sample_image",
    "optimize_for_inference",
    "overlay_map",
    "pick_device",
    "print_shapes",
    "read_state_dict",
    "region_theta",
    "sample_image_names",
    "show_image",
    "theta_to_boxes",
    "time_call",
    "trace_shapes",
]

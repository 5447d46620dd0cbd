"""Attention, step by step: the tested reference package the lessons build toward.

Rooms, one concern each (docs/architecture.md draws them and their arrows):
- ``hacnn``: the reference modules HA-CNN is made of, and its diagram, lessons 01-06;
- ``common``: the shared helpers (checks, device, timing, tracing, images, plotting);
- ``infer``: ``optimize_for_inference`` and its parts, lesson 07;
- ``bench``: the benchmarks, ``python -m tutorial_utils.bench``;
- ``digits``: the experiment of lessons 08 and 08b, ``python -m tutorial_utils.digits``;
- ``reid``: re-identification (synthetic pedestrians, Market-1501, training, evaluation, the
  shipped model), ``python -m tutorial_utils.reid``, lessons 00, 02b-06b, 07's appendix, 09, 09b,
  10 and 10b;
- ``explore``: the widget explorers' logic, one module per lesson part;
- ``explain``: Grad-CAM and activation maps, imported by the lessons only;
- ``data``: the sample photographs and trained weights (package data).
The rule: rooms import rooms, never this package root; arrows point down only. This file
imports rooms only to re-export the public names below; a room's own ``__init__`` lists the rest.
"""

from .common import (
    STRIPE_COLOURS,
    Timing,
    calibrate_batchnorm,
    check_exercise,
    count_parameters,
    data_dir,
    data_file,
    describe_device,
    draw_boxes,
    format_trace,
    load_sample_image,
    overlay_map,
    pick_device,
    plot_map_grid,
    print_shapes,
    projector_style,
    randomize_batchnorm,
    sample_image_names,
    show_image,
    show_map,
    stripe_legend,
    time_call,
    trace_shapes,
)
from .hacnn import (
    HACNN,
    ChannelAttention,
    ConvBlock,
    HardAttention,
    HarmoniousAttention,
    InceptionA,
    InceptionB,
    SoftAttention,
    SpatialAttention,
    StageRecord,
    crop_region,
    draw_hacnn,
    hacnn_batch,
    load_checkpoint,
    read_state_dict,
    region_theta,
    theta_to_boxes,
)
from .infer import optimize_for_inference

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
    "STRIPE_COLOURS",
    "draw_boxes",
    "draw_hacnn",
    "format_trace",
    "hacnn_batch",
    "load_checkpoint",
    "load_sample_image",
    "optimize_for_inference",
    "overlay_map",
    "plot_map_grid",
    "projector_style",
    "pick_device",
    "print_shapes",
    "randomize_batchnorm",
    "read_state_dict",
    "region_theta",
    "sample_image_names",
    "show_image",
    "show_map",
    "stripe_legend",
    "theta_to_boxes",
    "time_call",
    "trace_shapes",
]

"""Attention, step by step: the tested reference package the lessons build toward.

Rooms, one concern each (docs/architecture.md draws them and their arrows):
- ``hacnn``: the reference modules HA-CNN is made of, lessons 01-06;
- ``infer``: ``optimize_for_inference`` and its parts, lesson 07;
- ``bench``: the benchmark, ``python -m tutorial_utils.bench``;
- ``digits``: lesson 08's experiment, ``python -m tutorial_utils.digits``;
- ``explore``: the widget explorers' logic, one module per lesson;
- ``common``: the shared helpers (checks, device, timing, tracing, images, plotting);
- ``data``: the sample photographs and trained weights (package data).
The names below are the public ones; a room's own ``__init__`` lists the rest.
"""

from .common import (
    Timing,
    calibrate_batchnorm,
    check_exercise,
    count_parameters,
    data_dir,
    data_file,
    describe_device,
    draw_boxes,
    draw_hacnn,
    format_trace,
    hacnn_batch,
    load_sample_image,
    overlay_map,
    pick_device,
    plot_map_grid,
    print_shapes,
    randomize_batchnorm,
    sample_image_names,
    show_image,
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
    "draw_boxes",
    "draw_hacnn",
    "format_trace",
    "hacnn_batch",
    "load_checkpoint",
    "load_sample_image",
    "optimize_for_inference",
    "overlay_map",
    "plot_map_grid",
    "pick_device",
    "print_shapes",
    "randomize_batchnorm",
    "read_state_dict",
    "region_theta",
    "sample_image_names",
    "show_image",
    "theta_to_boxes",
    "time_call",
    "trace_shapes",
]

"""The shared room: helpers every other room may use, and that use no other room.

Input checks (validation), device choice (device), honest timing (timing), shape tracing and
parameter counts (tracing), text tables (table), the bundled photographs and data folder
(images), ``KEY=VALUE`` command-line words (key_value), maps over images (plotting), BatchNorm
statistics (batchnorm), exercise checks (exercises), one silenced torch notice (quiet),
seeded work that leaves the caller's random stream alone (seeding) and old names kept for a
release with a warning (deprecation).
Nothing here knows HA-CNN: its diagram and its input batch live in the ``hacnn`` room.
"""

from .batchnorm import (
    batchnorm_layers,
    calibrate_batchnorm,
    has_measured_statistics,
    randomize_batchnorm,
)
from .deprecation import warn_moved
from .device import describe_device, pick_device
from .exercises import check_exercise
from .images import (
    check_sample_name,
    crop_to_aspect,
    data_dir,
    data_file,
    load_sample_image,
    normalize,
    resize_image,
    sample_image_names,
)
from .key_value import parse_key_value
from .plotting import (
    STRIPE_COLOURS,
    draw_boxes,
    overlay_map,
    plot_map_grid,
    projector_style,
    show_image,
    show_map,
    stripe_legend,
)
from .quiet import quiet_cpp_extension_notice
from .seeding import seeded, with_seed
from .table import format_table
from .timing import Timing, time_call
from .tracing import TraceRow, count_parameters, format_trace, print_shapes, trace_shapes
from .validation import check_bool, check_feature_map, check_int, check_positive_int, is_int

__all__ = [
    "Timing",
    "TraceRow",
    "batchnorm_layers",
    "calibrate_batchnorm",
    "check_bool",
    "check_exercise",
    "check_feature_map",
    "check_int",
    "check_positive_int",
    "check_sample_name",
    "count_parameters",
    "crop_to_aspect",
    "data_dir",
    "data_file",
    "describe_device",
    "STRIPE_COLOURS",
    "draw_boxes",
    "format_table",
    "format_trace",
    "has_measured_statistics",
    "is_int",
    "load_sample_image",
    "normalize",
    "overlay_map",
    "parse_key_value",
    "plot_map_grid",
    "projector_style",
    "pick_device",
    "print_shapes",
    "quiet_cpp_extension_notice",
    "randomize_batchnorm",
    "resize_image",
    "sample_image_names",
    "seeded",
    "show_image",
    "show_map",
    "stripe_legend",
    "time_call",
    "trace_shapes",
    "with_seed",
]


def __getattr__(name: str) -> object:
    """HA-CNN's diagram and input batch moved to the ``hacnn`` room; the old names warn."""
    if name == "draw_hacnn":
        from ..hacnn.diagram import draw_hacnn as moved
    elif name == "hacnn_batch":
        from ..hacnn.inputs import hacnn_batch as moved
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warn_moved(f"tutorial_utils.common.{name}", f"tutorial_utils.hacnn.{name}")
    return moved

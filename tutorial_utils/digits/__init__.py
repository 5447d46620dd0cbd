"""The digits room (lesson 08): does attention help? A training experiment on cluttered digits.

data (cluttered canvases from scikit-learn's bundled digits) -> models (one small CNN in four
variants: global, soft, hard, harmonious, the words ``reid`` uses) -> train (one budget for
all, evaluation, where the glimpses went) -> weights (the trained models in one file, read with
``load_model``) and report (tables, figures).
``python -m tutorial_utils.digits`` runs it all (``cli``). This room imports the reference
model and the shared room.
"""

from .data import (
    NUM_CLASSES,
    ClutteredDigits,
    DigitSplit,
    load_upscaled_digits,
    make_cluttered_digits,
    split_sources,
)
from .models import (
    CONTROLS,
    RENAMED_VARIANTS,
    VARIANTS,
    DigitNet,
    PooledLocaliser,
    SmallStream,
    SoftArgmaxLocaliser,
    build_variant,
    variant_name,
)
from .report import draw_attention, format_glimpses, format_results
from .train import (
    RunResult,
    TrainConfig,
    evaluate,
    glimpse_statistics,
    run_experiment,
    run_variant,
    set_determinism,
    train_variant,
)
from .weights import load_model, save_checkpoint, trained_seeds

__all__ = [
    "CONTROLS",
    "PooledLocaliser",
    "trained_seeds",
    "NUM_CLASSES",
    "RENAMED_VARIANTS",
    "VARIANTS",
    "ClutteredDigits",
    "DigitNet",
    "DigitSplit",
    "RunResult",
    "SmallStream",
    "SoftArgmaxLocaliser",
    "TrainConfig",
    "build_variant",
    "draw_attention",
    "evaluate",
    "format_glimpses",
    "format_results",
    "glimpse_statistics",
    "load_model",
    "load_upscaled_digits",
    "make_cluttered_digits",
    "run_experiment",
    "run_variant",
    "save_checkpoint",
    "set_determinism",
    "split_sources",
    "train_variant",
    "variant_name",
]


def __getattr__(name: str) -> object:
    """``load_trained`` is ``load_model``'s old name, kept for one release with a warning."""
    if name != "load_trained":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from ..common.deprecation import warn_moved

    warn_moved("tutorial_utils.digits.load_trained", "tutorial_utils.digits.load_model")
    return load_model

"""The digits room (lesson 08): does attention help? A training experiment on cluttered digits.

data (cluttered canvases from scikit-learn's bundled digits) -> models (one small CNN in four
variants: baseline, soft, hard, harmonious) -> train (one budget for all, evaluation, where
the glimpses went) -> weights (the trained models in one file) and report (tables, figures).
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
    VARIANTS,
    DigitNet,
    PooledLocaliser,
    SmallStream,
    SoftArgmaxLocaliser,
    build_variant,
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
from .weights import load_trained, save_checkpoint, trained_seeds

__all__ = [
    "CONTROLS",
    "PooledLocaliser",
    "trained_seeds",
    "NUM_CLASSES",
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
    "load_trained",
    "load_upscaled_digits",
    "make_cluttered_digits",
    "run_experiment",
    "run_variant",
    "save_checkpoint",
    "set_determinism",
    "split_sources",
    "train_variant",
]

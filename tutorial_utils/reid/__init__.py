"""Person re-identification with HA-CNN: synthetic pedestrians, a Market-1501 loader, training,
evaluation, what attention learned (lesson 09b) and what bfloat16 costs the ranking (lesson 07).

Synthetic pedestrians: drawing (one person), rendering (one image: camera, scene, clutter,
occluders), synthetic (the data set and its card), pedestrian_figure (examples drawn for a
lesson), difficulty (what fixed colour descriptors achieve; generation time). The attention
experiments of lesson 10b: variants (what each run changes), attention_variants (the parts),
supervision (the losses that teach), decodability (can a stripe predictor know where the person
stands). This room imports the reference model and the shared room.
"""

from .attention_estimates import measure_attention
from .attention_measures import attention_measures
from .attention_variants import SoftmaxPoolingMap
from .bootstrap import Estimate
from .checkpoints import load_model
from .decodability import offset_decodability
from .evaluation import evaluate
from .evaluation_subset import evaluation_subset
from .interventions import run_interventions
from .market1501 import Market1501
from .metrics import evaluate_ranking
from .pedestrian_figure import show_pedestrians
from .precision import compare_rankings
from .ranking_estimates import paired_deltas, ranking_estimates
from .ranking_figure import ranked_gallery, show_ranking
from .shipped import shipped_model, shipped_pedestrians, shipped_settings
from .stage_maps import StageMaps, stage_maps
from .synthetic import PART_NAMES, SyntheticPedestrians
from .training import TrainConfig, TrainingDiverged, TrainingStopped, resume_config, train
from .variants import ALL_VARIANTS, EXPERIMENTS, VARIANTS, build_model, variant_spec

__all__ = [
    "ALL_VARIANTS",
    "EXPERIMENTS",
    "VARIANTS",
    "Estimate",
    "TrainConfig",
    "TrainingDiverged",
    "TrainingStopped",
    "resume_config",
    "attention_measures",
    "build_model",
    "compare_rankings",
    "evaluate",
    "evaluation_subset",
    "evaluate_ranking",
    "load_model",
    "measure_attention",
    "paired_deltas",
    "offset_decodability",
    "ranked_gallery",
    "ranking_estimates",
    "run_interventions",
    "train",
    "Market1501",
    "PART_NAMES",
    "SoftmaxPoolingMap",
    "StageMaps",
    "SyntheticPedestrians",
    "shipped_model",
    "shipped_pedestrians",
    "shipped_settings",
    "stage_maps",
    "show_pedestrians",
    "show_ranking",
    "variant_spec",
]

"""Rank-1 and mAP with 95 % bootstrap intervals over the queries, and paired deltas.

Rank-1 is the mean of the queries' rank-1 hits, mAP the mean of their average precisions,
so a resample of the queries is a weights row (``bootstrap``) times the per-query values. A
*paired* delta resamples the same queries for both models (or interventions), so what the
two share (the hard queries, the easy ones) cancels and the interval is that of the
difference, narrower than two separate intervals suggest.
"""

from __future__ import annotations

import torch
from torch import nn

from .bootstrap import BOOT, Estimate, bootstrap_weights, summarize, weighted_mean
from .cached import CachedSplit
from .evaluation import extract_features
from .metrics import QueryScores, pairwise_distance, query_scores


def model_query_scores(model: nn.Module, query: CachedSplit, gallery: CachedSplit) -> QueryScores:
    """Per-query AP and rank-1 hit of ``model`` (eval-mode features, squared Euclidean)."""
    if len(gallery) == 0:
        raise ValueError("the gallery is empty: nothing to rank the queries against")
    distmat = pairwise_distance(
        extract_features(model, query.images), extract_features(model, gallery.images)
    )
    return query_scores(distmat, query.pids, gallery.pids, query.camids, gallery.camids)


def score_estimates(scores: QueryScores, boot: int = BOOT, seed: int = 0) -> dict[str, Estimate]:
    """{"rank1": Estimate, "mAP": Estimate} from per-query scores (fractions, not percent)."""
    weights = bootstrap_weights(len(scores.ap), boot, seed)
    return {
        "rank1": summarize(weighted_mean(scores.hit1, weights)),
        "mAP": summarize(weighted_mean(scores.ap, weights)),
    }


def ranking_estimates(
    model: nn.Module,
    query: CachedSplit,
    gallery: CachedSplit,
    boot: int = BOOT,
    seed: int = 0,
) -> dict[str, Estimate]:
    """Rank-1 and mAP of ``model`` on query / gallery with intervals over the queries."""
    return score_estimates(model_query_scores(model, query, gallery), boot, seed)


def paired_deltas(
    base: QueryScores, other: QueryScores, boot: int = BOOT, seed: int = 0
) -> dict[str, Estimate]:
    """{"rank1", "mAP"}: ``other`` minus ``base`` on the same queries, each an Estimate whose
    interval resamples the queries once for both."""
    if not torch.equal(base.index, other.index):
        raise ValueError(
            "paired deltas need scores of the same queries; these were scored on different "
            f"query sets ({len(base.index)} and {len(other.index)} scored queries)"
        )
    weights = bootstrap_weights(len(base.ap), boot, seed)
    return {
        "rank1": summarize(weighted_mean(other.hit1 - base.hit1, weights)),
        "mAP": summarize(weighted_mean(other.ap - base.ap, weights)),
    }

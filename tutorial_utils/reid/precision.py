"""Two networks meant to compute the same features, compared as a re-ID system would use them.

For example a model against its bfloat16 version (lesson 07): cosine similarity of the
features (the re-ID distance works on such unit vectors), rank-1 and mAP of each on the same
query and gallery, and how many queries see another nearest gallery image.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from .cached import CachedSplit, cache_split
from .evaluation import extract_features
from .metrics import evaluate_ranking, pairwise_distance


def compare_rankings(
    reference: nn.Module,
    candidate: nn.Module,
    query: CachedSplit | Dataset,
    gallery: CachedSplit | Dataset,
) -> dict[str, Any]:
    """``candidate`` against ``reference`` on one query / gallery split (held as tensors, or
    a data set such as ``shipped_pedestrians("query")``, read once here).

    Returns ``cosine_min`` and ``cosine_mean`` over every query and gallery image's features,
    ``reference`` and ``candidate`` (each {"rank1", "mAP"} in [0, 1]), ``nearest_changed``
    (queries whose nearest gallery image differs, before the protocol's same-camera filter),
    ``queries`` and ``images``.
    """
    query, gallery = (s if isinstance(s, CachedSplit) else cache_split(s) for s in (query, gallery))
    if len(query) == 0 or len(gallery) == 0:
        raise ValueError(f"need queries and a gallery, got {len(query)} and {len(gallery)} images")
    features, scores, nearest = {}, {}, {}
    for name, net in (("reference", reference), ("candidate", candidate)):
        q, g = extract_features(net, query.images), extract_features(net, gallery.images)
        distances = pairwise_distance(q, g)
        ranked = evaluate_ranking(distances, query.pids, gallery.pids, query.camids, gallery.camids)
        features[name] = torch.cat([q, g])
        scores[name] = {"rank1": ranked.rank(1), "mAP": ranked.mAP}
        nearest[name] = distances.argmin(dim=1)
    cosine = F.cosine_similarity(features["candidate"].float(), features["reference"], dim=1)
    return {
        "cosine_min": float(cosine.min()),
        "cosine_mean": float(cosine.mean()),
        **scores,
        "nearest_changed": int((nearest["reference"] != nearest["candidate"]).sum()),
        "queries": len(query),
        "images": int(cosine.numel()),
    }

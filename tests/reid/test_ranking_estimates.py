"""Per-query scores, rank-1 / mAP estimates and paired deltas."""

from __future__ import annotations

import pytest
import torch

from tests.reid.tiny_data import TinyPedestrians
from tutorial_utils.reid.cached import cache_split
from tutorial_utils.reid.metrics import evaluate_ranking, query_scores
from tutorial_utils.reid.ranking_estimates import (
    model_query_scores,
    paired_deltas,
    ranking_estimates,
    score_estimates,
)
from tutorial_utils.reid.variants import build_model


def random_ranking(seed: int = 0, q: int = 30, g: int = 80):
    gen = torch.Generator().manual_seed(seed)
    q_pids = torch.randint(0, 10, (q,), generator=gen)
    g_pids = torch.cat([torch.arange(10), torch.randint(0, 10, (g - 10,), generator=gen)])
    g_pids[5] = -1  # one junk image
    q_cams = torch.zeros(q, dtype=torch.long)
    g_cams = torch.randint(0, 3, (g,), generator=gen)
    return torch.rand(q, g, generator=gen), q_pids, g_pids, q_cams, g_cams


def test_query_scores_average_to_evaluate_ranking():
    for seed in range(3):
        args = random_ranking(seed)
        scores = query_scores(*args)
        result = evaluate_ranking(*args)
        assert len(scores.ap) == result.num_valid_queries
        assert float(scores.hit1.mean()) == pytest.approx(result.rank(1))
        assert float(scores.ap.mean()) == pytest.approx(result.mAP)


def test_query_scores_refuse_mismatched_ids():
    d, q_pids, g_pids, q_cams, g_cams = random_ranking()
    with pytest.raises(ValueError, match="expected 30 query pids"):
        query_scores(d, q_pids[:3], g_pids, q_cams, g_cams)


def test_estimates_bracket_the_value_and_deltas_pair_the_queries():
    args = random_ranking(1)
    scores = query_scores(*args)
    est = score_estimates(scores, boot=200)
    assert est["rank1"].low <= est["rank1"].value <= est["rank1"].high
    assert est["mAP"].value == pytest.approx(float(scores.ap.mean()))
    same = paired_deltas(scores, scores, boot=50)
    assert (same["mAP"].value, same["mAP"].low, same["mAP"].high) == (0.0, 0.0, 0.0)
    better = query_scores(args[0] * 0.5 + 0.5 * (args[1][:, None] != args[2][None]), *args[1:])
    delta = paired_deltas(scores, better, boot=200)
    assert delta["mAP"].value == pytest.approx(float(better.ap.mean() - scores.ap.mean()))
    assert delta["mAP"].low > 0  # the distances now favour every correct match


def test_paired_deltas_refuse_different_queries():
    a = query_scores(*random_ranking(0))
    b = query_scores(*random_ranking(2, q=20))
    with pytest.raises(ValueError, match="same queries"):
        paired_deltas(a, b)


def test_ranking_estimates_of_a_model():
    query, gallery = (cache_split(TinyPedestrians(s)) for s in ("query", "gallery"))
    torch.manual_seed(0)
    model = build_model(6, (16, 16, 16), 16).eval()
    est = ranking_estimates(model, query, gallery, boot=100)
    scores = model_query_scores(model, query, gallery)
    assert est["rank1"].value == pytest.approx(float(scores.hit1.mean()))
    assert 0 <= est["mAP"].low <= est["mAP"].value <= est["mAP"].high <= 1

"""Rank-k, CMC and mAP against a case worked out by hand, and the protocol's exclusions."""

from __future__ import annotations

import pytest
import torch

from tutorial_utils.reid.metrics import evaluate_ranking, pairwise_distance

# Gallery: (pid, camid)
#   g0 (1, 0)  g1 (2, 0)  g2 (1, 1)  g3 (3, 1)  g4 (-1, 1) junk
#   g5 (1, 2)  g6 (2, 1)  g7 (0, 2) distractor
G_PIDS = [1, 2, 1, 3, -1, 1, 2, 0]
G_CAMS = [0, 0, 1, 1, 1, 2, 1, 2]
# Queries: A = (pid 1, cam 0), B = (pid 2, cam 1), C = (pid 4, cam 0) which has no match at all.
Q_PIDS = [1, 2, 4]
Q_CAMS = [0, 1, 0]
DISTMAT = torch.tensor(
    [
        #  g0   g1   g2   g3   g4    g5   g6   g7
        [0.1, 0.2, 0.5, 0.3, 0.05, 0.9, 0.4, 0.6],  # A
        [0.7, 0.3, 0.2, 0.8, 0.9, 0.6, 0.1, 0.4],  # B
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],  # C
    ]
)
# Query A, nearest first: g4 (junk: dropped), g0 (pid 1 in A's own camera 0: dropped), then
#   g1 x, g3 x, g6 x, g2 OK (rank 4), g7 x (distractor), g5 OK (rank 6).
#   First hit at rank 4; AP = (1/4 + 2/6) / 2 = 7/24.
# Query B: g6 (pid 2 in B's own camera 1: dropped), g2 x, g1 OK (rank 2), g7, g5, g0, g3 x,
#   g4 (junk: dropped). First hit at rank 2; AP = 1/2.
# Query C: pid 4 is not in the gallery: skipped, as the standard protocol does.
# CMC over the 2 valid queries: rank 1: 0; ranks 2-3: 1/2; rank 4 on: 1.
# mAP = (7/24 + 1/2) / 2 = 19/48.
EXPECTED_CMC = [0.0, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
EXPECTED_MAP = 19 / 48


def test_metrics_match_the_case_worked_by_hand() -> None:
    result = evaluate_ranking(DISTMAT, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS, max_rank=10)
    assert result.cmc == pytest.approx(EXPECTED_CMC)
    assert result.mAP == pytest.approx(EXPECTED_MAP)
    assert (result.num_valid_queries, result.num_skipped_queries) == (2, 1)
    assert result.rank(1) == 0.0 and result.rank(4) == 1.0
    report = result.as_dict()
    assert report["rank1"] == 0.0 and report["rank5"] == 1.0 and report["mAP"] == result.mAP


def test_same_camera_matches_and_junk_are_excluded() -> None:
    # Without the exclusions A's first neighbour g0 (same id, same camera) would be a rank-1 hit,
    # and the junk g4 would push A's hits down; check that keeping them would change the result.
    plain_cams = [9, 9, 9, 9, 9, 9, 9, 9]  # no gallery image shares a query's camera
    no_junk = [1, 2, 1, 3, 5, 1, 2, 0]  # g4 an ordinary wrong answer
    assert evaluate_ranking(DISTMAT[:2], Q_PIDS[:2], G_PIDS, Q_CAMS[:2], plain_cams).rank(1) == 1.0
    kept_junk = evaluate_ranking(DISTMAT[:2], Q_PIDS[:2], no_junk, Q_CAMS[:2], G_CAMS)
    assert kept_junk.mAP != pytest.approx(EXPECTED_MAP)


def test_ties_are_broken_by_gallery_order() -> None:
    flat = torch.zeros(1, 3)
    # All distances equal: g0 (wrong) comes first, g1 (right) second.
    result = evaluate_ranking(flat, [1], [2, 1, 3], [0], [1, 1, 1], max_rank=3)
    assert result.cmc == [0.0, 1.0, 1.0]
    assert result.mAP == pytest.approx(0.5)


def test_pairwise_distance_is_squared_euclidean() -> None:
    q = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    g = torch.tensor([[3.0, 4.0], [1.0, 1.0], [0.0, 0.0]])
    expected = torch.tensor([[25.0, 2.0, 0.0], [13.0, 0.0, 2.0]], dtype=torch.float64)
    torch.testing.assert_close(pairwise_distance(q, g), expected)


def test_empty_gallery_is_refused() -> None:
    with pytest.raises(ValueError, match="gallery is empty"):
        evaluate_ranking(torch.zeros(2, 0), [1, 2], [], [0, 0], [])


def test_no_scorable_query_is_refused() -> None:
    with pytest.raises(ValueError, match="no query has a correct match"):
        evaluate_ranking(torch.zeros(1, 2), [1], [1, 2], [0], [0, 0])


def test_mismatched_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="expected 3 query pids"):
        evaluate_ranking(DISTMAT, Q_PIDS[:2], G_PIDS, Q_CAMS, G_CAMS)
    with pytest.raises(ValueError, match="expected 8 gallery pids"):
        evaluate_ranking(DISTMAT, Q_PIDS, G_PIDS[:7], Q_CAMS, G_CAMS)
    with pytest.raises(ValueError, match="same D"):
        pairwise_distance(torch.zeros(2, 3), torch.zeros(2, 4))

"""Re-identification metrics with the standard (Market-1501) protocol: CMC, rank-k and mAP.

For each query the gallery is ranked by distance. Before scoring, the protocol drops
- gallery images of the query's own identity taken by the query's own camera (finding the
  same person in the same camera is too easy: it is often the neighbouring frame);
- junk gallery images (identity -1 in Market-1501: bad detections that count neither way).
Distractors (identity 0) stay: they are ordinary wrong answers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

JUNK_PID = -1  # Market-1501's "junk" identity, ignored by the protocol


@dataclass
class RankingResult:
    """CMC curve (cmc[k-1] = share of queries with a correct match in the top k) and mAP."""

    cmc: list[float]
    mAP: float
    num_valid_queries: int
    num_skipped_queries: int  # queries with no valid match left in the gallery

    def rank(self, k: int) -> float:
        """Rank-k accuracy, e.g. ``rank(1)``; the CMC curve read at k."""
        if not 1 <= k <= len(self.cmc):
            raise ValueError(f"k must be between 1 and {len(self.cmc)} (the CMC length), got {k}")
        return self.cmc[k - 1]

    def as_dict(self) -> dict[str, float | int | list[float]]:
        out: dict[str, float | int | list[float]] = asdict(self)
        for k in (1, 5, 10):
            if k <= len(self.cmc):
                out[f"rank{k}"] = self.cmc[k - 1]
        return out


def pairwise_distance(query: torch.Tensor, gallery: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances, (Q, D) and (G, D) -> (Q, G), torchreid's default metric."""
    if query.ndim != 2 or gallery.ndim != 2 or query.shape[1] != gallery.shape[1]:
        raise ValueError(
            "expected features of shape (Q, D) and (G, D) with the same D, got "
            f"{tuple(query.shape)} and {tuple(gallery.shape)}"
        )
    query, gallery = query.double(), gallery.double()
    d = (query**2).sum(1, keepdim=True) + (gallery**2).sum(1)[None] - 2 * query @ gallery.T
    return d.clamp_min(0)


def _query_outcome(
    ranked: torch.Tensor,
    q_pid: torch.Tensor,
    q_camid: torch.Tensor,
    g_pids: torch.Tensor,
    g_camids: torch.Tensor,
) -> tuple[int, float] | None:
    """One query's (0-based rank of the first correct match, average precision) under the
    protocol, from its ranked gallery indices (G,); None if no valid match is left."""
    same_view = (g_pids[ranked] == q_pid) & (g_camids[ranked] == q_camid)
    keep = ~same_view & (g_pids[ranked] != JUNK_PID)
    matches = (g_pids[ranked][keep] == q_pid).double()  # 1 where the ranked item is right
    if matches.sum() == 0:
        return None
    first_hit = int(torch.nonzero(matches)[0])
    # Average precision: the mean, over the correct matches, of the precision at their rank.
    hits = matches.cumsum(0)
    positions = torch.arange(1, len(matches) + 1, dtype=torch.float64)
    return first_hit, float(((hits / positions) * matches).sum() / matches.sum())


def _check_inputs(
    distmat: torch.Tensor,
    q_pids: torch.Tensor,
    g_pids: torch.Tensor,
    q_camids: torch.Tensor,
    g_camids: torch.Tensor,
) -> tuple[torch.Tensor, ...]:
    """The five inputs as tensors (ids as int64), or a ValueError naming what is wrong."""
    distmat = torch.as_tensor(distmat)
    q_pids, g_pids, q_camids, g_camids = (
        torch.as_tensor(t).long() for t in (q_pids, g_pids, q_camids, g_camids)
    )
    if distmat.ndim != 2:
        raise ValueError(f"distmat must be (Q, G), got shape {tuple(distmat.shape)}")
    num_q, num_g = distmat.shape
    if num_g == 0:
        raise ValueError("the gallery is empty: nothing to rank the queries against")
    if num_q == 0:
        raise ValueError("there are no queries to evaluate")
    if q_pids.shape != (num_q,) or q_camids.shape != (num_q,):
        raise ValueError(
            f"expected {num_q} query pids and camids (one per distmat row), got "
            f"{tuple(q_pids.shape)} and {tuple(q_camids.shape)}"
        )
    if g_pids.shape != (num_g,) or g_camids.shape != (num_g,):
        raise ValueError(
            f"expected {num_g} gallery pids and camids (one per distmat column), got "
            f"{tuple(g_pids.shape)} and {tuple(g_camids.shape)}"
        )
    return distmat, q_pids, g_pids, q_camids, g_camids


@dataclass
class QueryScores:
    """Per scored query (those with a valid match left): ``ap`` (Q',) average precision and
    ``hit1`` (Q',) 1.0 where the nearest valid gallery image is a correct match; ``index``
    (Q',) which rows of the distance matrix they are."""

    ap: torch.Tensor
    hit1: torch.Tensor
    index: torch.Tensor


def query_scores(
    distmat: torch.Tensor,
    q_pids: torch.Tensor,
    g_pids: torch.Tensor,
    q_camids: torch.Tensor,
    g_camids: torch.Tensor,
) -> QueryScores:
    """Each query's average precision and rank-1 hit under the same protocol as
    ``evaluate_ranking`` (whose rank-1 and mAP are their means); (Q, G) -> (Q',) each."""
    distmat, q_pids, g_pids, q_camids, g_camids = _check_inputs(
        distmat, q_pids, g_pids, q_camids, g_camids
    )
    order = torch.argsort(distmat, dim=1, stable=True)
    aps, hits, index = [], [], []
    for q in range(distmat.shape[0]):
        outcome = _query_outcome(order[q], q_pids[q], q_camids[q], g_pids, g_camids)
        if outcome is not None:
            index.append(q)
            hits.append(float(outcome[0] == 0))
            aps.append(outcome[1])
    if not index:
        raise ValueError(
            "no query has a correct match in the gallery from another camera; check that "
            "query and gallery share identities and that their camera ids differ"
        )
    return QueryScores(
        ap=torch.tensor(aps, dtype=torch.float64),
        hit1=torch.tensor(hits, dtype=torch.float64),
        index=torch.tensor(index, dtype=torch.long),
    )


def evaluate_ranking(
    distmat: torch.Tensor,
    q_pids: torch.Tensor,
    g_pids: torch.Tensor,
    q_camids: torch.Tensor,
    g_camids: torch.Tensor,
    max_rank: int = 10,
) -> RankingResult:
    """CMC and mAP from a (Q, G) distance matrix and the identities and cameras of both sides.

    Ties are broken by gallery order (a stable sort), so a result does not depend on chance.
    """
    distmat, q_pids, g_pids, q_camids, g_camids = _check_inputs(
        distmat, q_pids, g_pids, q_camids, g_camids
    )
    num_q = distmat.shape[0]
    if max_rank < 1:
        raise ValueError(f"max_rank must be >= 1, got {max_rank}")

    order = torch.argsort(distmat, dim=1, stable=True)  # (Q, G) gallery indices, nearest first
    cmc_sum = torch.zeros(max_rank, dtype=torch.float64)
    ap_sum = 0.0
    valid = 0
    for q in range(num_q):
        outcome = _query_outcome(order[q], q_pids[q], q_camids[q], g_pids, g_camids)
        if outcome is None:
            continue  # this identity appears in no other camera: the query cannot be scored
        valid += 1
        first_hit, ap = outcome
        if first_hit < max_rank:
            cmc_sum[first_hit:] += 1
        ap_sum += ap
    if valid == 0:
        raise ValueError(
            "no query has a correct match in the gallery from another camera; check that "
            "query and gallery share identities and that their camera ids differ"
        )
    return RankingResult(
        cmc=(cmc_sum / valid).tolist(),
        mAP=ap_sum / valid,
        num_valid_queries=valid,
        num_skipped_queries=num_q - valid,
    )

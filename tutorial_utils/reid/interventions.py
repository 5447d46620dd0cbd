"""Does the attention matter to the ranking? Replace it and measure what the ranking loses.

On a trained model, each intervention replaces every stage's attention output with a forward
hook (removed afterwards, whatever happens) and ranks the test split again:

| intervention    | each stage's soft map (N, C, h, w) becomes                              |
|-----------------|--------------------------------------------------------------------------|
| "spatial_mean"  | its per-image mean over (h, w), per channel: channel recalibration kept, |
|                 | the spatial pattern removed                                              |
| "constant"      | that stage's mean gate value over the fixed evaluation subset            |
| "ones"          | 1: no soft attention at all                                              |
| "fixed_stripes" | (the local branch) the stripes where an untrained predictor puts them,  |
|                 | for every image (tanh of the equal stripes' centres)                     |

Each gate intervention is applied to all stages at once and to each stage alone. Rank-1 and
mAP deltas against the unmodified model come with paired bootstrap intervals over the
queries (``ranking_estimates.paired_deltas``). Stages without soft attention are left as
they are; a model without any (or without the local branch) gets None for those rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from ..common.images import normalize
from ..hacnn.hard_attention import default_stripe_centres
from ..hacnn.model import HACNN
from .bootstrap import BOOT
from .cached import CachedSplit
from .ranking_estimates import model_query_scores, paired_deltas, score_estimates
from .variants import STAGE_ATTENTION, NoSoftAttention

GATE_INTERVENTIONS = ("spatial_mean", "constant", "ones")
INTERVENTIONS = (*GATE_INTERVENTIONS, "fixed_stripes")


def soft_stages(model: HACNN) -> list[int]:
    """0-based stages whose soft attention is not switched off."""
    return [
        s
        for s, name in enumerate(STAGE_ATTENTION)
        if not isinstance(getattr(model, name).soft_attn, NoSoftAttention)
    ]


def gate_constants(model: HACNN, subset: CachedSplit, batch_size: int = 64) -> list[float | None]:
    """Each stage's mean soft-map value over ``subset``'s images (None without soft attention)."""
    sums = [0.0, 0.0, 0.0]
    counts = [0, 0, 0]
    hooks = []
    for s in soft_stages(model):

        def hook(_m: nn.Module, _i: Any, out: torch.Tensor, s: int = s) -> None:
            sums[s] += float(out.double().sum())
            counts[s] += out.numel()

        hooks.append(getattr(model, STAGE_ATTENTION[s]).soft_attn.register_forward_hook(hook))
    device = next(model.parameters()).device
    model.eval()
    try:
        with torch.no_grad():
            for chunk in subset.images.split(batch_size):
                model(normalize(chunk.to(device)))
    finally:
        for h in hooks:
            h.remove()
    return [sums[s] / counts[s] if counts[s] else None for s in range(len(STAGE_ATTENTION))]


@contextmanager
def intervention(
    model: HACNN,
    name: str,
    stages: Sequence[int] = (0, 1, 2),
    constants: Sequence[float | None] | None = None,
) -> Iterator[HACNN]:
    """``model`` with intervention ``name`` applied at the 0-based ``stages`` while inside
    the ``with`` block; ``constants`` (per stage) for "constant". The hooks always go."""
    if name not in INTERVENTIONS:
        raise ValueError(
            f"unknown intervention {name!r}; expected one of {', '.join(INTERVENTIONS)}"
        )
    if name == "constant" and constants is None:
        raise ValueError("the 'constant' intervention needs constants (see gate_constants)")
    bad = [s for s in stages if s not in range(len(STAGE_ATTENTION))]
    if bad:
        raise ValueError(f"stages must be among 0, 1, 2 (0-based), got {list(stages)}")
    hooks = []
    try:
        for s in stages:
            harmonious = getattr(model, STAGE_ATTENTION[s])
            if name == "fixed_stripes":
                # Where HardAttention starts (zero weights, the centres as bias): tanh of them.
                centres = torch.tanh(default_stripe_centres(harmonious.hard_attn.num_regions))

                def stripes(_m: nn.Module, _i: Any, out: torch.Tensor, c=centres) -> torch.Tensor:
                    fixed = torch.stack([torch.zeros_like(c), c], 1).to(out)  # (T, 2)
                    return fixed.expand_as(out)

                hooks.append(harmonious.hard_attn.register_forward_hook(stripes))
            elif not isinstance(harmonious.soft_attn, NoSoftAttention):
                value = None if constants is None else constants[s]

                def gate(_m: nn.Module, _i: Any, out: torch.Tensor, v=value) -> torch.Tensor:
                    if name == "spatial_mean":  # (N, C, 1, 1) broadcast back over (h, w)
                        return out.mean((2, 3), keepdim=True).expand_as(out)
                    if name == "constant":
                        return torch.full_like(out, float(v))
                    return torch.ones_like(out)

                hooks.append(harmonious.soft_attn.register_forward_hook(gate))
        yield model
    finally:
        for h in hooks:
            h.remove()


def run_interventions(
    model: HACNN,
    query: CachedSplit,
    gallery: CachedSplit,
    subset: CachedSplit,
    *,
    boot: int = BOOT,
    seed: int = 0,
) -> dict[str, Any]:
    """Every intervention (all stages, then each stage alone) on query / gallery.

    ``subset`` sets the "constant" values (the fixed evaluation subset). Returns
    {"unmodified": {"rank1", "mAP"}, "gate_constants": [3], "results": [{"intervention",
    "stages" (1-based), "rank1", "mAP", "delta_rank1", "delta_mAP"} or with None where the
    model has nothing to replace]}; values are Estimates (fractions, not percent).
    """
    base = model_query_scores(model, query, gallery)
    constants = gate_constants(model, subset)
    has_soft = bool(soft_stages(model))
    has_local = bool(getattr(model, "learn_region", False))
    results = []
    plan = [(name, (0, 1, 2)) for name in INTERVENTIONS]
    plan += [(name, (s,)) for name in GATE_INTERVENTIONS for s in range(3)]
    for name, stages in plan:
        entry: dict[str, Any] = {"intervention": name, "stages": [s + 1 for s in stages]}
        applicable = (
            has_local if name == "fixed_stripes" else any(s in soft_stages(model) for s in stages)
        )
        if not applicable:
            results.append({**entry, "rank1": None, "mAP": None, "delta_rank1": None,
                            "delta_mAP": None})  # fmt: skip
            continue
        with intervention(model, name, stages, constants):
            scores = model_query_scores(model, query, gallery)
        est, delta = score_estimates(scores, boot, seed), paired_deltas(base, scores, boot, seed)
        results.append({**entry, **est, "delta_rank1": delta["rank1"], "delta_mAP": delta["mAP"]})
    return {
        "unmodified": score_estimates(base, boot, seed),
        "gate_constants": constants,
        "has_soft_attention": has_soft,
        "has_local_branch": has_local,
        "num_query": len(query),
        "num_gallery": len(gallery),
        "boot": boot,
        "seed": seed,
        "results": results,
    }


def format_interventions(report: dict[str, Any]) -> str:
    """A table: each intervention's rank-1 and mAP and their deltas, in percent."""

    def pct(e: Any) -> str:
        if e is None:
            return f"{'-':>22s}"
        return f"{100 * e.value:6.1f} [{100 * e.low:5.1f}, {100 * e.high:5.1f}]".rjust(22)

    base = report["unmodified"]
    lines = [
        f"{report['num_query']} queries, {report['num_gallery']} gallery images; 95 % "
        f"bootstrap intervals over the queries ({report['boot']} resamples), in percent",
        f"{'intervention':16s} {'stages':7s} {'rank-1':>22s} {'mAP':>22s} "
        f"{'delta rank-1':>22s} {'delta mAP':>22s}",
        f"{'unmodified':16s} {'':7s} {pct(base['rank1'])} {pct(base['mAP'])}",
    ]
    for r in report["results"]:
        stages = ",".join(str(s) for s in r["stages"])
        lines.append(
            f"{r['intervention']:16s} {stages:7s} {pct(r['rank1'])} {pct(r['mAP'])} "
            f"{pct(r['delta_rank1'])} {pct(r['delta_mAP'])}"
        )
    return "\n".join(lines)

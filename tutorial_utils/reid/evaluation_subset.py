"""The one fixed evaluation subset that every lesson measures attention on.

The first 256 images of the query split of the synthetic pedestrians, ``difficulty="medium"``,
data seed 0: held-out identities, so no model has trained on them. The query images do not
depend on ``num_train_ids`` (the training and test identities are drawn from separate random
streams), so the same subset serves every model trained on that data, whatever its number of
training identities.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import Dataset, Subset

from .cached import CachedSplit, cache_split, load_split

SUBSET_SIZE = 256
SUBSET_DATA: dict[str, Any] = {"dataset": "synthetic", "split": "query", "seed": 0,
                               "options": {"difficulty": "medium"}}  # fmt: skip


def evaluation_subset(
    data: CachedSplit | Dataset | None = None,
    size: int = SUBSET_SIZE,
    *,
    options: dict[str, Any] | None = None,
) -> CachedSplit:
    """The first ``size`` images of ``data``: a query split a lesson already loaded (cached,
    or a data set such as ``shipped_pedestrians("query")``, of which only those images are
    read); with ``data`` None, of the medium synthetic query split drawn from data seed 0
    (``options`` replace or add data options: a model trained on other data measures on its
    own).

    Returns a CachedSplit of ``min(size, len(data))`` images with masks, parts and offsets.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 2:
        raise ValueError(f"size must be an int >= 2 (a correlation needs a spread), got {size!r}")
    if options and data is not None:
        raise ValueError("options only apply when data is None (the split is drawn here)")
    if data is None:
        merged = {**SUBSET_DATA["options"], **(options or {})}
        data = load_split("synthetic", "query", seed=SUBSET_DATA["seed"], options=merged)
    elif isinstance(data, Dataset):
        data = cache_split(Subset(data, range(min(size, len(data)))))  # type: ignore[arg-type]
    elif not isinstance(data, CachedSplit):
        raise TypeError(
            f"data must be a CachedSplit (e.g. from cached.load_split), a data set or None, "
            f"got {type(data).__name__}"
        )
    if not data.has_ground_truth:
        raise ValueError(
            "the evaluation subset needs ground truth (masks, parts, offsets); this split has "
            "none (Market-1501 does not): use the synthetic pedestrians"
        )
    return data.subset(torch.arange(min(size, len(data))))

"""The data-set options a training or evaluation run may pass on, checked before any work.

``--data-option KEY=VALUE`` goes to the data set's constructor; an unknown key is refused
here, with the valid ones listed, rather than as a TypeError from deep inside the data set.
"""

from __future__ import annotations

import inspect
from typing import Any

# Set by the loader itself (split, seed, folder) or kept out of the cache: training and
# evaluation standardise the cached [0, 1] images themselves.
_NOT_OPTIONS = {"self", "split", "seed", "root", "normalize"}


def valid_data_options(dataset: str) -> tuple[str, ...]:
    """The constructor options of the data set named ``dataset``, in signature order."""
    if dataset == "synthetic":
        from .synthetic import SyntheticPedestrians as cls
    elif dataset == "market1501":
        from .market1501 import Market1501 as cls
    else:
        from .cached import DATASETS

        raise ValueError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
    parameters = inspect.signature(cls.__init__).parameters
    return tuple(name for name in parameters if name not in _NOT_OPTIONS)


def check_data_options(dataset: str, options: dict[str, Any] | None) -> None:
    """Raise a ValueError naming each unknown key of ``options`` and listing the valid ones."""
    valid = valid_data_options(dataset)
    unknown = sorted(set(options or {}) - set(valid))
    if unknown:
        raise ValueError(
            f"unknown data option{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(k) for k in unknown)} for dataset {dataset!r}; "
            f"valid keys: {', '.join(valid)}"
        )

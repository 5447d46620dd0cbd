"""Shared fixtures: every test starts from the same seed.

Random BatchNorm statistics (for eval-mode comparisons that mean something) come from the
package's own ``tutorial_utils.randomize_batchnorm``; tests do not keep a copy of it.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)

"""The eval-only contract of every optimized module: ``eval()`` works, ``train()`` refuses."""

from __future__ import annotations

from torch import nn


class EvalOnly(nn.Module):
    """Base of the optimized modules: their BatchNorm is folded into weights, so they cannot train.

    ``train(True)`` raises a ValueError naming the module to train instead, before any
    submodule is switched; ``eval()`` and ``train(False)`` work.
    """

    trains_instead = "module"  # what to train instead, named in the error

    def train(self, mode: bool = True) -> EvalOnly:
        if mode:
            raise ValueError(
                f"{type(self).__name__} is eval-only (BatchNorm is folded into its weights); "
                f"train the original {self.trains_instead} instead"
            )
        return super().train(False)

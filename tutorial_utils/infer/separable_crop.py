"""HA-CNN's stripe crop as two small weighted gathers, for the compiled model.

``crop_region`` samples a grid as large as the input (``grid_sample``), then resizes it to the
stripe size (``interpolate``). With a diagonal scale, as HA-CNN's stripes have, both steps
act on rows and columns separately, and the resize only reads two grid points per output
pixel, each of which reads two input pixels. So each output row is a weighted sum of four
input rows, each output column of four input columns, and the crop is

    out[n, c, i, j] = sum over a, b < 4 of wy[n, i, a] wx[n, j, b] x[n, c, iy[n, i, a], ix[n, j, b]]

computed columns first, then rows. For a 24 x 28 stripe of an 80 x 32 map that is 80 x 28
column sums and 24 x 28 row sums of four taps each per channel, where ``crop_region`` samples
all 2,560 grid points with four-way gathers and then resizes (the time it saves in HA-CNN's
compiled package is in docs/performance.md). Taps outside the map get weight 0, which is
``grid_sample``'s zero padding. The weights are computed as ``affine_grid``, ``grid_sample``
and ``interpolate`` compute them, in float, so the crops agree with ``crop_region`` to float
rounding of the pixel coordinates (about 1e-5 on unit-scale maps 80 pixels high).
"""

from __future__ import annotations

import torch

TAPS = 4  # two grid points per output pixel, two input pixels per grid point


def axis_taps(
    size_in: int, size_out: int, scale: torch.Tensor, shift: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices and weights along one axis: scale, shift (M,) -> (M, size_out, 4) each.

    Output position o of sample m is the sum over k of weight[m, o, k] * input[index[m, o, k]].
    """
    # affine_grid, align_corners=False: grid point r sits at u_r in normalised coordinates.
    u = torch.linspace(-1, 1, size_in, dtype=shift.dtype, device=shift.device)
    u = u * ((size_in - 1) / size_in)
    grid = scale[:, None] * u + shift[:, None]  # (M, size_in)
    pixel = ((grid + 1) * size_in - 1) / 2  # grid_sample's unnormalise, align_corners=False
    # interpolate, align_corners=True: output o reads grid points k0 and k0 + 1.
    step = (size_in - 1) / (size_out - 1) if size_out > 1 else 0.0
    source = torch.arange(size_out, dtype=shift.dtype, device=shift.device) * step
    k0 = source.floor().clamp(max=size_in - 1)
    k_frac = source - k0
    k0 = k0.long()
    k1 = (k0 + 1).clamp(max=size_in - 1)
    indices, weights = [], []
    for k, k_weight in ((k0, 1 - k_frac), (k1, k_frac)):
        position = pixel[:, k]  # (M, size_out)
        low = position.floor()
        frac = position - low
        low = low.long()
        for index, weight in ((low, 1 - frac), (low + 1, frac)):
            inside = (index >= 0) & (index < size_in)
            indices.append(index.clamp(0, size_in - 1))
            weights.append(torch.where(inside, weight * k_weight, torch.zeros_like(weight)))
    return torch.stack(indices, dim=-1), torch.stack(weights, dim=-1)


def crop_region_separable(
    x: torch.Tensor, theta: torch.Tensor, out_size: tuple[int, int]
) -> torch.Tensor:
    """``crop_region`` for a diagonal scale: x (N, C, H, W), theta (N, 2, 3) -> (N, C, *out_size).

    theta[:, 0, 1] and theta[:, 1, 0] must be 0 (they are not read); the caller checks that
    once, where the scale is known (``hacnn_for_compiler``).
    """
    n, c, h, w = x.shape
    out_h, out_w = out_size
    col_index, col_weight = axis_taps(w, out_w, theta[:, 0, 0], theta[:, 0, 2])
    row_index, row_weight = axis_taps(h, out_h, theta[:, 1, 1], theta[:, 1, 2])
    # Columns first: (N, C, H, W) -> (N, C, H, out_w). The index is broadcast, not copied.
    picked = x.gather(3, col_index.view(n, 1, 1, out_w * TAPS).expand(n, c, h, out_w * TAPS))
    columns = (picked.view(n, c, h, out_w, TAPS) * col_weight.view(n, 1, 1, out_w, TAPS)).sum(-1)
    # Then rows: (N, C, H, out_w) -> (N, C, out_h, out_w).
    rows = row_index.view(n, 1, out_h * TAPS, 1).expand(n, c, out_h * TAPS, out_w)
    picked = columns.gather(2, rows).view(n, c, out_h, TAPS, out_w)
    return (picked * row_weight.view(n, 1, out_h, TAPS, 1)).sum(3)

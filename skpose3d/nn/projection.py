"""Differentiable projection of camera-space points to normalised screen coordinates (paper §4).

The lens formula lives in :func:`skpose3d.nn.lens.apply_intrinsics` (shared with the numpy
:func:`skpose3d.camera.project`); this module adds what training needs: one camera per sample,
a depth guard so that a trajectory network that predicts a root at or behind the camera early in
training gives finite values and gradients, and an ``nn.Module`` wrapper. Like all of
:mod:`skpose3d.nn` it depends on torch only.
"""

from __future__ import annotations

import torch
from torch import nn

from .lens import apply_intrinsics


def project_to_screen(
    points: torch.Tensor,
    intrinsics: torch.Tensor,
    *,
    distortion: bool = True,
    clamp: bool = True,
    min_depth: float = 1e-3,
) -> torch.Tensor:
    """Project camera-space points with one camera per sample, guarding against ``z <= 0``.

    Parameters
    ----------
    points : Tensor of shape (B, ..., 3)
        Points in camera space (e.g. root-relative pose + trajectory).
    intrinsics : Tensor of shape (9,) or (B, 9)
        ``[fx, fy, cx, cy, k1, k2, k3, p1, p2]`` in normalised screen units
        (:meth:`skpose3d.camera.Intrinsics.normalized`); row ``b`` is the camera of
        ``points[b]``.
    distortion : bool, default=True
        Radial (k1-k3) and tangential (p1, p2) lens distortion; False gives the linear model.
    clamp : bool, default=True
        Clamp ``x / z`` and ``y / z`` to [-1, 1] before distortion (the distortion polynomial
        is only meaningful inside the field of view).
    min_depth : float, default=1e-3
        Depths below this value are raised to it, so a point at or behind the camera projects
        to a finite position instead of dividing by zero or mirroring through the centre.

    Returns
    -------
    Tensor of shape (B, ..., 2)
        Screen coordinates in the units of ``intrinsics``.

    Examples
    --------
    >>> import torch
    >>> points = torch.tensor([[[0.5, -0.25, 2.0]]])
    >>> camera = torch.tensor([[2.0, 2.0, 0.0, 0.0, 0, 0, 0, 0, 0]])
    >>> project_to_screen(points, camera).tolist()
    [[[0.5, -0.25]]]
    """
    if points.shape[-1] != 3:
        raise ValueError(f"points must be (..., 3), got shape {tuple(points.shape)}")
    intrinsics = torch.as_tensor(intrinsics, device=points.device)
    if not intrinsics.is_floating_point():
        intrinsics = intrinsics.to(points.dtype)
    if intrinsics.ndim not in (1, 2) or intrinsics.shape[-1] != 9:
        raise ValueError(f"intrinsics must be (9,) or (B, 9), got shape {tuple(intrinsics.shape)}")
    if intrinsics.ndim == 2 and intrinsics.shape[0] != points.shape[0]:
        raise ValueError(
            f"intrinsics has {intrinsics.shape[0]} cameras but points has {points.shape[0]} "
            "samples: give one camera (9,) or one per sample (B, 9)"
        )
    if intrinsics.ndim == 2:
        # Row b is the camera of points[b]: give it singleton axes up to the point axis.
        intrinsics = intrinsics.reshape(intrinsics.shape[:1] + (1,) * (points.ndim - 2) + (9,))
    xy = points[..., :2] / points[..., 2:3].clamp(min=min_depth)
    return apply_intrinsics(xy, intrinsics, distortion=distortion, clamp=clamp)


class ProjectionLayer(nn.Module):
    """Project camera-space points to the screen, one camera per sample (no parameters).

    Parameters
    ----------
    distortion : bool, default=True
        Use the lens distortion model (``projection="distorted"``); False is linear.
    clamp : bool, default=True
        Clamp normalised image-plane coordinates to [-1, 1] before distortion.
    min_depth : float, default=1e-3
        Lower bound applied to depths (see :func:`project_to_screen`).

    Examples
    --------
    >>> import torch
    >>> layer = ProjectionLayer(distortion=False)
    >>> layer(torch.tensor([[[0.0, 0.0, 4.0]]]), torch.tensor([[2.0, 2, 0.1, 0.2, 0, 0, 0, 0, 0]]))
    tensor([[[0.1000, 0.2000]]])
    """

    def __init__(self, distortion: bool = True, clamp: bool = True, min_depth: float = 1e-3):
        super().__init__()
        self.distortion, self.clamp, self.min_depth = bool(distortion), bool(clamp), min_depth

    def forward(self, points: torch.Tensor, intrinsics: torch.Tensor) -> torch.Tensor:
        """Project ``points`` (B, ..., 3) with ``intrinsics`` (B, 9) or (9,) to (B, ..., 2)."""
        return project_to_screen(
            points, intrinsics, distortion=self.distortion, clamp=self.clamp,
            min_depth=self.min_depth,
        )  # fmt: skip

    def extra_repr(self) -> str:
        return f"distortion={self.distortion}, clamp={self.clamp}, min_depth={self.min_depth}"

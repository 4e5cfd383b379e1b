"""Camera frames and projection: world <-> camera space, projection with lens distortion.

The projection formula itself is :func:`skpose3d.nn.lens.apply_intrinsics`, written once for
numpy and torch; this module validates and broadcasts the inputs. ``X_cam = R @ (X_world - T)``.
"""

from __future__ import annotations

import numpy as np

from ..nn.lens import apply_intrinsics
from ._arrays import _check_last, _common
from .intrinsics import Intrinsics

__all__ = ["camera_to_world", "project", "world_to_camera"]


def _extrinsics(X, R, T):
    X, R, T = _common(X, R, T)
    _check_last(X, 3, "X")
    if tuple(R.shape) != (3, 3) or tuple(T.shape) != (3,):
        raise ValueError(f"R must have shape (3, 3) and T shape (3,), got {R.shape}, {T.shape}.")
    return X, R, T


def world_to_camera(X, R, T):
    """Transform world points to camera space: ``X_cam = R @ (X_world - T)``.

    Parameters
    ----------
    X : array-like or torch.Tensor of shape (..., 3)
        Points in world coordinates.
    R, T : array-like of shape (3, 3) and (3,)
        World-to-camera rotation and the camera centre in world coordinates (units of ``X``).
    """
    X, R, T = _extrinsics(X, R, T)
    return (X - T) @ R.T


def camera_to_world(X, R, T):
    """Transform camera-space points ``X`` (..., 3) to world coordinates: ``R.T @ X + T``.

    The inverse of :func:`world_to_camera`, with the same ``R`` (world-to-camera rotation) and
    ``T`` (camera centre in world coordinates).
    """
    X, R, T = _extrinsics(X, R, T)
    return X @ R + T


def _projection_inputs(points, intrinsics):
    """Validate and align ``points`` (..., 3) with intrinsics (..., 9) for broadcasting."""
    if isinstance(intrinsics, Intrinsics):
        intrinsics = intrinsics.to_vector()
    points, params = _common(points, intrinsics)
    _check_last(points, 3, "points")
    _check_last(params, 9, "intrinsics")
    if 1 < params.ndim < points.ndim:
        # (B, 9) with points (B, ..., 3): one camera per leading index.
        shape = tuple(params.shape[:-1]) + (1,) * (points.ndim - params.ndim) + (9,)
        params = params.reshape(shape)
    try:
        np.broadcast_shapes(tuple(points.shape[:-1]), tuple(params.shape[:-1]))
    except ValueError:
        raise ValueError(
            f"intrinsics of shape {tuple(params.shape)} do not broadcast against points of "
            f"shape {tuple(points.shape)}; use (9,) or (B, 9) with points (B, ..., 3)."
        ) from None
    return points, params


def project(points, intrinsics, *, distortion=True, clamp=False):
    """Project camera-space 3D points to the image (Human3.6M distortion model).

    With ``x, y = X / Z, Y / Z``, ``r2 = x² + y²``::

        rad    = 1 + k1·r2 + k2·r2² + k3·r2³
        tan    = p1·x + p2·y
        xd, yd = x·(rad + tan) + p1·r2,  y·(rad + tan) + p2·r2
        u, v   = fx·xd + cx,  fy·yd + cy

    Parameters
    ----------
    points : array-like or torch.Tensor of shape (..., 3)
        Points in camera space (Z > 0 in front of the camera).
    intrinsics : Intrinsics or array-like or torch.Tensor of shape (9,) or (B, 9) or (..., 9)
        An :class:`~skpose3d.camera.Intrinsics` (output in pixels) or vectors ``[fx, fy, cx,
        cy, k1, k2, k3, p1, p2]`` in any units, output in the same units
        (:meth:`~skpose3d.camera.Intrinsics.normalized` gives normalised screen coordinates).
        ``(B, 9)`` pairs camera b with ``points[b]`` (B, ..., 3).
    distortion : bool, default=True
        If False, use the linear pinhole model ``u, v = fx·x + cx, fy·y + cy``.
    clamp : bool, default=False
        Clamp ``x, y`` to [-1, 1] before distortion (keeps the polynomial tame for points far
        outside the field of view, as in the paper's reference training code).

    Returns
    -------
    ndarray or torch.Tensor of shape (..., 2)
        Image coordinates; a tensor (differentiable) if any input is a tensor.

    Examples
    --------
    >>> from skpose3d.camera import Intrinsics, project
    >>> cam = Intrinsics(1000.0, 1000.0, 500.0, 500.0, width=1000, height=1000)
    >>> project([[0.1, -0.2, 2.0]], cam).tolist()
    [[550.0, 400.0]]
    """
    points, params = _projection_inputs(points, intrinsics)
    xy = points[..., 0:2] / points[..., 2:3]
    return apply_intrinsics(xy, params, distortion=distortion, clamp=clamp)

"""The camera's lens model: image-plane coordinates to the image (Human3.6M distortion model).

The one implementation of the projection formula. It uses array operators and slicing only, so
the same function serves numpy arrays (:func:`skpose3d.camera.project`) and torch tensors
(:func:`skpose3d.nn.projection.project_to_screen`, differentiable, on any device). It imports
nothing, which lets the numpy camera functions use it without loading torch.
"""

from __future__ import annotations


def apply_intrinsics(xy, intrinsics, *, distortion=True, clamp=False):
    """Map image-plane coordinates ``(X / Z, Y / Z)`` through the lens and intrinsics.

    With ``x, y = xy`` and ``r2 = x² + y²``::

        rad    = 1 + k1·r2 + k2·r2² + k3·r2³
        tan    = p1·x + p2·y
        xd, yd = x·(rad + tan) + p1·r2,  y·(rad + tan) + p2·r2
        u, v   = fx·xd + cx,  fy·yd + cy

    Parameters
    ----------
    xy : ndarray or torch.Tensor of shape (..., 2)
        Points divided by their depth.
    intrinsics : ndarray or torch.Tensor of shape (..., 9)
        ``[fx, fy, cx, cy, k1, k2, k3, p1, p2]`` broadcastable against ``xy`` (same kind of
        array; the output is in the units of ``fx, fy, cx, cy``).
    distortion : bool, default=True
        If False, the linear pinhole model ``u, v = fx·x + cx, fy·y + cy``.
    clamp : bool, default=False
        Clamp ``x, y`` to [-1, 1] before distortion: the polynomial is fitted inside the field
        of view and grows wildly outside it.

    Returns
    -------
    ndarray or torch.Tensor of shape (..., 2)

    Examples
    --------
    >>> import numpy as np
    >>> apply_intrinsics(np.array([0.05, -0.1]), np.array([1000, 1000, 500, 500, 0, 0, 0, 0, 0]))
    array([550., 400.])
    """
    if clamp:
        xy = xy.clip(-1.0, 1.0)
    if distortion:
        k1, k2, k3 = intrinsics[..., 4:5], intrinsics[..., 5:6], intrinsics[..., 6:7]
        p = intrinsics[..., 7:9]
        x, y = xy[..., 0:1], xy[..., 1:2]
        r2 = x**2 + y**2
        radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
        tangential = p[..., 0:1] * x + p[..., 1:2] * y
        xy = xy * (radial + tangential) + p * r2
    return intrinsics[..., 0:2] * xy + intrinsics[..., 2:4]

"""Horizontal mirroring of keypoints, poses and intrinsics (test-time and training flips).

Mirroring swaps the skeleton's left and right joints; a pose mirrored with
:func:`flip_poses` and projected with :func:`flip_intrinsics` of the camera gives
:func:`flip_keypoints` of the original projection.
"""

from __future__ import annotations

from ..skeleton import get_skeleton
from ._arrays import _as_float, _cat, _check_last, _permute_joints
from .intrinsics import _pixel_extent

__all__ = ["flip_intrinsics", "flip_keypoints", "flip_poses"]


def _check_joints(X, skeleton, name):
    if X.ndim < 2 or X.shape[-2] != skeleton.n_joints:
        want = f"(..., {skeleton.n_joints}, C) for skeleton {skeleton.name!r}"
        raise ValueError(f"{name} must have shape {want}, got {tuple(X.shape)}.")


def flip_keypoints(X, skeleton, width=None):
    """Mirror 2D keypoints horizontally and swap left/right joints.

    Parameters
    ----------
    X : array-like or torch.Tensor of shape (..., J, C), C >= 1
        Keypoints with x in channel 0; other channels (y, confidence) are left untouched.
    skeleton : str or Skeleton
        Layout of the J joints (see :func:`skpose3d.skeleton.get_skeleton`).
    width : float or None, default=None
        None: normalised screen coordinates, ``x -> -x``. Otherwise the image width in pixels,
        ``x -> width - x``.

    Returns
    -------
    ndarray or torch.Tensor of shape (..., J, C)

    Examples
    --------
    >>> import numpy as np
    >>> from skpose3d.camera import flip_keypoints
    >>> X = np.zeros((17, 2)); X[1] = [0.3, 0.5]   # right hip
    >>> flip_keypoints(X, "h36m")[4].tolist()        # now the left hip
    [-0.3, 0.5]
    """
    skeleton = get_skeleton(skeleton)
    X = _as_float(X)
    _check_joints(X, skeleton, "X")
    _check_last(X, 1, "X", at_least=True)
    if width is None:
        x = -X[..., 0:1]
    else:
        width = _pixel_extent("width", width)
        x = width - X[..., 0:1]
    return _permute_joints(_cat([x, X[..., 1:]]), skeleton.flip_permutation)


def flip_poses(Y, skeleton):
    """Mirror 3D camera-space poses ``Y`` (..., J, 3): negate X and swap left/right joints.

    ``skeleton`` (str or Skeleton) gives the J joints' layout. Returns a new array or tensor.
    """
    skeleton = get_skeleton(skeleton)
    Y = _as_float(Y)
    _check_joints(Y, skeleton, "Y")
    _check_last(Y, 3, "Y")
    return _permute_joints(_cat([-Y[..., 0:1], Y[..., 1:]]), skeleton.flip_permutation)


def flip_intrinsics(vector):
    """Intrinsics of the mirrored image: negate ``c_x`` and ``p_1`` of normalised vectors.

    ``vector`` (..., 9) must be in normalised screen units (for pixels use
    :meth:`~skpose3d.camera.Intrinsics.flipped`). Returns a new array or tensor.
    """
    v = _as_float(vector)
    _check_last(v, 9, "vector")
    return _cat([v[..., 0:2], -v[..., 2:3], v[..., 3:7], -v[..., 7:8], v[..., 8:9]])

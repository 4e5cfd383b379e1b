"""Camera models: intrinsics, screen normalisation, world/camera frames, projection, flips.

Array functions accept numpy arrays or torch tensors and return a tensor as soon as one input is a
tensor; the maths is written once, so the torch path is differentiable and runs on any device.
Conventions (Human3.6M, Pavllo et al. 2019): intrinsics ``[fx, fy, cx, cy, k1, k2, k3, p1, p2]``
in pixels or normalised screen units (``x / w * 2 - [1, h / w]``); ``X_cam = R @ (X_world - T)``.
"""

from __future__ import annotations

import math
import numbers
import sys
from dataclasses import KW_ONLY, dataclass, replace

import numpy as np

from .skeleton import get_skeleton

_PARAMETERS = ("fx", "fy", "cx", "cy", "k1", "k2", "k3", "p1", "p2")


def _is_tensor(x) -> bool:
    # Looking torch up in sys.modules keeps this module importable (and cheap) without torch:
    # a tensor can only exist once torch has been imported.
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _as_float(x):
    """Return ``x`` as a floating numpy array or tensor (integers become float64/default)."""
    if _is_tensor(x):
        if x.is_floating_point():
            return x
        return x.to(sys.modules["torch"].get_default_dtype())
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def _common(*values):
    """Make all values floating numpy arrays, or tensors (on the first tensor's device and
    dtype) if any is a tensor; tensors keep their dtype, torch promotes mixed precisions."""
    tensors = [v for v in values if _is_tensor(v)]
    if not tensors:
        return [_as_float(v) for v in values]
    torch = sys.modules["torch"]
    ref = tensors[0]
    dtype = ref.dtype if ref.is_floating_point() else torch.get_default_dtype()
    return [
        _as_float(v) if _is_tensor(v) else torch.as_tensor(v, dtype=dtype, device=ref.device)
        for v in values
    ]


def _cat(parts):
    """Concatenate along the last axis (numpy or torch, decided by the first part)."""
    if _is_tensor(parts[0]):
        return sys.modules["torch"].cat(parts, dim=-1)
    return np.concatenate(parts, axis=-1)


def _check_last(x, size, name, *, at_least=False):
    if x.ndim < 1 or not (x.shape[-1] >= size if at_least else x.shape[-1] == size):
        want = f"at least {size}" if at_least else str(size)
        raise ValueError(f"{name} must have {want} values on its last axis, got {tuple(x.shape)}.")


def check_image_size(image_size) -> tuple[float, float] | None:
    """Validate an estimator's ``image_size`` parameter.

    The one check behind every ``image_size`` parameter of the package (lifters, streaming,
    export), so all of them accept and reject the same values with the same message.

    Parameters
    ----------
    image_size : None or (width, height)
        Image size in pixels, or None (keypoints are already in normalised screen units).

    Returns
    -------
    None or tuple of (float, float)
        ``(width, height)`` as floats.

    Raises
    ------
    ValueError
        If ``image_size`` is not None or two real numbers, or if they are not finite and > 0.

    Examples
    --------
    >>> from skpose3d.camera import check_image_size
    >>> check_image_size((1000, 1002))
    (1000.0, 1002.0)
    >>> check_image_size(None) is None
    True
    """
    if image_size is None:
        return None
    try:
        # Strings and bools convert with float() but are never a pixel count: refuse them.
        if isinstance(image_size, str) or any(
            isinstance(v, (str, bool, np.bool_)) for v in image_size
        ):
            raise TypeError
        width, height = (float(v) for v in image_size)
    except (TypeError, ValueError):
        raise ValueError(
            f"image_size must be None or (width, height) in pixels, got {image_size!r}"
        ) from None
    if not (math.isfinite(width) and math.isfinite(height) and width > 0 and height > 0):
        raise ValueError(f"image_size must be positive (width, height), got {image_size!r}")
    return width, height


def _pixel_extent(name, value) -> float:
    # One image dimension passed as its own argument (``width``/``height`` of a function or of
    # Intrinsics): the error names that argument rather than an ``image_size`` pair.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number of pixels, got {value!r}.")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number of pixels, got {value!r}.")
    return float(value)


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole camera intrinsics with Human3.6M-style lens distortion, in pixels.

    Parameters
    ----------
    fx, fy, cx, cy : float
        Focal lengths (> 0) and principal point, in pixels.
    k1, k2, k3, p1, p2 : float, default=0.0
        Radial and tangential distortion coefficients (Human3.6M convention, see :func:`project`).
    width, height : int
        Image size in pixels (keyword-only).

    A parameter that is not finite, a focal length <= 0 or an image size that is not a positive
    integer raises a ``ValueError`` naming the field.

    Examples
    --------
    >>> from skpose3d.camera import Intrinsics
    >>> cam = Intrinsics(1000.0, 1000.0, 500.0, 400.0, width=1000, height=800)
    >>> cam.normalized()[:4].tolist()
    [2.0, 2.0, 0.0, 0.0]
    >>> cam.flipped().cx
    500.0
    """

    fx: float
    fy: float
    cx: float
    cy: float
    k1: float = 0.0
    k2: float = 0.0
    k3: float = 0.0
    p1: float = 0.0
    p2: float = 0.0
    _: KW_ONLY
    width: int
    height: int

    def __post_init__(self):
        for name in _PARAMETERS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"Intrinsics.{name} must be a real number, got {value!r}.")
            positive = name in ("fx", "fy")
            if not math.isfinite(value) or (positive and value <= 0):
                want = "finite and > 0" if positive else "finite"
                raise ValueError(f"Intrinsics.{name} must be {want}, got {value!r}.")
            object.__setattr__(self, name, float(value))
        for name in ("width", "height"):
            value = _pixel_extent(name, getattr(self, name))
            if not value.is_integer():
                raise ValueError(f"Intrinsics.{name} must be an integer, got {value!r}.")
            object.__setattr__(self, name, int(value))

    def to_vector(self) -> np.ndarray:
        """Return ``[fx, fy, cx, cy, k1, k2, k3, p1, p2]`` in pixels (float64, shape (9,))."""
        return np.array([getattr(self, name) for name in _PARAMETERS], dtype=np.float64)

    @classmethod
    def from_vector(cls, vector, width, height) -> Intrinsics:
        """Build intrinsics from a pixel vector ``[fx, fy, cx, cy, k1, k2, k3, p1, p2]``.

        Parameters
        ----------
        vector : array-like of shape (9,)
            Intrinsics in pixels.
        width, height : int
            Image size in pixels.
        """
        vector = np.asarray(vector, dtype=np.float64)
        if vector.shape != (9,):
            raise ValueError(f"vector must have shape (9,), got {vector.shape}.")
        return cls(*(float(v) for v in vector), width=width, height=height)

    def normalized(self) -> np.ndarray:
        """Return the intrinsics vector in the paper's normalised screen units.

        Focal lengths become ``f / w * 2`` and the principal point ``c / w * 2 - [1, h / w]``;
        distortion coefficients are unitless and unchanged. Projecting with this vector gives
        :func:`normalize_screen_coordinates` of the pixel projection. Returns float64, shape (9,).
        """
        w, h = float(self.width), float(self.height)
        vector = self.to_vector()
        vector[0:2] = vector[0:2] / w * 2
        vector[2] = vector[2] / w * 2 - 1
        vector[3] = vector[3] / w * 2 - h / w
        return vector

    def flipped(self) -> Intrinsics:
        """Return the intrinsics of the horizontally mirrored image.

        ``cx -> width - cx`` and ``p1 -> -p1`` (in normalised units: negate ``c_x`` and ``p_1``).
        Projecting :func:`flip_poses` of a pose with these intrinsics gives the mirrored image
        of the original projection.
        """
        return replace(self, cx=self.width - self.cx, p1=-self.p1)


# Published Human3.6M calibration: [fx, fy, cx, cy, k1, k2, k3, p1, p2] in pixels and the image
# height (all are 1000 px wide). The intrinsics are the same for every subject.
# fmt: off
_H36M_TABLE = {
    "54138969": ([1145.04940458804, 1143.78109572365, 512.541504956548, 515.4514869776,
                  -0.207098910824901, 0.247775183068982, -0.00307515035078854,
                  -0.000975698859470499, -0.00142447157470321], 1002),
    "55011271": ([1149.67569986785, 1147.59161666764, 508.848621645943, 508.064917088557,
                  -0.194213629607385, 0.240408539138292, 0.00681997559022603,
                  -0.001619026613787, -0.0027408943961907], 1000),
    "58860488": ([1149.14071676148, 1148.7989685676, 519.815837182153, 501.402658888552,
                  -0.208338188251856, 0.255488007488945, -0.00246049749891915,
                  0.00148438698385668, -0.000759999321030303], 1000),
    "60457274": ([1145.51133842318, 1144.77392807652, 514.968197319863, 501.882018537695,
                  -0.198384093827848, 0.218323676298049, -0.00894780704152122,
                  -0.000587205583421232, -0.00181336200488089], 1002),
}
# fmt: on
H36M_CAMERAS: dict[str, Intrinsics] = {
    key: Intrinsics.from_vector(vector, 1000, height)
    for key, (vector, height) in _H36M_TABLE.items()
}
"""dict of str to Intrinsics : The four Human3.6M cameras by id."""


def h36m_intrinsics(camera_id) -> Intrinsics:
    """Return the intrinsics of one Human3.6M camera.

    Parameters
    ----------
    camera_id : int or str
        One of ``54138969``, ``55011271``, ``58860488``, ``60457274``.

    Examples
    --------
    >>> from skpose3d.camera import h36m_intrinsics
    >>> cam = h36m_intrinsics(54138969)
    >>> cam.width, cam.height
    (1000, 1002)
    """
    if isinstance(camera_id, bool) or not isinstance(camera_id, (str, numbers.Integral)):
        raise TypeError(f"camera_id must be an int or str, got {camera_id!r}.")
    key = str(camera_id).strip()
    if key not in H36M_CAMERAS:
        raise ValueError(
            f"camera_id={camera_id!r} is not a Human3.6M camera; valid ids are "
            f"{sorted(H36M_CAMERAS)}."
        )
    return H36M_CAMERAS[key]


def normalize_screen_coordinates(X, width, height):
    """Map pixel coordinates to the paper's normalised screen coordinates.

    ``x_norm = x / w * 2 - [1, h / w]``: x spans [-1, 1] and the aspect ratio is kept.

    Parameters
    ----------
    X : array-like or torch.Tensor of shape (..., C), C >= 2
        Pixel coordinates in channels 0 and 1; further channels (e.g. a detection confidence)
        are passed through untouched.
    width, height : float
        Image size in pixels.

    Returns
    -------
    ndarray or torch.Tensor of shape (..., C)

    Examples
    --------
    >>> from skpose3d.camera import normalize_screen_coordinates
    >>> normalize_screen_coordinates([[0.0, 0.0, 0.9], [1000.0, 500.0, 0.8]], 1000, 500).tolist()
    [[-1.0, -0.5, 0.9], [1.0, 0.5, 0.8]]
    """
    width, height = _pixel_extent("width", width), _pixel_extent("height", height)
    X = _as_float(X)
    _check_last(X, 2, "X", at_least=True)
    x = X[..., 0:1] / width * 2 - 1
    y = X[..., 1:2] / width * 2 - height / width
    return _cat([x, y, X[..., 2:]])


def image_coordinates(X, width, height):
    """Map normalised screen coordinates back to pixels.

    The exact inverse of :func:`normalize_screen_coordinates`, with the same parameters: channels
    0 and 1 of ``X`` (..., C) are converted, further channels passed through; returns a new array.
    """
    width, height = _pixel_extent("width", width), _pixel_extent("height", height)
    X = _as_float(X)
    _check_last(X, 2, "X", at_least=True)
    x = (X[..., 0:1] + 1) * width / 2
    y = (X[..., 1:2] + height / width) * width / 2
    return _cat([x, y, X[..., 2:]])


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
        An :class:`Intrinsics` (output in pixels) or vectors ``[fx, fy, cx, cy, k1, k2, k3, p1,
        p2]`` in any units, output in the same units (:meth:`Intrinsics.normalized` gives
        normalised screen coordinates). ``(B, 9)`` pairs camera b with ``points[b]`` (B, ..., 3).
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
    if clamp:
        xy = xy.clip(-1.0, 1.0)
    if distortion:
        k1, k2, k3 = params[..., 4:5], params[..., 5:6], params[..., 6:7]
        p = params[..., 7:9]
        r2 = xy[..., 0:1] ** 2 + xy[..., 1:2] ** 2
        radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
        tangential = p[..., 0:1] * xy[..., 0:1] + p[..., 1:2] * xy[..., 1:2]
        xy = xy * (radial + tangential) + p * r2
    return params[..., 0:2] * xy + params[..., 2:4]


def _permute_joints(X, perm):
    if _is_tensor(X):
        perm = sys.modules["torch"].as_tensor(perm, device=X.device)
    return X[..., perm, :]


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
    :meth:`Intrinsics.flipped`). Returns a new array or tensor.
    """
    v = _as_float(vector)
    _check_last(v, 9, "vector")
    return _cat([v[..., 0:2], -v[..., 2:3], v[..., 3:7], -v[..., 7:8], v[..., 8:9]])

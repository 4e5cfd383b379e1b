"""Image units: intrinsics, the Human3.6M cameras, image-size checks, screen normalisation.

Intrinsics are ``[fx, fy, cx, cy, k1, k2, k3, p1, p2]`` in pixels or in the paper's normalised
screen units (``x / w * 2 - [1, h / w]``), Human3.6M conventions (Pavllo et al. 2019).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import KW_ONLY, dataclass, replace

import numpy as np

from ._arrays import _as_float, _cat, _check_last

__all__ = [
    "H36M_CAMERAS",
    "Intrinsics",
    "check_image_size",
    "h36m_intrinsics",
    "image_coordinates",
    "normalize_screen_coordinates",
]

_PARAMETERS = ("fx", "fy", "cx", "cy", "k1", "k2", "k3", "p1", "p2")


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
        Radial and tangential distortion coefficients (Human3.6M convention, see
        :func:`~skpose3d.camera.project`).
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
        :func:`normalize_screen_coordinates` of the pixel projection. Returns float64, shape
        (9,).
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
        Projecting :func:`~skpose3d.camera.flip_poses` of a pose with these intrinsics gives the
        mirrored image of the original projection.
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

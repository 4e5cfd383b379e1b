"""Camera models: intrinsics, screen normalisation, world/camera frames, projection, flips.

Array functions accept numpy arrays or torch tensors and return a tensor as soon as one input is a
tensor; the maths is written once, so the torch path is differentiable and runs on any device.
Conventions (Human3.6M, Pavllo et al. 2019): intrinsics ``[fx, fy, cx, cy, k1, k2, k3, p1, p2]``
in pixels or normalised screen units (``x / w * 2 - [1, h / w]``); ``X_cam = R @ (X_world - T)``.

Every name is importable from here; by concern they live in :mod:`~skpose3d.camera.intrinsics`
(intrinsics, image sizes, screen units), :mod:`~skpose3d.camera.projection` (frames and
projection) and :mod:`~skpose3d.camera.flips` (mirroring).
"""

from .flips import flip_intrinsics, flip_keypoints, flip_poses
from .intrinsics import (
    H36M_CAMERAS,
    Intrinsics,
    check_image_size,
    h36m_intrinsics,
    image_coordinates,
    normalize_screen_coordinates,
)
from .projection import camera_to_world, project, world_to_camera

__all__ = [
    "H36M_CAMERAS",
    "Intrinsics",
    "camera_to_world",
    "check_image_size",
    "flip_intrinsics",
    "flip_keypoints",
    "flip_poses",
    "h36m_intrinsics",
    "image_coordinates",
    "normalize_screen_coordinates",
    "project",
    "world_to_camera",
]

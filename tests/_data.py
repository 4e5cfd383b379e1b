"""Small real-motion fixtures for tests: CMU motion capture filmed by one virtual camera, and
known rotations to move it with."""

from functools import lru_cache

import numpy as np

from skpose3d.camera import h36m_intrinsics, normalize_screen_coordinates, project

from .conftest import bundled


@lru_cache(maxsize=1)
def _cmu():
    with np.load(bundled("cmu_mocap17.npz")) as data:
        bounds = np.cumsum(data["lengths"])[:-1]
        videos = np.split(data["positions"], bounds)
        return videos, data["subjects"].copy()


def cmu_views(n_videos=12, max_frames=300, noise_px=0.0, seed=0, step=2):
    """2D (normalised screen units) and 3D camera-space videos of the first CMU clips.

    The camera looks along world +y, 6 m from the clip's mean pelvis position (the clips
    wander up to 5.4 m, so each is centred on its mean).
    """
    videos, subjects = _cmu()
    cam = h36m_intrinsics("54138969")
    rng = np.random.default_rng(seed)
    X, y = [], []
    for world in videos[:n_videos]:
        world = world[: max_frames * step : step].astype(np.float64)
        world = world - [*world[:, 0, :2].mean(0), 0.0]
        # World z is up; camera y points down and camera z forward (along world +y).
        cam_space = np.stack([world[..., 0], 1.0 - world[..., 2], world[..., 1] + 6.0], -1)
        assert cam_space[..., 2].min() > 1.0, "subject too close to the camera"
        pixels = project(cam_space, cam)
        pixels = pixels + rng.normal(scale=noise_px, size=pixels.shape) if noise_px else pixels
        X.append(normalize_screen_coordinates(pixels, cam.width, cam.height).astype(np.float32))
        y.append(cam_space.astype(np.float32))
    return X, y, subjects[:n_videos]


def rotation(angle, axis=(1.0, 2.0, 2.0)):
    """Rodrigues: the rotation matrix by ``angle`` radians about ``axis``."""
    a = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k

"""Human3.6M from the community's files in the VideoPose3D npz layout (no data ships here).

The published camera calibration is bundled (``h36m_cameras.json``); the motion-capture and
2D detection files must be obtained separately.
"""

from __future__ import annotations

import json
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..camera import H36M_CAMERAS, world_to_camera
from ..skeleton import H36M
from .bundled import bundled_file

__all__ = ["H36M_TEST_SUBJECTS", "H36M_TRAIN_SUBJECTS", "load_h36m"]

H36M_TRAIN_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")
"""tuple of str : Human3.6M training subjects of the standard protocol."""
H36M_TEST_SUBJECTS = ("S9", "S11")
"""tuple of str : Human3.6M test subjects of the standard protocol."""

_H36M_17_OF_32 = [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27]
_H36M_CAMERA_ORDER = tuple(H36M_CAMERAS)  # the order of the 2D files' per-camera lists


def _read_npz_entry(path, key: str, arg: str, required=True):
    """One entry of a VideoPose3D npz file, unpickled to a dict; clear errors otherwise."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{arg}: file {str(path)!r} does not exist")
    if not zipfile.is_zipfile(path):  # checked first: np.load would try to unpickle it
        raise ValueError(f"{arg}: {str(path)!r} is not an npz file (VideoPose3D layout)")
    with np.load(path, allow_pickle=True) as data:
        if key not in data.files:
            if not required:
                return None
            raise ValueError(
                f"{arg}: {str(path)!r} has no {key!r} entry (it has {sorted(data.files)}); "
                "expected the VideoPose3D layout"
            )
        value = data[key]
    value = value.item() if value.dtype == object and value.shape == () else value
    if not isinstance(value, dict):
        raise ValueError(f"{arg}: {str(path)!r} entry {key!r} is not a pickled dict")
    return value


def _select(requested, available, what: str, where: str) -> list:
    if requested is None:
        return sorted(available)
    requested = [str(r) for r in np.atleast_1d(requested)]
    missing = [r for r in requested if r not in available]
    if missing:
        raise ValueError(f"{where}: {what} {missing} not found; available: {sorted(available)}")
    return requested


@lru_cache(maxsize=1)
def _h36m_calibration() -> dict:
    return json.loads(bundled_file("h36m_cameras.json").read_text(encoding="utf-8"))


def _h36m_extrinsics(subject: str, camera: str):
    params = _h36m_calibration()
    if subject not in params:
        raise ValueError(
            f"subject {subject!r} has no published camera calibration; known: {sorted(params)}"
        )
    cam = params[subject][camera]
    return np.asarray(cam["R"]), np.asarray(cam["T"])


def _world_poses(positions, path, subject, action) -> np.ndarray:
    pose = np.asarray(positions[subject][action], dtype=np.float64)
    if pose.ndim != 3 or pose.shape[1:] not in ((32, 3), (17, 3)):
        raise ValueError(
            f"path_3d: {str(path)!r} positions_3d[{subject!r}][{action!r}] has shape "
            f"{pose.shape}: expected (n_frames, 32, 3) world metres"
        )
    return pose[:, _H36M_17_OF_32] if pose.shape[1] == 32 else pose


def _keypoints(positions_2d, path, subject, action, camera: str) -> np.ndarray:
    where = f"path_2d: {str(path)!r} positions_2d[{subject!r}][{action!r}]"
    if subject not in positions_2d or action not in positions_2d[subject]:
        raise ValueError(f"{where} is missing (the 3D file has this action)")
    views = positions_2d[subject][action]
    if len(views) != len(_H36M_CAMERA_ORDER):
        raise ValueError(f"{where} has {len(views)} camera arrays: expected 4")
    kp = np.asarray(views[_H36M_CAMERA_ORDER.index(camera)], dtype=np.float32)
    if kp.ndim != 3 or kp.shape[2] < 2:
        raise ValueError(f"{where} camera {camera} has shape {kp.shape}: expected (T, J, 2)")
    return kp


def load_h36m(path_3d, path_2d=None, *, subjects=None, actions=None, cameras=None) -> Bunch:
    """Load Human3.6M from the community's files in the VideoPose3D npz layout.

    The 3D file (e.g. ``data_3d_h36m.npz``) holds ``positions_3d``: subject -> action ->
    ``(T, 32, 3)`` world metres; the optional 2D file (e.g. ``data_2d_h36m_cpn_ft_h36m_dbb.npz``)
    holds ``positions_2d``: subject -> action -> list of 4 ``(T, J, 2)`` pixel arrays in the camera
    order 54138969, 55011271, 58860488, 60457274, and ``metadata`` (keypoint layout). Both are
    pickled dicts, so **only load files you trust**. No Human3.6M data ships with skpose3d.

    The 17 joints of :data:`skpose3d.skeleton.H36M` are picked from the 32 and transformed to
    each camera's space with the published extrinsics (bundled ``h36m_cameras.json``,
    ``X_cam = R @ (X_world - T)``); 2D and 3D are trimmed to their common length.

    Parameters
    ----------
    path_3d : str or Path
    path_2d : str or Path, optional
        Without it, ``keypoints`` is None.
    subjects : sequence of str, optional
        E.g. :data:`H36M_TRAIN_SUBJECTS` (``S1 S5 S6 S7 S8``, the standard protocol's training
        set) or :data:`H36M_TEST_SUBJECTS` (``S9 S11``); default all in the file.
    actions : sequence of str, optional
        Default all of each subject's actions.
    cameras : sequence of int or str, optional
        Camera ids; default all four.

    Returns
    -------
    Bunch
        One entry per (subject, action, camera): ``poses_3d`` (float32 ``(T, 17, 3)`` camera
        space, metres), ``keypoints`` (float32 ``(T, J, 2)`` pixels, or None), ``intrinsics``,
        and labels ``subjects``, ``actions``, ``cameras`` (str arrays; use ``subjects`` as
        ``groups`` for ``GroupKFold``), plus ``skeleton`` and ``keypoints_metadata`` (dict or
        None).

    Raises
    ------
    FileNotFoundError
        If a file does not exist.
    ValueError
        If a file is not in the VideoPose3D layout, or a subject, action or camera is not
        there; the message names the file and the key.
    """
    positions = _read_npz_entry(path_3d, "positions_3d", "path_3d")
    positions_2d = metadata = None
    if path_2d is not None:
        positions_2d = _read_npz_entry(path_2d, "positions_2d", "path_2d")
        metadata = _read_npz_entry(path_2d, "metadata", "path_2d", required=False)
    where = f"path_3d: {str(path_3d)!r} positions_3d"
    cameras = _select(cameras, _H36M_CAMERA_ORDER, "cameras", "load_h36m")
    out = Bunch(poses_3d=[], keypoints=[], intrinsics=[], subjects=[], actions=[], cameras=[])
    for subject in _select(subjects, positions, "subjects", where):
        for action in _select(actions, positions[subject], "actions", f"{where}[{subject!r}]"):
            world = _world_poses(positions, path_3d, subject, action)
            for camera in cameras:
                R, T = _h36m_extrinsics(subject, camera)
                pose = world_to_camera(world, R, T)
                if positions_2d is not None:
                    kp = _keypoints(positions_2d, path_2d, subject, action, camera)
                    n = min(len(kp), len(pose))
                    pose = pose[:n]
                    out.keypoints.append(np.ascontiguousarray(kp[:n]))
                out.poses_3d.append(pose.astype(np.float32))
                out.intrinsics.append(H36M_CAMERAS[camera])
                out.subjects.append(subject)
                out.actions.append(action)
                out.cameras.append(camera)
    for key in ("subjects", "actions", "cameras"):
        out[key] = np.asarray(out[key], dtype=str)
    out.keypoints = out.keypoints if positions_2d is not None else None
    out.skeleton, out.keypoints_metadata = H36M, metadata
    return out

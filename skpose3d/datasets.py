"""Data: bundled CMU motion capture, virtual camera views with detector-like noise, Human3.6M.

- :func:`load_cmu_mocap`: 49 real motion-capture clips (5.7 min, 6 subjects) in the Human3.6M
  17-joint layout, bundled with the package (3D only; see its ``DESCR`` for source and licence).
- :func:`make_views`: films 3D world videos with virtual cameras (Human3.6M intrinsics, lens
  distortion) and adds a seeded 2D detector noise model (:class:`DetectorNoise`), giving
  ``(keypoints, poses_3d)`` training pairs like a real capture setup.
- :func:`load_h36m`: reads the community's Human3.6M files in the VideoPose3D npz layout.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d
from sklearn.utils import Bunch, check_random_state

from .camera import H36M_CAMERAS, Intrinsics, project, world_to_camera
from .skeleton import H36M, get_skeleton

__all__ = [
    "CMU_TEST_SUBJECTS",
    "CMU_TRAIN_SUBJECTS",
    "H36M_TEST_SUBJECTS",
    "H36M_TRAIN_SUBJECTS",
    "DetectorNoise",
    "VirtualCamera",
    "default_cameras",
    "load_cmu_mocap",
    "load_h36m",
    "make_views",
    "scale_bones",
]

CMU_TRAIN_SUBJECTS = (1, 2, 3, 5)
"""tuple of int : CMU subjects the demo and the accuracy benchmark train on (13,990 frames)."""
CMU_TEST_SUBJECTS = (6, 7)
"""tuple of int : Held-out CMU subjects (walks, basketball dribbling; 6,498 frames)."""
H36M_TRAIN_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")
"""tuple of str : Human3.6M training subjects of the standard protocol."""
H36M_TEST_SUBJECTS = ("S9", "S11")
"""tuple of str : Human3.6M test subjects of the standard protocol."""


def _data_file(name: str):
    return resources.files("skpose3d").joinpath("data", name)


def load_cmu_mocap(*, subjects=None) -> Bunch:
    """Load the bundled CMU motion capture (49 clips, 20,488 frames at 60 fps, 17 joints).

    Parameters
    ----------
    subjects : sequence of int, optional
        Keep only the clips of these CMU subjects (1, 2, 3, 5, 6, 7); default all.

    Returns
    -------
    Bunch
        ``videos`` (list of float32 ``(T, 17, 3)``: world coordinates, metres, z up, each clip's
        pelvis starting at x = y = 0), ``subjects`` and ``trials`` (int arrays, one per clip),
        ``names`` (``"SSS_TT"``), ``fps`` (60.0), ``skeleton`` (:data:`skpose3d.skeleton.H36M`)
        and ``DESCR`` (the datasheet: source, licence, caveats). All clips share one retargeted
        body; see :func:`make_views` ``bone_scale`` for per-subject proportions.

    Examples
    --------
    >>> from skpose3d.datasets import load_cmu_mocap
    >>> data = load_cmu_mocap(subjects=[7])
    >>> len(data.videos), data.videos[0].shape, data.names[0], data.fps
    (12, (157, 17, 3), '007_01', 60.0)
    """
    with _data_file("cmu_mocap17.npz").open("rb") as fh, np.load(fh) as data:
        positions = data["positions"]
        bounds = np.cumsum(data["lengths"])[:-1]
        all_subjects, all_trials = data["subjects"].copy(), data["trials"].copy()
        fps = float(data["fps"])
    videos = np.split(positions, bounds)
    keep = np.ones(len(videos), dtype=bool)
    if subjects is not None:
        wanted = np.atleast_1d(np.asarray(subjects)).astype(int)
        unknown = sorted(set(wanted.tolist()) - set(all_subjects.tolist()))
        if unknown:
            raise ValueError(
                f"subjects={unknown} are not in the CMU data; valid subjects are "
                f"{sorted(set(all_subjects.tolist()))}"
            )
        keep = np.isin(all_subjects, wanted)
    return Bunch(
        videos=[np.ascontiguousarray(v) for v, k in zip(videos, keep) if k],
        subjects=all_subjects[keep],
        trials=all_trials[keep],
        names=[f"{s:03d}_{t:02d}" for s, t in zip(all_subjects[keep], all_trials[keep])],
        fps=fps,
        skeleton=H36M,
        DESCR=_data_file("cmu_mocap17.md").read_text(encoding="utf-8"),
    )


# -- bone lengths ---------------------------------------------------------------------------


def scale_bones(video, scales, skeleton="h36m"):
    """Rescale the bones of 3D poses along the kinematic tree, keeping every bone's direction.

    Parameters
    ----------
    video : array-like of shape (T, J, 3)
        Poses (any frame of reference).
    scales : array-like of shape (J,)
        Length factor of the bone ending at each joint (the root's entry is ignored).
    skeleton : str or Skeleton, default="h36m"

    Returns
    -------
    ndarray of shape (T, J, 3)
        The root stays in place; each joint moves with its parent's new position.
    """
    skeleton = get_skeleton(skeleton)
    video = np.asarray(video, dtype=np.float64)
    scales = np.asarray(scales, dtype=np.float64)
    if video.ndim != 3 or video.shape[1:] != (skeleton.n_joints, 3):
        raise ValueError(f"video must have shape (T, {skeleton.n_joints}, 3), got {video.shape}")
    if scales.shape != (skeleton.n_joints,) or np.any(scales <= 0):
        raise ValueError(f"scales must be {skeleton.n_joints} positive factors, got {scales}")
    out = video.copy()
    for joint in _topological_order(skeleton):
        parent = skeleton.parents[joint]
        if parent >= 0:
            out[:, joint] = out[:, parent] + scales[joint] * (video[:, joint] - video[:, parent])
    return out


def _topological_order(skeleton) -> list[int]:
    depth = []
    for joint in range(skeleton.n_joints):
        d, node = 0, joint
        while skeleton.parents[node] != -1:
            node, d = skeleton.parents[node], d + 1
        depth.append(d)
    return sorted(range(skeleton.n_joints), key=depth.__getitem__)


def _subject_scales(subject, std: float, skeleton) -> np.ndarray:
    """Deterministic per-subject factors: one body size times symmetric per-bone factors."""
    seed = zlib.crc32(str(subject).encode())  # stable across runs, unlike hash()
    rng = np.random.default_rng(seed)
    size = 1.0 + std * np.clip(rng.standard_normal(), -2, 2)
    per_bone = 1.0 + std * np.clip(rng.standard_normal(skeleton.n_joints), -2, 2)
    # Mirror partners get the same factor: people are (nearly) left/right symmetric.
    partner = skeleton.flip_permutation
    per_bone = per_bone[np.minimum(np.arange(skeleton.n_joints), partner)]
    return size * per_bone


# -- cameras --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VirtualCamera:
    """A camera of the virtual rig, placed on a circle around the subject and aimed at it.

    Parameters
    ----------
    intrinsics : Intrinsics
        Pixel intrinsics, lens distortion included.
    azimuth : float
        Direction from the subject to the camera, degrees counter-clockwise from world +x.
    name : str
        Label of the camera in the output of :func:`make_views`.
    distance, height : float or None, default=None
        Horizontal distance from the subject (m) and height above z = 0 (m); None uses the
        ``distance`` / ``height`` given to :func:`make_views`.
    """

    intrinsics: Intrinsics
    azimuth: float
    name: str
    distance: float | None = None
    height: float | None = None

    def extrinsics(self, target, distance: float, height: float):
        """World-to-camera rotation ``R`` and camera centre ``T`` looking at ``target`` (3,).

        Camera axes: x right, y down, z forward (``X_cam = R @ (X_world - T)``).
        """
        distance = self.distance if self.distance is not None else distance
        height = self.height if self.height is not None else height
        angle = np.deg2rad(self.azimuth)
        target = np.asarray(target, dtype=np.float64)
        centre = np.array(
            [target[0] + distance * np.cos(angle), target[1] + distance * np.sin(angle), height]
        )
        forward = (target - centre) / np.linalg.norm(target - centre)
        right = np.cross(forward, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        return np.stack([right, down, forward]), centre


def default_cameras() -> list[VirtualCamera]:
    """The four Human3.6M cameras at azimuths 45°, 135°, 225° and 315° (the room's corners)."""
    return [
        VirtualCamera(intr, azimuth=45.0 + 90.0 * i, name=key)
        for i, (key, intr) in enumerate(H36M_CAMERAS.items())
    ]


def _check_cameras(cameras) -> list[VirtualCamera]:
    if cameras is None:
        return default_cameras()
    cameras = list(cameras)
    if not cameras:
        raise ValueError("cameras is empty: give VirtualCamera or Intrinsics objects, or None")
    out = []
    for i, cam in enumerate(cameras):
        if isinstance(cam, Intrinsics):  # spread bare intrinsics evenly around the subject
            cam = VirtualCamera(cam, azimuth=45.0 + 360.0 * i / len(cameras), name=f"cam{i}")
        if not isinstance(cam, VirtualCamera):
            raise TypeError(f"cameras[{i}] must be a VirtualCamera or Intrinsics, got {cam!r}")
        out.append(cam)
    return out


# -- detector noise -------------------------------------------------------------------------


@dataclass(frozen=True)
class DetectorNoise:
    """A seeded model of 2D keypoint detector errors, in pixels.

    Parameters
    ----------
    jitter_px : float, default=3.0
        Standard deviation of independent Gaussian noise per frame and coordinate.
    drift_px : float, default=4.0
        Standard deviation of a slowly varying offset per joint (Gaussian-smoothed white noise
        over ``drift_frames``), like a detector's temporally correlated bias.
    drift_frames : float, default=10.0
        Correlation time of the drift, in frames.
    outlier_rate : float, default=0.005
        Probability per joint and frame of a gross error.
    outlier_px : float, default=40.0
        Standard deviation of a gross error's displacement.
    missing_rate : float, default=0.002
        Probability per joint and frame that the joint goes undetected, for a run of frames.
    missing_frames : float, default=5.0
        Mean length of a run of missing frames (geometric distribution).
    missing : {"hold", "nan"}, default="hold"
        Coordinates of a missing joint: "hold" repeats its last detected position (or the
        first one, before any detection), so the videos stay finite and can be fed to a
        lifter; "nan" marks them NaN for a gap filler.
    confidence_px : float, default=10.0
        Confidence is ``1 / (1 + (error / confidence_px)**2)`` of the actual pixel error times
        a random factor in [0.85, 1]; 0 for missing joints.
    """

    jitter_px: float = 3.0
    drift_px: float = 4.0
    drift_frames: float = 10.0
    outlier_rate: float = 0.005
    outlier_px: float = 40.0
    missing_rate: float = 0.002
    missing_frames: float = 5.0
    missing: str = "hold"
    confidence_px: float = 10.0

    def __post_init__(self):
        for name in ("jitter_px", "drift_px", "drift_frames", "outlier_px", "confidence_px"):
            if not np.isfinite(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(f"DetectorNoise.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("outlier_rate", "missing_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"DetectorNoise.{name} must be in [0, 1]")
        if self.missing_frames < 1 or self.confidence_px <= 0:
            raise ValueError("DetectorNoise.missing_frames must be >= 1, confidence_px > 0")
        if self.missing not in ("hold", "nan"):
            raise ValueError(f"DetectorNoise.missing must be 'hold' or 'nan', got {self.missing!r}")

    def apply(self, keypoints, rng) -> np.ndarray:
        """Corrupt exact keypoints ``(T, J, 2)``; return ``(T, J, 3)``: x, y, confidence."""
        rng = check_random_state(rng) if not isinstance(rng, np.random.Generator) else rng
        exact = np.asarray(keypoints, dtype=np.float64)
        n_frames, n_joints = exact.shape[:2]
        error = rng.normal(scale=self.jitter_px, size=exact.shape)
        if self.drift_px > 0:
            drift = gaussian_filter1d(rng.standard_normal(exact.shape), self.drift_frames, axis=0)
            drift /= max(drift.std(), 1e-12)  # smoothing shrinks the variance; restore it
            error += self.drift_px * drift
        outliers = rng.random((n_frames, n_joints)) < self.outlier_rate
        error[outliers] += rng.normal(scale=self.outlier_px, size=(outliers.sum(), 2))
        dist = np.linalg.norm(error, axis=-1)
        confidence = rng.uniform(0.85, 1.0, dist.shape) / (1 + (dist / self.confidence_px) ** 2)
        missing = self._missing_mask(n_frames, n_joints, rng)
        confidence[missing] = 0.0
        noisy = exact + error
        if self.missing == "hold":
            noisy = _hold_last(noisy, missing)
        else:
            noisy[missing] = np.nan
        return np.concatenate([noisy, confidence[..., None]], axis=-1).astype(np.float32)

    def _missing_mask(self, n_frames, n_joints, rng) -> np.ndarray:
        starts = rng.random((n_frames, n_joints)) < self.missing_rate
        ends = np.zeros((n_frames, n_joints))
        length = rng.geometric(1.0 / self.missing_frames, size=starts.sum())
        ends[starts] = np.nonzero(starts)[0] + length
        # A frame is missing while it lies before the furthest end of a gap that started earlier.
        furthest = np.maximum.accumulate(ends, axis=0)
        return np.arange(n_frames)[:, None] < furthest


def _hold_last(points: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Give missing joints the last detected position (the first one before any detection)."""
    frames = np.arange(len(points))[:, None]
    last = np.maximum.accumulate(np.where(missing, -1, frames), axis=0)
    first = np.where(missing.all(axis=0), frames, (~missing).argmax(axis=0))
    source = np.where(last < 0, first, last)  # never detected: keep the noisy values
    return np.take_along_axis(points, source[..., None], axis=0)


# -- filming --------------------------------------------------------------------------------


def _check_world_videos(videos, skeleton) -> list[np.ndarray]:
    if isinstance(videos, np.ndarray) and videos.dtype != object and videos.ndim == 3:
        videos = [videos]
    out = []
    for i, video in enumerate(videos):
        arr = np.asarray(video, dtype=np.float64)
        if arr.ndim != 3 or arr.shape[1:] != (skeleton.n_joints, 3) or len(arr) == 0:
            raise ValueError(
                f"videos[{i}] has shape {arr.shape}: expected (n_frames, {skeleton.n_joints}, 3)"
            )
        if not np.all(np.isfinite(arr)):
            frame = int(np.argwhere(~np.isfinite(arr))[0, 0])
            raise ValueError(f"videos[{i}] contains NaN or inf (first at frame {frame})")
        out.append(arr)
    if not out:
        raise ValueError("videos is empty: expected at least one (n_frames, n_joints, 3) video")
    return out


def _labels(values, n: int, name: str, default) -> np.ndarray:
    if values is None:
        return np.asarray(default)
    values = np.asarray(values)
    if values.shape != (n,):
        raise ValueError(f"{name} must have one entry per video ({n}), got shape {values.shape}")
    return values


def _recentre(world, root: int, recenter: str, follow_sigma: float):
    """Horizontal offset per frame (T, 3) that keeps the subject in front of the cameras."""
    pelvis = world[:, root, :2]
    if recenter == "follow":
        pad = int(min(4 * follow_sigma, len(world) - 1))
        # Odd reflection continues a straight walk past the ends without bending the track.
        padded = np.pad(pelvis, ((pad, pad), (0, 0)), mode="reflect", reflect_type="odd")
        track = gaussian_filter1d(padded, follow_sigma, axis=0)[pad : pad + len(world)]
    elif recenter == "mean":
        track = np.broadcast_to(pelvis.mean(axis=0), pelvis.shape)
    elif recenter == "start":
        track = np.broadcast_to(pelvis[0], pelvis.shape)
    elif recenter is None:
        track = np.zeros_like(pelvis)
    else:
        raise ValueError(f"recenter must be 'follow', 'mean', 'start' or None, got {recenter!r}")
    return np.concatenate([track, np.zeros((len(world), 1))], axis=1)


def _seeds(random_state, n: int) -> list[np.random.SeedSequence]:
    entropy = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return np.random.SeedSequence(entropy).spawn(n)


def make_views(
    videos,
    *,
    cameras=None,
    subjects=None,
    trials=None,
    distance=4.5,
    height=1.6,
    recenter="follow",
    follow_sigma=30.0,
    noise=True,
    bone_scale=None,
    skeleton="h36m",
    random_state=None,
) -> Bunch:
    """Film 3D world videos with virtual cameras: 2D keypoints and camera-space 3D targets.

    Each video is re-centred horizontally (``recenter``), optionally given per-subject bone
    lengths (``bone_scale``), and filmed by every camera: ``X_cam = R @ (X - T)`` with a rotation
    ``R`` aiming the camera at the subject's mean pelvis height, then projected to pixels with the
    camera's lens distortion, then corrupted by the detector noise model.

    Parameters
    ----------
    videos : list of array-like (n_frames, n_joints, 3) or Bunch
        World coordinates in metres, z up (e.g. ``load_cmu_mocap().videos``). A Bunch from
        :func:`load_cmu_mocap` also supplies ``subjects`` and ``trials``.
    cameras : list of VirtualCamera or Intrinsics, optional
        Default :func:`default_cameras`: the four Human3.6M cameras around the subject. Bare
        intrinsics are spread evenly in azimuth and named ``cam0``, ``cam1``, ...
    subjects, trials : array-like of shape (n_videos,), optional
        Labels copied to every view (default: the video index as subject, trials -1).
    distance : float, default=4.5
        Horizontal distance of the cameras from the subject, metres.
    height : float, default=1.6
        Height of the cameras above z = 0, metres (the floor of the CMU clips).
    recenter : {"follow", "mean", "start"} or None, default="follow"
        How cameras are placed relative to a clip that moves (the CMU clips wander up to
        5.4 m). "follow": the whole rig travels with the pelvis path smoothed over
        ``follow_sigma`` frames, like a tracking shot, so the subject stays in view while its
        sway and bounce still move it in the image; "mean" / "start": a fixed rig around the
        clip's mean / first pelvis position (the subject can leave the image or pass behind a
        camera); None: a fixed rig around the world origin.
    follow_sigma : float, default=30.0
        Gaussian smoothing (frames) of the followed pelvis path (0.5 s at 60 fps).
    noise : bool or DetectorNoise, default=True
        True uses ``DetectorNoise()``; False gives the exact projections.
    bone_scale : float, optional
        Standard deviation of per-subject bone-length factors (e.g. 0.05): each subject gets a
        body size and symmetric per-bone factors (clipped to ±2 std), derived from the subject
        label only, so a subject has the same body in every clip, camera and call. The bones
        are rescaled along the kinematic tree with their directions kept (:func:`scale_bones`).
    skeleton : str or Skeleton, default="h36m"
        Joint layout of the videos (root = pelvis).
    random_state : int, RandomState or None, default=None
        Seeds the noise; every (video, camera) view draws from its own stream.

    Returns
    -------
    Bunch
        One entry per (video, camera), video-major: ``keypoints`` (float32 ``(T, J, 3)``: x, y
        in pixels and a confidence; ``(T, J, 2)`` without noise), ``poses_3d`` (float32
        ``(T, J, 3)``, camera space, metres), ``intrinsics`` (:class:`Intrinsics`),
        ``subjects``, ``trials``, ``cameras`` (names), ``video_ids`` (index of the input video).

    Raises
    ------
    ValueError
        If a joint lies at or behind a camera (z <= 0), naming the video, camera and frame.

    Examples
    --------
    >>> from skpose3d.datasets import load_cmu_mocap, make_views
    >>> views = make_views(load_cmu_mocap(subjects=[3]), random_state=0)
    >>> len(views.keypoints), views.keypoints[0].shape, views.cameras[:2]
    (4, (215, 17, 3), ['54138969', '55011271'])
    """
    if isinstance(videos, Bunch):
        subjects = videos.subjects if subjects is None else subjects
        trials = videos.trials if trials is None else trials
        videos = videos.videos
    skeleton = get_skeleton(skeleton)
    videos = _check_world_videos(videos, skeleton)
    n = len(videos)
    subjects = _labels(subjects, n, "subjects", np.arange(n))
    trials = _labels(trials, n, "trials", np.full(n, -1))
    cameras = _check_cameras(cameras)
    noise = DetectorNoise() if noise is True else (noise or None)
    if noise is not None and not isinstance(noise, DetectorNoise):
        raise TypeError(f"noise must be a bool or a DetectorNoise, got {noise!r}")
    seeds = iter(_seeds(random_state, n * len(cameras)))
    out = Bunch(keypoints=[], poses_3d=[], intrinsics=[], subjects=[], trials=[], cameras=[])
    out.video_ids = []
    for i, world in enumerate(videos):
        if bone_scale:
            world = scale_bones(world, _subject_scales(subjects[i], bone_scale, skeleton), skeleton)
        world = world - _recentre(world, skeleton.root, recenter, follow_sigma)[:, None]
        target = [0.0, 0.0, world[:, skeleton.root, 2].mean()]
        for cam in cameras:
            R, T = cam.extrinsics(target, distance, height)
            pose = world_to_camera(world, R, T)
            _check_in_front(pose, i, cam.name)
            keypoints = project(pose, cam.intrinsics)
            rng = np.random.default_rng(next(seeds))
            keypoints = noise.apply(keypoints, rng) if noise else keypoints.astype(np.float32)
            out.keypoints.append(keypoints)
            out.poses_3d.append(pose.astype(np.float32))
            out.intrinsics.append(cam.intrinsics)
            out.cameras.append(cam.name)
            out.subjects.append(subjects[i])
            out.trials.append(trials[i])
            out.video_ids.append(i)
    for key in ("subjects", "trials", "video_ids"):
        out[key] = np.asarray(out[key])
    out.skeleton = skeleton
    return out


def _check_in_front(pose, video: int, camera: str) -> None:
    depth = pose[..., 2]
    if np.any(depth <= 0):
        frame, joint = np.argwhere(depth <= 0)[0]
        raise ValueError(
            f"video {video}, camera {camera!r}: joint {joint} at frame {frame} is at z = "
            f"{depth[frame, joint]:.3f} m, at or behind the camera; increase distance or "
            "use recenter='follow'"
        )


# -- Human3.6M ------------------------------------------------------------------------------

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
    return json.loads(_data_file("h36m_cameras.json").read_text(encoding="utf-8"))


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

"""Virtual camera views of 3D motion: a camera rig, per-subject bone lengths, filming.

:func:`make_views` turns world-space motion (e.g. :func:`~skpose3d.datasets.load_cmu_mocap`)
into ``(keypoints, poses_3d)`` training pairs like a real capture setup: Human3.6M intrinsics
with lens distortion, and the detector errors of :class:`~skpose3d.datasets.DetectorNoise`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from sklearn.utils import Bunch, check_random_state

from ..camera import H36M_CAMERAS, Intrinsics, project, world_to_camera
from ..skeleton import get_skeleton
from .noise import DetectorNoise

__all__ = ["VirtualCamera", "default_cameras", "make_views", "scale_bones"]


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
        :func:`~skpose3d.datasets.load_cmu_mocap` also supplies ``subjects`` and ``trials``.
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
        ``(T, J, 3)``, camera space, metres), ``intrinsics`` (:class:`~skpose3d.camera.Intrinsics`),
        ``subjects``, ``trials``, ``cameras`` (names), ``video_ids`` (index of the input video),
        ``rotations`` (float64 ``(3, 3)``: the world-to-camera rotation ``R`` of the view, the
        same for every frame; a rig that follows the subject only translates).

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
    out.video_ids, out.rotations = [], []
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
            out.rotations.append(R)
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

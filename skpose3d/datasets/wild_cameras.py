"""Virtual cameras like the ones people film with, and 2D keypoints in a detector's layout.

:class:`WildCameras` draws one camera per view: distance, height and aim (hence pitch), a
little roll, horizontal field of view, image size and aspect ratio (16:9 landscape, 9:16
portrait, 4:3, square) and small radial lens distortion. :func:`synthesize_layout` places a
detector's keypoints (COCO-17, MPII-16, MediaPipe-33) on Human3.6M-17 motion capture, and
:func:`make_wild_views` films motion with such cameras, adds the detector noise of
:class:`~skpose3d.datasets.DetectorNoise` in the detector's layout, fills its gaps and maps it to
Human3.6M joints with :class:`~skpose3d.preprocessing.KeypointMapper`, as a user's keypoints go
through :func:`skpose3d.pretrained.load`'s pipeline. The pretrained models train on these views.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.utils import Bunch

from ..camera import Intrinsics, normalize_screen_coordinates, project, world_to_camera
from ..skeleton import get_skeleton
from .noise import DetectorNoise
from .views import VirtualCamera, _recentre

__all__ = ["IMAGE_SIZES", "WildCameras", "make_wild_views", "synthesize_layout"]

# Human3.6M-17 joint indices used below.
_HIP, _NECK, _HEAD, _THORAX = 0, 9, 10, 8
_L_SHOULDER, _R_SHOULDER = 11, 14
_SAME_NAMED = {  # detector joint -> Human3.6M joint (feet of Human3.6M are at the ankles)
    "left_shoulder": 11,
    "right_shoulder": 14,
    "left_elbow": 12,
    "right_elbow": 15,
    "left_wrist": 13,
    "right_wrist": 16,
    "left_hip": 4,
    "right_hip": 1,
    "left_knee": 5,
    "right_knee": 2,
    "left_ankle": 6,
    "right_ankle": 3,
}

IMAGE_SIZES = ((1920, 1080), (1280, 720), (1080, 1920), (720, 1280), (1440, 1080), (1080, 1080))
"""Image sizes drawn by :class:`WildCameras`: 16:9 and 9:16 (two each), 4:3, square."""


@dataclass(frozen=True)
class WildCameras:
    """A distribution of hand-held / tripod cameras filming one person.

    Parameters
    ----------
    distance : (float, float), default=(2.5, 8.0)
        Range of the horizontal distance to the person, metres. Where the field of view is too
        narrow for a 2 m tall figure to fit at the near end, the range starts at the distance
        where it fills 95% of the image height (which can exceed the far end: then that
        distance is used), so people stay in the picture as users film them.
    height : (float, float), default=(0.4, 2.4)
        Range of the camera height above the floor, metres.
    aim_jitter : float, default=0.25
        Standard deviation (metres) of the vertical offset of the aim point from the pelvis:
        the person is not always centred. Height and aim together give pitches of about ±30°.
    roll_deg : float, default=3.0
        Standard deviation of the camera roll, degrees.
    hfov_deg : (float, float), default=(35.0, 80.0)
        Range of the horizontal field of view, degrees (drawn uniformly).
    image_sizes : tuple of (int, int), default=IMAGE_SIZES
        Sizes (width, height) in pixels, drawn with equal probability.
    k1 : (float, float), default=(-0.08, 0.04)
        Range of the first radial distortion coefficient (others 0): small lens distortion.

    Examples
    --------
    >>> import numpy as np
    >>> from skpose3d.datasets.wild_cameras import WildCameras
    >>> cam = WildCameras().sample(np.random.default_rng(0))
    >>> sorted(cam)
    ['aim', 'azimuth', 'distance', 'height', 'hfov_deg', 'intrinsics', 'roll_deg']
    """

    distance: tuple = (2.5, 8.0)
    height: tuple = (0.4, 2.4)
    aim_jitter: float = 0.25
    roll_deg: float = 3.0
    hfov_deg: tuple = (35.0, 80.0)
    image_sizes: tuple = IMAGE_SIZES
    k1: tuple = (-0.08, 0.04)

    def sample(self, rng) -> dict:
        """One camera: ``intrinsics`` and the placement ``make_wild_views`` uses."""
        width, height = self.image_sizes[rng.integers(len(self.image_sizes))]
        hfov = rng.uniform(*self.hfov_deg)
        f = width / 2 / np.tan(np.deg2rad(hfov) / 2)
        intrinsics = Intrinsics(
            f, f, width / 2, height / 2, k1=rng.uniform(*self.k1), width=width, height=height
        )
        fit = 1.0 / (0.95 * (height / 2) / f)  # 2 m tall figure spans 95% of the image height
        near = max(self.distance[0], fit)
        return {
            "intrinsics": intrinsics,
            "hfov_deg": float(hfov),
            "distance": float(rng.uniform(near, max(near, self.distance[1]))),
            "height": float(rng.uniform(*self.height)),
            "azimuth": float(rng.uniform(0, 360)),
            "aim": float(rng.normal(scale=self.aim_jitter)),
            "roll_deg": float(rng.normal(scale=self.roll_deg)),
        }


def _unit(v):
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _body_frame(poses):
    """Per-frame unit vectors: up (head), left (shoulders, orthogonal to up), forward."""
    up = _unit(poses[:, _HEAD] - poses[:, _NECK])
    left = poses[:, _L_SHOULDER] - poses[:, _R_SHOULDER]
    left = _unit(left - np.sum(left * up, axis=-1, keepdims=True) * up)
    return up, left, np.cross(left, up)


def _face(poses):
    """COCO's face keypoints from the head joints (the mocap has no face: an approximation).

    The head's centre is taken half-way up the neck-to-head-top segment; the face looks along
    the torso's forward direction (head turns relative to the shoulders are not in the data).
    """
    up, left, forward = (v[:, None] for v in _body_frame(poses))
    centre = 0.5 * (poses[:, _NECK] + poses[:, _HEAD])[:, None]
    face = {
        "nose": centre + 0.10 * forward - 0.01 * up,
        "left_eye": centre + 0.075 * forward + 0.025 * up + 0.032 * left,
        "right_eye": centre + 0.075 * forward + 0.025 * up - 0.032 * left,
        "left_ear": centre - 0.005 * forward + 0.075 * left,
        "right_ear": centre - 0.005 * forward - 0.075 * left,
        # MediaPipe's extra face landmarks
        "left_eye_inner": centre + 0.08 * forward + 0.025 * up + 0.018 * left,
        "left_eye_outer": centre + 0.07 * forward + 0.025 * up + 0.046 * left,
        "right_eye_inner": centre + 0.08 * forward + 0.025 * up - 0.018 * left,
        "right_eye_outer": centre + 0.07 * forward + 0.025 * up - 0.046 * left,
        "left_mouth": centre + 0.09 * forward - 0.045 * up + 0.025 * left,
        "right_mouth": centre + 0.09 * forward - 0.045 * up - 0.025 * left,
    }
    return {k: v[:, 0] for k, v in face.items()}, (up[:, 0], left[:, 0], forward[:, 0])


def _extremities(poses, frame, world_up):
    """MediaPipe's hand and foot landmarks: fixed offsets from the wrists and ankles."""
    _, left, forward = frame
    out = {}
    for side, sign, elbow, wrist, ankle in (("left", 1, 12, 13, 6), ("right", -1, 15, 16, 3)):
        along = _unit(poses[:, wrist] - poses[:, elbow])
        out[f"{side}_pinky"] = poses[:, wrist] + 0.08 * along - sign * 0.02 * left
        out[f"{side}_index"] = poses[:, wrist] + 0.09 * along + sign * 0.01 * left
        out[f"{side}_thumb"] = poses[:, wrist] + 0.05 * along + sign * 0.03 * left
        ahead = _unit(forward - np.sum(forward * world_up, axis=-1, keepdims=True) * world_up)
        out[f"{side}_heel"] = poses[:, ankle] - 0.05 * ahead - 0.06 * world_up
        out[f"{side}_foot_index"] = poses[:, ankle] + 0.15 * ahead - 0.07 * world_up
    return out


def synthesize_layout(poses, layout, *, up=(0.0, 0.0, 1.0)):
    """Place a detector's keypoints on Human3.6M-17 poses (3D, any frame of reference).

    Limb joints (shoulders, elbows, wrists, hips, knees, ankles) are the same-named Human3.6M
    joints. The rest are approximations, since the motion capture has no face, hands or toes:

    - COCO / MediaPipe face: the head's centre is half-way between the ``neck_nose`` joint
      (the head's base in the CMU data) and ``head`` (its top); nose, eyes, ears (and
      MediaPipe's eye corners and mouth) sit at fixed offsets from it along the torso's
      forward, left and up directions (so the face never turns relative to the shoulders).
    - MediaPipe hands and feet: fixed offsets along the forearm and the horizontal forward
      direction (``up`` gives the vertical).
    - MPII: pelvis, thorax and head top are ``hip``, ``thorax`` and ``head``; the upper neck is
      ``neck_nose``.

    Parameters
    ----------
    poses : array-like of shape (T, 17, 3)
        Human3.6M-17 poses, metres.
    layout : {"h36m", "coco", "mpii", "mediapipe"}
    up : array-like of shape (3,), default=(0, 0, 1)
        The vertical direction of ``poses`` (world z up by default; ``(0, -1, 0)`` in camera
        space of an upright camera).

    Returns
    -------
    ndarray of shape (T, n_joints of layout, 3)

    Examples
    --------
    >>> from skpose3d.datasets import load_cmu_mocap
    >>> from skpose3d.datasets.wild_cameras import synthesize_layout
    >>> synthesize_layout(load_cmu_mocap(subjects=[3]).videos[0], "mediapipe").shape
    (215, 33, 3)
    """
    poses = np.asarray(poses, dtype=np.float64)
    skeleton = get_skeleton(layout)
    if poses.ndim != 3 or poses.shape[1:] != (17, 3):
        raise ValueError(f"poses must have shape (T, 17, 3) (Human3.6M), got {poses.shape}")
    if skeleton.name == "h36m":
        return poses.copy()
    face, frame = _face(poses)
    joints = {name: poses[:, j] for name, j in _SAME_NAMED.items()}
    joints.update(face)
    joints.update(pelvis=poses[:, _HIP], thorax=poses[:, _THORAX])
    joints.update(upper_neck=poses[:, _NECK], head_top=poses[:, _HEAD])
    if skeleton.name == "mediapipe":
        joints.update(_extremities(poses, frame, np.asarray(up, dtype=np.float64)))
    return np.stack([joints[name] for name in skeleton.joint_names], axis=1)


def _fixed(camera) -> dict:
    """A rig's VirtualCamera as the placement dict that :meth:`WildCameras.sample` returns."""
    if not isinstance(camera, VirtualCamera):
        raise TypeError(f"cameras must be a WildCameras or VirtualCamera objects, got {camera!r}")
    return {
        "intrinsics": camera.intrinsics,
        "distance": 4.5 if camera.distance is None else camera.distance,
        "height": 1.6 if camera.height is None else camera.height,
        "azimuth": camera.azimuth,
        "aim": 0.0,
        "roll_deg": 0.0,
    }


def _roll(R, degrees):
    a = np.deg2rad(degrees)
    spin = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
    return spin @ R


def _film(world, cam, layout, noise, rng):
    """One view of one world video: pixels in ``layout`` (T, J, 3) and camera-space 3D."""
    world = world - _recentre(world, 0, "follow", 30.0)[:, None]
    target = [0.0, 0.0, world[:, 0, 2].mean() + cam["aim"]]
    virtual = VirtualCamera(cam["intrinsics"], cam["azimuth"], "wild")
    R, T = virtual.extrinsics(target, cam["distance"], cam["height"])
    R = _roll(R, cam["roll_deg"])
    detector = synthesize_layout(world, layout)
    pose = world_to_camera(world, R, T)
    points = world_to_camera(detector, R, T)
    if np.min(points[..., 2]) < 0.3:  # too close for a real camera; the caller redraws
        return None
    pixels = project(points, cam["intrinsics"])
    keypoints = noise.apply(pixels, rng) if noise else pixels
    return keypoints.astype(np.float32), pose.astype(np.float32)


def make_wild_views(
    videos,
    *,
    layout="h36m",
    n_views=2,
    cameras=None,
    noise=True,
    frame_steps=(1, 2),
    subjects=None,
    random_state=None,
):
    """Film world videos with cameras drawn from :class:`WildCameras`, in a detector's layout.

    Each view: a camera drawn from ``cameras``, a frame step drawn from ``frame_steps`` (2 turns
    60 fps motion into 30 fps video, as most phones film), the detector's keypoints
    (:func:`synthesize_layout`) projected with the camera's distortion, the detector noise
    (with missing joints as NaN), gaps filled (:class:`~skpose3d.preprocessing.GapFiller`),
    keypoints mapped to Human3.6M-17 (:class:`~skpose3d.preprocessing.KeypointMapper`: COCO's
    and MediaPipe's pelvis, spine, thorax and head are derived where the mapper puts them) and
    normalised to screen coordinates, exactly as :func:`skpose3d.pretrained.load`'s pipeline
    treats a user's keypoints.

    Parameters
    ----------
    videos : list of array-like (T, 17, 3)
        Human3.6M-17 world motion, metres, z up (e.g. the CMU clips).
    layout : {"h36m", "coco", "mpii", "mediapipe"}, default="h36m"
        The detector's layout.
    n_views : int, default=2
        Views (cameras) per video.
    cameras : WildCameras or list of VirtualCamera, optional
        Default ``WildCameras()``. A list is a fixed rig (e.g.
        :func:`~skpose3d.datasets.default_cameras`): every video is filmed by each of its
        cameras (``n_views`` is then ignored), from 4.5 m at 1.6 m height unless a camera says
        otherwise, aimed at the pelvis, as :func:`~skpose3d.datasets.make_views` does.
    noise : bool or DetectorNoise, default=True
        True uses ``DetectorNoise(missing="nan")``; False gives exact projections.
    frame_steps : tuple of int, default=(1, 2)
        Frame steps drawn per view.
    subjects : array-like of shape (n_videos,), optional
        Labels copied to each view.
    random_state : int or None, default=None

    Returns
    -------
    Bunch
        ``X`` (float32 ``(T, 17, 2)``: mapped, filled, normalised), ``keypoints`` (float32
        pixels in ``layout`` with confidence, NaN where missing), ``poses_3d`` (float32
        camera space, metres), ``intrinsics``, ``cameras`` (the drawn parameters), ``subjects``,
        ``video_ids``, ``frame_steps``.

    Examples
    --------
    >>> from skpose3d.datasets import load_cmu_mocap
    >>> from skpose3d.datasets.wild_cameras import make_wild_views
    >>> views = make_wild_views(load_cmu_mocap(subjects=[3]).videos, layout="coco",
    ...                         random_state=0)
    >>> views.X[0].shape[1:], views.keypoints[0].shape[1:]
    ((17, 2), (17, 3))
    """
    from ..preprocessing import GapFiller, KeypointMapper

    cameras = WildCameras() if cameras is None else cameras
    rig = None if isinstance(cameras, WildCameras) else [_fixed(c) for c in cameras]
    noise = DetectorNoise(missing="nan") if noise is True else (noise or None)
    layout = get_skeleton(layout).name
    rng = np.random.default_rng(random_state)
    mapper = KeypointMapper(layout, "h36m")
    subjects = np.arange(len(videos)) if subjects is None else np.asarray(subjects)
    out = Bunch(X=[], keypoints=[], poses_3d=[], intrinsics=[], cameras=[], subjects=[])
    out.video_ids, out.frame_steps = [], []
    for i, world in enumerate(videos):
        world = np.asarray(world, dtype=np.float64)
        for view in range(len(rig) if rig else n_views):
            step = int(frame_steps[rng.integers(len(frame_steps))])
            for _attempt in range(1 if rig else 20):
                cam = rig[view] if rig else cameras.sample(rng)
                filmed = _film(world[::step], cam, layout, noise, rng)
                if filmed is not None:
                    break
            else:
                raise ValueError(f"videos[{i}]: no camera keeps every joint in front")
            keypoints, pose = filmed
            filled = GapFiller().transform(keypoints) if noise else keypoints
            mapped = mapper.transform(filled)[..., :2]
            intr = cam["intrinsics"]
            normalised = normalize_screen_coordinates(mapped, intr.width, intr.height)
            out.X.append(normalised.astype(np.float32))
            out.keypoints.append(keypoints)
            out.poses_3d.append(pose)
            out.intrinsics.append(intr)
            out.cameras.append(cam)
            out.subjects.append(subjects[i])
            out.video_ids.append(i)
            out.frame_steps.append(step)
    for key in ("subjects", "video_ids", "frame_steps"):
        out[key] = np.asarray(out[key])
    return out

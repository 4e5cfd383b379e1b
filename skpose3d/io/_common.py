"""What every reader shares: the result object, errors, keypoint layouts and their parsing."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..skeleton import COCO


class KeypointFileError(ValueError):
    """A keypoint file that cannot be read; the message names the file, frame and field."""


@dataclass
class KeypointFile:
    """Keypoint videos read from a detector's output by :func:`read_keypoints`.

    Attributes
    ----------
    videos : list of ndarray of shape (n_frames, n_joints, 3)
        One video per kept track: x and y in pixels and the detection confidence, float64. A
        frame in which the track has no detection is NaN in all three channels; a joint the
        detector wrote as undetected (confidence 0 at pixel (0, 0)) has NaN x, y and
        confidence 0. All videos span the same frames, :attr:`frame_ids`.
    skeleton : str
        Joint layout of the videos: ``"coco"`` (COCO-17) or ``"mediapipe"`` (BlazePose-33);
        see :data:`skpose3d.skeleton.SKELETONS`.
    image_size : tuple of (float, float) or None
        (width, height) in pixels where the file says it or ``image_size`` was given, else None.
    frame_ids : ndarray of int, shape (n_frames,)
        Frame number of every frame: consecutive, from the first to the last frame the file
        mentions.
    track_ids : list
        Identifier of each video's track: the file's own track ids (AlphaPose ``idx``,
        OpenPose ``person_id``) where it has them, else numbers the reader gave the tracks it
        linked, in order of first appearance.
    format : str
        The format read: ``"coco"``, ``"openpose"``, ``"mediapipe"`` or ``"alphapose"``.
    layout : str
        The file's own keypoint layout before conversion, e.g. ``"BODY_25"`` or ``"Halpe-26"``.
    path : str
        The file or folder read.
    """

    videos: list
    skeleton: str
    image_size: tuple | None
    frame_ids: np.ndarray
    track_ids: list
    format: str
    layout: str
    path: str

    @property
    def n_frames(self) -> int:
        """int : Number of frames of every video."""
        return len(self.frame_ids)

    @property
    def missing_frames(self) -> list[int]:
        """list of int : For each video, the number of frames without a detection."""
        return [int(np.isnan(v[..., 2]).all(axis=1).sum()) for v in self.videos]


class Detection(NamedTuple):
    """One person in one frame, as a reader found it."""

    keypoints: np.ndarray  # (n_joints, 3) x, y, confidence in pixels, already in output order
    score: float
    track: object  # the file's track id, or None


@dataclass
class Detections:
    """A reader's output before tracks are chosen: detections per frame number."""

    path: Path
    format: str
    skeleton: str
    layout: str = ""
    image_size: tuple | None = None
    frames: dict = field(default_factory=dict)  # frame number -> list of Detection

    def add_frame(self, frame: int) -> list:
        return self.frames.setdefault(int(frame), [])


def where(path, *parts) -> str:
    """``"<path>, frame 3, field 'keypoints'"`` from the parts that are not None."""
    return ", ".join([str(path)] + [p for p in parts if p])


def load_json(path: Path):
    """Parse a JSON file; a syntax error names the file, line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KeypointFileError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise KeypointFileError(f"{path}: not a UTF-8 text file ({exc.reason})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise KeypointFileError(
            f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None


# Joint orders, from each format's documentation (OpenPose doc/02_output.md "Keypoint
# Ordering"; the Halpe-FullBody README "Keypoints format"), in skpose3d's joint names.
OPENPOSE_BODY_25 = (
    "nose neck right_shoulder right_elbow right_wrist left_shoulder left_elbow left_wrist "
    "mid_hip right_hip right_knee right_ankle left_hip left_knee left_ankle right_eye left_eye "
    "right_ear left_ear left_big_toe left_small_toe left_heel right_big_toe right_small_toe "
    "right_heel"
).split()
OPENPOSE_COCO_18 = (
    "nose neck right_shoulder right_elbow right_wrist left_shoulder left_elbow left_wrist "
    "right_hip right_knee right_ankle left_hip left_knee left_ankle right_eye left_eye "
    "right_ear left_ear"
).split()
HALPE_26 = (
    list(COCO.joint_names)
    + (
        "head neck hip left_big_toe right_big_toe left_small_toe right_small_toe left_heel "
        "right_heel"
    ).split()
)


class Layout(NamedTuple):
    name: str
    n_keypoints: int
    to_output: tuple  # index in the file of each output joint


def _to_coco(name: str, names, n_keypoints=None) -> Layout:
    index = tuple(names.index(joint) for joint in COCO.joint_names)
    return Layout(name, n_keypoints or len(names), index)


# Every layout here contains the 17 COCO keypoints; the readers return those, in COCO order.
LAYOUTS = {
    "coco": (_to_coco("COCO-17", COCO.joint_names),),
    "openpose": (_to_coco("BODY_25", OPENPOSE_BODY_25), _to_coco("COCO-18", OPENPOSE_COCO_18)),
    "alphapose": (
        _to_coco("COCO-17", COCO.joint_names),
        _to_coco("Halpe-26", HALPE_26),
        # Halpe full body: the 26 body keypoints, then 68 face and 2 x 21 hand keypoints.
        _to_coco("Halpe-136", HALPE_26, 136),
    ),
}


def _describe(layouts) -> str:
    return " or ".join(f"{lay.n_keypoints} ({lay.name})" for lay in layouts)


def parse_keypoints(values, fmt: str, place: str, found: Detections) -> np.ndarray:
    """Flat ``[x, y, c] * N`` of ``fmt``'s layouts -> (17, 3) COCO-ordered float array.

    ``found.layout`` records the first layout seen; a file mixing layouts is an error.
    """
    layouts = LAYOUTS[fmt]
    if not isinstance(values, list):
        raise KeypointFileError(f"{place}: expected a list of numbers, got {type(values).__name__}")
    n, rest = divmod(len(values), 3)
    layout = next((lay for lay in layouts if lay.n_keypoints == n and rest == 0), None)
    if layout is None:
        raise KeypointFileError(
            f"{place}: has {len(values)} values; expected 3 values (x, y, confidence) for each "
            f"of {_describe(layouts)} keypoints"
        )
    if found.layout and found.layout != layout.name:
        raise KeypointFileError(
            f"{place}: has {n} keypoints ({layout.name}) but earlier detections in the same "
            f"file have the {found.layout} layout; one file must use one layout"
        )
    found.layout = layout.name
    try:
        array = np.array(values, dtype=np.float64).reshape(n, 3)
    except (TypeError, ValueError):
        bad = next(v for v in values if not _is_number(v))
        raise KeypointFileError(f"{place}: {bad!r} is not a number") from None
    return undetected_to_nan(array[list(layout.to_output)])


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def undetected_to_nan(keypoints: np.ndarray) -> np.ndarray:
    """Detectors write an undetected joint as (0, 0, 0): (0, 0) is no position, so NaN it."""
    undetected = (keypoints[:, 0] == 0) & (keypoints[:, 1] == 0) & ~(keypoints[:, 2] > 0)
    keypoints[undetected, :2] = np.nan
    keypoints[undetected, 2] = 0.0
    return keypoints


def detection_score(keypoints: np.ndarray, score=None, place: str = "") -> float:
    """The file's person score, else the mean confidence of the detected keypoints."""
    if score is not None:
        if not _is_number(score) or not math.isfinite(score):
            raise KeypointFileError(f"{place}: score {score!r} is not a finite number")
        return float(score)
    detected = np.isfinite(keypoints[:, :2]).all(axis=1)
    return float(np.nanmean(keypoints[detected, 2])) if detected.any() else 0.0

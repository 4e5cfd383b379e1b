"""Reader of MediaPipe Pose landmarks saved to JSON or CSV (see :func:`read_keypoints`)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from ..camera import check_image_size
from ._common import Detection, Detections, KeypointFileError, load_json, where

N_LANDMARKS = 33
_FIELDS = ("x", "y", "visibility")


def _number(value, place: str, name: str) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise KeypointFileError(f"{place}, field {name!r}: {value!r} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise KeypointFileError(f"{place}, field {name!r}: {value!r} is not a finite number")
    return float(value)


def _pose_from_json(landmarks: list, place: str) -> np.ndarray:
    if len(landmarks) != N_LANDMARKS:
        raise KeypointFileError(
            f"{place}: has {len(landmarks)} landmarks; MediaPipe Pose gives {N_LANDMARKS}"
        )
    pose = np.empty((N_LANDMARKS, 3))
    for j, landmark in enumerate(landmarks):
        spot = f"{place}, landmark {j}"
        if not isinstance(landmark, dict):
            raise KeypointFileError(f"{spot}: expected an object with x, y, z, visibility")
        for c, name in enumerate(_FIELDS):
            if name not in landmark:
                raise KeypointFileError(f"{spot}: field {name!r} is missing")
            pose[j, c] = _number(landmark[name], spot, name)
    return pose


def _json_frames(path: Path, data):
    """The per-frame list and the image size the file states (or None)."""
    size = None
    if isinstance(data, dict):
        if "frames" not in data:
            raise KeypointFileError(
                f"{path}: field 'frames' is missing (a MediaPipe JSON object holds 'frames' and "
                "optionally 'image_size')"
            )
        if data.get("image_size") is not None:
            try:
                size = check_image_size(data["image_size"])
            except ValueError as exc:
                raise KeypointFileError(f"{path}, field 'image_size': {exc}") from None
        data = data["frames"]
    if not isinstance(data, list):
        raise KeypointFileError(
            f"{path}: MediaPipe JSON is a list with one entry per frame, got {type(data).__name__}"
        )
    return data, size


def _read_json(path: Path, found: Detections) -> None:
    frames, found.image_size = _json_frames(path, load_json(path))
    for frame, entry in enumerate(frames):
        place = where(path, f"frame {frame}")
        poses = found.add_frame(frame)
        if entry is None or entry == []:
            continue
        if not isinstance(entry, list):
            raise KeypointFileError(
                f"{place}: expected null or a list of {N_LANDMARKS} landmarks, got "
                f"{type(entry).__name__}"
            )
        # One pose is a list of landmark objects; several poses a list of such lists.
        people = entry if isinstance(entry[0], list) else [entry]
        for i, landmarks in enumerate(people):
            spot = place if len(people) == 1 else f"{place}, pose {i}"
            if not isinstance(landmarks, list):
                raise KeypointFileError(f"{spot}: expected a list of landmarks")
            poses.append(_pose_from_json(landmarks, spot))


def _csv_columns(path: Path, header) -> dict:
    if header is None:
        raise KeypointFileError(f"{path}: empty file (expected a header line)")
    names = [h.strip().lower() for h in header]
    if "landmark" not in names and "joint" in names:
        names[names.index("joint")] = "landmark"
    missing = [c for c in ("frame", "landmark", *_FIELDS) if c not in names]
    if missing:
        raise KeypointFileError(
            f"{path}, header: columns {missing} are missing; expected frame, landmark (or "
            f"joint), x, y, z, visibility and optionally person, got {header}"
        )
    return {name: names.index(name) for name in names}


def _read_csv(path: Path, found: Detections) -> None:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as exc:
        raise KeypointFileError(f"{path}: cannot be read as a CSV text file: {exc}") from None
    cols = _csv_columns(path, rows[0] if rows else None)
    poses = {}  # (frame, person) -> {landmark: (x, y, visibility)}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cell = dict.fromkeys(cols, "")
        cell.update({name: row[i].strip() for name, i in cols.items() if i < len(row)})
        frame = int(_number(cell["frame"], where(path, f"line {line}"), "frame"))
        place = where(path, f"line {line} (frame {frame})")
        found.add_frame(frame)
        if cell["landmark"] == "":  # a frame in which MediaPipe found nobody
            continue
        landmark = _number(cell["landmark"], place, "landmark")
        if landmark not in range(N_LANDMARKS):
            raise KeypointFileError(
                f"{place}, field 'landmark': {cell['landmark']!r} is not a landmark index 0-32"
            )
        person = cell.get("person") or "0"
        pose = poses.setdefault((frame, person), {})
        if int(landmark) in pose:
            raise KeypointFileError(f"{place}, field 'landmark': landmark {int(landmark)} twice")
        pose[int(landmark)] = [_number(cell[name], place, name) for name in _FIELDS]
    for (frame, person), pose in sorted(poses.items()):
        if len(pose) != N_LANDMARKS:
            absent = sorted(set(range(N_LANDMARKS)) - set(pose))
            who = f"frame {frame}" if "person" not in cols else f"frame {frame}, person {person}"
            raise KeypointFileError(
                f"{where(path, who)}: has {len(pose)} landmarks; MediaPipe Pose "
                f"gives {N_LANDMARKS} (missing landmarks {absent})"
            )
        found.frames[frame].append(np.array([pose[j] for j in range(N_LANDMARKS)]))


def read_mediapipe(path: Path, image_size) -> Detections:
    """MediaPipe landmarks from a ``.csv`` or ``.json`` file, converted to pixels."""
    found = Detections(path=path, format="mediapipe", skeleton="mediapipe", layout="BlazePose-33")
    (_read_csv if path.suffix.lower() == ".csv" else _read_json)(path, found)
    if image_size is None and found.image_size is None:
        raise KeypointFileError(
            f"{path}: MediaPipe landmarks are normalised to [0, 1] of the image width and "
            "height and the file does not state the image size; pass image_size=(width, "
            "height) in pixels"
        )
    if image_size is not None and found.image_size is not None and image_size != found.image_size:
        raise KeypointFileError(
            f"{path}: field 'image_size' says {found.image_size} but image_size={image_size} "
            "was passed; drop one of them"
        )
    width, height = image_size or found.image_size
    scale = np.array([width, height, 1.0])
    for frame, poses in found.frames.items():
        found.frames[frame] = [
            Detection(pose * scale, float(pose[:, 2].mean()), None) for pose in poses
        ]
    return found

"""Readers of COCO keypoint results, AlphaPose results and OpenPose's per-frame JSON files."""

from __future__ import annotations

import re
from pathlib import Path

from ._common import (
    Detection,
    Detections,
    KeypointFileError,
    detection_score,
    load_json,
    parse_keypoints,
    where,
)

_OPENPOSE_NAME = re.compile(r"(\d+)_keypoints\.json$")


def _entries(path: Path, data, fmt: str) -> list:
    if not isinstance(data, list):
        raise KeypointFileError(
            f"{path}: a {fmt} results file is a JSON list of detections "
            f"(objects with image_id, keypoints, score), got a {type(data).__name__}"
        )
    if not data:
        raise KeypointFileError(f"{path}: contains no detections (an empty list)")
    for i, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise KeypointFileError(
                f"{where(path, f'entry {i}')}: expected an object, got {type(entry).__name__}"
            )
        for key in ("image_id", "keypoints"):
            if key not in entry:
                raise KeypointFileError(f"{where(path, f'entry {i}')}: field {key!r} is missing")
    return data


def _coco_frame(image_id, place: str) -> int:
    if isinstance(image_id, bool) or not isinstance(image_id, (int, float)):
        raise KeypointFileError(
            f"{place}, field 'image_id': {image_id!r} is not an integer frame number (COCO "
            "results number frames by image_id; AlphaPose files with image file names are "
            "read with format='alphapose')"
        )
    if image_id != int(image_id):
        raise KeypointFileError(f"{place}, field 'image_id': {image_id!r} is not an integer")
    return int(image_id)


def _alphapose_frame(image_id, place: str) -> int:
    if isinstance(image_id, str):
        # AlphaPose names frames by image file, e.g. "17.jpg" or "video_000017.png".
        digits = re.findall(r"\d+", Path(image_id).stem)
        if not digits:
            raise KeypointFileError(
                f"{place}, field 'image_id': {image_id!r} has no frame number in its name"
            )
        return int(digits[-1])
    return _coco_frame(image_id, place)


def _alphapose_track(value, place: str):
    # AlphaPose writes idx as a number, or (from PoseFlow) as a one-element list.
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise KeypointFileError(f"{place}, field 'idx': {value!r} is not a track id")
    return value


def read_results(path: Path, fmt: str) -> Detections:
    """COCO keypoint results (``fmt="coco"``) or AlphaPose results (``fmt="alphapose"``)."""
    found = Detections(path=path, format=fmt, skeleton="coco")
    for i, entry in enumerate(_entries(path, load_json(path), fmt)):
        place = where(path, f"entry {i}")
        if fmt == "coco":
            frame = _coco_frame(entry["image_id"], place)
            track = None
        else:
            frame = _alphapose_frame(entry["image_id"], place)
            track = _alphapose_track(entry["idx"], place) if "idx" in entry else None
        place = where(path, f"entry {i} (frame {frame})")
        keypoints = parse_keypoints(entry["keypoints"], fmt, f"{place}, field 'keypoints'", found)
        score = detection_score(keypoints, entry.get("score"), f"{place}, field 'score'")
        found.add_frame(frame).append(Detection(keypoints, score, track))
    return found


def _openpose_files(folder: Path) -> list[tuple[int, Path]]:
    files = sorted(folder.glob("*_keypoints.json"))
    if not files:
        raise KeypointFileError(
            f"{folder}: no OpenPose files (*_keypoints.json, as written by --write_json) in "
            "this folder"
        )
    numbered, seen = [], {}
    for file in files:
        match = _OPENPOSE_NAME.search(file.name)
        if match is None:
            raise KeypointFileError(
                f"{file}: no frame number before '_keypoints.json' (OpenPose names its files "
                "<video>_<frame number>_keypoints.json)"
            )
        frame = int(match.group(1))
        if frame in seen:
            raise KeypointFileError(
                f"{folder}: {seen[frame].name} and {file.name} are both frame {frame}; the "
                "folder mixes the output of several videos"
            )
        seen[frame] = file
        numbered.append((frame, file))
    return sorted(numbered)


def _openpose_track(person: dict, place: str):
    value = person.get("person_id", -1)
    if isinstance(value, list):  # OpenPose writes [-1] when it does not track
        value = value[0] if len(value) == 1 else -1
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise KeypointFileError(f"{place}, field 'person_id': {value!r} is not a number")
    return None if value < 0 else int(value)


def _read_openpose_frame(file: Path, frame: int, found: Detections) -> None:
    data = load_json(file)
    if not isinstance(data, dict) or "people" not in data:
        raise KeypointFileError(
            f"{where(file, f'frame {frame}')}: field 'people' is missing (an OpenPose file is "
            "an object with a 'people' list)"
        )
    people = data["people"]
    if not isinstance(people, list):
        raise KeypointFileError(f"{where(file, f'frame {frame}')}, field 'people': not a list")
    detections = found.add_frame(frame)
    for i, person in enumerate(people):
        place = where(file, f"frame {frame}", f"people[{i}]")
        if not isinstance(person, dict) or "pose_keypoints_2d" not in person:
            raise KeypointFileError(f"{place}: field 'pose_keypoints_2d' is missing")
        keypoints = parse_keypoints(
            person["pose_keypoints_2d"], "openpose", f"{place}, field 'pose_keypoints_2d'", found
        )
        detections.append(
            Detection(keypoints, detection_score(keypoints), _openpose_track(person, place))
        )


def read_openpose(path: Path) -> Detections:
    """A folder of OpenPose ``*_keypoints.json`` files, or one such file (one frame)."""
    found = Detections(path=path, format="openpose", skeleton="coco")
    if path.is_dir():
        for frame, file in _openpose_files(path):
            _read_openpose_frame(file, frame, found)
    else:
        match = _OPENPOSE_NAME.search(path.name)
        _read_openpose_frame(path, int(match.group(1)) if match else 0, found)
    return found

"""``read_keypoints``: one entry point for every detector format, with format detection."""

from __future__ import annotations

import numbers
from pathlib import Path

from ..camera import check_image_size
from ._common import KeypointFile, KeypointFileError, load_json
from ._detectors import read_openpose, read_results
from ._mediapipe import read_mediapipe
from ._tracks import assemble

FORMATS = ("coco", "openpose", "mediapipe", "alphapose")
"""tuple of str : The formats :func:`read_keypoints` reads."""


def _looks_like_mediapipe(data) -> bool:
    if isinstance(data, dict):
        return "frames" in data
    if not isinstance(data, list):
        return False
    entry = next((e for e in data if e), None)  # first frame with a pose
    while isinstance(entry, list) and entry:
        entry = entry[0]
    return data == [] or entry is None or (isinstance(entry, dict) and "visibility" in entry)


def _json_format(path: Path) -> str:
    data = load_json(path)
    if isinstance(data, dict) and "people" in data:
        return "openpose"
    if isinstance(data, list) and data and all(isinstance(e, dict) for e in data):
        if all("keypoints" in e for e in data):
            # AlphaPose names frames by image file and writes track ids (idx) and Halpe layouts.
            alpha = any(
                isinstance(e.get("image_id"), str)
                or "idx" in e
                or (isinstance(e["keypoints"], list) and len(e["keypoints"]) != 51)
                for e in data
            )
            return "alphapose" if alpha else "coco"
    if _looks_like_mediapipe(data):
        return "mediapipe"
    raise KeypointFileError(
        f"{path}: cannot tell the keypoint format from the content; pass format= one of "
        f"{list(FORMATS)}"
    )


def detect_format(path) -> str:
    """Name the format of a keypoint file or folder, as ``format="auto"`` does.

    A folder is OpenPose output; ``.csv`` is MediaPipe; a ``.json`` file is recognised by its
    content: an object with ``people`` (one OpenPose frame), a list of detections with
    ``keypoints`` (AlphaPose when its ``image_id`` are file names, it has ``idx`` track ids or
    other than 17 keypoints, else COCO), a list of per-frame landmark lists (MediaPipe).

    Parameters
    ----------
    path : str or path-like
        The file or folder.

    Returns
    -------
    str
        One of :data:`FORMATS`.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_dir():
        return "openpose"
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "mediapipe"
    if suffix == ".json":
        return _json_format(path)
    raise KeypointFileError(
        f"{path}: cannot tell the keypoint format from the extension {suffix!r} (.json, .csv "
        f"or an OpenPose folder); pass format= one of {list(FORMATS)}"
    )


def read_keypoints(
    path,
    format="auto",
    *,
    image_size=None,
    track=None,
    all_tracks=False,
    match_distance=1.0,
) -> KeypointFile:
    """Read a 2D detector's output file as keypoint videos in pixels.

    ============= ============================================ ===================== ========
    ``format``    file                                         file's layout         skeleton
    ============= ============================================ ===================== ========
    ``coco``      COCO keypoint results JSON: a list of        COCO-17               coco
                  ``{"image_id", "category_id", "keypoints":
                  [x, y, v] * 17, "score"}``; ``image_id`` is
                  the frame number
    ``alphapose`` AlphaPose results JSON: as COCO, with        COCO-17, Halpe-26,    coco
                  ``image_id`` an image file name holding the  Halpe-136
                  frame number (``"17.jpg"``) and ``idx`` the
                  track id (with ``--pose_track``)
    ``openpose``  OpenPose ``--write_json`` folder: one        BODY_25, COCO-18      coco
                  ``<name>_<frame>_keypoints.json`` per frame,
                  ``{"people": [{"pose_keypoints_2d":
                  [x, y, c] * N, "person_id": [-1]}]}``
    ``mediapipe`` MediaPipe Pose landmarks (normalised x, y;   BlazePose-33          mediapipe
                  see below), ``.json`` or ``.csv``
    ============= ============================================ ===================== ========

    OpenPose's BODY_25 and COCO-18, AlphaPose's Halpe-26 and Halpe-136 contain the 17 COCO
    keypoints; the reader returns those 17 in COCO order and drops the others (neck, mid-hip,
    head, feet, face, hands). :class:`~skpose3d.preprocessing.KeypointMapper` derives
    Human3.6M's pelvis, thorax and head from the COCO keypoints. MediaPipe's 33 landmarks are
    kept (``KeypointMapper("mediapipe", "h36m")`` maps them).

    MediaPipe, as its Python API gives ``results.pose_landmarks.landmark[i]``, saved as

    - JSON: a list with one entry per frame (frame numbers 0, 1, ...): ``null`` (no pose), a
      list of 33 ``{"x", "y", "z", "visibility"}`` objects (one pose), or a list of such lists
      (several poses). The list may be wrapped as ``{"image_size": [w, h], "frames": [...]}``.
    - CSV: a header and one row per landmark, columns ``frame, landmark, x, y, z, visibility``
      (``joint`` may name the landmark column, ``z`` may be absent; an optional ``person``
      column numbers several poses of a frame). A frame with no pose has no rows, or one row
      with an empty ``landmark``.

    x and y are fractions of the image width and height, so MediaPipe input needs
    ``image_size`` (or the JSON's ``image_size``); visibility becomes the confidence; z is not
    read.

    Frames run from the first to the last frame number the file mentions; a frame in between
    without a detection of the kept person is NaN (COCO results list only frames with
    detections, so a video whose first frames show nobody starts at the first detection). An
    undetected joint written as (0, 0, 0), as OpenPose and COCO-style detectors do, gets NaN x,
    y and confidence 0. :class:`~skpose3d.preprocessing.GapFiller` fills both.

    Several people per frame: with the file's own track ids (AlphaPose ``idx``, OpenPose
    ``person_id`` >= 0) the tracks are those; otherwise each frame's detections are linked to
    the previous frame's by nearest centre (see ``match_distance``). Then the track with the
    highest total score (the file's person score, else the mean keypoint confidence) is kept,
    or the one ``track`` names, or all of them.

    Parameters
    ----------
    path : str or path-like
        The file, or OpenPose's output folder.
    format : {"auto", "coco", "openpose", "mediapipe", "alphapose"}, default="auto"
        ``"auto"`` decides by extension and content (see :func:`detect_format`).
    image_size : (width, height) or None, default=None
        Image size in pixels: required for MediaPipe's normalised landmarks, otherwise only
        stored in the result (none of the other formats records it).
    track : int, str or None, default=None
        Keep the track with this id (the file's own track ids only).
    all_tracks : bool, default=False
        Return one video per track, ordered by track id.
    match_distance : float, default=1.0
        Linking without track ids: a detection continues a track if its keypoints' centre moved
        at most this many times the track's size (its keypoints' bounding-box diagonal when last
        seen) since the track was last seen.

    Returns
    -------
    KeypointFile
        ``videos`` (list of ``(n_frames, n_joints, 3)`` float arrays: x, y in pixels and
        confidence), ``skeleton``, ``image_size``, ``frame_ids``, ``track_ids``, ``format``,
        ``layout`` and ``path``.

    Raises
    ------
    KeypointFileError
        A ``ValueError`` naming the file, frame (or entry, line) and field that cannot be read.
    FileNotFoundError
        If ``path`` does not exist.

    See Also
    --------
    write_poses : Save the lifted 3D poses.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> from skpose3d.io import read_keypoints
    >>> person = {"image_id": 0, "category_id": 1, "keypoints": [100.0, 50.0, 0.9] * 17,
    ...           "score": 0.8}
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "results.json"
    >>> _ = path.write_text(json.dumps([person, dict(person, image_id=2)]))
    >>> found = read_keypoints(path)
    >>> found.format, found.skeleton, found.videos[0].shape, found.missing_frames
    ('coco', 'coco', (3, 17, 3), [1])
    """
    path = Path(path)
    if not isinstance(format, str) or format.lower() not in ("auto", *FORMATS):
        raise ValueError(f"format={format!r} is not one of {['auto', *FORMATS]}")
    if track is not None and all_tracks:
        raise ValueError("track and all_tracks=True exclude each other: pass one of them")
    if isinstance(match_distance, bool) or not isinstance(match_distance, numbers.Real):
        raise ValueError(f"match_distance must be a positive number, got {match_distance!r}")
    if not match_distance > 0:
        raise ValueError(f"match_distance must be a positive number, got {match_distance!r}")
    image_size = check_image_size(image_size)
    fmt = detect_format(path) if format.lower() == "auto" else format.lower()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_dir() and fmt != "openpose":
        raise KeypointFileError(f"{path}: is a folder; only format='openpose' reads folders")
    if fmt == "openpose":
        found = read_openpose(path)
    elif fmt == "mediapipe":
        found = read_mediapipe(path, image_size)
    else:
        found = read_results(path, fmt)
    return assemble(
        found,
        track=track,
        all_tracks=all_tracks,
        match_distance=float(match_distance),
        image_size=image_size,
    )

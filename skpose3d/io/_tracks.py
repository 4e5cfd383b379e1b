"""Turn per-frame detections into per-person videos: tracks from ids or frame-to-frame linking."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..skeleton import get_skeleton
from ._common import Detections, KeypointFile, KeypointFileError


def _centre_and_size(keypoints):
    """Mean position and bounding-box diagonal of the detected keypoints (None if none)."""
    xy = keypoints[np.isfinite(keypoints[:, :2]).all(axis=1), :2]
    if len(xy) == 0:
        return None, None
    return xy.mean(axis=0), float(np.linalg.norm(xy.max(axis=0) - xy.min(axis=0)))


def link_tracks(found: Detections, match_distance: float) -> dict:
    """Track number -> {frame: Detection}, linking each frame's detections to the previous ones.

    Each open track is matched to at most one detection per frame, by the smallest total move
    of the centres (Hungarian assignment). A move counts only up to ``match_distance`` times
    the track's size when last seen, so a person entering the picture starts a new track
    instead of taking over the track of one who left it.
    """
    tracks, last = {}, {}  # last: track -> (centre, size)
    for frame in sorted(found.frames):
        people = []
        for det in found.frames[frame]:
            centre, size = _centre_and_size(det.keypoints)
            if centre is not None:  # a detection without any keypoint cannot be placed
                people.append((det, centre))
        ids = list(last)
        matched = {}
        if ids and people:
            cost = np.array([[np.linalg.norm(c - last[t][0]) for t in ids] for _, c in people])
            limit = np.array([match_distance * max(last[t][1], 1e-9) for t in ids])
            # Over-the-limit pairs get a cost no allowed pair can reach, then are dropped.
            big = cost.max() + limit.max() + 1.0
            rows, cols = linear_sum_assignment(np.where(cost <= limit, cost, big))
            matched = {r: ids[c] for r, c in zip(rows, cols) if cost[r, c] <= limit[c]}
        for i, (det, centre) in enumerate(people):
            track = matched.get(i, len(tracks))
            tracks.setdefault(track, {})[frame] = det
            last[track] = (centre, _centre_and_size(det.keypoints)[1])
    return tracks


def _file_tracks(found: Detections) -> dict | None:
    """Track id -> {frame: Detection} from the file's own ids; None when some are missing."""
    detections = [d for dets in found.frames.values() for d in dets]
    if not detections or any(d.track is None for d in detections):
        return None
    tracks = {}
    for frame, dets in found.frames.items():
        for det in dets:
            # The same id twice in one frame: keep the more confident detection.
            kept = tracks.setdefault(det.track, {}).get(frame)
            if kept is None or det.score > kept.score:
                tracks[det.track][frame] = det
    return tracks


def _sort_key(track_id):
    return (0, track_id, "") if isinstance(track_id, (int, float)) else (1, 0, str(track_id))


def assemble(found: Detections, *, track, all_tracks, match_distance, image_size):
    """Choose the tracks the caller asked for and stack them into a :class:`KeypointFile`."""
    if not found.frames:
        raise KeypointFileError(f"{found.path}: contains no frames")
    tracks = _file_tracks(found)
    from_file = tracks is not None
    if tracks is None:
        tracks = link_tracks(found, match_distance)
    first, last = min(found.frames), max(found.frames)
    frame_ids = np.arange(first, last + 1)
    if track is not None:
        if not from_file:
            raise KeypointFileError(
                f"{found.path}: has no track ids of its own, so track={track!r} names nothing; "
                "leave track=None to keep the highest-scoring person, or use all_tracks=True"
            )
        matches = [t for t in tracks if t == track or str(t) == str(track)]
        if not matches:
            known = sorted(tracks, key=_sort_key)
            raise KeypointFileError(
                f"{found.path}: no track with id {track!r}; the file's track ids are "
                f"{known[:20]}{' ...' if len(known) > 20 else ''}"
            )
        chosen = matches[:1]
    elif all_tracks:
        chosen = sorted(tracks, key=_sort_key)
    elif tracks:
        # The person detected most often and most confidently: the sum of their scores.
        chosen = [max(tracks, key=lambda t: sum(d.score for d in tracks[t].values()))]
    else:
        chosen = []
    n_joints = get_skeleton(found.skeleton).n_joints
    videos = []
    for t in chosen:
        video = np.full((len(frame_ids), n_joints, 3), np.nan)
        for frame, det in tracks[t].items():
            video[frame - first] = det.keypoints
        videos.append(video)
    if not videos:  # frames exist but nobody was detected in any: one all-NaN video
        videos, chosen = [np.full((len(frame_ids), n_joints, 3), np.nan)], [None]
    return KeypointFile(
        videos=videos,
        skeleton=found.skeleton,
        image_size=image_size if image_size is not None else found.image_size,
        frame_ids=frame_ids,
        track_ids=list(chosen),
        format=found.format,
        layout=found.layout,
        path=str(found.path),
    )

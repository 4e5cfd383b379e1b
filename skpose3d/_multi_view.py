"""Synchronised views of the semi-supervised lifter's unlabeled videos (beyond the paper).

Internal API of :mod:`skpose3d.semi_supervised`: the checks of
:class:`~skpose3d.UnlabeledVideos`' ``rotations`` and ``recordings`` that name what is wrong,
the per-frame table the multi-view term needs (each frame's camera rotation and the instant of
its recording), and the stream that draws one instant of a recording in all its views at once
(so a batch holds whole groups of views for :func:`~skpose3d.nn.losses.multi_view_loss`).
"""

from __future__ import annotations

import numpy as np

_ORTHONORMAL_TOLERANCE = 1e-3  # calibrations store rotations in a few significant digits


def check_views(unlabeled, lengths, n_own: int):
    """Each pool video's world-to-camera rotation (n, 3, 3) and recording number (n,).

    ``unlabeled`` is the ``UnlabeledVideos`` whose videos follow the ``n_own`` None entries of
    ``y`` in the pool (videos of ``lengths`` frames); those get their own one-view recording.
    Recordings are numbered in the order of their first video.
    """
    rotations = getattr(unlabeled, "rotations", None)
    recordings = getattr(unlabeled, "recordings", None)
    if rotations is None or recordings is None:
        raise ValueError(
            "multi_view_weight > 0 needs synchronised views with calibrated cameras: pass "
            "X2d_unlabeled=UnlabeledVideos(videos, intrinsics, rotations=..., recordings=...) "
            "with each video's world-to-camera rotation and the recording it is a view of"
        )
    n_extra = len(lengths) - n_own
    recordings = list(recordings)
    if len(recordings) != n_extra:
        raise ValueError(
            f"X2d_unlabeled.recordings has {len(recordings)} entries but there are {n_extra} "
            "videos: give one recording label per video"
        )
    rotations = np.asarray(rotations, dtype=np.float64)
    if rotations.shape != (n_extra, 3, 3):
        raise ValueError(
            f"X2d_unlabeled.rotations must have shape ({n_extra}, 3, 3) (one world-to-camera "
            f"rotation per video), got {rotations.shape}"
        )
    for k, rot in enumerate(rotations):
        where = f"X2d_unlabeled.rotations[{k}]"
        if not np.isfinite(rot).all():
            raise ValueError(f"{where} has values that are not finite: {rot.tolist()}")
        off, det = np.abs(rot @ rot.T - np.eye(3)).max(), np.linalg.det(rot)
        if off > _ORTHONORMAL_TOLERANCE or det <= 0:
            raise ValueError(
                f"{where} is not a rotation matrix (|R R^T - I| = {off:.3g}, det = {det:.3g}): "
                "give the camera's world-to-camera rotation R of X_cam = R @ (X_world - T)"
            )
    numbers, first_video = {}, {}
    for k, label in enumerate(recordings):
        try:
            numbers.setdefault(label, len(numbers) + n_own)
        except TypeError:
            raise TypeError(
                f"X2d_unlabeled.recordings[{k}] is {label!r}: recording labels must be hashable "
                "(e.g. an int or str per video)"
            ) from None
        j = first_video.setdefault(label, k)
        if lengths[n_own + k] != lengths[n_own + j]:
            raise ValueError(
                f"X2d_unlabeled[{k}] has {lengths[n_own + k]} frames but X2d_unlabeled[{j}], a "
                f"view of the same recording {label!r}, has {lengths[n_own + j]}: synchronised "
                "views must have one frame per instant"
            )
    if len(numbers) == n_extra:
        raise ValueError(
            "multi_view_weight > 0 but no recording of X2d_unlabeled.recordings has more than "
            "one view: the term compares views of one instant"
        )
    own = np.arange(n_own)
    recording = np.concatenate([own, [numbers[label] for label in recordings]]).astype(np.int64)
    rotations = np.concatenate([np.tile(np.eye(3), (n_own, 1, 1)), rotations])
    return rotations, recording


def frame_views(lengths, rotations, recording):
    """Per frame of the concatenated pool: its camera's rotation (float32) and its instant
    (recording number x longest video + frame number: equal for the views of one instant)."""
    lengths = np.asarray(lengths)
    per_frame = np.repeat(rotations, lengths, axis=0).astype(np.float32)
    frame = np.concatenate([np.arange(n) for n in lengths])
    instant = np.repeat(recording, lengths) * int(lengths.max()) + frame
    return per_frame, instant.astype(np.int64)


class SynchronisedFrames:
    """Endless draws of one instant of a recording in **all** its views (frame indices into
    the concatenated pool).

    A recording is drawn with probability proportional to its length, so every frame is
    equally likely on average, as with the paper's shuffled frames. ``take(count)`` returns
    whole groups of views: up to (most views - 1) indices more than ``count``.
    """

    def __init__(self, lengths, recording, rng):
        lengths = np.asarray(lengths)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        members = [np.flatnonzero(recording == r) for r in range(int(recording.max()) + 1)]
        self.max_views = max(map(len, members))
        self.table = np.full((len(members), self.max_views), -1)  # -1: no such view
        for r, videos in enumerate(members):
            self.table[r, : len(videos)] = starts[videos]
        self.lengths = np.array([lengths[videos[0]] for videos in members])
        self.p, self.rng = self.lengths / self.lengths.sum(), rng

    def take(self, count: int) -> np.ndarray:
        parts, total = [], 0
        while total < count:
            size = -(-(count - total) // self.max_views)
            recordings = self.rng.choice(len(self.lengths), size=size, p=self.p)
            frames = self.rng.integers(0, self.lengths[recordings])
            starts = self.table[recordings]
            parts.append((starts + frames[:, None])[starts >= 0])
            total += len(parts[-1])
        return np.concatenate(parts)

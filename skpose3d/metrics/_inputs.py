"""Input checks shared by the metrics: videos in three forms, root joints, weights.

A metric's ``(y_true, y_pred)`` is one video ``(T, J, 3)``, a batch ``(N, T, J, 3)`` or a list of
videos ``(T_i, J, 3)``; :func:`_prepare` validates both, makes them root-relative and turns
``sample_weight`` into one weight per frame.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..skeleton import Skeleton, get_skeleton


def _is_one_video(y) -> bool:
    """Whether ``y`` is a single video ``(T, J, 3)`` rather than a collection of videos."""
    return isinstance(y, np.ndarray) and y.ndim == 3


def _to_float(x, where: str) -> np.ndarray:
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where} cannot be read as a float array: {exc}") from None


def _as_video_list(y, name: str) -> list[np.ndarray]:
    """Validate ``y`` and return its videos as a list of float64 arrays ``(T_i, J, 3)``."""
    if isinstance(y, np.ndarray) and not (y.dtype == object and y.ndim == 1):
        arr = _to_float(y, name)
        if arr.ndim not in (3, 4):
            raise ValueError(
                f"{name} has shape {arr.shape}: expected one video (T, J, 3), a batch "
                "(N, T, J, 3) or a list of videos (T_i, J, 3)"
            )
        videos, single = ([arr] if arr.ndim == 3 else list(arr)), arr.ndim == 3
    elif isinstance(y, list | tuple | np.ndarray):
        videos, single = list(y), False
    else:
        raise TypeError(f"{name} must be an ndarray or a list of videos, got {type(y).__name__}")
    if len(videos) == 0:
        raise ValueError(f"{name} is empty: expected at least one video")
    out = []
    for i, video in enumerate(videos):
        where = name if single else f"{name}[{i}]"
        arr = _to_float(video, where)
        if arr.ndim != 3:
            hint = " (a list is read as a list of videos)" if not single else ""
            raise ValueError(
                f"{where} has {arr.ndim} dimensions {arr.shape}: expected a video "
                f"(n_frames, n_joints, 3){hint}"
            )
        if arr.shape[-1] != 3:
            raise ValueError(f"{where} has shape {arr.shape}: last dimension must be 3 (x, y, z)")
        if arr.shape[0] == 0 or arr.shape[1] == 0:
            raise ValueError(f"{where} has shape {arr.shape}: needs at least 1 frame and 1 joint")
        bad = ~np.isfinite(arr)
        if bad.any():
            frame, joint, _ = np.argwhere(bad)[0]
            raise ValueError(f"{where} contains NaN or inf (first at frame {frame}, joint {joint})")
        out.append(arr)
    return out


def _check_consistent(y_true, y_pred) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Validate both arguments and check that videos, frames and joints correspond."""
    true, pred = _as_video_list(y_true, "y_true"), _as_video_list(y_pred, "y_pred")
    if len(true) != len(pred):
        raise ValueError(f"y_true has {len(true)} videos but y_pred has {len(pred)}")
    for i, (t, p) in enumerate(zip(true, pred)):
        if t.shape != p.shape:
            raise ValueError(f"video {i}: y_true has shape {t.shape} but y_pred has {p.shape}")
        if t.shape[1] != true[0].shape[1]:
            raise ValueError(
                f"video {i} has {t.shape[1]} joints but video 0 has {true[0].shape[1]}: "
                "all videos must share one skeleton"
            )
    return true, pred


def _check_root(root, n_joints: int):
    """The root joint's index: from an index, a skeleton (its ``root``) or None."""
    if root is None:
        return None
    if isinstance(root, str | Skeleton):
        skeleton = get_skeleton(root)
        if skeleton.n_joints != n_joints:
            raise ValueError(
                f"root={skeleton.name!r}: that skeleton has {skeleton.n_joints} joints but the "
                f"poses have {n_joints}"
            )
        return skeleton.root
    if isinstance(root, bool) or not isinstance(root, numbers.Integral):
        raise TypeError(
            f"root must be a joint index, a skeleton (name or Skeleton) or None, got {root!r}"
        )
    if not -n_joints <= root < n_joints:
        raise ValueError(f"root={root} is out of range for poses with {n_joints} joints")
    return int(root) % n_joints


def _prepare(y_true, y_pred, root, sample_weight):
    """Validated, root-relative videos (lists) and per-frame weights (or None)."""
    true, pred = _check_consistent(y_true, y_pred)
    root = _check_root(root, true[0].shape[1])
    weights = _frame_weights(sample_weight, true, _is_one_video(y_true))
    if root is not None:
        true = [v - v[:, root : root + 1] for v in true]
        pred = [v - v[:, root : root + 1] for v in pred]
    return true, pred, weights


def _frame_weights(sample_weight, videos, single: bool) -> np.ndarray | None:
    """One weight per frame: per video for lists and batches, per frame for one video."""
    if sample_weight is None:
        return None
    w = _to_float(sample_weight, "sample_weight")
    expected, unit = (len(videos[0]), "frame") if single else (len(videos), "video")
    if w.ndim != 1 or len(w) != expected:
        raise ValueError(
            f"sample_weight has shape {w.shape}: expected one weight per {unit} ({expected},)"
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("sample_weight must be finite and non-negative")
    if w.sum() <= 0:
        raise ValueError("sample_weight sums to zero")
    return w if single else np.repeat(w, [len(v) for v in videos])


def _weighted_mean(per_frame: np.ndarray, weights) -> float:
    if weights is None:
        return float(per_frame.mean())
    return float(np.sum(per_frame * weights) / np.sum(weights))


def _per_frame_error(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Mean joint distance of each frame of ``(F, J, 3)`` arrays."""
    return np.linalg.norm(pred - true, axis=-1).mean(axis=-1)

"""Pose error metrics of the paper's protocols, usable as scikit-learn scorers.

Every metric takes ``(y_true, y_pred)`` as one video ``(T, J, 3)``, a batch ``(N, T, J, 3)`` or a
list of videos of different lengths, and returns the mean over all frames of all videos (every
frame counts once), in the units of the input.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import get_scorer as _sklearn_get_scorer
from sklearn.metrics import make_scorer

__all__ = [
    "mpjpe",
    "weighted_mpjpe",
    "p_mpjpe",
    "n_mpjpe",
    "mpjve",
    "neg_mpjpe_scorer",
    "neg_p_mpjpe_scorer",
    "neg_n_mpjpe_scorer",
    "neg_mpjve_scorer",
    "SCORERS",
    "get_scorer",
]


def _as_video_list(y, name: str) -> tuple[list[np.ndarray], bool]:
    """Videos as float64 arrays ``(T_i, J, 3)``; the flag says whether ``y`` was one video."""
    if isinstance(y, np.ndarray) and y.dtype != object:
        if y.ndim == 3:
            videos, single = [y], True
        elif y.ndim == 4:
            videos, single = list(y), False
        else:
            raise ValueError(
                f"{name} has shape {y.shape}: expected (T, J, 3), (N, T, J, 3) or a list of videos"
            )
    elif isinstance(y, list | tuple | np.ndarray):
        videos, single = list(y), False
    else:
        raise TypeError(f"{name} must be an array or a list of videos, got {type(y).__name__}")
    if len(videos) == 0:
        raise ValueError(f"{name} is empty: expected at least one video")
    out = []
    for i, video in enumerate(videos):
        arr = np.asarray(video, dtype=np.float64)
        where = name if single else f"{name}[{i}]"
        if arr.ndim != 3 or arr.shape[-1] != 3:
            raise ValueError(f"{where} has shape {arr.shape}: expected (n_frames, n_joints, 3)")
        if not np.all(np.isfinite(arr)):
            frame = int(np.argwhere(~np.isfinite(arr))[0, 0])
            raise ValueError(f"{where} contains NaN or inf (first at frame {frame})")
        out.append(arr)
    return out, single


def _check_consistent(y_true, y_pred):
    true, single = _as_video_list(y_true, "y_true")
    pred, _ = _as_video_list(y_pred, "y_pred")
    if len(true) != len(pred):
        raise ValueError(f"y_true has {len(true)} videos but y_pred has {len(pred)}")
    for i, (t, p) in enumerate(zip(true, pred)):
        if t.shape != p.shape:
            raise ValueError(f"video {i}: y_true has shape {t.shape} but y_pred has {p.shape}")
    return true, pred, single


def _frame_weights(sample_weight, videos, single) -> np.ndarray | None:
    """One weight per frame: per video for lists and batches, per frame for one video."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64).ravel()
    expected = len(videos[0]) if single else len(videos)
    unit = "frame" if single else "video"
    if len(w) != expected:
        raise ValueError(
            f"sample_weight has {len(w)} entries: expected one per {unit} ({expected})"
        )
    if np.any(w < 0) or not np.all(np.isfinite(w)) or w.sum() <= 0:
        raise ValueError("sample_weight must be finite, non-negative and not all zero")
    return w if single else np.repeat(w, [len(v) for v in videos])


def _root_relative(videos, root):
    if root is None:
        return videos
    return [v - v[:, root : root + 1] for v in videos]


def _weighted_mean(per_frame: np.ndarray, weights) -> float:
    if weights is None:
        return float(per_frame.mean())
    return float(np.sum(per_frame * weights) / np.sum(weights))


def _per_frame_error(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    return np.linalg.norm(pred - true, axis=-1).mean(axis=-1)


def mpjpe(y_true, y_pred, *, root=0, sample_weight=None) -> float:
    """Mean per-joint position error (Protocol 1).

    Parameters
    ----------
    y_true, y_pred : ndarray (T, J, 3), ndarray (N, T, J, 3) or list of (T_i, J, 3)
        Ground truth and predicted poses.
    root : int or None, default=0
        Joint subtracted from both poses of every frame first; None compares absolute positions.
    sample_weight : array-like, optional
        One weight per video (lists and batches) or per frame (one 3-D video).

    Returns
    -------
    float
        In the units of the input (metres in, metres out).

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((2, 3, 3))
    >>> round(mpjpe(truth, truth + [0.0, 0.0, 0.1], root=None), 6)
    0.1
    """
    true, pred, single = _check_consistent(y_true, y_pred)
    weights = _frame_weights(sample_weight, true, single)
    true, pred = _root_relative(true, root), _root_relative(pred, root)
    return _weighted_mean(_per_frame_error(np.concatenate(true), np.concatenate(pred)), weights)


def weighted_mpjpe(y_true, y_pred, weights, *, root=0) -> float:
    """MPJPE weighted per frame or per frame and joint (the paper's WMPJPE uses ``1 / z``).

    Parameters
    ----------
    y_true, y_pred : see :func:`mpjpe`
    weights : array (T,) or (T, J) for one video, (N, T[, J]) for a batch, or a list of those
        Non-negative weights; the result is ``sum(w * d) / sum(w)`` over frames and joints.
    root : int or None, default=0
    """
    true, pred, single = _check_consistent(y_true, y_pred)
    w_list = [weights] if single else list(weights)
    if len(w_list) != len(true):
        raise ValueError(f"weights has {len(w_list)} videos but y_true has {len(true)}")
    true, pred = _root_relative(true, root), _root_relative(pred, root)
    total, norm = 0.0, 0.0
    for i, (t, p, w) in enumerate(zip(true, pred, w_list)):
        dist = np.linalg.norm(p - t, axis=-1)
        w = np.asarray(w, dtype=np.float64)
        w = w[:, None] if w.ndim == 1 else w
        try:
            w = np.broadcast_to(w, dist.shape)
        except ValueError:
            raise ValueError(f"weights[{i}] has shape {w.shape}: expected {dist.shape}") from None
        if np.any(w < 0):
            raise ValueError(f"weights[{i}] has negative entries")
        total, norm = total + np.sum(w * dist), norm + np.sum(w)
    if norm <= 0:
        raise ValueError("weights sum to zero")
    return float(total / norm)


def _procrustes_aligned(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Align every frame of ``pred`` (F, J, 3) to ``true`` by rotation, scale and translation.

    Least-squares similarity transform without reflections (Umeyama), batched over frames.
    """
    mu_t, mu_p = true.mean(axis=1, keepdims=True), pred.mean(axis=1, keepdims=True)
    t0, p0 = true - mu_t, pred - mu_p
    cov = np.einsum("fji,fjk->fik", p0, t0)  # sum over joints of p_j t_j^T
    u, s, vt = np.linalg.svd(cov)
    # Reflection fix: if the best orthogonal map has det -1, flip the last singular direction.
    sign = np.sign(np.linalg.det(np.einsum("fij,fjk->fik", u, vt)))
    sign[sign == 0] = 1.0
    vt[:, -1] *= sign[:, None]
    s[:, -1] *= sign
    rotation = np.einsum("fij,fjk->fik", u, vt)  # maps row vectors: p @ R
    var_p = np.sum(p0**2, axis=(1, 2))
    scale = np.divide(s.sum(axis=1), var_p, out=np.zeros_like(var_p), where=var_p > 1e-12)
    return scale[:, None, None] * (p0 @ rotation) + mu_t


def p_mpjpe(y_true, y_pred, *, root=0, sample_weight=None) -> float:
    """MPJPE after per-frame rigid alignment with scale (Protocol 2, P-MPJPE).

    Each predicted frame is aligned to the ground truth by the rotation, uniform scale and
    translation minimising the squared error (orthogonal Procrustes without reflections).

    Parameters
    ----------
    y_true, y_pred, sample_weight : see :func:`mpjpe`
    root : int or None, default=0
        Accepted for symmetry with the other metrics; the alignment includes a translation,
        so it does not change the result.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.normal(size=(4, 17, 3))
    >>> round(p_mpjpe(truth, 2.0 * truth + 1.0), 12)
    0.0
    """
    true, pred, single = _check_consistent(y_true, y_pred)
    weights = _frame_weights(sample_weight, true, single)
    true, pred = np.concatenate(true), np.concatenate(pred)
    return _weighted_mean(_per_frame_error(true, _procrustes_aligned(true, pred)), weights)


def n_mpjpe(y_true, y_pred, *, root=0, sample_weight=None) -> float:
    """MPJPE after scaling each predicted frame optimally (Protocol 3, N-MPJPE).

    The scale is ``s = sum <g, p> / sum ||p||^2`` over the (root-relative) joints of a frame.

    Parameters
    ----------
    y_true, y_pred, root, sample_weight : see :func:`mpjpe`
    """
    true, pred, single = _check_consistent(y_true, y_pred)
    weights = _frame_weights(sample_weight, true, single)
    true = np.concatenate(_root_relative(true, root))
    pred = np.concatenate(_root_relative(pred, root))
    num, den = np.sum(true * pred, axis=(1, 2)), np.sum(pred**2, axis=(1, 2))
    scale = np.divide(num, den, out=np.ones_like(num), where=den > 1e-12)
    return _weighted_mean(_per_frame_error(true, scale[:, None, None] * pred), weights)


def mpjve(y_true, y_pred, *, root=0, sample_weight=None) -> float:
    """Mean per-joint velocity error: MPJPE of the frame-to-frame differences of each video.

    Differences are taken within each video only, never across two videos. Single-frame videos
    contribute nothing. For one 3-D video, per-frame weights apply to a difference through its
    later frame.

    Parameters
    ----------
    y_true, y_pred, root, sample_weight : see :func:`mpjpe`

    Returns
    -------
    float
        In input units per frame.
    """
    true, pred, single = _check_consistent(y_true, y_pred)
    weights = _frame_weights(sample_weight, true, single)
    true, pred = _root_relative(true, root), _root_relative(pred, root)
    if all(len(v) < 2 for v in true):
        raise ValueError("mpjve needs at least one video with 2 or more frames")
    starts = np.cumsum([0] + [len(v) for v in true])
    later_frames = np.concatenate([np.arange(s + 1, e) for s, e in zip(starts[:-1], starts[1:])])
    d_true = np.concatenate([np.diff(v, axis=0) for v in true])
    d_pred = np.concatenate([np.diff(v, axis=0) for v in pred])
    w = None if weights is None else weights[later_frames]
    if w is not None and w.sum() <= 0:
        raise ValueError("sample_weight gives zero weight to every frame difference")
    return _weighted_mean(_per_frame_error(d_true, d_pred), w)


neg_mpjpe_scorer = make_scorer(mpjpe, greater_is_better=False)
neg_p_mpjpe_scorer = make_scorer(p_mpjpe, greater_is_better=False)
neg_n_mpjpe_scorer = make_scorer(n_mpjpe, greater_is_better=False)
neg_mpjve_scorer = make_scorer(mpjve, greater_is_better=False)

#: Scorers by name, for ``scoring=SCORERS`` in multi-metric search.
SCORERS = {
    "neg_mpjpe": neg_mpjpe_scorer,
    "neg_p_mpjpe": neg_p_mpjpe_scorer,
    "neg_n_mpjpe": neg_n_mpjpe_scorer,
    "neg_mpjve": neg_mpjve_scorer,
}


def get_scorer(name):
    """The scorer called ``name``: one of :data:`SCORERS`, else scikit-learn's."""
    if isinstance(name, str) and name in SCORERS:
        return SCORERS[name]
    return _sklearn_get_scorer(name)

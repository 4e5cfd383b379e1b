"""Pose error metrics of the paper's protocols, usable as scikit-learn scorers.

Every metric takes ``(y_true, y_pred)`` in one of three forms (both arguments the same form):
one video ``(T, J, 3)``, a batch ``(N, T, J, 3)``, or a list / tuple / 1-D object array of videos
``(T_i, J, 3)`` of different lengths (what ``predict`` returns and what scikit-learn's scorers
receive). The result is the mean over all frames of all videos (every frame counts once), in the
units of the input: metres in, metres out (multiply by 1000 for the paper's millimetres).
"""

from __future__ import annotations

import numbers

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
    if root is None:
        return None
    if isinstance(root, bool) or not isinstance(root, numbers.Integral):
        raise TypeError(f"root must be a joint index or None, got {root!r}")
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


def mpjpe(y_true, y_pred, *, root=0, sample_weight=None) -> float:
    """Mean per-joint position error (Protocol 1).

    Parameters
    ----------
    y_true, y_pred : ndarray (T, J, 3), ndarray (N, T, J, 3) or list of (T_i, J, 3)
        Ground truth and predicted poses, in the same form.
    root : int or None, default=0
        Joint subtracted from both poses of every frame first; None compares absolute positions.
    sample_weight : array-like, optional
        One weight per video (lists and batches) or per frame (one 3-D video). Every frame of a
        video gets its video's weight: the result is ``sum(w_f * e_f) / sum(w_f)`` over frames.

    Returns
    -------
    float
        Mean Euclidean distance, in the units of the input.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((2, 3, 3))
    >>> round(mpjpe(truth, truth + [0.0, 0.0, 0.1], root=None), 6)
    0.1
    """
    true, pred, weights = _prepare(y_true, y_pred, root, sample_weight)
    return _weighted_mean(_per_frame_error(np.concatenate(true), np.concatenate(pred)), weights)


def _weights_of_video(w, i: int, shape: tuple[int, int]) -> np.ndarray:
    w = _to_float(w, f"weights[{i}]")
    if w.shape not in ((shape[0],), shape):
        raise ValueError(f"weights[{i}] has shape {w.shape}: expected {shape[:1]} or {shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"weights[{i}] must be finite and non-negative")
    return np.broadcast_to(w[:, None] if w.ndim == 1 else w, shape)


def weighted_mpjpe(y_true, y_pred, weights, *, root=0) -> float:
    """MPJPE weighted per frame or per frame and joint (WMPJPE).

    The paper weights each frame's error by ``1 / z``, the inverse depth of the ground truth
    root, when training its trajectory model.

    Parameters
    ----------
    y_true, y_pred : ndarray (T, J, 3), ndarray (N, T, J, 3) or list of (T_i, J, 3)
        Ground truth and predicted poses, in the same form.
    weights : ndarray (T,) or (T, J); (N, T) or (N, T, J); or list of (T_i,) or (T_i, J)
        Non-negative weights with the structure of the videos, per frame or per frame and joint.
    root : int or None, default=0
        Joint subtracted from both poses of every frame first; None compares absolute positions.

    Returns
    -------
    float
        ``sum(w * d) / sum(w)`` over the frames and joints of all videos.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((2, 1, 3))
    >>> pred = np.array([[[1.0, 0, 0]], [[3.0, 0, 0]]])
    >>> weighted_mpjpe(truth, pred, np.array([3.0, 1.0]), root=None)
    1.5
    """
    true, pred, _ = _prepare(y_true, y_pred, root, None)
    w_list = [weights] if _is_one_video(y_true) else list(weights)
    if len(w_list) != len(true):
        raise ValueError(f"weights has {len(w_list)} videos but y_true has {len(true)}")
    total, norm = 0.0, 0.0
    for i, (t, p, w) in enumerate(zip(true, pred, w_list)):
        w = _weights_of_video(w, i, t.shape[:2])
        total += np.sum(w * np.linalg.norm(p - t, axis=-1))
        norm += np.sum(w)
    if norm <= 0:
        raise ValueError("weights sum to zero")
    return float(total / norm)


def _procrustes_aligned(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Align every frame of ``pred`` (F, J, 3) to ``true`` by rotation, scale and translation.

    The least-squares similarity transform without reflections (Umeyama 1991), batched over
    frames: with ``C = P^T G = U S V^T`` for centred row-vector poses, the rotation acting on
    rows is ``U D V^T`` and the scale ``tr(S D) / ||P||^2``, ``D = diag(1, 1, det(U V^T))``.
    """
    mu_t, mu_p = true.mean(axis=1, keepdims=True), pred.mean(axis=1, keepdims=True)
    t0, p0 = true - mu_t, pred - mu_p
    u, s, vt = np.linalg.svd(np.einsum("fji,fjk->fik", p0, t0))
    # U V^T may be a reflection (det -1); the best rotation then flips the weakest direction.
    sign = np.where(np.linalg.det(u @ vt) < 0, -1.0, 1.0)
    vt[:, -1] *= sign[:, None]
    s[:, -1] *= sign
    var_p = np.sum(p0**2, axis=(1, 2))
    # A collapsed prediction (all joints equal) is best placed at the centroid: scale 0.
    tiny = np.finfo(np.float64).tiny
    scale = np.divide(s.sum(axis=1), var_p, out=np.zeros_like(var_p), where=var_p > tiny)
    return scale[:, None, None] * (p0 @ (u @ vt)) + mu_t


def p_mpjpe(y_true, y_pred, *, root=0, sample_weight=None) -> float:
    """MPJPE after per-frame similarity alignment (Protocol 2, P-MPJPE).

    Each predicted frame is aligned to the ground truth by the rotation, uniform scale and
    translation minimising the squared error (orthogonal Procrustes without reflections: a
    mirrored prediction is not aligned away). Computed for all frames at once.

    Parameters
    ----------
    y_true, y_pred : ndarray (T, J, 3), ndarray (N, T, J, 3) or list of (T_i, J, 3)
        Ground truth and predicted poses, in the same form.
    root : int or None, default=0
        Validated and accepted for symmetry with the other metrics; the alignment includes a
        translation, so it does not change the result.
    sample_weight : array-like, optional
        One weight per video (lists and batches) or per frame (one 3-D video).

    Returns
    -------
    float
        Mean Euclidean distance after alignment, in the units of the input.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.normal(size=(4, 17, 3))
    >>> rotation = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])
    >>> round(p_mpjpe(truth, 2.0 * truth @ rotation + 1.0), 9)
    0.0
    """
    true, pred, weights = _prepare(y_true, y_pred, root, sample_weight)
    true, pred = np.concatenate(true), np.concatenate(pred)
    return _weighted_mean(_per_frame_error(true, _procrustes_aligned(true, pred)), weights)


def n_mpjpe(y_true, y_pred, *, root=0, sample_weight=None) -> float:
    """MPJPE after scaling each predicted frame optimally (Protocol 3, N-MPJPE).

    The scale is ``s = sum <g, p> / sum ||p||^2`` over the (root-relative) joints of a frame;
    an all-zero predicted frame keeps scale 1.

    Parameters
    ----------
    y_true, y_pred : ndarray (T, J, 3), ndarray (N, T, J, 3) or list of (T_i, J, 3)
        Ground truth and predicted poses, in the same form.
    root : int or None, default=0
        Joint subtracted from both poses of every frame before scaling; None scales absolute
        positions about the origin.
    sample_weight : array-like, optional
        One weight per video (lists and batches) or per frame (one 3-D video).

    Returns
    -------
    float
        Mean Euclidean distance after scaling, in the units of the input.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.array([[[0.0, 0, 0], [0, 1, 0], [1, 0, 0]]])
    >>> n_mpjpe(truth, 3.0 * truth)
    0.0
    """
    true, pred, weights = _prepare(y_true, y_pred, root, sample_weight)
    true, pred = np.concatenate(true), np.concatenate(pred)
    num, den = np.sum(true * pred, axis=(1, 2)), np.sum(pred**2, axis=(1, 2))
    scale = np.divide(num, den, out=np.ones_like(num), where=den > 0)
    return _weighted_mean(_per_frame_error(true, scale[:, None, None] * pred), weights)


def mpjve(y_true, y_pred, *, root=0, sample_weight=None) -> float:
    """Mean per-joint velocity error: MPJPE of the frame-to-frame differences of each video.

    Differences are taken within each video only, never across two videos; single-frame videos
    contribute nothing.

    Parameters
    ----------
    y_true, y_pred : ndarray (T, J, 3), ndarray (N, T, J, 3) or list of (T_i, J, 3)
        Ground truth and predicted poses, in the same form; at least one video needs 2 frames.
    root : int or None, default=0
        Joint subtracted from both poses of every frame before differencing.
    sample_weight : array-like, optional
        One weight per video (lists and batches), given to each of its differences; or, for one
        3-D video, one per frame: the difference between frames ``t - 1`` and ``t`` gets the
        weight of frame ``t`` (the weight of frame 0 is unused).

    Returns
    -------
    float
        In input units per frame.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((3, 2, 3))
    >>> pred = truth.copy()
    >>> pred[2, 1, 0] = 0.3  # one joint jumps in the last frame
    >>> round(mpjve(truth, pred), 6)  # 0.3 / 2 joints / 2 differences
    0.075
    """
    true, pred, weights = _prepare(y_true, y_pred, root, sample_weight)
    if all(len(v) < 2 for v in true):
        raise ValueError("mpjve needs at least one video with 2 or more frames")
    d_true = np.concatenate([np.diff(v, axis=0) for v in true])
    d_pred = np.concatenate([np.diff(v, axis=0) for v in pred])
    if weights is not None:
        starts = np.cumsum([0] + [len(v) for v in true])
        later = np.concatenate([np.arange(a + 1, b) for a, b in zip(starts[:-1], starts[1:])])
        weights = weights[later]
        if weights.sum() <= 0:
            raise ValueError("sample_weight gives zero weight to every frame difference")
    return _weighted_mean(_per_frame_error(d_true, d_pred), weights)


neg_mpjpe_scorer = make_scorer(mpjpe, greater_is_better=False)
neg_p_mpjpe_scorer = make_scorer(p_mpjpe, greater_is_better=False)
neg_n_mpjpe_scorer = make_scorer(n_mpjpe, greater_is_better=False)
neg_mpjve_scorer = make_scorer(mpjve, greater_is_better=False)

#: Scorers by name, for ``scoring=SCORERS`` in multi-metric search (greater is better).
SCORERS = {
    "neg_mpjpe": neg_mpjpe_scorer,
    "neg_p_mpjpe": neg_p_mpjpe_scorer,
    "neg_n_mpjpe": neg_n_mpjpe_scorer,
    "neg_mpjve": neg_mpjve_scorer,
}


def get_scorer(name):
    """The scorer called ``name``: one of :data:`SCORERS`, else scikit-learn's.

    Parameters
    ----------
    name : str or callable
        ``"neg_mpjpe"``, ``"neg_p_mpjpe"``, ``"neg_n_mpjpe"`` or ``"neg_mpjve"``; anything else
        is passed to :func:`sklearn.metrics.get_scorer`.

    Returns
    -------
    callable
        A scorer ``scorer(estimator, X, y)``; greater is better.

    Examples
    --------
    >>> get_scorer("neg_p_mpjpe") is SCORERS["neg_p_mpjpe"]
    True
    >>> get_scorer("r2")
    make_scorer(r2_score, response_method='predict')
    """
    if isinstance(name, str) and name in SCORERS:
        return SCORERS[name]
    return _sklearn_get_scorer(name)

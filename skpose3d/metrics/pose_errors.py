"""The pose errors of the paper's protocols: MPJPE, P-MPJPE, N-MPJPE, MPJVE, weighted MPJPE.

Every metric takes ``(y_true, y_pred)`` in one of three forms (both arguments the same form):
one video ``(T, J, 3)``, a batch ``(N, T, J, 3)``, or a list / tuple / 1-D object array of videos
``(T_i, J, 3)`` of different lengths (what ``predict`` returns and what scikit-learn's scorers
receive). The result is the mean over all frames of all videos (every frame counts once), in the
units of the input: metres in, metres out (multiply by 1000 for the paper's millimetres).

``root`` makes both poses relative to one joint first. The default, joint 0, is the root of the
Human3.6M skeleton (its pelvis, called ``"hip"``); for another layout pass the skeleton, e.g.
``root="mpii"`` (joint 6, the pelvis) or ``root=lifter.output_skeleton_``.
"""

from __future__ import annotations

import numpy as np

from ._inputs import _is_one_video, _per_frame_error, _prepare, _to_float, _weighted_mean

__all__ = ["mpjpe", "mpjve", "n_mpjpe", "p_mpjpe", "weighted_mpjpe"]


def mpjpe(y_true, y_pred, *, root=0, sample_weight=None) -> float:
    """Mean per-joint position error (Protocol 1).

    Parameters
    ----------
    y_true, y_pred : ndarray (T, J, 3), ndarray (N, T, J, 3) or list of (T_i, J, 3)
        Ground truth and predicted poses, in the same form.
    root : int, str, Skeleton or None, default=0
        Joint subtracted from both poses of every frame first: an index, or a skeleton (preset
        name or :class:`~skpose3d.skeleton.Skeleton`) whose ``root`` is used and whose joint
        count must match. 0 is the Human3.6M root (pelvis); None compares absolute positions.
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
    root : int, str, Skeleton or None, default=0
        Joint subtracted from both poses of every frame first: an index, or a skeleton (preset
        name or :class:`~skpose3d.skeleton.Skeleton`) whose ``root`` is used and whose joint
        count must match. 0 is the Human3.6M root (pelvis); None compares absolute positions.

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


def _procrustes_transform(true: np.ndarray, pred: np.ndarray):
    """The similarity transform that best aligns every frame of ``pred`` (F, J, 3) to ``true``.

    The least-squares fit without reflections (Umeyama 1991), batched over frames: with
    ``C = P^T G = U S V^T`` for centred row-vector poses, the rotation acting on rows is
    ``U D V^T`` and the scale ``tr(S D) / ||P||^2``, ``D = diag(1, 1, det(U V^T))``. Returns
    ``(rotation (F, 3, 3), scale (F,), centred pred, true's centroids)``.
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
    return u @ vt, scale, p0, mu_t


def _procrustes_aligned(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Every frame of ``pred`` aligned to ``true`` by rotation, scale and translation."""
    rotation, scale, p0, mu_t = _procrustes_transform(true, pred)
    return scale[:, None, None] * (p0 @ rotation) + mu_t


def p_mpjpe(y_true, y_pred, *, root=0, sample_weight=None) -> float:
    """MPJPE after per-frame similarity alignment (Protocol 2, P-MPJPE).

    Each predicted frame is aligned to the ground truth by the rotation, uniform scale and
    translation minimising the squared error (orthogonal Procrustes without reflections: a
    mirrored prediction is not aligned away). Computed for all frames at once.

    Parameters
    ----------
    y_true, y_pred : ndarray (T, J, 3), ndarray (N, T, J, 3) or list of (T_i, J, 3)
        Ground truth and predicted poses, in the same form.
    root : int, str, Skeleton or None, default=0
        Validated (as for :func:`mpjpe`) and accepted for symmetry with the other metrics; the
        alignment includes a translation, so it does not change the result.
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
    root : int, str, Skeleton or None, default=0
        Joint subtracted from both poses of every frame before scaling (as for :func:`mpjpe`);
        None scales absolute positions about the origin.
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
    root : int, str, Skeleton or None, default=0
        Joint subtracted from both poses of every frame before differencing (as for
        :func:`mpjpe`).
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

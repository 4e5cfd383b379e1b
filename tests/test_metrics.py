"""Metrics against slow, obviously-correct reference loops; properties; scorers; bad input."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import orthogonal_procrustes
from scipy.optimize import minimize
from scipy.spatial.transform import Rotation
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import make_scorer, r2_score
from sklearn.model_selection import KFold, cross_validate

from skpose3d.metrics import (
    SCORERS,
    get_scorer,
    mpjpe,
    mpjve,
    n_mpjpe,
    neg_mpjpe_scorer,
    neg_mpjve_scorer,
    neg_n_mpjpe_scorer,
    neg_p_mpjpe_scorer,
    p_mpjpe,
    weighted_mpjpe,
)
from skpose3d.metrics._inputs import _as_video_list, _check_consistent
from skpose3d.metrics.pose_errors import _procrustes_aligned

METRICS = [mpjpe, p_mpjpe, n_mpjpe, mpjve]
J = 6


def _videos(rng, lengths, n_joints=J, noise=0.1):
    true = [rng.normal(size=(t, n_joints, 3)) for t in lengths]
    pred = [v + noise * rng.normal(size=v.shape) + rng.normal(size=3) for v in true]
    return true, pred


# ----- slow references: one frame, one joint at a time ------------------------------------------


def _dist(a, b):
    return math.sqrt(sum((float(a[k]) - float(b[k])) ** 2 for k in range(3)))


def _centred(pose, root):
    return [pose[j] - pose[root] for j in range(len(pose))] if root is not None else list(pose)


def _ref_frame_weights(videos, sample_weight):
    if sample_weight is None:
        return [[1.0] * len(v) for v in videos]
    return [[float(w)] * len(v) for v, w in zip(videos, sample_weight)]


def _ref_mean(true, pred, frame_error, sample_weight=None):
    total = norm = 0.0
    for t, p, ws in zip(true, pred, _ref_frame_weights(true, sample_weight)):
        for f in range(len(t)):
            total += ws[f] * frame_error(t[f], p[f])
            norm += ws[f]
    return total / norm


def _ref_mpjpe_frame(g, p, root=0):
    g, p = _centred(g, root), _centred(p, root)
    return sum(_dist(g[j], p[j]) for j in range(len(g))) / len(g)


def _ref_n_mpjpe_frame(g, p, root=0):
    g, p = _centred(g, root), _centred(p, root)
    num = sum(float(g[j] @ p[j]) for j in range(len(g)))
    den = sum(float(p[j] @ p[j]) for j in range(len(g)))
    s = num / den
    return sum(_dist(g[j], s * p[j]) for j in range(len(g))) / len(g)


def _ref_umeyama(g, p):
    """Umeyama (1991), written in its column-vector form: ``g_j ~ c R p_j + t``."""
    n = len(g)
    mu_g, mu_p = sum(g) / n, sum(p) / n
    sigma = sum(np.outer(g[j] - mu_g, p[j] - mu_p) for j in range(n)) / n
    var_p = sum(float((p[j] - mu_p) @ (p[j] - mu_p)) for j in range(n)) / n
    u, d, vt = np.linalg.svd(sigma)
    fix = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        fix[2, 2] = -1.0  # a proper rotation only: no reflections
    rot = u @ fix @ vt
    scale = np.trace(np.diag(d) @ fix) / var_p
    shift = mu_g - scale * rot @ mu_p
    return [scale * rot @ p[j] + shift for j in range(n)]


def _ref_p_mpjpe_frame(g, p):
    aligned = _ref_umeyama(g, p)
    return sum(_dist(g[j], aligned[j]) for j in range(len(g))) / len(g)


def _ref_mpjve(true, pred, root=0, sample_weight=None):
    total = norm = 0.0
    for t, p, ws in zip(true, pred, _ref_frame_weights(true, sample_weight)):
        for f in range(1, len(t)):
            gt, gp = _centred(t[f], root), _centred(t[f - 1], root)
            pt, pp = _centred(p[f], root), _centred(p[f - 1], root)
            err = sum(_dist(gt[j] - gp[j], pt[j] - pp[j]) for j in range(len(gt))) / len(gt)
            total += ws[f] * err
            norm += ws[f]
    return total / norm


def _best_similarity_sse(g, p, rng, n_starts=4):
    """Brute force: minimise the squared error over rotation vector, log-scale and shift."""

    def sse(theta):
        moved = np.exp(theta[3]) * Rotation.from_rotvec(theta[:3]).apply(p) + theta[4:]
        return np.sum((moved - g) ** 2)

    starts = [np.zeros(7)] + [rng.normal(size=7) for _ in range(n_starts - 1)]
    return min(minimize(sse, x0, method="BFGS", options={"gtol": 1e-10}).fun for x0 in starts)


# ----- the metrics equal the references ---------------------------------------------------------


@pytest.mark.parametrize("root", [0, 2, None])
def test_mpjpe_and_n_mpjpe_match_reference_loops(rng, root):
    true, pred = _videos(rng, [7, 1, 12, 4])
    w = [2.0, 0.5, 1.0, 0.0]
    for metric, frame_ref in [(mpjpe, _ref_mpjpe_frame), (n_mpjpe, _ref_n_mpjpe_frame)]:

        def err(g, p, frame_ref=frame_ref):
            return frame_ref(g, p, root)

        expected = _ref_mean(true, pred, err)
        assert metric(true, pred, root=root) == pytest.approx(expected, rel=1e-12)
        expected_w = _ref_mean(true, pred, err, w)
        assert metric(true, pred, root=root, sample_weight=w) == pytest.approx(expected_w)


def test_p_mpjpe_matches_explicit_umeyama_loop(rng):
    true, pred = _videos(rng, [9, 1, 5, 14], noise=0.3)
    # Rotate each predicted frame differently, and mirror some, so the alignment has work to do.
    for video in pred:
        for f in range(len(video)):
            rotation = Rotation.from_rotvec(rng.normal(size=3))
            video[f] = rotation.apply(video[f]) * rng.uniform(0.5, 2)
            if rng.random() < 0.3:
                video[f, :, 0] *= -1
    expected = _ref_mean(true, pred, _ref_p_mpjpe_frame)
    assert p_mpjpe(true, pred) == pytest.approx(expected, rel=1e-10)
    w = [1.0, 3.0, 0.0, 2.0]
    assert p_mpjpe(true, pred, sample_weight=w) == pytest.approx(
        _ref_mean(true, pred, _ref_p_mpjpe_frame, w), rel=1e-10
    )


def test_procrustes_alignment_is_the_least_squares_optimum(rng):
    g = rng.normal(size=(5, J, 3))
    p = g + 0.4 * rng.normal(size=g.shape)
    p[0] = Rotation.from_rotvec([0.3, 2.5, -1.0]).apply(p[0]) * 1.7 + 0.5
    p[1, :, 2] *= -1  # a mirror image: the best proper rotation cannot undo it
    p[2] = 0.2 * rng.normal(size=(J, 3))
    aligned = _procrustes_aligned(g, p)
    for f in range(len(g)):
        ours = np.sum((aligned[f] - g[f]) ** 2)
        umeyama = np.sum((np.array(_ref_umeyama(list(g[f]), list(p[f]))) - g[f]) ** 2)
        best = _best_similarity_sse(g[f], p[f], rng)
        assert ours <= best + 1e-9
        assert ours == pytest.approx(best, rel=1e-6, abs=1e-9)
        assert umeyama == pytest.approx(best, rel=1e-6, abs=1e-9)


def test_mpjve_matches_reference_loop(rng):
    true, pred = _videos(rng, [6, 1, 3, 10])
    for root in (0, None):
        assert mpjve(true, pred, root=root) == pytest.approx(_ref_mpjve(true, pred, root))
    w = [1.0, 5.0, 2.0, 0.5]
    assert mpjve(true, pred, sample_weight=w) == pytest.approx(
        _ref_mpjve(true, pred, sample_weight=w)
    )


def test_mpjve_single_video_uses_the_weight_of_the_later_frame(rng):
    (t,), (p,) = _videos(rng, [5])
    w = np.array([100.0, 1.0, 0.0, 2.0, 3.0])
    diffs = [_ref_mpjve([t[f - 1 : f + 1]], [p[f - 1 : f + 1]]) for f in range(1, 5)]
    expected = np.dot(w[1:], diffs) / w[1:].sum()
    assert mpjve(t, p, sample_weight=w) == pytest.approx(expected)


def test_weighted_mpjpe_matches_reference_loop(rng):
    true, pred = _videos(rng, [4, 1, 7])
    per_frame = [rng.uniform(0, 2, size=len(v)) for v in true]
    per_joint = [rng.uniform(0, 2, size=v.shape[:2]) for v in true]
    for weights in (per_frame, per_joint):
        total = norm = 0.0
        for t, p, w in zip(true, pred, weights):
            for f in range(len(t)):
                g, q = _centred(t[f], 0), _centred(p[f], 0)
                for j in range(J):
                    wj = w[f] if w.ndim == 1 else w[f, j]
                    total += wj * _dist(g[j], q[j])
                    norm += wj
        assert weighted_mpjpe(true, pred, weights) == pytest.approx(total / norm)
    # Single video and batch forms; constant weights give plain MPJPE.
    batch_t, batch_p = np.stack(true[:1] * 2), np.stack(pred[:1] * 2)
    assert weighted_mpjpe(batch_t, batch_p, np.ones((2, 4))) == pytest.approx(
        mpjpe(batch_t, batch_p)
    )
    assert weighted_mpjpe(true[2], pred[2], per_joint[2]) == pytest.approx(
        weighted_mpjpe(true[2:], pred[2:], per_joint[2:])
    )


def test_weighted_mpjpe_inverse_depth_weights_favour_near_frames():
    truth = np.zeros((2, 2, 3))
    truth[:, 1] = [0.0, 0.0, 1.0]
    pred = truth.copy()
    pred[0, 1, 0], pred[1, 1, 0] = 0.1, 0.3
    depth = np.array([2.0, 8.0])
    # Root-relative per-frame errors 0.05 and 0.15, weighted 1/2 and 1/8.
    expected = (0.05 / 2 + 0.15 / 8) / (1 / 2 + 1 / 8)
    assert weighted_mpjpe(truth, pred, 1 / depth) == pytest.approx(expected)


# ----- input forms -----------------------------------------------------------------------------


@pytest.mark.parametrize("metric", METRICS)
def test_batch_list_tuple_and_object_array_agree(rng, metric):
    t = rng.normal(size=(3, 5, J, 3))
    p = t + 0.1 * rng.normal(size=t.shape)
    obj_t, obj_p = np.empty(3, dtype=object), np.empty(3, dtype=object)
    obj_t[:], obj_p[:] = list(t), list(p)
    expected = metric(t, p)
    assert metric(list(t), list(p)) == pytest.approx(expected)
    assert metric(tuple(t), tuple(p)) == pytest.approx(expected)
    assert metric(obj_t, obj_p) == pytest.approx(expected)
    assert metric(t[0], p[0]) == pytest.approx(metric([t[0]], [p[0]]))
    assert metric(t.astype(np.float32), p) == pytest.approx(expected, rel=1e-5)


def test_as_video_list_returns_float64_videos():
    videos = _as_video_list([np.zeros((2, 4, 3), dtype=np.int64), np.ones((5, 4, 3))], "y")
    assert [v.shape for v in videos] == [(2, 4, 3), (5, 4, 3)]
    assert all(v.dtype == np.float64 for v in videos)
    assert len(_as_video_list(np.zeros((3, 2, 4, 3)), "y")) == 3
    assert len(_as_video_list(np.zeros((2, 4, 3)), "y")) == 1


# ----- properties ------------------------------------------------------------------------------

_quaternion = st.tuples(*[st.floats(-1, 1)] * 4).filter(lambda q: np.linalg.norm(q) > 0.1)
_seed = st.integers(0, 2**32 - 1)


@settings(max_examples=60, deadline=None)
@given(
    seed=_seed,
    n_joints=st.integers(1, 17),
    quat=_quaternion,
    scale=st.floats(0.01, 100),
    shift=st.tuples(*[st.floats(-10, 10)] * 3),
)
def test_p_mpjpe_ignores_similarity_transforms(seed, n_joints, quat, scale, shift):
    truth = np.random.default_rng(seed).normal(size=(3, n_joints, 3))
    rot = Rotation.from_quat(quat)
    pred = scale * rot.apply(truth.reshape(-1, 3)).reshape(truth.shape) + np.array(shift)
    assert p_mpjpe(truth, pred) == pytest.approx(0.0, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(seed=_seed, n_joints=st.integers(5, 17), axis=st.integers(0, 2))
def test_p_mpjpe_does_not_align_a_mirror_image_away(seed, n_joints, axis):
    rng = np.random.default_rng(seed)
    # A clearly non-planar pose: centred, with unit variance along every principal axis.
    pose = rng.normal(size=(n_joints, 3))
    pose -= pose.mean(0)
    u, _, vt = np.linalg.svd(pose, full_matrices=False)
    pose = math.sqrt(n_joints) * u @ vt
    mirrored = pose.copy()
    mirrored[:, axis] *= -1
    reflection, _ = orthogonal_procrustes(mirrored, pose)  # allows det -1: undoes the mirror
    assert np.allclose(mirrored @ reflection, pose)
    # Proper rotations leave squared error 4 l3 (1 - l3 / sum l) = 8 n / 3 (eigenvalues l = n):
    # an RMS of sqrt(8/3), so the mean distance is far from zero.
    assert p_mpjpe(pose[None], mirrored[None]) > 0.5
    sse = np.sum((_procrustes_aligned(pose[None], mirrored[None])[0] - pose) ** 2)
    assert sse == pytest.approx(8 * n_joints / 3)


def _frame_sse(true, aligned):
    return np.sum((aligned - true) ** 2, axis=(1, 2))


@settings(max_examples=60, deadline=None)
@given(seed=_seed, n_joints=st.integers(1, 17), noise=st.floats(0.0, 3.0))
def test_alignments_order_the_squared_error_p_le_n_le_plain(seed, n_joints, noise):
    # Each protocol minimises the squared error over a larger family of transforms, so the
    # ordering is exact for squared errors (mean distances can break it: see the next test).
    rng = np.random.default_rng(seed)
    g = rng.normal(size=(4, n_joints, 3))
    p = g + noise * rng.normal(size=g.shape)
    g0, p0 = g - g[:, :1], p - p[:, :1]
    s = np.sum(g0 * p0, axis=(1, 2)) / np.maximum(np.sum(p0**2, axis=(1, 2)), 1e-300)
    plain, scaled = _frame_sse(g0, p0), _frame_sse(g0, s[:, None, None] * p0)
    procrustes = _frame_sse(g, _procrustes_aligned(g, p))
    assert np.all(procrustes <= scaled + 1e-9)
    assert np.all(scaled <= plain + 1e-9)
    metrics = [mpjpe(g, p), n_mpjpe(g, p), p_mpjpe(g, p), mpjve(g, p)]
    assert min(metrics) >= 0.0
    assert mpjpe(g, p) == pytest.approx(mpjpe(p, g), rel=1e-12)
    assert mpjpe(g, p, root=None) == pytest.approx(mpjpe(p, g, root=None), rel=1e-12)


def test_n_mpjpe_scale_is_the_least_squares_one_not_the_least_distance_one():
    # Two joints on a line, root=None: s = (2 + 100) / (4 + 100) shrinks the pose, which lowers
    # the squared error but raises the mean distance above plain MPJPE.
    truth = np.array([[[1.0, 0, 0], [10.0, 0, 0]]])
    pred = np.array([[[2.0, 0, 0], [10.0, 0, 0]]])
    s = 102 / 104
    expected = (abs(1 - 2 * s) + abs(10 - 10 * s)) / 2
    assert n_mpjpe(truth, pred, root=None) == pytest.approx(expected)
    assert n_mpjpe(truth, pred, root=None) > mpjpe(truth, pred, root=None) == pytest.approx(0.5)


def test_degenerate_frames_give_finite_results_without_warnings(rng):
    truth = rng.normal(size=(3, J, 3))
    collapsed = np.broadcast_to(np.array([0.1, 0.2, 0.3]), truth.shape).copy()
    spread = np.linalg.norm(truth - truth.mean(1, keepdims=True), axis=-1).mean()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # The best similarity for a single point is scale 0: every joint at the centroid.
        assert p_mpjpe(truth, collapsed) == pytest.approx(spread)
        assert p_mpjpe(collapsed, truth) == pytest.approx(0.0, abs=1e-12)
        assert p_mpjpe(collapsed, collapsed) == 0.0
        assert np.isfinite(n_mpjpe(truth, collapsed))
        assert n_mpjpe(truth, collapsed) == pytest.approx(mpjpe(truth, collapsed))
        assert np.isfinite(n_mpjpe(truth, np.zeros_like(truth), root=None))


# ----- behaviour -------------------------------------------------------------------------------


def test_mpjve_ignores_the_jump_between_two_videos(rng):
    true, pred = _videos(rng, [5, 4])
    base = mpjve(true, pred)
    jumped = [pred[0], pred[1] + rng.normal(size=(1, J, 3))]  # constant non-rigid offset
    assert mpjve(true, jumped) == pytest.approx(base, rel=1e-12)
    assert mpjve(true, jumped) == pytest.approx(_ref_mpjve(true, jumped))
    # Read as one concatenated video, the same jump would count.
    assert mpjve(np.concatenate(true), np.concatenate(jumped)) > base + 0.05


def test_mpjve_needs_a_video_with_two_frames(rng):
    true, pred = _videos(rng, [1, 1])
    with pytest.raises(ValueError, match="2 or more frames"):
        mpjve(true, pred)
    with pytest.raises(ValueError, match="zero weight to every frame difference"):
        mpjve(*_videos(rng, [1, 3]), sample_weight=[1.0, 0.0])


@pytest.mark.parametrize("metric", METRICS)
def test_integer_sample_weights_equal_repeated_videos(rng, metric):
    true, pred = _videos(rng, [4, 7, 3])
    repeated = [0, 0, 2, 2, 2]
    expected = metric([true[i] for i in repeated], [pred[i] for i in repeated])
    assert metric(true, pred, sample_weight=[2, 0, 3]) == pytest.approx(expected)
    assert metric(true, pred, sample_weight=np.array([2, 0, 3])) == pytest.approx(expected)


@pytest.mark.parametrize("metric", [mpjpe, p_mpjpe, n_mpjpe])
def test_one_video_takes_one_weight_per_frame(rng, metric):
    (t,), (p,) = _videos(rng, [4])
    expected = metric(t[[0, 0, 0, 2, 3]], p[[0, 0, 0, 2, 3]])
    assert metric(t, p, sample_weight=[3, 0, 1, 1]) == pytest.approx(expected)


def test_root_none_compares_absolute_positions(rng):
    (t,), _ = _videos(rng, [5])
    shift = np.array([0.3, -0.4, 0.0])
    assert mpjpe(t, t + shift) == pytest.approx(0.0, abs=1e-12)
    assert mpjpe(t, t + shift, root=None) == pytest.approx(0.5)
    assert n_mpjpe(t, t + shift, root=None) > 0.01
    assert mpjpe(t, t + shift, root=-1) == pytest.approx(0.0, abs=1e-12)
    assert p_mpjpe(t, 2 * t + shift, root=None) == pytest.approx(p_mpjpe(t, 2 * t + shift))


# ----- scorers ---------------------------------------------------------------------------------


class _MeanPoseLifter(RegressorMixin, BaseEstimator):
    """Predicts the training mean pose, nudged by the 2D input, for every frame."""

    def fit(self, X, y):
        self.mean_pose_ = np.concatenate(list(y)).mean(axis=0)
        return self

    def predict(self, X):
        out = np.empty(len(X), dtype=object)
        for i, video in enumerate(X):
            out[i] = self.mean_pose_ + 0.1 * np.pad(video, ((0, 0), (0, 0), (0, 1)))
        return out


def test_scorers_work_in_cross_validate(rng):
    lengths = [5, 9, 3, 12, 7, 4, 8, 6, 10]
    y = [rng.normal(size=(t, J, 3)) for t in lengths]
    X = [v[..., :2] + 0.05 * rng.normal(size=v[..., :2].shape) for v in y]
    cv = KFold(3, shuffle=True, random_state=0)
    result = cross_validate(
        _MeanPoseLifter(),
        X,
        y,
        cv=cv,
        scoring=SCORERS,
        error_score="raise",
        return_estimator=True,
    )
    metrics = {
        "neg_mpjpe": mpjpe,
        "neg_p_mpjpe": p_mpjpe,
        "neg_n_mpjpe": n_mpjpe,
        "neg_mpjve": mpjve,
    }
    assert set(SCORERS) == set(metrics)
    for k, (_, test) in enumerate(cv.split(X)):
        pred = result["estimator"][k].predict([X[i] for i in test])
        for name, metric in metrics.items():
            direct = metric([y[i] for i in test], pred)
            assert direct > 0
            assert result[f"test_{name}"][k] == pytest.approx(-direct)


def test_named_scorers_and_get_scorer(rng):
    scorers = [neg_mpjpe_scorer, neg_p_mpjpe_scorer, neg_n_mpjpe_scorer, neg_mpjve_scorer]
    assert list(SCORERS.values()) == scorers
    for name, scorer in SCORERS.items():
        assert get_scorer(name) is scorer
    est = _MeanPoseLifter().fit(None, [rng.normal(size=(4, J, 3))])
    X, y = [rng.normal(size=(6, J, 2))], [rng.normal(size=(6, J, 3))]
    assert get_scorer("neg_mpjpe")(est, X, y) == pytest.approx(-mpjpe(y, est.predict(X)))
    assert repr(get_scorer("r2")) == repr(make_scorer(r2_score))
    with pytest.raises(ValueError, match="not_a_scorer"):
        get_scorer("not_a_scorer")


# ----- the root joint of the output skeleton ---------------------------------------------------

MPII_ROOT = 6  # MPII's pelvis; its joint 0 is the right ankle


def _ankle_slip(rng, n_videos=3):
    """MPII-layout truth, and predictions exact but for joint 0 (the right ankle) moved 0.16 m.

    Centred at the pelvis only the ankle is off: MPJPE 0.01 m. Centred at joint 0 every other
    joint is off by the slip instead: 0.15 m. The slip alternates in sign, so velocities differ.
    """
    true = [rng.normal(size=(t, 16, 3)) for t in (4, 7, 5)[:n_videos]]
    pred = [v.copy() for v in true]
    for v in pred:
        v[:, 0, 0] += 0.16 * (-1.0) ** np.arange(len(v))
    return true, pred


class _MPIILifter(RegressorMixin, BaseEstimator):
    """Predicts ``_ankle_slip``'s poses for ``X`` (an index per video), with an MPII output."""

    def __init__(self, pred=None):
        self.pred = pred

    def fit(self, X, y):
        from skpose3d.skeleton import MPII

        self.output_skeleton_ = MPII
        return self

    def predict(self, X):
        out = np.empty(len(X), dtype=object)
        out[:] = [self.pred[int(i)] for i in X]
        return out


@pytest.mark.parametrize("metric", [mpjpe, n_mpjpe, mpjve])
def test_root_may_be_a_skeleton_whose_root_joint_is_used(rng, metric):
    from skpose3d.skeleton import MPII

    true, pred = _ankle_slip(rng)
    at_pelvis = metric(true, pred, root=MPII_ROOT)
    assert metric(true, pred, root="mpii") == at_pelvis == metric(true, pred, root=MPII)
    assert at_pelvis != pytest.approx(metric(true, pred))  # the default is joint 0
    assert mpjpe(true, pred, root="mpii") == pytest.approx(0.01)
    assert mpjpe(true, pred) == pytest.approx(0.15)


def test_root_skeleton_must_match_the_joint_count():
    with pytest.raises(ValueError, match="root='h36m': that skeleton has 17 joints but the poses"):
        mpjpe(_GOOD, _GOOD, root="h36m")
    with pytest.raises(ValueError, match="not_a_skeleton"):
        mpjpe(_GOOD, _GOOD, root="not_a_skeleton")


def test_scorers_centre_at_the_estimators_output_root(rng):
    true, pred = _ankle_slip(rng)
    X = np.arange(len(true))
    est = _MPIILifter(pred).fit(X, true)
    for name, metric in [("neg_mpjpe", mpjpe), ("neg_n_mpjpe", n_mpjpe), ("neg_mpjve", mpjve)]:
        expected = -metric(true, pred, root=MPII_ROOT)
        assert SCORERS[name](est, X, true) == pytest.approx(expected)
        assert expected != pytest.approx(-metric(true, pred))
    assert neg_mpjpe_scorer(est, X, true) == pytest.approx(-0.01)


def test_scorers_find_the_output_root_through_pipelines_and_searches(rng):
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    true, pred = _ankle_slip(rng)
    X = np.arange(len(true))
    pipe = make_pipeline(FunctionTransformer(), _MPIILifter(pred)).fit(X, true)
    assert neg_mpjpe_scorer(pipe, X, true) == pytest.approx(-0.01)
    search = GridSearchCV(
        _MPIILifter(pred), {"pred": [pred]}, scoring=neg_mpjpe_scorer, cv=KFold(3),
        error_score="raise",
    )  # fmt: skip
    search.fit(X, true)
    assert neg_mpjpe_scorer(search, X, true) == pytest.approx(-0.01)
    # Multi-metric scoring in cross-validation goes through the same look-up.
    result = cross_validate(_MPIILifter(pred), X, true, cv=KFold(3), scoring=SCORERS)
    np.testing.assert_allclose(result["test_neg_mpjpe"], -0.01)


def test_scorers_pickle_and_keep_sklearns_repr():
    import pickle

    copy = pickle.loads(pickle.dumps(neg_mpjpe_scorer))
    assert repr(copy) == repr(make_scorer(mpjpe, greater_is_better=False))


# ----- bad input -------------------------------------------------------------------------------

_GOOD = np.zeros((4, J, 3))


def _nan_in_second_video():
    bad = [np.zeros((3, J, 3)), np.zeros((4, J, 3))]
    bad[1][2, 1, 0] = np.nan
    return bad


@pytest.mark.parametrize(
    ("y_pred", "error", "message"),
    [
        ([], ValueError, r"y_pred is empty"),
        (np.zeros((0, 4, J, 3)), ValueError, r"y_pred is empty"),
        (np.zeros((4, J)), ValueError, r"y_pred has shape \(4, 6\)"),
        ([np.zeros((4, J))], ValueError, r"y_pred\[0\] has 2 dimensions"),
        (np.zeros((4, J, 2)), ValueError, r"y_pred has shape \(4, 6, 2\): last dimension"),
        ([_GOOD, np.zeros((4, J, 2))], ValueError, r"y_pred\[1\] .*last dimension must be 3"),
        ([np.zeros((0, J, 3))], ValueError, r"y_pred\[0\] .*at least 1 frame"),
        (_nan_in_second_video(), ValueError, r"y_pred\[1\] contains NaN .*frame 2, joint 1"),
        ([_GOOD, np.full((4, J, 3), np.inf)], ValueError, r"y_pred\[1\] contains NaN or inf"),
        ("poses", TypeError, r"y_pred must be an ndarray or a list"),
        ([[[1.0, 2.0], [3.0]]], ValueError, r"y_pred\[0\] cannot be read as a float array"),
    ],
)
def test_bad_videos_are_named(y_pred, error, message):
    # y_true is valid, so the error must come from y_pred (validated before shapes are compared).
    y_true = [_GOOD] * max(len(y_pred), 1) if isinstance(y_pred, list) else _GOOD
    with pytest.raises(error, match=message):
        _as_video_list(y_pred, "y_pred")
    for metric in METRICS:
        with pytest.raises(error, match=message):
            metric(y_true, y_pred)


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [
        ([_GOOD, _GOOD], [_GOOD], r"y_true has 2 videos but y_pred has 1"),
        (
            [_GOOD, _GOOD],
            [_GOOD, _GOOD[:3]],
            r"video 1: y_true has shape \(4, 6, 3\) but y_pred "
            r"has \(3, 6, 3\)",
        ),
        ([_GOOD], [np.zeros((4, 5, 3))], r"video 0: .*\(4, 6, 3\).*\(4, 5, 3\)"),
        ([_GOOD, np.zeros((2, 5, 3))], [_GOOD, np.zeros((2, 5, 3))], r"video 1 has 5 joints"),
    ],
)
def test_inconsistent_videos_are_named(y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        _check_consistent(y_true, y_pred)
    for metric in METRICS:
        with pytest.raises(ValueError, match=message):
            metric(y_true, y_pred)


@pytest.mark.parametrize(
    ("sample_weight", "message"),
    [
        ([1.0, 2.0], r"sample_weight has shape \(2,\): expected one weight per video \(3,\)"),
        ([[1.0, 2.0, 3.0]], r"sample_weight has shape \(1, 3\)"),
        ([1.0, -1.0, 1.0], r"finite and non-negative"),
        ([1.0, np.nan, 1.0], r"finite and non-negative"),
        ([0.0, 0.0, 0.0], r"sums to zero"),
    ],
)
@pytest.mark.parametrize("metric", METRICS)
def test_bad_sample_weight(metric, sample_weight, message):
    with pytest.raises(ValueError, match=message):
        metric([_GOOD] * 3, [_GOOD] * 3, sample_weight=sample_weight)


def test_one_video_sample_weight_counts_frames():
    with pytest.raises(ValueError, match=r"one weight per frame \(4,\)"):
        mpjpe(_GOOD, _GOOD, sample_weight=[1.0])


@pytest.mark.parametrize(
    ("root", "error", "message"),
    [
        (J, ValueError, "root=6 is out of range"),
        (-J - 1, ValueError, "out of range"),
        (True, TypeError, "root must be"),
        (1.0, TypeError, "root must be"),
    ],
)
@pytest.mark.parametrize("metric", METRICS)
def test_bad_root(metric, root, error, message):
    with pytest.raises(error, match=message):
        metric(_GOOD, _GOOD, root=root)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([np.ones(4)], r"weights has 1 videos but y_true has 2"),
        ([np.ones(4), np.ones(3)], r"weights\[1\] has shape \(3,\): expected \(4,\) or \(4, 6\)"),
        ([np.ones(4), np.ones((4, 5))], r"weights\[1\] has shape \(4, 5\)"),
        ([np.ones(4), -np.ones(4)], r"weights\[1\] must be finite and non-negative"),
        ([np.ones(4), np.full(4, np.inf)], r"weights\[1\] must be finite"),
        ([np.zeros(4), np.zeros((4, J))], r"weights sum to zero"),
    ],
)
def test_bad_weighted_mpjpe_weights(weights, message):
    with pytest.raises(ValueError, match=message):
        weighted_mpjpe([_GOOD, _GOOD], [_GOOD, _GOOD], weights)

"""Pipeline transformers (screen normaliser, keypoint mapper, gap filler) alone and in search."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils import estimator_checks
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from skpose3d import TemporalPoseLifter
from skpose3d.camera import flip_keypoints
from skpose3d.preprocessing import GapFiller, KeypointMapper, ScreenNormalizer
from skpose3d.skeleton import COCO, H36M, MEDIAPIPE, MPII

TRANSFORMERS = [ScreenNormalizer(image_size=(640, 480)), KeypointMapper(), GapFiller()]
FAST = dict(channels=16, n_epochs=1, batch_size=64, random_state=0)
W, H = 1000, 800


def _ids(estimators):
    return [type(e).__name__ for e in estimators]


# -- shared protocol -------------------------------------------------------------------------


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=_ids(TRANSFORMERS))
@pytest.mark.parametrize(
    "check",
    [
        "check_no_attributes_set_in_init",
        "check_parameters_default_constructible",
        "check_get_params_invariance",
        "check_set_params",
        "check_do_not_raise_errors_in_init_or_set_params",
        "check_estimator_cloneable",
        "check_estimator_repr",
        "check_valid_tag_types",
        "check_mixin_order",
    ],
)
def test_sklearn_checks_that_apply_to_3d_input(transformer, check):
    getattr(estimator_checks, check)(type(transformer).__name__, clone(transformer))


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=_ids(TRANSFORMERS))
def test_stateless_tags_and_fit(transformer, rng):
    tags = transformer.__sklearn_tags__()
    assert not tags.requires_fit
    assert tags.input_tags.three_d_array and not tags.input_tags.two_d_array
    X = [rng.uniform(0, 400, size=(n, 17, 3)) for n in (5, 8)]
    fresh = clone(transformer)
    assert fresh.fit(X) is fresh
    assert fresh.__dict__ == clone(transformer).__dict__  # fit learns nothing
    check_is_fitted(fresh)  # requires_fit=False: usable as is
    out = clone(transformer).transform(X)
    assert out.dtype == object and out.shape == (2,)
    assert [v.shape[0] for v in out] == [5, 8]


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=_ids(TRANSFORMERS))
def test_input_structure_and_dtype_are_kept(transformer, rng):
    video = rng.uniform(0, 400, size=(6, 17, 3))
    single = transformer.transform(video)
    assert isinstance(single, np.ndarray) and single.ndim == 3 and single.dtype == np.float64
    batch = transformer.transform(np.stack([video, video]))
    assert batch.shape == (2, *single.shape)
    np.testing.assert_array_equal(batch[1], single)
    as_list = transformer.transform([video.astype(np.float32)])
    assert as_list.dtype == object and as_list[0].dtype == np.float32
    np.testing.assert_allclose(as_list[0], single, rtol=1e-5, atol=1e-4)
    ints = transformer.transform([video.astype(int)])
    assert ints[0].dtype == np.float64


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=_ids(TRANSFORMERS))
@pytest.mark.parametrize(
    "X, message",
    [
        ([np.zeros((5, 17, 2)), np.zeros((5, 17))], r"X\[1\] has 2 dimensions"),
        ([np.zeros((5, 17, 4))], r"X\[0\] has 4 channels"),
        ([np.zeros((0, 17, 2))], r"X\[0\] has no frames"),
        ([], "empty"),
        ([[[0, 1], [2]]], r"X\[0\] cannot be read"),
    ],
)
def test_bad_input_names_the_video(transformer, X, message):
    for method in (transformer.fit, transformer.transform):
        with pytest.raises(ValueError, match=message):
            method(X)


@pytest.mark.parametrize(
    "transformer",
    [
        ScreenNormalizer(image_size="big"),
        KeypointMapper(source=3),
        GapFiller(confidence_threshold="high"),
        GapFiller(drop_confidence="yes"),
    ],
    ids=["image_size", "source", "threshold", "drop"],
)
def test_bad_parameters_are_rejected_in_fit_and_transform(transformer):
    X = [np.zeros((3, 17, 3))]
    for method in (transformer.fit, transformer.transform):
        with pytest.raises((InvalidParameterError, ValueError)):
            method(X)


# -- ScreenNormalizer -------------------------------------------------------------------------


def test_screen_normalizer_matches_the_paper_formula_and_inverts(rng):
    pixels = rng.uniform(0, W, size=(7, 17, 3))
    pixels[..., 2] = rng.uniform(size=(7, 17))
    norm = ScreenNormalizer(image_size=(W, H))
    out = norm.transform([pixels])[0]
    np.testing.assert_allclose(out[..., 0], pixels[..., 0] / W * 2 - 1)
    np.testing.assert_allclose(out[..., 1], pixels[..., 1] / W * 2 - H / W)
    np.testing.assert_array_equal(out[..., 2], pixels[..., 2])  # confidence untouched
    np.testing.assert_allclose(norm.inverse_transform([out])[0], pixels)
    corners = norm.transform(np.array([[[0.0, 0.0], [W, H]]]))
    np.testing.assert_allclose(corners[0], [[-1, -H / W], [1, H / W]])


def test_screen_normalizer_keeps_nan_and_needs_a_size():
    video = np.full((2, 17, 2), np.nan)
    assert np.isnan(ScreenNormalizer(image_size=(W, H)).transform(video)).all()
    with pytest.raises(ValueError, match="needs image_size"):
        ScreenNormalizer().fit([video])
    for size in [(W, 0), (W,), (W, H, 3), (W, np.inf)]:
        with pytest.raises(ValueError, match="image_size"):
            ScreenNormalizer(image_size=size).transform([video])


# -- KeypointMapper ---------------------------------------------------------------------------


def _reference_map(video, source):
    """Joint by joint, by name, with the heuristics the docstring lists."""
    src = dict(zip(source.joint_names, np.moveaxis(video, 1, 0)))

    def mean(*names):
        xy = np.mean([src[n][:, :2] for n in names], axis=0)
        conf = np.min([src[n][:, 2] for n in names], axis=0)
        return np.column_stack([xy, conf])

    if source is COCO:
        centre = {
            "hip": mean("left_hip", "right_hip"),
            "spine": mean("left_hip", "right_hip", "left_shoulder", "right_shoulder"),
            "thorax": mean("left_shoulder", "right_shoulder"),
            "neck_nose": mean("nose"),
            "head": mean("left_eye", "right_eye"),
        }
    else:
        centre = {
            "hip": mean("pelvis"),
            "spine": mean("pelvis", "thorax"),
            "thorax": mean("thorax"),
            "neck_nose": mean("upper_neck"),
            "head": mean("head_top"),
        }
    out = []
    for name in H36M.joint_names:
        if name in centre:
            out.append(centre[name])
        else:  # limbs keep their name; H36M's feet are the ankles
            out.append(mean(name.replace("foot", "ankle")))
    return np.stack(out, axis=1)


@pytest.mark.parametrize("source", [COCO, MPII], ids=["coco", "mpii"])
def test_mapper_matches_named_reference(source, rng):
    video = rng.uniform(0, 500, size=(9, source.n_joints, 3))
    out = KeypointMapper(source.name, "H36M").transform([video])[0]
    assert out.shape == (9, 17, 3)
    np.testing.assert_allclose(out, _reference_map(video, source))
    # The midpoint of pelvis and thorax, as a user would compute it from the output.
    np.testing.assert_allclose(out[:, 7, :2], (out[:, 0, :2] + out[:, 8, :2]) / 2)


def _reference_mediapipe(video, target):
    """MediaPipe landmark numbers (PoseLandmark 0-32) written out by hand, one joint at a time."""

    def mean(*landmarks):
        return np.column_stack(
            [video[:, list(landmarks), :2].mean(axis=1), video[:, list(landmarks), 2].min(axis=1)]
        )

    if target == "coco":  # nose, eyes (2, 5), ears, shoulders, elbows, wrists, hips, knees, ankles
        return video[:, [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]]
    h36m = [
        mean(23, 24),  # hip: mid-hip
        mean(24),  # right hip
        mean(26),  # right knee
        mean(28),  # right foot = right ankle
        mean(23),
        mean(25),
        mean(27),
        mean(23, 24, 11, 12),  # spine: between mid-hip and mid-shoulder
        mean(11, 12),  # thorax: mid-shoulder
        mean(0),  # neck/nose: nose
        mean(2, 5),  # head: between the eye centres
        mean(11),  # left shoulder, elbow, wrist
        mean(13),
        mean(15),
        mean(12),  # right shoulder, elbow, wrist
        mean(14),
        mean(16),
    ]
    return np.stack(h36m, axis=1)


@pytest.mark.parametrize("target", ["h36m", "coco"])
def test_mapper_from_mediapipe_matches_landmark_numbers(target, rng):
    video = rng.uniform(0, 500, size=(6, 33, 3))
    out = KeypointMapper("MediaPipe", target).transform([video])[0]
    np.testing.assert_allclose(out, _reference_mediapipe(video, target))
    if target == "h36m":
        # Derived joints sit where they sit for COCO input with the same keypoints.
        coco = KeypointMapper("mediapipe", "coco").transform(video)
        np.testing.assert_allclose(out, KeypointMapper("coco", "h36m").transform(coco))


@pytest.mark.parametrize("source", [COCO, MPII, MEDIAPIPE], ids=["coco", "mpii", "mediapipe"])
def test_mapper_commutes_with_horizontal_flip(source, rng):
    # Mapping a mirrored image equals mirroring the mapped keypoints only if left and right
    # joints land on the right side of the target skeleton.
    video = rng.normal(size=(4, source.n_joints, 2))
    mapper = KeypointMapper(source.name, "h36m")
    np.testing.assert_allclose(
        mapper.transform(flip_keypoints(video, source)),
        flip_keypoints(mapper.transform(video), H36M),
    )


def test_mapper_two_channels_nan_and_identity(rng):
    video = rng.normal(size=(4, 17, 2))
    video[2, 11] = np.nan  # left hip
    out = KeypointMapper("coco", "h36m").transform(video)
    assert out.shape == (4, 17, 2)
    assert np.isnan(out[2, [0, 4, 7]]).all()  # pelvis, left hip, spine derive from it
    assert np.isfinite(np.delete(out[2], [0, 4, 7], axis=0)).all()
    same = KeypointMapper("mpii", "mpii")
    mpii = rng.normal(size=(3, 16, 3))
    mapped = same.transform(mpii)
    np.testing.assert_array_equal(mapped, mpii)
    assert not np.shares_memory(mapped, mpii)


def test_mapper_rejects_unsupported_pairs_and_wrong_joint_counts():
    with pytest.raises(ValueError, match="supported pairs: coco -> h36m, mpii -> h36m"):
        KeypointMapper("h36m", "coco").fit([np.zeros((3, 17, 2))])
    with pytest.raises(ValueError, match="openpose"):
        KeypointMapper("openpose", "h36m").transform([np.zeros((3, 25, 2))])
    videos = [np.zeros((3, 17, 2)), np.zeros((3, 16, 2))]
    with pytest.raises(ValueError, match=r"X\[1\] has 16 joints .*17 for source skeleton 'coco'"):
        KeypointMapper("coco", "h36m").transform(videos)


# -- GapFiller --------------------------------------------------------------------------------


def _reference_fill(video, valid):
    """Slow, obvious linear interpolation with held edges, one value at a time."""
    out = video.copy()
    for j in range(video.shape[1]):
        frames = [t for t in range(len(video)) if valid[t, j]]
        for t in range(len(video)):
            if valid[t, j]:
                continue
            before = [f for f in frames if f < t]
            after = [f for f in frames if f > t]
            if not before:
                out[t, j, :2] = video[after[0], j, :2]
            elif not after:
                out[t, j, :2] = video[before[-1], j, :2]
            else:
                a, b = before[-1], after[0]
                w = (t - a) / (b - a)
                out[t, j, :2] = (1 - w) * video[a, j, :2] + w * video[b, j, :2]
    if video.shape[2] == 3:
        out[..., 2] = np.where(valid, video[..., 2], 0.0)
    return out


def test_gap_filler_interpolates_nan_and_low_confidence(rng):
    video = rng.uniform(0, 500, size=(30, 17, 3))
    video[..., 2] = rng.uniform(0.2, 1.0, size=(30, 17))
    missing = rng.random((30, 17)) < 0.3
    missing[:, 0] = False
    missing[[0, 1, 29], 3] = True  # both edges of joint 3
    video[missing & (rng.random((30, 17)) < 0.5), 0] = np.nan  # some x NaN
    video[missing, 2] = np.where(rng.random(missing.sum()) < 0.5, 0.1, np.nan)
    out = GapFiller(confidence_threshold=0.15).transform([video])[0]
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, _reference_fill(video, ~missing))
    np.testing.assert_array_equal(out[~missing], video[~missing])


def test_gap_filler_threshold_semantics():
    video = np.zeros((4, 1, 3))
    video[:, 0, 0] = [0.0, 10.0, 20.0, 30.0]
    video[:, 0, 2] = [1.0, 0.0, 0.5, 1.0]
    # Default 0.0: zero-confidence keypoints are missing, the rest kept.
    np.testing.assert_allclose(GapFiller().transform(video)[:, 0, 0], [0, 10, 20, 30])
    video[1, 0, 0] = 99.0
    np.testing.assert_allclose(GapFiller().transform(video)[:, 0, 0], [0, 10, 20, 30])
    # ``<=`` threshold is missing.
    np.testing.assert_allclose(
        GapFiller(confidence_threshold=0.5).transform(video)[:, 0, 0], [0, 10, 20, 30]
    )
    video[2, 0, 0] = 50.0
    np.testing.assert_allclose(
        GapFiller(confidence_threshold=0.5).transform(video)[:, 0, 0], [0, 10, 20, 30]
    )
    # None ignores the confidence: nothing is missing.
    np.testing.assert_array_equal(GapFiller(confidence_threshold=None).transform(video), video)


def test_gap_filler_two_channels_inf_and_drop_confidence():
    video = np.arange(10.0).reshape(5, 1, 2).repeat(2, axis=1)
    video[2, 1] = [np.inf, 0.0]
    out = GapFiller(drop_confidence=True).transform(video)
    np.testing.assert_allclose(out[2, 1], [4.0, 5.0])
    with_conf = np.concatenate([video, np.ones((5, 2, 1))], axis=2)
    dropped = GapFiller(drop_confidence=True).transform([with_conf])[0]
    assert dropped.shape == (5, 2, 2) and dropped.flags.c_contiguous
    np.testing.assert_allclose(dropped, out)


def test_gap_filler_never_valid_joint_warns_and_uses_the_body_centre(rng):
    complete = rng.uniform(0, 100, size=(6, 4, 3)) + [0, 0, 1]
    video = complete.copy()
    video[:, 2, :2] = np.nan
    with pytest.warns(UserWarning, match=r"X\[1\]: joints \[2\] are missing in every frame"):
        out = GapFiller().transform([complete, video])[1]
    np.testing.assert_allclose(out[:, 2, :2], video[:, [0, 1, 3], :2].mean(axis=1))
    np.testing.assert_array_equal(out[:, 2, 2], 0.0)


def test_gap_filler_complete_video_is_unchanged_without_warning(rng):
    video = rng.uniform(0.1, 1, size=(8, 17, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = GapFiller().transform(video)
    np.testing.assert_array_equal(out, video)
    assert not np.shares_memory(out, video)


def test_gap_filler_video_without_any_valid_keypoint_is_an_error():
    video = np.zeros((5, 17, 3))  # all confidences 0
    with pytest.raises(ValueError, match=r"X\[1\] has no valid keypoint"):
        GapFiller().transform([video + 1, video])


@settings(max_examples=30, deadline=None)
@given(
    mask=st.lists(st.lists(st.booleans(), min_size=3, max_size=3), min_size=1, max_size=12),
    seed=st.integers(0, 1000),
)
def test_gap_filler_property_finite_and_valid_kept(mask, seed):
    valid = np.array(mask)
    if not valid.any():
        valid[0, 0] = True
    video = np.random.default_rng(seed).normal(size=(*valid.shape, 2))
    video[~valid] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # joints missing in every frame
        out = GapFiller().transform(video)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[valid], video[valid])
    lo, hi = np.nanmin(video, axis=(0, 1)), np.nanmax(video, axis=(0, 1))
    assert (out >= lo - 1e-12).all() and (out <= hi + 1e-12).all()  # no extrapolation


# -- in pipelines -----------------------------------------------------------------------------


@pytest.fixture
def detections(rng):
    """Pixel keypoints with confidences and missing detections, their 3D poses and subjects."""
    lengths = [30, 24, 40, 18, 26, 33]
    y = [rng.normal(scale=0.2, size=(n, 17, 3)) + [0, 0, 4] for n in lengths]
    X = []
    for pose in y:
        pixels = pose[..., :2] / pose[..., 2:] * 1100 + [W / 2, H / 2]
        conf = rng.uniform(0.3, 1.0, size=(*pixels.shape[:2], 1))
        video = np.concatenate([pixels, conf], axis=2)
        video[rng.random(video.shape[:2]) < 0.1, :2] = np.nan  # lost detections
        video[rng.random(video.shape[:2]) < 0.05, 2] = 0.0  # detector gave up
        X.append(video)
    return X, y, np.array([1, 1, 2, 2, 3, 3])


def test_detections_with_gaps_flow_through_a_pipeline(detections):
    X, y, _ = detections
    assert any(np.isnan(v).any() for v in X)
    with pytest.raises(ValueError, match="NaN"):  # the lifter alone refuses them
        TemporalPoseLifter(**FAST).fit(X, y)
    pipe = make_pipeline(
        GapFiller(), ScreenNormalizer(image_size=(W, H)), TemporalPoseLifter(**FAST)
    )
    pred = pipe.fit(X, y).predict(X)
    assert [p.shape for p in pred] == [p.shape for p in y]
    assert all(np.isfinite(p).all() for p in pred)
    assert pipe[-1].n_channels_in_ == 3
    assert np.isfinite(pipe.score(X, y))


def test_coco_detections_pipeline_with_mapper(rng):
    y = [rng.normal(scale=0.2, size=(20, 17, 3)) + [0, 0, 4] for _ in range(2)]
    X = [rng.uniform(0, W, size=(20, 17, 3)) for _ in y]
    X[0][3:6, 9] = np.nan
    pipe = make_pipeline(
        GapFiller(drop_confidence=True),
        KeypointMapper("coco", "h36m"),
        ScreenNormalizer(image_size=(W, H)),
        TemporalPoseLifter(**FAST),
    )
    pred = pipe.fit(X, y).predict(X[:1])
    assert pred[0].shape == (20, 17, 3) and pipe[-1].n_channels_in_ == 2


def test_grid_search_over_transformer_and_receptive_field(detections):
    X, y, groups = detections
    pipe = Pipeline(
        [
            ("fill", GapFiller()),
            ("norm", ScreenNormalizer(image_size=(W, H))),
            ("lift", TemporalPoseLifter(**FAST)),
        ]
    )
    grid = {"fill__drop_confidence": [False, True], "lift__filter_widths": [(1, 1), (3, 3)]}
    search = GridSearchCV(pipe, grid, cv=GroupKFold(n_splits=2), error_score="raise")
    search.fit(X, y, groups=groups)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 4 and np.isfinite(scores).all() and (scores < 0).all()
    best = search.best_estimator_
    assert best[-1].n_channels_in_ == (2 if search.best_params_["fill__drop_confidence"] else 3)
    assert best[-1].receptive_field_ == np.prod(search.best_params_["lift__filter_widths"])

"""SemiSupervisedLifter: losses, one forward pass, flips, cross-validation safety, bad input."""

import inspect
import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import FunctionTransformer, Pipeline

from skpose3d import Intrinsics, SemiSupervisedLifter, TemporalPoseLifter, UnlabeledVideos
from skpose3d._fit_context import FitContext
from skpose3d.camera import flip_poses, h36m_intrinsics, project
from skpose3d.nn.losses import bone_length_loss
from skpose3d.nn.temporal import TemporalConvNet
from skpose3d.semi_supervised import _SemiSupervisedStep
from skpose3d.skeleton import H36M

from ._data import cmu_views

CAM = h36m_intrinsics("54138969")  # the camera of cmu_views
FAST = dict(
    filter_widths=(3, 3), channels=16, n_epochs=3, batch_size=32, warmup_epochs=1, random_state=0
)
ONE_EPOCH = {**FAST, "n_epochs": 1, "warmup_epochs": 0}  # the epoch uses the unlabeled videos


@pytest.fixture(scope="module")
def data():
    X, y, _ = cmu_views(n_videos=6, max_frames=40)
    return X, y


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    unlabeled = UnlabeledVideos(X[3:], intrinsics=CAM)
    return SemiSupervisedLifter(**FAST).fit(X[:3], y[:3], X2d_unlabeled=unlabeled)


# -- the estimator --------------------------------------------------------------------------


def test_parameters_cover_the_supervised_lifter_and_clone(fitted):
    base = set(inspect.signature(TemporalPoseLifter).parameters) - {"trajectory"}
    params = fitted.get_params()
    assert base <= set(params)
    own = {"projection_weight", "bone_length_weight", "warmup_epochs", "projection"}
    assert own | {"projection_confidence"} <= set(params)
    assert clone(fitted).get_params() == params
    with pytest.raises(ValueError, match="trajectory"):
        clone(fitted).set_params(trajectory=False)


def test_history_records_every_term_with_warm_up_rows_labeled_only(fitted):
    terms = {"loss", "pose", "trajectory", "projection", "bone_length"}
    assert len(fitted.history_) == 3
    assert all(terms <= set(row) for row in fitted.history_)
    warm = fitted.history_[0]
    assert warm["projection"] is None and warm["bone_length"] is None
    for row in fitted.history_[1:]:
        expected = row["pose"] + row["trajectory"] + row["projection"] + row["bone_length"]
        assert row["loss"] == pytest.approx(expected, rel=1e-5)
    assert fitted.n_unlabeled_videos_ == 3


def test_predictions_are_absolute_camera_space_poses(fitted, data):
    X, y = data
    pred = fitted.predict(X[3:])
    assert [p.shape for p in pred] == [t.shape for t in y[3:]]
    depth = np.concatenate([p[:, 0, 2] for p in pred])
    assert np.all(depth > 1.0)  # in front of the camera, metres away; not root-relative zeros
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(X[:1])[0], fitted.predict(X[:1])[0])


def test_weights_enter_the_total_loss(data):
    X, y = data
    lifter = SemiSupervisedLifter(**{**FAST, "warmup_epochs": 0}, projection_weight=2.0)
    lifter.set_params(bone_length_weight=0.0, projection="linear")
    lifter.fit(X[:3], y[:3], X2d_unlabeled=X[3:], intrinsics=CAM)
    row = lifter.history_[0]
    assert row["loss"] == pytest.approx(
        row["pose"] + row["trajectory"] + 2 * row["projection"], rel=1e-5
    )
    assert row["bone_length"] is not None  # still reported


def test_no_unlabeled_video_trains_supervised_with_a_warning(data):
    X, y = data
    with pytest.warns(UserWarning, match="no unlabeled video"):
        lifter = SemiSupervisedLifter(**ONE_EPOCH).fit(X[:2], y[:2])
    assert lifter.trajectory_module_ is not None and lifter.n_unlabeled_videos_ == 0


def test_score_skips_unlabeled_entries(fitted, data):
    X, y = data
    expected = fitted.score(X[:2], y[:2])
    assert fitted.score(X[:3], [y[0], y[1], None]) == pytest.approx(expected)
    with pytest.raises(ValueError, match="no labeled video to score"):
        fitted.score(X[:1], [None])


def test_unlabeled_wrapper_has_no_length():
    wrapper = UnlabeledVideos([np.zeros((5, 17, 2))] * 2, intrinsics=CAM)
    assert not hasattr(wrapper, "__len__") and not hasattr(wrapper, "shape")
    assert wrapper.n_videos == 2 and "2 videos" in repr(wrapper)


# -- one training step, checked against slow references -------------------------------------


def _step_setup(
    causal, rng_value=0.9, in_features=2, projection_confidence=False, bone_length_norm="l1",
    pose_loss="recentred",
):  # fmt: skip
    """A deterministic step (eval mode, no dropout) on exact projections of real poses."""
    torch.manual_seed(0)
    kwargs = dict(filter_widths=(3, 3), channels=16, dropout=0.0, causal=causal)
    pose_net = TemporalConvNet(17, in_features, 17, **kwargs).eval()
    traj_net = TemporalConvNet(17, in_features, 1, **kwargs).eval()
    with torch.no_grad():
        traj_net.shrink.bias.copy_(torch.tensor([0.0, 0.0, 5.0]))  # in front of the camera
    lifter = SimpleNamespace(
        flip_augmentation=True, projection="distorted", projection_weight=1.0,
        bone_length_weight=1.0, projection_confidence=projection_confidence,
        bone_length_norm=bone_length_norm, pose_loss=pose_loss,
    )  # fmt: skip
    rng = SimpleNamespace(random=lambda n: np.full(n, rng_value))  # 0.1 flips all, 0.9 none
    ctx = FitContext(lifter, pose_net, H36M, H36M, torch.device("cpu"), rng, traj_net)
    offset = 8 if causal else 4
    return _SemiSupervisedStep(lifter, ctx, target_offset=offset), pose_net, traj_net


def _clips(data, n=4, rf=9):
    X, y = data
    x = torch.from_numpy(np.stack([X[i][5 : 5 + rf] for i in range(n)]))
    poses = torch.from_numpy(np.stack([y[i][5 : 5 + rf] for i in range(n)]))
    return x, poses


@pytest.mark.parametrize("causal", [False, True])
def test_projection_term_compares_with_the_predicted_frame(data, causal):
    step, pose_net, traj_net = _step_setup(causal)
    x, poses = _clips(data)
    target_frame = 8 if causal else 4  # the frame the output belongs to
    cams = torch.from_numpy(np.tile(CAM.normalized(), (4, 1)).astype(np.float32))
    # Labeled half: the first two clips; unlabeled half: the other two.
    batch = (x[:2], poses[:2, target_frame], x[2:], cams[2:])
    terms = step(batch, epoch=1)
    with torch.no_grad():
        both = torch.cat([x[:2], x[2:]])
        pose = pose_net.forward_strided(both)[:, 0]
        pose = (pose - pose[:, :1]).numpy()
        traj = traj_net.forward_strided(both)[:, 0].numpy()
    absolute = (pose + traj)[2:].astype(np.float64)
    projected = np.stack([project(a, c.numpy(), clamp=True) for a, c in zip(absolute, cams[2:])])
    keypoints = x[2:, target_frame].numpy()
    expected = np.linalg.norm(projected - keypoints, axis=-1).mean()
    assert terms["projection"].item() == pytest.approx(expected, rel=1e-4)
    # Bone lengths: a loop over bones with batch means, compared in absolute value.
    bones = [(j, p) for j, p in enumerate(H36M.parents) if p >= 0]
    lengths = [[np.linalg.norm(q[j] - q[p]) for j, p in bones] for q in pose]
    lab, unl = np.mean(lengths[:2], axis=0), np.mean(lengths[2:], axis=0)
    assert terms["bone_length"].item() == pytest.approx(np.abs(unl - lab).mean(), rel=1e-4)


def test_raw_pose_loss_projects_and_scores_the_raw_prediction(data):
    step, pose_net, traj_net = _step_setup(False, pose_loss="raw")
    with torch.no_grad():  # a root output far from zero: raw and re-centred then differ
        pose_net.shrink.bias[:3] += torch.tensor([0.3, -0.2, 0.5])
    x, poses = _clips(data)
    cams = torch.from_numpy(np.tile(CAM.normalized(), (2, 1)).astype(np.float32))
    y_lab = poses[:2, 4]
    terms = step((x[:2], y_lab, x[2:], cams), epoch=1)
    with torch.no_grad():
        pose = pose_net.forward_strided(x)[:, 0].double().numpy()
        traj = traj_net.forward_strided(x)[:, 0].double().numpy()
    target = (y_lab - y_lab[:, :1]).double().numpy()
    assert terms["pose"].item() == pytest.approx(
        np.linalg.norm(pose[:2] - target, axis=-1).mean(), rel=1e-4
    )
    projected = [project(pose[b] + traj[b], CAM.normalized(), clamp=True) for b in (2, 3)]
    expected = np.mean(
        [np.linalg.norm(projected[b] - x[2 + b, 4].numpy(), axis=-1) for b in (0, 1)]
    )
    assert terms["projection"].item() == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("norm", ["l1", "l2"])
def test_bone_length_norm_combines_mean_length_differences(data, norm):
    step, pose_net, _ = _step_setup(False, bone_length_norm=norm)
    x, poses = _clips(data)
    cams = torch.from_numpy(np.tile(CAM.normalized(), (2, 1)).astype(np.float32))
    terms = step((x[:2], poses[:2, 4], x[2:], cams), epoch=1)
    with torch.no_grad():
        pose = pose_net.forward_strided(x)[:, 0].double().numpy()
    # Slow reference: per bone, the mean length over each half, then |d| or d**2 over bones.
    diffs = []
    for j, p in enumerate(H36M.parents):
        if p < 0:
            continue
        lab = np.mean([np.linalg.norm(pose[b, j] - pose[b, p]) for b in range(2)])
        unl = np.mean([np.linalg.norm(pose[b, j] - pose[b, p]) for b in range(2, 4)])
        diffs.append(unl - lab)
    expected = np.mean(np.abs(diffs)) if norm == "l1" else np.mean(np.square(diffs))
    assert terms["bone_length"].item() == pytest.approx(expected, rel=1e-4)
    if norm == "l2":  # genuinely another term, not the L1 one
        assert expected != pytest.approx(np.mean(np.abs(diffs)), rel=1e-2)


def test_bone_length_norm_is_a_plain_validated_parameter(data):
    X, y = data
    lifter = SemiSupervisedLifter(**ONE_EPOCH, bone_length_norm="l2")
    assert clone(lifter).get_params()["bone_length_norm"] == "l2"
    with pytest.raises(ValueError, match="bone_length_norm"):
        SemiSupervisedLifter(bone_length_norm="l3").fit(X[:2], y[:2], X[2:3], CAM)


@pytest.mark.parametrize("weighted", [False, True])
def test_projection_term_weights_joints_by_confidence_when_asked(data, weighted):
    step, pose_net, traj_net = _step_setup(False, in_features=3, projection_confidence=weighted)
    x, poses = _clips(data)
    confidence = torch.from_numpy(np.random.default_rng(0).uniform(0.2, 1.0, (4, 9, 17, 1)))
    x = torch.cat([x, confidence.float()], dim=-1)
    x[2, 4, 5] = torch.tensor([3.0, -3.0, 0.0])  # a missing joint far off, on the target frame
    cams = torch.from_numpy(np.tile(CAM.normalized(), (2, 1)).astype(np.float32))
    terms = step((x[:2], poses[:2, 4], x[2:], cams), epoch=1)
    with torch.no_grad():
        pose = pose_net.forward_strided(x)[:, 0]
        absolute = (pose - pose[:, :1] + traj_net.forward_strided(x)[:, 0])[2:].double().numpy()
    errors, weights = [], []
    for b in range(2):  # slow reference: a loop over clips and joints
        projected = project(absolute[b], CAM.normalized(), clamp=True)
        for j in range(17):
            errors.append(np.linalg.norm(projected[j] - x[2 + b, 4, j, :2].numpy()))
            weights.append(x[2 + b, 4, j, 2].item() if weighted else 1.0)
    expected = np.dot(errors, weights) / np.sum(weights)
    assert terms["projection"].item() == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("causal, offset", [(False, 4), (True, 8)])
def test_fit_compares_projections_with_the_centre_or_last_frame(data, monkeypatch, causal, offset):
    X, y = data
    seen = []
    original = _SemiSupervisedStep.__init__

    def spy(self, lifter, ctx, target_offset):
        seen.append(target_offset)
        original(self, lifter, ctx, target_offset)

    monkeypatch.setattr(_SemiSupervisedStep, "__init__", spy)
    lifter = SemiSupervisedLifter(**ONE_EPOCH, causal=causal)
    lifter.fit(X[:2], y[:2], X2d_unlabeled=X[2:3], intrinsics=CAM)
    assert seen == [offset]  # receptive field 9: frame 4 of a clip, or its last frame 8


def test_both_halves_go_through_each_network_in_one_forward_pass(data, monkeypatch):
    step, pose_net, traj_net = _step_setup(False)
    x, poses = _clips(data)
    calls = []
    for net in (pose_net, traj_net):
        original = net.forward_strided
        monkeypatch.setattr(
            net, "forward_strided", lambda t, f=original: calls.append(len(t)) or f(t)
        )
    cams = torch.from_numpy(np.tile(CAM.normalized(), (2, 1)).astype(np.float32))
    step((x[:2], poses[:2, 4], x[2:], cams), epoch=1)
    assert calls == [4, 4]  # labeled and unlabeled together: shared BatchNorm statistics


def test_flip_augmentation_mirrors_unlabeled_clips_and_their_cameras(data):
    step, _, _ = _step_setup(False, rng_value=0.1)  # every clip flipped
    x, poses = _clips(data)
    cams = torch.from_numpy(np.tile(CAM.normalized(), (4, 1)).astype(np.float32))
    flipped_x, flipped_cams, which = step._flip_unlabeled(x, cams)
    assert which.all()
    assert not torch.equal(flipped_x, x)
    # The mirrored poses seen through the mirrored cameras give the mirrored keypoints.
    for b in range(4):
        mirrored = flip_poses(poses[b].double(), "h36m").numpy()
        reprojected = project(mirrored, flipped_cams[b].double().numpy())
        np.testing.assert_allclose(reprojected, flipped_x[b].numpy(), atol=1e-5)


def test_bone_length_loss_matches_a_loop():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 17, 3)), rng.normal(size=(3, 17, 3))
    bones = [(j, p) for j, p in enumerate(H36M.parents) if p >= 0]
    mean = lambda q: np.array([np.mean([np.linalg.norm(s[j] - s[p]) for s in q]) for j, p in bones])  # noqa: E731
    expected = np.abs(mean(a) - mean(b)).mean()
    got = bone_length_loss(torch.from_numpy(a), torch.from_numpy(b), H36M.parents)
    assert got.item() == pytest.approx(expected, rel=1e-12)


# -- cross-validation and pipelines ---------------------------------------------------------


class _Recording(SemiSupervisedLifter):
    """Records the lengths (= identities here) of the videos each fit receives."""

    calls: list = []

    def fit(self, X, y, X2d_unlabeled=None, intrinsics=None):
        labeled = sorted(len(x) for x, t in zip(X, y) if t is not None)
        unlabeled = sorted(len(x) for x, t in zip(X, y) if t is None)
        if X2d_unlabeled is not None:
            videos = getattr(X2d_unlabeled, "videos", X2d_unlabeled)
            unlabeled += [len(v) for v in videos]
        _Recording.calls.append((labeled, sorted(unlabeled)))
        return super().fit(X, y, X2d_unlabeled=X2d_unlabeled, intrinsics=intrinsics)


def _identified(data, n_labeled=6, n_unlabeled=3):
    """Videos of distinct lengths, so that a fit's input shows which videos it got."""
    X, y = data
    lengths = 20 + np.arange(n_labeled + n_unlabeled)
    Xs = [X[i % len(X)][:n] for i, n in enumerate(lengths)]
    ys = [y[i % len(y)][:n] for i, n in enumerate(lengths)]
    groups = np.repeat(np.arange(3), n_labeled // 3)
    return Xs[:n_labeled], ys[:n_labeled], groups, Xs[n_labeled:]


def _expected_training_sets(X, groups):
    folds = GroupKFold(n_splits=3).split(X, groups=groups)
    return sorted(sorted(len(X[i]) for i in train) for train, _ in folds)


def test_grid_search_gives_every_fold_all_unlabeled_videos(data):
    X, y, groups, unlabeled = _identified(data)
    _Recording.calls = []
    lifter = _Recording(**ONE_EPOCH)
    search = GridSearchCV(
        Pipeline([("identity", FunctionTransformer()), ("lifter", lifter)]),
        {"lifter__warmup_epochs": [0, 1]},
        cv=GroupKFold(n_splits=3),
        error_score="raise",
    )
    # As many unlabeled videos as labeled ones per fold would not matter here: no len().
    search.fit(
        X, y, groups=groups,
        lifter__X2d_unlabeled=UnlabeledVideos(unlabeled, intrinsics=[CAM] * len(unlabeled)),
    )  # fmt: skip
    all_unlabeled = sorted(len(v) for v in unlabeled)
    assert len(_Recording.calls) == 2 * 3 + 1
    assert all(u == all_unlabeled for _, u in _Recording.calls)
    folds = [labeled for labeled, _ in _Recording.calls[:-1]]
    assert sorted(folds) == sorted(_expected_training_sets(X, groups) * 2)
    assert _Recording.calls[-1][0] == sorted(len(x) for x in X)  # the refit sees everything
    assert np.isfinite(search.best_score_)


def test_plain_unlabeled_list_is_sliced_by_scikit_learn_the_pitfall(data):
    # Why UnlabeledVideos exists: a list as long as X is cut per fold.
    X, y, groups, _ = _identified(data, n_labeled=6, n_unlabeled=6)
    plain = [x.copy() for x in X]
    _Recording.calls = []
    search = GridSearchCV(
        _Recording(**ONE_EPOCH), {"warmup_epochs": [0]},
        cv=GroupKFold(n_splits=3), error_score="raise",
    )  # fmt: skip
    search.fit(X, y, groups=groups, X2d_unlabeled=plain, intrinsics=CAM)
    assert all(len(unlabeled) == 4 for _, unlabeled in _Recording.calls[:-1])


def test_none_targets_mark_unlabeled_videos_in_cross_validation(data):
    X, y, groups, unlabeled = _identified(data)
    X_all = X + unlabeled
    y_all = list(y) + [None] * len(unlabeled)
    groups_all = np.concatenate([groups, np.arange(len(unlabeled))])
    _Recording.calls = []
    search = GridSearchCV(
        _Recording(**ONE_EPOCH), {"warmup_epochs": [0]},
        cv=GroupKFold(n_splits=3), error_score="raise",
    )  # fmt: skip
    search.fit(X_all, y_all, groups=groups_all, intrinsics=CAM)
    for (train, _), (labeled, unlabeled_seen) in zip(
        GroupKFold(n_splits=3).split(X_all, groups=groups_all), _Recording.calls
    ):
        assert labeled == sorted(len(X_all[i]) for i in train if y_all[i] is not None)
        assert unlabeled_seen == sorted(len(X_all[i]) for i in train if y_all[i] is None)
    assert np.isfinite(search.best_score_)  # score() skipped the unlabeled test videos


# -- bad input: a clear error and a fitted lifter left as it was -----------------------------


def _bad(data, case):
    X, y = data
    lab, unl = X[:3], X[3:]
    mutated = Intrinsics(1000.0, 1000.0, 500.0, 500.0, width=1000, height=1002)
    object.__setattr__(mutated, "fx", -1.0)  # bypassing Intrinsics' own check
    cases = {
        "no camera": (dict(X2d_unlabeled=unl), "has no camera"),
        "no camera for None entries": (
            dict(y=[y[0], y[1], None], X2d_unlabeled=UnlabeledVideos(unl, intrinsics=CAM)),
            r"X\[2\] has no camera",
        ),
        "camera count": (
            dict(X2d_unlabeled=unl, intrinsics=[CAM, CAM]),
            "has 2 entries but there are 3 unlabeled videos",
        ),
        "wrapper camera count": (
            dict(X2d_unlabeled=UnlabeledVideos(unl, intrinsics=[CAM] * 2)),
            r"X2d_unlabeled.intrinsics has 2 entries",
        ),
        "raw vector": (dict(X2d_unlabeled=unl, intrinsics=CAM.to_vector()), "must be Intrinsics"),
        "focal length": (dict(X2d_unlabeled=unl, intrinsics=mutated), "focal lengths"),
        "image size": (
            dict(
                X2d_unlabeled=unl, intrinsics=h36m_intrinsics("55011271"), image_size=(1000, 1002)
            ),
            "is for a 1000x1000 image but the lifter's image_size is 1000x1002",
        ),
        "joints": (
            dict(X2d_unlabeled=[u[:, :16] for u in unl], intrinsics=CAM),
            r"X2d_unlabeled\[0\] has 16 joints",
        ),
        "channels": (
            dict(X2d_unlabeled=[np.concatenate([u, u[..., :1]], -1) for u in unl], intrinsics=CAM),
            "X2d_unlabeled has 3 channels per joint but X has 2",
        ),
        "no labels": (dict(y=[None, None, None], intrinsics=CAM), "y has no labeled video"),
        "root depth": (
            dict(y=[y[0], y[1], y[2] * [1, 1, -1]], X2d_unlabeled=unl, intrinsics=CAM),
            r"y\[2\] has its root joint \(joint 0\) at z = -.* at frame 0",
        ),
        "skeletons": (
            dict(X2d_unlabeled=unl, intrinsics=CAM, output_skeleton="mpii"),
            "output_skeleton == input_skeleton",
        ),
    }
    kwargs, message = cases[case]
    params = {k: kwargs.pop(k) for k in ("image_size", "output_skeleton") if k in kwargs}
    return lab, kwargs.pop("y", y[:3]), kwargs, params, message


@pytest.mark.parametrize(
    "case",
    ["no camera", "no camera for None entries", "camera count", "wrapper camera count",
     "raw vector", "focal length", "image size", "joints", "channels", "no labels",
     "root depth", "skeletons"],
)  # fmt: skip
def test_bad_input_raises_clearly_and_leaves_the_lifter_unchanged(data, fitted, case):
    X, y, kwargs, params, message = _bad(data, case)
    lifter = pickle.loads(pickle.dumps(fitted)).set_params(**params)
    state = {k: v.clone() for k, v in lifter.module_.state_dict().items()}
    history = lifter.history_
    with pytest.raises((ValueError, TypeError), match=message):
        lifter.fit(X, y, **kwargs)
    assert lifter.history_ is history
    for key, value in lifter.module_.state_dict().items():
        assert torch.equal(value, state[key])


def test_non_positive_focal_length_is_rejected_by_intrinsics():
    with pytest.raises(ValueError, match=r"Intrinsics.fx must be finite and > 0"):
        Intrinsics.from_vector([0.0, 1000, 500, 500, 0, 0, 0, 0, 0], 1000, 1000)


def test_third_fit_argument_is_x2d_unlabeled_and_the_old_name_still_works(data):
    X, y = data
    params = inspect.signature(SemiSupervisedLifter.fit).parameters
    assert list(params)[:5] == ["self", "X", "y", "X2d_unlabeled", "intrinsics"]
    assert list(inspect.signature(TemporalPoseLifter.fit).parameters)[3] == "X2d_unlabeled"
    fast = ONE_EPOCH
    new = SemiSupervisedLifter(**fast).fit(X[:2], y[:2], X2d_unlabeled=X[2:3], intrinsics=CAM)
    with pytest.warns(FutureWarning, match="X_unlabeled was renamed X2d_unlabeled"):
        old = SemiSupervisedLifter(**fast).fit(X[:2], y[:2], X_unlabeled=X[2:3], intrinsics=CAM)
    np.testing.assert_array_equal(new.predict(X[:1])[0], old.predict(X[:1])[0])
    with pytest.raises(TypeError, match="both X2d_unlabeled and X_unlabeled"):
        SemiSupervisedLifter(**fast).fit(X[:2], y[:2], X[2:3], CAM, X_unlabeled=X[2:3])


def test_pixel_unlabeled_videos_behind_a_screen_normalizer_warn(data):
    from skpose3d.preprocessing import ScreenNormalizer

    X, y = data
    pixels = [x * 500 + 500 for x in X]  # cmu_views' camera: 1000 pixels wide
    pipe = Pipeline(
        [("norm", ScreenNormalizer(image_size=(1000, 1000))),
         ("lifter", SemiSupervisedLifter(**ONE_EPOCH))]
    )  # fmt: skip
    with pytest.warns(UserWarning, match=r"X2d_unlabeled\[0\] has 2D keypoints up to"):
        pipe.fit(pixels[:2], y[:2], lifter__X2d_unlabeled=pixels[2:3], lifter__intrinsics=CAM)


def test_precise_bn_reestimates_on_the_labeled_and_unlabeled_mixture(data):
    from .test_lifters import first_bn_input_rows

    X, y = data  # six 40-frame videos: 80 labeled frames, 80 unlabeled ones
    params = dict(**FAST, flip_augmentation=False)
    lifter = SemiSupervisedLifter(**params).fit(X[:2], y[:2], X2d_unlabeled=X[2:4], intrinsics=CAM)
    bn = lifter.module_.expand_bn
    # One epoch of 3 batches, each 32 labeled + 32 unlabeled clips: every frame once.
    assert int(bn.num_batches_tracked) == 3
    rows = first_bn_input_rows(lifter.module_, X[:4])
    labeled_only = first_bn_input_rows(lifter.module_, X[:2])
    np.testing.assert_allclose(bn.running_var.numpy(), rows.var(axis=0), rtol=0.15)
    mean_error = np.abs(bn.running_mean.numpy() - rows.mean(axis=0)).max()
    assert mean_error < 0.3 * np.abs(bn.running_mean.numpy() - labeled_only.mean(axis=0)).max()


def test_new_parameters_survive_a_model_file(data, tmp_path):
    X, y = data
    params = {**ONE_EPOCH, "bone_length_norm": "l2", "precise_bn": False, "n_jobs": 1}
    lifter = SemiSupervisedLifter(**params).fit(X[:2], y[:2], X2d_unlabeled=X[2:3], intrinsics=CAM)
    loaded = SemiSupervisedLifter.load(lifter.save(tmp_path / "semi.skpose3d"))
    assert loaded.get_params() == lifter.get_params()
    np.testing.assert_array_equal(loaded.predict(X[:1])[0], lifter.predict(X[:1])[0])


def test_auto_warm_up_lasts_at_least_warmup_steps_labeled_only_steps(data):
    from skpose3d.semi_supervised import WARMUP_STEPS

    X, y = data  # 3 labeled videos x 40 frames = 120 clips: 15 steps of 8 per epoch
    params = {**FAST, "batch_size": 8, "n_epochs": 16, "warmup_epochs": "auto", "precise_bn": False}
    lifter = SemiSupervisedLifter(**params).fit(X[:3], y[:3], X2d_unlabeled=X[3:], intrinsics=CAM)
    expected = -(-WARMUP_STEPS // 15)  # 14 epochs: 210 steps
    assert lifter.warmup_epochs_ == expected
    labeled_only = [row["projection"] is None for row in lifter.history_]
    assert labeled_only == [True] * expected + [False] * (16 - expected)
    explicit = SemiSupervisedLifter(**{**params, "warmup_epochs": 3, "n_epochs": 4})
    assert explicit.fit(X[:3], y[:3], X2d_unlabeled=X[3:], intrinsics=CAM).warmup_epochs_ == 3


def test_a_warm_up_filling_the_schedule_warns_that_unlabeled_videos_go_unused(data):
    X, y = data
    lifter = SemiSupervisedLifter(**{**FAST, "warmup_epochs": "auto"})  # 4 steps per epoch
    with pytest.warns(UserWarning, match="unlabeled videos are not used"):
        lifter.fit(X[:3], y[:3], X2d_unlabeled=X[3:], intrinsics=CAM)
    assert lifter.warmup_epochs_ == FAST["n_epochs"]
    assert all(row["projection"] is None for row in lifter.history_)

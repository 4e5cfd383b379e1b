"""Multi-view consistency (beyond the paper): the term, the synchronised draws, the option."""

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, KFold

from skpose3d import SemiSupervisedLifter, UnlabeledVideos
from skpose3d._multi_view import SynchronisedFrames, frame_views
from skpose3d.camera import flip_keypoints, normalize_screen_coordinates
from skpose3d.datasets import load_cmu_mocap, make_views
from skpose3d.nn.losses import multi_view_loss
from skpose3d.skeleton import H36M

from ._data import rotation
from .test_semi_supervised import _step_setup

FAST = dict(filter_widths=(3, 3), channels=16, n_epochs=2, batch_size=32, warmup_epochs=1)


@pytest.fixture(scope="module")
def views():
    """Two stretches of a CMU clip of subject 3, each filmed by the four Human3.6M cameras."""
    (clip,) = load_cmu_mocap(subjects=[3]).videos
    out = make_views([clip[:60], clip[100:160]], noise=False, random_state=0)
    out.X = [
        normalize_screen_coordinates(k, c.width, c.height).astype(np.float32)
        for k, c in zip(out.keypoints, out.intrinsics)
    ]
    return out


def _unlabeled(views, **changes):
    kwargs = dict(intrinsics=list(views.intrinsics), rotations=views.rotations,
                  recordings=views.video_ids)  # fmt: skip
    return UnlabeledVideos(views.X, **{**kwargs, **changes})


# -- the term ---------------------------------------------------------------------------------


def test_multi_view_loss_is_each_views_distance_to_the_groups_world_frame_mean():
    rng = np.random.default_rng(0)
    world = rng.normal(size=(3, 5, 3))  # three bodies in the world frame
    rotations = [rotation(a) for a in (0.0, 0.8, -1.4, 2.0, 0.3, 1.1)]
    groups = [0, 0, 0, 1, 1, 2]  # three views of body 0, two of body 1, one of body 2
    noise = rng.normal(scale=0.05, size=(6, 5, 3))
    cams = np.stack([(world[g] + e) @ r.T for g, e, r in zip(groups, noise, rotations)])
    got = multi_view_loss(torch.tensor(cams), torch.tensor(np.stack(rotations)),
                          torch.tensor(groups))  # fmt: skip
    # Slow reference: back into the world (R^T x) joint by joint, then the mean of each group.
    back = [[r.T @ joint for joint in pose] for pose, r in zip(cams, rotations)]
    distances = []
    for b, g in enumerate(groups):
        members = [back[m] for m in range(6) if groups[m] == g]
        for j in range(5):
            mean = np.mean([m[j] for m in members], axis=0)
            distances.append(np.linalg.norm(back[b][j] - mean))
    assert float(got) == pytest.approx(np.mean(distances), rel=1e-10)
    assert distances[-5:] == [0.0] * 5  # the one-view group adds nothing
    # Agreeing views cost nothing; a world frame turned by a shared rotation changes nothing.
    exact = np.stack([world[g] @ r.T for g, r in zip(groups, rotations)])
    zero = multi_view_loss(torch.tensor(exact), torch.tensor(np.stack(rotations)),
                           torch.tensor(groups))  # fmt: skip
    assert float(zero) == pytest.approx(0.0, abs=1e-12)
    turned = torch.tensor(np.stack([r @ rotation(0.5, (0, 0, 1)) for r in rotations]))
    turned_cams = np.stack([(world[g] + e) @ r.T for g, e, r in zip(groups, noise, turned.numpy())])
    again = multi_view_loss(torch.tensor(turned_cams), turned, torch.tensor(groups))
    assert float(again) == pytest.approx(float(got), rel=1e-10)


def test_make_views_rotations_take_every_view_back_to_one_world_pose(views):
    for vid in (0, 1):
        members = np.flatnonzero(views.video_ids == vid)
        back = [(views.poses_3d[m] - views.poses_3d[m][:, :1]) @ views.rotations[m]
                for m in members]  # fmt: skip
        for other in back[1:]:
            np.testing.assert_allclose(other, back[0], atol=1e-5)
        assert np.abs(back[0] - back[0][:, :1]).max() > 0.1  # a body, not a point


# -- the synchronised draws -------------------------------------------------------------------


def test_synchronised_draws_are_one_instant_of_a_recording_in_every_view():
    lengths = np.array([30, 30, 30, 12, 7, 7])  # 3 views of A, 1 of B, 2 of C (C interleaved)
    recording = np.array([0, 0, 0, 1, 2, 2])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    stream = SynchronisedFrames(lengths, recording, np.random.default_rng(0))
    counts = np.zeros(3)
    for _ in range(300):
        frames = stream.take(10)
        assert len(frames) >= 10
        video = np.searchsorted(starts, frames, side="right") - 1
        t = frames - starts[video]
        assert (t < lengths[video]).all()
        _, instants = frame_views(lengths, np.tile(np.eye(3), (6, 1, 1)), recording)
        for key in np.unique(instants[frames]):  # every drawn instant comes in all its views
            group = video[instants[frames] == key]
            r = recording[group[0]]
            members = list(np.flatnonzero(recording == r))
            # (an instant drawn twice in one take comes twice in all its views)
            assert sorted(set(group)) == members and len(group) % len(members) == 0
            assert len(set(t[instants[frames] == key])) == 1
            counts[r] += len(group) / len(members)
    # recordings drawn in proportion to their length: 30 : 12 : 7
    np.testing.assert_allclose(counts / counts.sum(), np.array([30, 12, 7]) / 49, atol=0.03)


# -- one step ---------------------------------------------------------------------------------


@pytest.mark.parametrize("flip", [False, True])
def test_step_adds_the_weighted_spread_of_the_views_mirrored_back(views, flip):
    # rng 0.1 mirrors every clip, 0.9 none (mirrored back before the views are compared)
    step, pose_net, _ = _step_setup(False, rng_value=0.1 if flip else 0.9)
    step.lifter.multi_view_weight = 0.5
    # labeled: view 0 of clip 1; unlabeled: clip 0 at frame 10 in views 0-3, clip 1 in views 4, 5
    x = torch.from_numpy(np.stack([views.X[m][6:15] for m in (4, 0, 1, 2, 3, 4, 5)]))
    y = torch.from_numpy(views.poses_3d[4][10:11].astype(np.float32))
    cams = torch.from_numpy(
        np.stack([c.normalized() for c in views.intrinsics[:6]]).astype(np.float32)
    )
    rotations = torch.from_numpy(np.stack(views.rotations[:6]).astype(np.float32))
    instants = torch.tensor([7, 7, 7, 7, 3, 3])
    terms = step((x[:1], y, x[1:], cams, rotations, instants), epoch=1)
    plain = step((x[:1], y, x[1:], cams), epoch=1)
    assert "multi_view" not in plain
    terms = {k: float(v.detach()) for k, v in terms.items()}
    assert terms["loss"] - float(plain["loss"].detach()) == pytest.approx(
        0.5 * terms["multi_view"], rel=1e-5
    )
    # Slow reference: the network's pose of each (mirrored) input, mirrored back, re-centred,
    # taken into the world frame and compared with its group's mean.
    x_unl = flip_keypoints(x[1:], H36M) if flip else x[1:]
    with torch.no_grad():
        pose = pose_net.forward_strided(torch.cat([x[:1], x_unl]))[1:, 0].double().numpy()
    world = []
    for p, r in zip(pose, views.rotations[:6]):
        p = (p * [-1.0, 1.0, 1.0])[H36M.flip_permutation] if flip else p
        world.append((p - p[:1]) @ r.astype(np.float32).astype(np.float64))
    world = np.array(world)
    means = [world[:4].mean(0)] * 4 + [world[4:].mean(0)] * 2
    expected = np.mean([np.linalg.norm(w - m, axis=-1) for w, m in zip(world, means)])
    assert terms["multi_view"] == pytest.approx(expected, rel=1e-4)


# -- the estimator ----------------------------------------------------------------------------


def test_default_weight_ignores_the_views_and_trains_as_the_paper(views):
    X, y = views.X[:4], views.poses_3d[:4]
    given = SemiSupervisedLifter(**FAST, random_state=0)
    given.fit(X, y, X2d_unlabeled=_unlabeled(views))  # rotations and recordings unused at 0
    again = SemiSupervisedLifter(**FAST, random_state=0)
    again.fit(X, y, X2d_unlabeled=UnlabeledVideos(views.X, list(views.intrinsics)))
    assert [h["loss"] for h in given.history_] == [h["loss"] for h in again.history_]
    assert all(h["multi_view"] is None for h in given.history_)


def test_weighted_term_is_trained_and_recorded(views):
    X, y = views.X[:4], views.poses_3d[:4]
    lifter = SemiSupervisedLifter(**FAST, random_state=0, multi_view_weight=0.1)
    lifter.fit(X, y, X2d_unlabeled=_unlabeled(views))
    assert lifter.history_[0]["multi_view"] is None  # warm-up
    assert lifter.history_[1]["multi_view"] > 0
    off = SemiSupervisedLifter(**FAST, random_state=0).fit(X, y, X2d_unlabeled=_unlabeled(views))
    assert lifter.history_[1]["loss"] != off.history_[1]["loss"]


@pytest.mark.parametrize(
    "changes, error, match",
    [
        (dict(rotations=None), ValueError, r"needs synchronised views.*rotations=\.\.\."),
        (dict(recordings=None), ValueError, "needs synchronised views"),
        (dict(recordings=[0, 1]), ValueError, "recordings has 2 entries but there are 8"),
        (dict(rotations=np.zeros((8, 3))), ValueError, r"shape \(8, 3, 3\)"),
        (dict(recordings=list(range(8))), ValueError, "no recording .* more than one view"),
        (dict(recordings=[[0]] * 8), TypeError, r"recordings\[0\] is \[0\]: .* hashable"),
    ],
)
def test_bad_views_are_named_and_leave_a_fitted_lifter_as_it_was(views, changes, error, match):
    X, y = views.X[:4], views.poses_3d[:4]
    lifter = SemiSupervisedLifter(**FAST, random_state=0, multi_view_weight=0.1)
    lifter.fit(X, y, X2d_unlabeled=_unlabeled(views))
    before = lifter.predict(X[:1])[0].copy()
    with pytest.raises(error, match=match):
        lifter.fit(X, y, X2d_unlabeled=_unlabeled(views, **changes))
    np.testing.assert_array_equal(lifter.predict(X[:1])[0], before)


def test_a_rotation_that_is_not_one_and_views_of_unequal_length_are_named(views):
    X, y = views.X[:4], views.poses_3d[:4]
    lifter = SemiSupervisedLifter(**FAST, multi_view_weight=0.1)
    bad = list(views.rotations)
    bad[5] = 2 * bad[5]
    with pytest.raises(ValueError, match=r"rotations\[5\] is not a rotation matrix"):
        lifter.fit(X, y, X2d_unlabeled=_unlabeled(views, rotations=bad))
    short = list(views.X)
    short[6] = short[6][:-1]
    with pytest.raises(ValueError, match=r"X2d_unlabeled\[6\] has 59 frames but .*\[4\]"):
        lifter.fit(X, y, X2d_unlabeled=UnlabeledVideos(
            short, list(views.intrinsics), rotations=views.rotations, recordings=views.video_ids
        ))  # fmt: skip
    with pytest.raises(ValueError, match="needs synchronised views"):
        lifter.fit(X, y, X2d_unlabeled=views.X, intrinsics=list(views.intrinsics))


def test_grid_search_over_the_weight_passes_the_views_to_every_fold(views):
    X, y = views.X[:4], views.poses_3d[:4]
    search = GridSearchCV(SemiSupervisedLifter(**FAST, random_state=0),
                          {"multi_view_weight": [0.0, 0.1]}, cv=KFold(2))  # fmt: skip
    search.fit(X, y, X2d_unlabeled=_unlabeled(views))
    assert search.cv_results_["mean_test_score"].shape == (2,)
    assert search.best_estimator_.n_unlabeled_videos_ == 8
    assert repr(_unlabeled(views)).endswith("with recordings)")

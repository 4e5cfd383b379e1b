"""TemporalPoseLifter(trajectory=True): absolute camera-space predictions from a trajectory net."""

import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from skpose3d import TemporalPoseLifter
from skpose3d._fit_context import FitContext
from skpose3d.camera import flip_keypoints, flip_poses, h36m_intrinsics, project
from skpose3d.camera import normalize_screen_coordinates as normalise

from ._data import cmu_views

FAST = dict(
    filter_widths=(3, 3), channels=32, n_epochs=15, batch_size=32, learning_rate=3e-3,
    random_state=0,
)  # fmt: skip


def _walks(n_videos, n_frames=40, seed=0):
    """A real walking pose moved along straight lines in camera space: a known trajectory."""
    _, poses, _ = cmu_views(n_videos=1, max_frames=n_frames)
    relative = poses[0] - poses[0][:, :1]
    cam = h36m_intrinsics("55011271")
    rng = np.random.default_rng(seed)
    X, y = [], []
    for _ in range(n_videos):
        start = [rng.uniform(-1, 1), rng.uniform(-0.3, 0.3), rng.uniform(3.5, 7)]
        velocity = [rng.uniform(-1, 1), 0.0, rng.uniform(-1.5, 1.5)]
        t = np.linspace(0, 1, n_frames)[:, None, None]
        pose = relative + np.asarray(start) + t * np.asarray(velocity)
        X.append(normalise(project(pose, cam), cam.width, cam.height).astype(np.float32))
        y.append(pose.astype(np.float32))
    return X, y


@pytest.fixture(scope="module")
def walks():
    return _walks(10, seed=0), _walks(3, seed=1)


@pytest.fixture(scope="module")
def fitted(walks):
    (X, y), _ = walks
    return TemporalPoseLifter(trajectory=True, **FAST).fit(X, y)


def test_absolute_predictions_follow_a_known_trajectory(walks, fitted):
    (_, y), (X_test, y_test) = walks
    pred = fitted.predict(X_test)
    mean_root = np.concatenate(y)[:, 0].mean(axis=0)
    root_error = np.mean(
        [np.linalg.norm(p[:, 0] - t[:, 0], axis=-1).mean() for p, t in zip(pred, y_test)]
    )
    guess_error = np.mean([np.linalg.norm(t[:, 0] - mean_root, axis=-1).mean() for t in y_test])
    assert guess_error > 1.0  # the test walks are metres away from the training average
    assert root_error < 0.2 * guess_error
    # The whole pose is absolute: every joint, not only the root, lands near the truth.
    joint_error = np.mean([np.linalg.norm(p - t, axis=-1).mean() for p, t in zip(pred, y_test)])
    assert joint_error < 0.3 * guess_error
    # Following the walk: depth grows or shrinks as the truth does.
    for p, t in zip(pred, y_test):
        assert np.corrcoef(p[:, 0, 2], t[:, 0, 2])[0, 1] > 0.8


def test_default_stays_root_relative_without_a_trajectory_network(walks):
    (X, y), _ = walks
    lifter = TemporalPoseLifter(**{**FAST, "n_epochs": 1}).fit(X, y)
    assert lifter.trajectory_module_ is None
    assert set(lifter.history_[0]) == {"epoch", "lr", "loss", "val_mpjpe", "seconds"}
    np.testing.assert_array_equal(lifter.predict(X[:1])[0][:, 0], 0)


def test_history_records_pose_and_trajectory_terms(fitted):
    row = fitted.history_[-1]
    assert row["loss"] == pytest.approx(row["pose"] + row["trajectory"], rel=1e-5)
    assert fitted.history_[-1]["trajectory"] < fitted.history_[0]["trajectory"]
    assert fitted.trajectory_module_.n_joints_out == 1
    assert fitted.trajectory_module_ is not fitted.module_


def test_test_time_flip_makes_predictions_mirror_equivariant(walks, fitted):
    # (f(x) + M f(Mx)) / 2 is exactly equivariant; a wrong un-mirroring of the root breaks it.
    (X, _), _ = walks
    pred = fitted.predict(X[:2])
    mirrored = fitted.predict([flip_keypoints(x, "h36m") for x in X[:2]])
    for p, m in zip(pred, mirrored):
        np.testing.assert_allclose(flip_poses(p, "h36m"), m, atol=1e-5)


def test_trajectory_term_is_wmpjpe_weighted_by_inverse_root_depth(walks, fitted):
    (X, y), _ = walks
    ctx = FitContext(
        SimpleNamespace(flip_augmentation=False, pose_loss="raw"), fitted.module_,
        fitted.input_skeleton_, fitted.output_skeleton_, torch.device("cpu"),
        np.random.default_rng(0), fitted.trajectory_module_,
    )  # fmt: skip
    rf = fitted.receptive_field_
    x = torch.from_numpy(np.stack([X[i][:rf] for i in range(4)]))
    target = torch.from_numpy(np.stack([y[i][rf // 2] for i in range(4)]))
    terms = ctx.supervised_step((x, target), 0)
    root = fitted.trajectory_module_.forward_strided(x)[:, 0, 0].detach().numpy()
    truth = target[:, 0].numpy()
    weights = 1 / truth[:, 2]
    expected = (weights * np.linalg.norm(root - truth, axis=-1)).sum() / weights.sum()
    assert terms["trajectory"].item() == pytest.approx(expected, rel=1e-5)


def test_pickle_round_trip_keeps_the_trajectory(fitted, walks):
    (X, _), _ = walks
    clone = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(clone.predict(X[:1])[0], fitted.predict(X[:1])[0])
    assert clone.trajectory_module_ is not None


def test_warm_start_continues_the_trajectory_network(walks, fitted, monkeypatch):
    (X, y), _ = walks
    lifter = pickle.loads(pickle.dumps(fitted)).set_params(warm_start=True, n_epochs=1)
    starts = []
    original = FitContext.supervised_step

    def spy(self, batch, epoch):  # the weights the first step of the new fit starts from
        if not starts:
            starts.append([p.detach().clone() for p in self.networks.parameters()])
        return original(self, batch, epoch)

    monkeypatch.setattr(FitContext, "supervised_step", spy)
    lifter.fit(X, y)
    fitted_params = [*fitted.module_.parameters(), *fitted.trajectory_module_.parameters()]
    assert len(starts[0]) == len(fitted_params)
    for start, old in zip(starts[0], fitted_params):
        assert torch.equal(start, old)  # exactly the fitted weights, pose and trajectory
    after = lifter.trajectory_module_.shrink.weight.detach()
    assert not torch.equal(after, fitted.trajectory_module_.shrink.weight)  # and it trained


@pytest.mark.parametrize("depth", [0.0, -1.5])
def test_root_at_or_behind_the_camera_is_rejected(walks, fitted, depth):
    (X, y), _ = walks
    y = [t.copy() for t in y]
    y[2][7, 0, 2] = depth
    weights = fitted.module_.shrink.weight.detach().clone()
    with pytest.raises(
        ValueError, match=r"y\[2\] has its root joint \(joint 0\) at z = .* at frame 7"
    ):
        TemporalPoseLifter(trajectory=True, **FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"y\[2\]"):
        fitted.fit(X, y)
    assert torch.equal(fitted.module_.shrink.weight, weights)  # nothing half-fitted
    # Root-relative training does not need depths.
    TemporalPoseLifter(**{**FAST, "n_epochs": 1}).fit(X, y)


H36M_TO_MPII = [3, 2, 1, 4, 5, 6, 0, 8, 9, 10, 16, 15, 14, 11, 12, 13]


def test_mpii_trajectory_follows_the_pelvis_not_joint_0(walks):
    from skpose3d._prediction import predict_trajectories

    (X, y), (X_test, y_test) = walks
    mpii = [[v[:, H36M_TO_MPII] for v in vs] for vs in (X, y, X_test, y_test)]
    lifter = TemporalPoseLifter(trajectory=True, input_skeleton="mpii", **FAST).fit(*mpii[:2])
    pred = lifter.predict(mpii[2])
    roots = predict_trajectories(lifter, mpii[2])
    for p, root, truth in zip(pred, roots, mpii[3]):
        np.testing.assert_allclose(p[:, 6], root[:, 0], atol=1e-6)  # the pose is zero at 6
        to_pelvis = np.linalg.norm(root[:, 0] - truth[:, 6], axis=-1).mean()
        to_ankle = np.linalg.norm(root[:, 0] - truth[:, 0], axis=-1).mean()
        assert to_pelvis < 0.5 * to_ankle  # the ankle is ~0.9 m from the pelvis

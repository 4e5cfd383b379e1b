"""The issue-10 benchmark's pieces: the paper's label subset and the ablation probes' steps."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from skpose3d._fit_context import FitContext
from skpose3d.camera import flip_intrinsics, flip_keypoints, h36m_intrinsics
from skpose3d.nn.projection import ProjectionLayer
from skpose3d.nn.temporal import TemporalConvNet
from skpose3d.semi_supervised import _SemiSupervisedStep
from skpose3d.skeleton import H36M

from ._data import cmu_views, rotation

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
probes = pytest.importorskip("_semi_probes")
paper = pytest.importorskip("semi_supervised_paper")
protocol = pytest.importorskip("_protocol")

CAM = h36m_intrinsics("54138969")  # the camera of cmu_views


def test_label_chunks_are_one_contiguous_fraction_of_each_video():
    rng = np.random.default_rng(0)
    lengths = [50, 7, 101, 3]
    views = SimpleNamespace(
        X=[rng.normal(size=(n, 17, 2)) for n in lengths],
        poses_3d=[rng.normal(size=(n, 17, 3)) for n in lengths],
    )
    X, y = paper.label_chunks(views, 0.1, seed=4)
    assert [len(x) for x in X] == [5, 1, 10, 1]
    starts = set()
    for x, pose, full_x, full_y in zip(X, y, views.X, views.poses_3d):
        start = int(np.flatnonzero(full_x[:, 0, 0] == x[0, 0, 0])[0])
        np.testing.assert_array_equal(x, full_x[start : start + len(x)])
        np.testing.assert_array_equal(pose, full_y[start : start + len(x)])  # aligned
        starts.add(start)
    assert len(starts) > 1  # chunk starts are drawn, not all at frame 0
    again, _ = paper.label_chunks(views, 0.1, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(X, again))  # seeded


def test_fewer_labels_keep_the_recipes_steps_warm_up_steps_and_total_decay():
    recipe = paper.SCHEDULES["recipe"]
    assert paper.stretch(paper.LABEL_FRACTION) == 1.0
    assert paper.scaled(recipe, 1.0) == recipe  # the recipe itself unchanged
    for fraction in (0.025, 0.05):
        k = paper.stretch(fraction)
        assert k == pytest.approx(paper.LABEL_FRACTION / fraction)  # k times fewer batches
        out = paper.scaled(recipe, k)
        assert out["n_epochs"] == pytest.approx(recipe["n_epochs"] * k)
        assert out["warmup_epochs"] == pytest.approx(recipe["warmup_epochs"] * k)
        assert out["lr_decay"] ** out["n_epochs"] == pytest.approx(
            recipe["lr_decay"] ** recipe["n_epochs"]
        )
        assert out["batch_size"] == recipe["batch_size"]
    assert paper.scaled({**recipe, "warmup_epochs": "auto"}, 4.0)["warmup_epochs"] == "auto"
    sup = paper.make_lifter("supervised", 0, quick=False, k=4.0)
    semi = paper.make_lifter("warm-up 1 epoch", 0, quick=False, k=4.0)
    assert (sup.n_epochs, semi.n_epochs, semi.warmup_epochs) == (800, 800, 4)  # row changes too
    assert sup.lr_decay == semi.lr_decay == pytest.approx(0.98**0.25)


def test_another_labeled_subject_is_stretched_by_its_frames(monkeypatch):
    frames = {1: 24_567, 2: 6_411}  # the large set's subjects 1 and 2
    monkeypatch.setattr(paper, "subject_frames", lambda s: sum(frames[i] for i in s))
    # 4x the frames of subject 2: a quarter of the fraction gives the recipe's labels and steps
    fraction = paper.LABEL_FRACTION * 6_411 / 24_567
    assert paper.stretch(fraction, (1,)) == pytest.approx(1.0)
    assert paper.stretch(paper.LABEL_FRACTION, (1,)) == pytest.approx(6_411 / 24_567)
    assert paper.stretch(paper.LABEL_FRACTION, (1, 2)) == pytest.approx(6_411 / 30_978)


def test_label_fraction_run_reports_its_labels_and_refuses_to_merge_another(tmp_path, monkeypatch):
    def bundled(quick, noise=True, protocol=paper.PROTOCOL):
        X, y, _ = cmu_views(n_videos=4, max_frames=60)
        views = SimpleNamespace(X=X, poses_3d=y, intrinsics=[CAM] * len(X))
        lab_X, lab_y = paper.label_chunks(views, protocol["label_fraction"], seed=0)
        return dict(X=lab_X, y=lab_y, unlabeled=views, test=views, held_out=views)

    monkeypatch.setattr(paper, "load", bundled)
    out = tmp_path / "semi"
    args = ["--quick", "--jobs", "1", "--output", str(out), "--rows", "supervised"]
    report = paper.main([*args, "--label-fraction", "0.25"])
    assert report["label_fraction"] == 0.25
    assert report["data"]["labeled_frames"] == 4 * 15  # a quarter of each 60-frame view
    assert report["results"][0]["schedule"]["n_epochs"] == round(3 * 0.1 / 0.25)
    assert "Labels: 25.0% of" in out.with_suffix(".md").read_text()
    with pytest.raises(SystemExit):  # rows of 10% labels would be mixed into a 25% table
        paper.main([*args, "--update"])
    monkeypatch.setattr(paper, "subject_frames", lambda s: 100)
    with pytest.raises(SystemExit):  # nor rows of another labeled subject
        paper.main([*args, "--update", "--label-fraction", "0.25", "--labeled-subjects", "1"])
    with pytest.raises(SystemExit):  # nor rows of other unlabeled videos
        paper.main([*args, "--update", "--label-fraction", "0.25", "--unlabeled-subjects", "7"])
    oracle = "oracle: unlabeled videos' 3D as labels"
    here = paper.machine()
    monkeypatch.setattr(paper, "machine", lambda: {**here, "cpu": "Another CPU"})
    report = paper.main([*args, "--update", "--label-fraction", "0.25", "--rows", oracle])
    # the merged table names both machines its rows ran on
    assert report["machine"]["cpu"] == f"{here['cpu']} + Another CPU"
    assert f"Machine: {here['cpu']} + Another CPU," in out.with_suffix(".md").read_text()
    rows = {r["row"]: r for r in report["results"]}
    assert set(rows) == {"supervised", oracle}
    assert report["data"]["labeled_frames"] == 60  # the header keeps the real labels
    assert rows[oracle]["labeled_frames"] == 60 + 4 * 60  # every unlabeled frame labeled too
    # five times the labeled frames: five times fewer epochs, so a faster decay per epoch
    assert rows[oracle]["schedule"]["lr_decay"] == pytest.approx(0.98 ** (5 / 0.4))


def _step(step_class, flip=False):
    torch.manual_seed(0)
    kwargs = dict(filter_widths=(3, 3), channels=16, dropout=0.0)
    pose_net = TemporalConvNet(17, 2, 17, **kwargs).eval()
    traj_net = TemporalConvNet(17, 2, 1, **kwargs).eval()
    with torch.no_grad():
        traj_net.shrink.bias.copy_(torch.tensor([0.0, 0.0, 5.0]))
    lifter = SimpleNamespace(
        flip_augmentation=flip, projection="distorted", projection_weight=1.0,
        bone_length_weight=1.0, projection_confidence=False, bone_length_norm="l1",
        pose_loss="recentred",
    )  # fmt: skip
    rng = SimpleNamespace(random=lambda n: np.full(n, 0.1))  # flips every clip when enabled
    ctx = FitContext(lifter, pose_net, H36M, H36M, torch.device("cpu"), rng, traj_net)
    step = _SemiSupervisedStep(lifter, ctx, target_offset=4)
    step.__class__ = step_class
    return step, pose_net, traj_net


def _batch(n=4, rf=9):
    X, y, _ = cmu_views(n_videos=n, max_frames=40)
    x = torch.from_numpy(np.stack([v[5 : 5 + rf] for v in X]))
    poses = torch.from_numpy(np.stack([p[5 : 5 + rf] for p in y]))
    cams = torch.from_numpy(np.tile(CAM.normalized(), (n // 2, 1)).astype(np.float32))
    return x, poses, cams


def test_separate_batchnorm_probe_runs_each_half_on_its_own():
    step, pose_net, traj_net = _step(probes._SeparateBatchNormStep)
    x, poses, cams = _batch()
    calls = []
    for net in (pose_net, traj_net):
        original = net.forward_strided
        net.forward_strided = lambda t, f=original: calls.append(len(t)) or f(t)
    terms = step((x[:2], poses[:2, 4], x[2:], cams), epoch=1)
    assert calls == [2, 2, 2, 2]  # the shipped step: [4, 4]
    assert torch.isfinite(terms["loss"])


@pytest.mark.parametrize("flip", [False, True])
def test_true_trajectory_probe_projects_the_pose_with_the_true_root(flip):
    step, pose_net, traj_net = _step(probes._TrueTrajectoryStep, flip=flip)
    x, poses, cams = _batch()
    roots = poses[2:, 4, 0]  # the true root of each unlabeled clip's predicted frame
    batch = (x[:2], poses[:2, 4], x[2:], torch.cat([cams, roots], dim=1))
    first = step(batch, epoch=1)["projection"].detach()
    with torch.no_grad():  # another trajectory network: the 2D loss must not change
        traj_net.shrink.bias.add_(torch.tensor([0.3, -0.2, 2.0]))
    again = step(batch, epoch=1)["projection"].detach()
    assert float(again) == pytest.approx(float(first), rel=1e-6)
    # Slow reference: the (mirrored) clip's pose plus its (mirrored) true root, projected with
    # its (mirrored) camera, against its keypoints of the predicted frame.
    x_unl, cams_unl = x[2:], cams
    if flip:
        x_unl, cams_unl = flip_keypoints(x_unl, H36M), flip_intrinsics(cams)
        roots = roots * torch.tensor([-1.0, 1.0, 1.0])
    with torch.no_grad():
        pose = pose_net.forward_strided(torch.cat([x[:2], x_unl]))[2:, 0]
        projected = ProjectionLayer()(pose - pose[:, :1] + roots[:, None], cams_unl)
    expected = torch.linalg.norm(projected - x_unl[:, 4], dim=-1).mean()
    assert float(first) == pytest.approx(float(expected), rel=1e-5)


def test_rotation_error_is_the_angle_of_a_known_rotation_and_ignores_scale():
    _, y, _ = cmu_views(n_videos=2, max_frames=20)
    angles = np.radians([10.0, 35.0])
    pred = []
    for pose, angle in zip(y, angles):
        rot = rotation(angle)  # about a fixed axis
        pred.append(1.3 * pose @ rot.T + 0.5)  # rotated, scaled and moved
    expected = (10.0 * len(y[0]) + 35.0 * len(y[1])) / (len(y[0]) + len(y[1]))
    assert protocol.rotation_error_deg(y, pred) == pytest.approx(expected, abs=1e-3)
    assert protocol.rotation_error_deg(y, y) == pytest.approx(0.0, abs=1e-3)
    mirrored = [p * np.array([-1.0, 1.0, 1.0]) for p in y]  # no reflection may align it
    assert protocol.rotation_error_deg(y, mirrored) > 5


def test_axis_errors_split_the_root_relative_error_into_image_plane_and_depth():
    _, y, _ = cmu_views(n_videos=2, max_frames=20)
    offset = np.zeros(3)
    offset[2] = 0.05  # every non-root joint 5 cm too deep, the root in place
    deeper = [p + np.where(np.arange(17)[:, None] > 0, offset, 0) + 1.0 for p in y]
    errors = protocol.axis_errors_mm(y, deeper)  # (+1 m everywhere: not root-relative error)
    assert errors["depth_mm"] == pytest.approx(50 * 16 / 17, rel=1e-4)
    assert errors["in_plane_mm"] == pytest.approx(0.0, abs=1e-3)
    sideways = [p + np.where(np.arange(17)[:, None] > 0, [0.03, 0.04, 0.0], 0) for p in y]
    errors = protocol.axis_errors_mm(y, sideways)
    assert errors["in_plane_mm"] == pytest.approx(50 * 16 / 17, rel=1e-4)
    assert errors["depth_mm"] == pytest.approx(0.0, abs=1e-3)


def test_grouped_draws_keep_frames_of_one_video():
    lengths = [30, 30, 30, 5, 5, 5]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    grouped = probes._GroupedFrames(lengths, np.random.default_rng(0)).take(3 * probes.GROUP)
    video = np.searchsorted(starts, grouped, side="right") - 1
    assert (video.reshape(3, probes.GROUP) == video[:: probes.GROUP, None]).all()
    assert ((grouped - starts[video]) < np.asarray(lengths)[video]).all()


def _mirrored(pose):
    """Mirror a (J, 3) pose: negate x and swap the left and right joints."""
    return (pose * [-1.0, 1.0, 1.0])[H36M.flip_permutation]


def test_rigid_bones_probe_adds_each_frames_distance_to_its_videos_mean_bone_lengths():
    step, pose_net, _ = _step(probes._RigidBonesStep, flip=True)
    step.ctx.rng = SimpleNamespace(random=lambda n: np.tile([0.1, 0.9], n)[:n])  # every other
    x, poses, cams = _batch(n=6)
    ids = torch.tensor([[0.0], [0.0], [0.0], [1.0]])  # three clips of one video, one of another
    cams = torch.from_numpy(np.tile(CAM.normalized(), (4, 1)).astype(np.float32))
    terms = step((x[:2], poses[:2, 4], x[2:], torch.cat([cams, ids], 1)), 1)
    flipped = np.array([True, False, True, False])  # the unlabeled clips mirrored
    x_unl = torch.where(torch.from_numpy(flipped)[:, None, None, None],
                        flip_keypoints(x[2:], H36M), x[2:])  # fmt: skip
    with torch.no_grad():
        pose = pose_net.forward_strided(torch.cat([x[:2], x_unl]))[2:, 0].double().numpy()
    lengths = []
    for p, mirrored in zip(pose, flipped):
        p = _mirrored(p) if mirrored else p  # the body as filmed, left and right in place
        lengths.append([np.linalg.norm(p[j] - p[H36M.parents[j]]) for j in range(1, 17)])
    lengths = np.array(lengths)
    mean = np.vstack([np.repeat(lengths[:3].mean(0, keepdims=True), 3, 0), lengths[3:]])
    assert float(terms["rigidity"].detach()) == pytest.approx(
        np.abs(lengths - mean).mean(), rel=1e-4
    )
    assert float(terms["rigidity"].detach()) > 0


def test_weight_cross_validation_report_lists_every_weight_and_the_choice():
    cv = pytest.importorskip("semi_multi_view_cv")
    report = {
        "grid": [0.0, 0.1], "fold_mpjpe_mm": [[60.0, 62.0], [57.0, 59.0]],
        "mean_mpjpe_mm": [61.0, 58.0], "chosen": 0.1, "seed": 0, "labeled_clips": 10,
        "seconds": 600.0, "load": [1.0, 2.0],
        "machine": {"cpu": "test CPU", "cpu_count": 2, "torch": "2.13.0"},
    }  # fmt: skip
    text = cv.markdown(report)
    assert "| 0 | 60.0 | 62.0 | 61.0 |" in text and "| 0.1 | 57.0 | 59.0 | 58.0 |" in text
    assert "Chosen: **0.1**" in text and "10 labeled clips" in text and "test CPU" in text

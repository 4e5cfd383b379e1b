"""Plots render something (Agg backend): 3D skeletons, animations saved as GIF, training curves."""

import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import animation  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from skpose3d import TemporalPoseLifter  # noqa: E402
from skpose3d.plotting import (  # noqa: E402
    BONE_COLORS,
    animate_poses,
    plot_pose_3d,
    plot_training_curves,
)
from skpose3d.preprocessing import GapFiller  # noqa: E402
from skpose3d.skeleton import COCO, H36M, MPII  # noqa: E402

# A person facing the camera 4 m away, arms spread; camera y points down, so the head has the
# smallest y. The person's left side is at +x (the right of the image).
STANDING = np.array(
    [
        [0, 0, 4], [-0.15, 0, 4], [-0.15, 0.45, 4], [-0.15, 0.9, 4], [0.15, 0, 4],
        [0.15, 0.45, 4], [0.15, 0.9, 4], [0, -0.25, 4], [0, -0.5, 4], [0, -0.6, 4],
        [0, -0.75, 4], [0.2, -0.5, 4], [0.5, -0.5, 4], [0.8, -0.5, 4], [-0.2, -0.5, 4],
        [-0.5, -0.5, 4], [-0.8, -0.5, 4],
    ]
)  # fmt: skip

# Animations built only to inspect their figure are never played; matplotlib warns when they are
# garbage-collected (at an unpredictable later point).
pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted without rendering")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _pixels(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)


def _count_colour(image, colour, tol=40) -> int:
    target = np.array(to_rgb(colour)) * 255
    return int((np.abs(image - target).sum(axis=-1) < tol).sum())


def _waving(n_frames=8):
    """Poses whose left arm swings up over the frames, so every frame looks different."""
    poses = np.repeat(STANDING[None], n_frames, axis=0)
    angles = np.linspace(0, np.pi / 2, n_frames)
    for k, joint in enumerate((12, 13), start=1):
        poses[:, joint, 0] = 0.2 + 0.3 * k * np.cos(angles)
        poses[:, joint, 1] = -0.5 - 0.3 * k * np.sin(angles)
    return poses


# -- plot_pose_3d -----------------------------------------------------------------------------


def test_pose_plot_draws_left_right_and_centre_bones():
    ax = plot_pose_3d(STANDING)
    image = _pixels(ax.figure)
    blank = _pixels(plt.figure().add_subplot(projection="3d").figure)
    for side in ("left", "right"):
        assert _count_colour(image, BONE_COLORS[side]) > 50, side
        assert _count_colour(blank, BONE_COLORS[side]) < 5, side  # the empty axes lack them
    # Dark grey is also the colour of text, so compare with the centre drawn in green.
    green = _pixels(plot_pose_3d(STANDING, colors={"center": "#00ff00"}).figure)
    grey = BONE_COLORS["center"]
    assert _count_colour(image, grey) - _count_colour(green, grey) > 50
    assert _count_colour(green, "#00ff00") > 50 and _count_colour(image, "#00ff00") == 0
    sides = [
        "left" if j in H36M.joints_left else "right" if j in H36M.joints_right else "center"
        for _, j in H36M.bones
    ]
    colours = [to_rgb(line.get_color()) for line in ax.lines]
    assert colours == [to_rgb(BONE_COLORS[s]) for s in sides]


def test_pose_plot_shows_depth_and_up_with_equal_aspect():
    ax = plot_pose_3d(STANDING)
    for line, (parent, child) in zip(ax.lines, H36M.bones):
        xs, ys, zs = line.get_data_3d()
        np.testing.assert_allclose(xs, STANDING[[parent, child], 0])
        np.testing.assert_allclose(ys, STANDING[[parent, child], 2])  # depth
        np.testing.assert_allclose(zs, -STANDING[[parent, child], 1])  # up
    limits = np.array([ax.get_xlim(), ax.get_ylim(), ax.get_zlim()])
    sizes = limits[:, 1] - limits[:, 0]
    np.testing.assert_allclose(sizes, sizes[0])
    shown = np.column_stack([STANDING[:, 0], STANDING[:, 2], -STANDING[:, 1]])
    assert (limits[:, 0] - 1e-9 <= shown).all() and (shown <= limits[:, 1] + 1e-9).all()
    raw = plot_pose_3d(STANDING, camera_space=False)
    np.testing.assert_allclose(raw.lines[0].get_data_3d()[2], STANDING[[0, 1], 2])


def test_pose_plot_over_another_pose_keeps_both_in_view():
    # The demo draws a small (badly predicted) pose over the truth: the truth must stay inside.
    ax = plot_pose_3d(STANDING)
    small = 0.1 * (STANDING - STANDING[0]) + STANDING[0]
    assert plot_pose_3d(small, ax=ax) is ax
    limits = np.array([ax.get_xlim(), ax.get_ylim(), ax.get_zlim()])
    shown = np.column_stack([STANDING[:, 0], STANDING[:, 2], -STANDING[:, 1]])
    assert (limits[:, 0] - 1e-9 <= shown).all() and (shown <= limits[:, 1] + 1e-9).all()
    sizes = limits[:, 1] - limits[:, 0]
    np.testing.assert_allclose(sizes, sizes[0])


@pytest.mark.parametrize("skeleton", [COCO, MPII], ids=["coco", "mpii"])
def test_pose_plot_other_skeletons_into_given_axes(skeleton, rng):
    ax = plt.figure().add_subplot(projection="3d")
    pose = rng.normal(scale=0.3, size=(skeleton.n_joints, 3))
    assert plot_pose_3d(pose, skeleton.name, ax=ax, title="t") is ax
    assert len(ax.lines) == len(skeleton.bones) and ax.get_title() == "t"


def test_pose_plot_rejects_bad_input():
    with pytest.raises(ValueError, match=r"pose has shape \(16, 3\): expected \(17, 3\)"):
        plot_pose_3d(STANDING[:16])
    with pytest.raises(ValueError, match="3D axes"):
        plot_pose_3d(STANDING, ax=plt.figure().add_subplot())
    with pytest.raises(ValueError, match="no finite"):
        plot_pose_3d(np.full((17, 3), np.nan))


def test_missing_matplotlib_gives_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    monkeypatch.delitem(sys.modules, "skpose3d.plotting")
    import skpose3d.plotting as plotting  # the module itself imports without matplotlib

    for call in (
        lambda: plotting.plot_pose_3d(STANDING),
        lambda: plotting.animate_poses(STANDING[None]),
        lambda: plotting.plot_training_curves([{"epoch": 0, "loss": 1.0}]),
    ):
        with pytest.raises(ImportError, match="pip install matplotlib"):
            call()


# -- animate_poses ----------------------------------------------------------------------------


def test_animation_saved_as_gif_with_distinct_frames(tmp_path):
    from PIL import Image, ImageSequence

    poses = _waving(6)
    pixels = poses[..., :2] / poses[..., 2:] * 1000 + 500
    path = tmp_path / "poses.gif"
    anim = animate_poses(poses, poses + 0.03, keypoints_2d=pixels, path=path, fps=5, dpi=40)
    assert isinstance(anim, animation.FuncAnimation)
    with Image.open(path) as gif:
        frames = [np.asarray(f.convert("RGB"), dtype=int) for f in ImageSequence.Iterator(gif)]
    assert len(frames) == 6
    assert np.abs(frames[0] - frames[-1]).sum() > 0
    for frame in frames:
        assert frame.std() > 5  # not blank
        assert _count_colour(frame, BONE_COLORS["left"], tol=60) > 10


def test_animation_panels_share_limits_and_follow_frames():
    poses = _waving(5)
    animate_poses(poses, poses * 1.1, keypoints_2d=poses[..., :2])
    fig = plt.gcf()
    assert [ax.get_title() for ax in fig.axes] == ["2D keypoints", "prediction", "ground truth"]
    pred, true = fig.axes[1], fig.axes[2]
    assert pred.get_xlim() == true.get_xlim() and pred.get_zlim() == true.get_zlim()
    image_y = fig.axes[0].get_ylim()
    assert image_y[0] > image_y[1]  # image y points down
    hand = H36M.bones.index((12, 13))
    np.testing.assert_allclose(pred.lines[hand].get_data_3d()[0], poses[0, [12, 13], 0])
    animate_poses(poses_true=poses)
    assert [ax.get_title() for ax in plt.gcf().axes] == ["ground truth"]


def test_animation_rejects_bad_input(tmp_path, monkeypatch):
    poses = _waving(4)
    with pytest.raises(ValueError, match="poses_pred, poses_true or both"):
        animate_poses(keypoints_2d=poses[..., :2])
    with pytest.raises(ValueError, match="different numbers of frames"):
        animate_poses(poses, poses[:3])
    with pytest.raises(ValueError, match="keypoints_2d has shape"):
        animate_poses(poses, keypoints_2d=poses[:, :16])
    with pytest.raises(ValueError, match="fps"):
        animate_poses(poses, fps=0)
    n_figures = len(plt.get_fignums())
    with pytest.raises(ValueError, match=r"\.gif or \.mp4"):
        animate_poses(poses, path=tmp_path / "poses.avi")
    monkeypatch.setattr(animation.writers, "is_available", lambda name: False)
    with pytest.raises(RuntimeError, match="ffmpeg"):
        animate_poses(poses, path=tmp_path / "poses.mp4")
    assert len(plt.get_fignums()) == n_figures  # failed before drawing anything


@pytest.mark.skipif(not animation.writers.is_available("ffmpeg"), reason="ffmpeg not installed")
def test_animation_saved_as_mp4(tmp_path):
    path = tmp_path / "poses.mp4"
    animate_poses(_waving(4), path=path, dpi=40)
    assert path.stat().st_size > 1000


# -- plot_training_curves ---------------------------------------------------------------------


def _history(n=5):
    return [
        {
            "epoch": e,
            "lr": 1e-3 * 0.95**e,
            "loss": 1 / (e + 1),
            "loss_2d": 0.5 / (e + 1),
            "val_mpjpe": None if e < 2 else 0.8 / (e + 1),
            "seconds": 1.0,
        }
        for e in range(n)
    ]


def test_training_curves_plot_every_loss_and_validation():
    history = _history()
    ax = plot_training_curves(history, log_scale=True)
    assert [line.get_label() for line in ax.lines] == ["loss", "loss_2d", "val_mpjpe"]
    for line, key in zip(ax.lines, ("loss", "loss_2d")):
        np.testing.assert_array_equal(line.get_xdata(), range(5))
        np.testing.assert_allclose(line.get_ydata(), [row[key] for row in history])
    np.testing.assert_allclose(ax.lines[2].get_ydata()[2:], [0.8 / 3, 0.2, 0.16])
    assert np.isnan(ax.lines[2].get_ydata()[:2]).all()
    assert ax.get_yscale() == "log" and ax.get_legend() is not None
    image = _pixels(ax.figure)
    assert _count_colour(image, ax.lines[0].get_color()) > 50


def test_training_curves_from_a_fitted_lifter_or_pipeline(rng):
    y = [rng.normal(scale=0.2, size=(20, 17, 3)) + [0, 0, 4] for _ in range(3)]
    X = [p[..., :2] / p[..., 2:] for p in y]
    lifter = TemporalPoseLifter(channels=16, n_epochs=2, early_stopping=True, random_state=0)
    ax = plot_training_curves(lifter.fit(X, y))
    assert [line.get_label() for line in ax.lines] == ["loss", "val_mpjpe"]
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [r["val_mpjpe"] for r in lifter.history_])
    pipe = make_pipeline(GapFiller(), TemporalPoseLifter(channels=16, n_epochs=1)).fit(X, y)
    assert [line.get_label() for line in plot_training_curves(pipe).lines] == ["loss"]


def test_training_curves_reject_bad_history():
    with pytest.raises(NotFittedError):
        plot_training_curves(TemporalPoseLifter())
    with pytest.raises(TypeError, match="history"):
        plot_training_curves({"loss": [1.0]})
    with pytest.raises(ValueError, match="empty"):
        plot_training_curves([])

"""Plots with matplotlib: a 3D skeleton, an animation of predicted vs true poses, training curves.

matplotlib is an optional extra (``pip install matplotlib``); it is imported when a function
is called, so the rest of the package works without it.

Poses are drawn in camera space: x to the right, y *down* and z forward (away from the camera),
as the lifters predict them. The 3D axes show x horizontally, z as depth and -y as up, so a
standing person stands upright.
"""

from __future__ import annotations

import numbers
from pathlib import Path

import numpy as np

from .skeleton import get_skeleton

__all__ = ["BONE_COLORS", "animate_poses", "plot_pose_3d", "plot_training_curves"]

BONE_COLORS = {"left": "#1f77b4", "right": "#d62728", "center": "#404040"}
"""dict of str to colour : Bone colours by body side (blue left, red right, grey centre)."""

_HISTORY_META = ("epoch", "lr", "seconds", "val_mpjpe")


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "skpose3d.plotting needs matplotlib; install it with: pip install matplotlib"
        ) from exc
    return plt


def _bone_sides(skeleton) -> list[str]:
    """Side of each bone of ``skeleton.bones``, decided by its child joint."""
    left, right = set(skeleton.joints_left), set(skeleton.joints_right)
    return ["left" if j in left else "right" if j in right else "center" for _, j in skeleton.bones]


def _check_sequence(values, name, skeleton, n_channels, single=False) -> np.ndarray:
    """A pose (J, C) when ``single``, else a sequence (T, J, C), as a float array."""
    arr = np.asarray(values, dtype=float)
    if n_channels == 2 and arr.ndim > 0 and arr.shape[-1] == 3:
        arr = arr[..., :2]  # a confidence channel is not drawn
    want = (skeleton.n_joints, n_channels) if single else (None, skeleton.n_joints, n_channels)
    ok = arr.ndim == len(want) and all(w is None or s == w for s, w in zip(arr.shape, want))
    if not ok:
        shape = ", ".join("n_frames" if w is None else str(w) for w in want)
        raise ValueError(
            f"{name} has shape {arr.shape}: expected ({shape}) for skeleton {skeleton.name!r}"
        )
    if not np.isfinite(arr).any():
        raise ValueError(f"{name} has no finite coordinate to plot")
    return arr


def _display(points, camera_space: bool) -> np.ndarray:
    """Camera (x, y down, z forward) -> plot (x, depth, up); other points are left as they are."""
    if not camera_space:
        return points
    return np.stack([points[..., 0], points[..., 2], -points[..., 1]], axis=-1)


def _cube_limits(points) -> np.ndarray:
    """Limits (3, 2) of a cube around all finite points, so that the aspect is equal."""
    lo, hi = np.nanmin(points.reshape(-1, 3), axis=0), np.nanmax(points.reshape(-1, 3), axis=0)
    radius = max((hi - lo).max() / 2, 1e-6)  # a single point still gets a non-empty box
    centre = (hi + lo) / 2
    return np.stack([centre - radius, centre + radius], axis=1)


def _setup_3d(ax, limits, camera_space, elev, azim):
    ax.set_xlim(*limits[0])
    ax.set_ylim(*limits[1])
    ax.set_zlim(*limits[2])
    # zoom < 1 leaves room inside the axes for the tick and axis labels, which mplot3d draws
    # outside the box and layout engines do not reserve space for.
    ax.set_box_aspect((1, 1, 1), zoom=0.9)
    from matplotlib.ticker import MaxNLocator

    # Few ticks: the axes are small and the depth axis is foreshortened at the default view.
    for axis, n_ticks in ((ax.xaxis, 4), (ax.yaxis, 3), (ax.zaxis, 4)):
        axis.set_major_locator(MaxNLocator(n_ticks))
    ax.tick_params(labelsize="small", pad=0)
    labels = ("x", "z (depth)", "-y (up)") if camera_space else ("x", "y", "z")
    # The foreshortened depth axis needs its label further out than the others.
    setters = (ax.set_xlabel, ax.set_ylabel, ax.set_zlabel)
    for set_label, label, pad in zip(setters, labels, (0, 8, 0)):
        set_label(label, labelpad=pad)
    ax.view_init(elev=elev, azim=azim)


def _bone_lines(ax, skeleton, colors, linewidth, dims) -> list:
    """One line per bone, empty until ``_update_lines`` gives it data."""
    colors = {**BONE_COLORS, **(colors or {})}
    empty = [[]] * dims
    return [
        ax.plot(*empty, color=colors[side], linewidth=linewidth, marker="o", markersize=2)[0]
        for side in _bone_sides(skeleton)
    ]


def _update_lines(lines, skeleton, points):
    for line, (parent, child) in zip(lines, skeleton.bones):
        segment = points[[parent, child]]
        if segment.shape[-1] == 3:
            line.set_data_3d(segment[:, 0], segment[:, 1], segment[:, 2])
        else:
            line.set_data(segment[:, 0], segment[:, 1])


def plot_pose_3d(
    pose,
    skeleton="h36m",
    ax=None,
    *,
    camera_space=True,
    colors=None,
    linewidth=2.0,
    elev=15.0,
    azim=-70.0,
    title=None,
):
    """Draw one 3D pose as a skeleton, bones coloured by body side.

    Parameters
    ----------
    pose : array-like of shape (n_joints, 3)
        Joint positions, in camera space (metres) by default.
    skeleton : str or Skeleton, default="h36m"
        Layout of the joints.
    ax : mpl_toolkits.mplot3d.axes3d.Axes3D, optional
        Axes to draw into (created with ``projection="3d"``); a new figure when None.
    camera_space : bool, default=True
        The pose is in camera coordinates (y down, z forward): draw z as depth and -y as up.
        False draws x, y, z as they are (z up).
    colors : dict, optional
        Overrides of :data:`BONE_COLORS` (keys ``"left"``, ``"right"``, ``"center"``).
    linewidth : float, default=2.0
    elev, azim : float, default=15.0, -70.0
        Viewing angles in degrees (see ``Axes3D.view_init``).
    title : str, optional

    Returns
    -------
    ax : Axes3D
        The axes, with equal scale on all three axes. Their limits hold this pose and every
        pose drawn into ``ax`` before, so a prediction drawn over the truth shows both.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skpose3d.plotting import plot_pose_3d
    >>> pose = np.random.default_rng(0).normal(scale=0.3, size=(17, 3))
    >>> ax = plot_pose_3d(pose, "h36m", title="a pose")
    >>> len(ax.lines)  # one line per bone
    16
    """
    plt = _pyplot()
    skeleton = get_skeleton(skeleton)
    pose = _check_sequence(pose, "pose", skeleton, 3, single=True)
    if ax is None:
        ax = plt.figure().add_subplot(projection="3d")
    elif getattr(ax, "name", None) != "3d":
        raise ValueError("ax must be a 3D axes, created with projection='3d'")
    points = _display(pose, camera_space)
    # Poses drawn into these axes before (e.g. the truth under a prediction) stay in view.
    earlier = [np.column_stack(line.get_data_3d()) for line in ax.lines]
    _update_lines(_bone_lines(ax, skeleton, colors, linewidth, 3), skeleton, points)
    _setup_3d(ax, _cube_limits(np.concatenate([points, *earlier])), camera_space, elev, azim)
    if title is not None:
        ax.set_title(title)
    return ax


def _animation_panels(poses_pred, poses_true, keypoints_2d, skeleton, keypoints_skeleton):
    """Validated (title, frames, skeleton) per panel; all with the same number of frames."""
    panels = []
    if keypoints_2d is not None:
        kp_skeleton = get_skeleton(keypoints_skeleton or skeleton)
        panels.append(
            ("2D keypoints", _check_sequence(keypoints_2d, "keypoints_2d", kp_skeleton, 2),
             kp_skeleton)
        )  # fmt: skip
    for title, name, poses in (
        ("prediction", "poses_pred", poses_pred),
        ("ground truth", "poses_true", poses_true),
    ):
        if poses is not None:
            panels.append((title, _check_sequence(poses, name, skeleton, 3), skeleton))
    if not any(p[1].shape[-1] == 3 for p in panels):
        raise ValueError("animate_poses needs poses_pred, poses_true or both")
    lengths = {title: len(frames) for title, frames, _ in panels}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"the sequences have different numbers of frames: {lengths}")
    return panels


def _writer(path, fps):
    from matplotlib import animation

    suffix = Path(path).suffix.lower()
    if suffix == ".gif":
        return animation.PillowWriter(fps=fps)
    if suffix == ".mp4":
        if not animation.writers.is_available("ffmpeg"):
            raise RuntimeError(
                f"saving {path} needs ffmpeg, which was not found; install ffmpeg or save a .gif"
            )
        return animation.FFMpegWriter(fps=fps)
    raise ValueError(f"path={str(path)!r} must end in .gif or .mp4")


def animate_poses(
    poses_pred=None,
    poses_true=None,
    *,
    keypoints_2d=None,
    skeleton="h36m",
    keypoints_skeleton=None,
    path=None,
    fps=25,
    camera_space=True,
    colors=None,
    figsize=None,
    dpi=80,
):
    """Animate predicted and/or true 3D poses side by side, optionally beside the 2D input.

    Parameters
    ----------
    poses_pred, poses_true : array-like of shape (n_frames, n_joints, 3), optional
        Predicted and ground-truth poses (at least one). They share axis limits so that they
        can be compared.
    keypoints_2d : array-like of shape (n_frames, n_joints_2d, 2 or 3), optional
        The 2D input (pixels or normalised screen coordinates, y down), shown first; a
        confidence channel is ignored.
    skeleton : str or Skeleton, default="h36m"
        Layout of the 3D poses.
    keypoints_skeleton : str or Skeleton, optional
        Layout of ``keypoints_2d``; ``skeleton`` when None.
    path : str or path-like, optional
        Save the animation there: ``.gif`` (Pillow) or ``.mp4`` (needs ffmpeg).
    fps : float, default=25
        Frames per second of the animation and the saved file.
    camera_space : bool, default=True
        See :func:`plot_pose_3d`.
    colors : dict, optional
        Overrides of :data:`BONE_COLORS`.
    figsize : (float, float), optional
        Figure size in inches; 4 x 4 per panel when None.
    dpi : float, default=80
        Resolution of the saved file.

    Returns
    -------
    anim : matplotlib.animation.FuncAnimation
        Keep a reference while it is displayed (e.g. ``plt.show()`` or
        ``HTML(anim.to_jshtml())`` in a notebook).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skpose3d.plotting import animate_poses
    >>> import os, tempfile
    >>> poses = np.random.default_rng(0).normal(scale=0.3, size=(5, 17, 3))
    >>> path = os.path.join(tempfile.mkdtemp(), "poses.gif")
    >>> anim = animate_poses(poses, poses + 0.05, keypoints_2d=poses[..., :2], path=path)
    >>> os.path.exists(path)
    True
    >>> [ax.get_title() for ax in matplotlib.pyplot.gcf().axes]
    ['2D keypoints', 'prediction', 'ground truth']
    """
    plt = _pyplot()
    from matplotlib.animation import FuncAnimation

    if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not fps > 0:
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    writer = None if path is None else _writer(path, fps)
    skeleton = get_skeleton(skeleton)
    panels = _animation_panels(poses_pred, poses_true, keypoints_2d, skeleton, keypoints_skeleton)
    fig = plt.figure(figsize=figsize or (4 * len(panels), 4))
    poses_3d = [_display(frames, camera_space) for _, frames, _ in panels if frames.shape[-1] == 3]
    limits_3d = _cube_limits(np.concatenate(poses_3d, axis=1))
    drawn = []  # (lines, skeleton, frames in display coordinates)
    for i, (title, frames, skel) in enumerate(panels, start=1):
        if frames.shape[-1] == 2:
            ax = fig.add_subplot(1, len(panels), i)
            lo, hi = np.nanmin(frames, axis=(0, 1)), np.nanmax(frames, axis=(0, 1))
            margin = 0.05 * max((hi - lo).max(), 1e-6)
            ax.set_xlim(lo[0] - margin, hi[0] + margin)
            ax.set_ylim(hi[1] + margin, lo[1] - margin)  # image y points down
            ax.set_aspect("equal")
        else:
            ax = fig.add_subplot(1, len(panels), i, projection="3d")
            _setup_3d(ax, limits_3d, camera_space, 15.0, -70.0)
            frames = _display(frames, camera_space)
        ax.set_title(title)
        drawn.append((_bone_lines(ax, skel, colors, 2.0, frames.shape[-1]), skel, frames))

    def update(frame):
        for lines, skel, frames in drawn:
            _update_lines(lines, skel, frames[frame])
        return [line for lines, _, _ in drawn for line in lines]

    update(0)
    anim = FuncAnimation(fig, update, frames=len(panels[0][1]), interval=1000 / fps)
    if writer is not None:
        anim.save(str(path), writer=writer, dpi=dpi)
    return anim


def _history_rows(history) -> list[dict]:
    if hasattr(history, "steps"):  # a Pipeline: the lifter is its last step
        history = history[-1]
    if hasattr(history, "get_params"):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(history, "history_")
        history = history.history_
    if not isinstance(history, list | tuple) or not all(isinstance(r, dict) for r in history):
        raise TypeError(
            "history must be a fitted lifter or its history_ (a list of dicts), "
            f"got {type(history).__name__}"
        )
    if not history:
        raise ValueError("history is empty: nothing to plot")
    return list(history)


def plot_training_curves(history, ax=None, *, log_scale=False):
    """Plot every loss of a training history, and the validation MPJPE when recorded.

    Parameters
    ----------
    history : fitted lifter, Pipeline ending in one, or list of dict
        A lifter's ``history_``: one dict per epoch with ``epoch``, loss terms (every numeric
        key other than ``epoch``, ``lr``, ``seconds`` and ``val_mpjpe``) and ``val_mpjpe``
        (None without early stopping).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure when None.
    log_scale : bool, default=False
        Logarithmic y axis (helpful when loss terms differ in scale).

    Returns
    -------
    ax : matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skpose3d.plotting import plot_training_curves
    >>> history = [
    ...     {"epoch": 0, "lr": 1e-3, "loss": 0.20, "val_mpjpe": 0.25, "seconds": 1.0},
    ...     {"epoch": 1, "lr": 9.5e-4, "loss": 0.12, "val_mpjpe": 0.18, "seconds": 1.0},
    ... ]
    >>> ax = plot_training_curves(history)
    >>> [line.get_label() for line in ax.lines]
    ['loss', 'val_mpjpe']
    """
    plt = _pyplot()
    rows = _history_rows(history)
    if ax is None:
        ax = plt.figure().add_subplot()
    epochs = [row.get("epoch", i) for i, row in enumerate(rows)]
    keys = []
    for row in rows:  # in order of first appearance, so the semi-supervised terms keep theirs
        keys += [
            k for k, v in row.items()
            if k not in _HISTORY_META and k not in keys
            and isinstance(v, numbers.Real) and not isinstance(v, bool)
        ]  # fmt: skip

    def values(key):
        return [np.nan if row.get(key) is None else float(row[key]) for row in rows]

    for key in keys:
        ax.plot(epochs, values(key), marker="o", label=key)
    if any(row.get("val_mpjpe") is not None for row in rows):
        ax.plot(epochs, values("val_mpjpe"), marker="s", linestyle="--", label="val_mpjpe")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss / error")
    if log_scale:
        ax.set_yscale("log")
    ax.legend()
    return ax

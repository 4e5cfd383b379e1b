"""``skpose3d demo``: train and evaluate lifters on the bundled motion capture, in minutes.

The CMU clips of the training subjects (:data:`~skpose3d.datasets.CMU_TRAIN_SUBJECTS`) are filmed
by the four virtual Human3.6M cameras with detector-like 2D noise and per-subject bone lengths
(:func:`~skpose3d.datasets.make_views`); a single-frame and a 27-frame temporal lifter are
trained on them and evaluated on the held-out subjects
(:data:`~skpose3d.datasets.CMU_TEST_SUBJECTS`), whose motion is never seen in training.

The helpers :func:`cmu_split`, :func:`evaluate` and :func:`format_table` are shared with the
accuracy benchmark (``benchmarks/accuracy.py``).
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

from .camera import normalize_screen_coordinates
from .datasets import CMU_TEST_SUBJECTS, CMU_TRAIN_SUBJECTS, load_cmu_mocap, make_views
from .metrics import mpjpe, mpjve, n_mpjpe, p_mpjpe

METRICS = {
    "mpjpe_mm": ("MPJPE", "mm", mpjpe),
    "p_mpjpe_mm": ("P-MPJPE", "mm", p_mpjpe),
    "n_mpjpe_mm": ("N-MPJPE", "mm", n_mpjpe),
    "mpjve_mm": ("MPJVE", "mm/frame", mpjve),
}
"""dict : Result key -> (column title, unit, metric function); metrics in metres, shown in mm."""

BONE_SCALE = 0.05
"""float : Per-subject bone-length spread used by the demo and the accuracy benchmark."""


def cmu_views(
    subjects, *, seed=0, cameras=None, max_clips=None, max_frames=None, confidence=False,
    bone_scale=BONE_SCALE,
):  # fmt: skip
    """Film the bundled clips of ``subjects`` and normalise the keypoints per camera.

    Parameters
    ----------
    subjects : sequence of int
        CMU subjects.
    seed : int, default=0
        Seeds the detector noise.
    cameras : list of VirtualCamera, optional
        Default: the four virtual Human3.6M cameras.
    max_clips, max_frames : int, optional
        Keep only the first clips of each subject / the first frames of each clip (quick runs).
    confidence : bool, default=False
        Keep the detector confidence as a third channel of ``X``.
    bone_scale : float, default=BONE_SCALE
        Per-subject bone-length spread (:func:`~skpose3d.datasets.make_views`); 0 keeps the
        recorded bone lengths (the CMU subjects' bones differ by at most 1.7 cm).

    Returns
    -------
    Bunch
        :func:`~skpose3d.datasets.make_views` output plus ``X``: the (x, y) keypoints in the
        paper's normalised screen coordinates (each view with its own camera's image size,
        since the Human3.6M cameras are 1000x1000 or 1000x1002; the confidence is dropped,
        as in the paper, unless ``confidence``). Missing joints hold their last detection, so
        ``X`` is finite.
    """
    mocap = load_cmu_mocap(subjects=subjects)
    keep = np.ones(len(mocap.videos), dtype=bool)
    if max_clips is not None:  # the first clips of every subject
        rank = [np.sum(mocap.subjects[:i] == s) for i, s in enumerate(mocap.subjects)]
        keep = np.asarray(rank) < max_clips
    videos = [v[:max_frames] for v, k in zip(mocap.videos, keep) if k]
    views = make_views(
        videos,
        subjects=mocap.subjects[keep],
        trials=mocap.trials[keep],
        cameras=cameras,
        bone_scale=bone_scale,
        random_state=seed,
    )
    views.X = [
        np.concatenate(
            [normalize_screen_coordinates(kp[..., :2], cam.width, cam.height), kp[..., 2:]],
            axis=-1,
        ).astype(np.float32)
        if confidence
        else normalize_screen_coordinates(kp[..., :2], cam.width, cam.height).astype(np.float32)
        for kp, cam in zip(views.keypoints, views.intrinsics)
    ]
    return views


def cmu_split(*, seed=0, **view_options):
    """Training and test views of the fixed subject split.

    ``view_options`` (``cameras``, ``max_clips``, ``max_frames``, ``confidence``,
    ``bone_scale``) are passed to :func:`cmu_views`.
    """
    # Different seeds for the two sets: their noise must not be the same draw.
    train = cmu_views(CMU_TRAIN_SUBJECTS, seed=seed, **view_options)
    test = cmu_views(CMU_TEST_SUBJECTS, seed=seed + 1, **view_options)
    return train, test


def evaluate(y_true, y_pred) -> dict:
    """All metrics of :data:`METRICS` (root-relative) in millimetres, as floats."""
    y_pred = [np.asarray(p) for p in y_pred]
    return {key: 1000 * fn(y_true, y_pred) for key, (_, _, fn) in METRICS.items()}


def format_table(rows: dict, reference: str | None = None) -> str:
    """A plain-text table of ``{model name: evaluate(...) result}``.

    With ``reference`` (a row name), further rows give each other row's change against it.
    """
    changes = {}
    for name, result in rows.items():
        if reference is not None and name != reference:
            label = f"change vs {reference}" if len(rows) == 2 else f"change: {name}"
            changes[label] = [100 * (result[k] / rows[reference][k] - 1) for k in METRICS]
    width = max(len(name) for name in [*rows, *changes]) + 2
    head = f"{'model':<{width}}" + "".join(f"{t:>11}" for t, _, _ in METRICS.values())
    units = f"{'':<{width}}" + "".join(f"{'(' + u + ')':>11}" for _, u, _ in METRICS.values())
    lines = [head, units, "-" * len(head)]
    for name, result in rows.items():
        lines.append(f"{name:<{width}}" + "".join(f"{result[k]:>11.1f}" for k in METRICS))
    for label, change in changes.items():
        lines.append(f"{label:<{width}}" + "".join(f"{c:>+10.0f}%" for c in change))
    if len(changes) > 1:
        lines.append(f"(changes relative to {reference})")
    return "\n".join(lines)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)  # argparse turns this into a usage error
    return value


def add_arguments(parser) -> None:
    """Options of the ``demo`` command."""
    parser.add_argument(
        "--output-dir",
        default="skpose3d_demo_output",
        help="where the figure is written (default: %(default)s)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a tiny run that takes seconds (for tests)"
    )
    parser.add_argument(
        "--epochs",
        type=_positive_int,
        default=None,
        help="training epochs per model (default 16; quick 1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--threads",
        type=_positive_int,
        default=1,
        help="torch CPU threads (default: 1; these small models ran 5-7x faster on one thread "
        "than on two on a busy 2-core machine; raise it on an idle multi-core machine)",
    )


def _models(epochs: int, quick: bool, seed: int) -> dict:
    from .lifters import TemporalPoseLifter

    common = dict(
        channels=32 if quick else 256,
        n_epochs=epochs,
        batch_size=256,
        lr_decay=0.9,
        random_state=seed,
        verbose=1,
    )
    return {
        "single-frame": TemporalPoseLifter(filter_widths=(1, 1, 1), **common),
        "temporal 27 frames": TemporalPoseLifter(filter_widths=(3, 3, 3), **common),
    }


def run(args) -> int:
    """Run the demo; return the exit code."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)  # process-wide, so restored afterwards
    try:
        return _run(args)
    finally:
        torch.set_num_threads(threads)


def _run(args) -> int:
    start = time.perf_counter()
    epochs = args.epochs if args.epochs is not None else (1 if args.quick else 16)
    limits = dict(max_clips=1, max_frames=150) if args.quick else {}
    train, test = cmu_split(seed=args.seed, **limits)
    print(
        f"CMU motion capture, 4 virtual Human3.6M cameras, detector noise on.\n"
        f"train: subjects {list(CMU_TRAIN_SUBJECTS)}, {len(train.X)} views, "
        f"{sum(map(len, train.X))} frames; test (held out): subjects {list(CMU_TEST_SUBJECTS)}, "
        f"{len(test.X)} views, {sum(map(len, test.X))} frames",
        flush=True,
    )
    results, predictions, histories = {}, {}, {}
    for name, lifter in _models(epochs, args.quick, args.seed).items():
        print(f"training {name} lifter ({epochs} epochs)", flush=True)
        lifter.fit(train.X, train.poses_3d)
        predictions[name] = list(lifter.predict(test.X))
        results[name] = evaluate(test.poses_3d, predictions[name])
        histories[name] = lifter.history_
    print("\nHeld-out subjects, root-relative errors:")
    print(format_table(results, reference="single-frame"))
    path = Path(args.output_dir) / "demo.png"
    try:
        _figure(path, test, predictions, histories)
    except ImportError:
        print(
            "\nmatplotlib is not installed, so no figure was drawn; "
            "install it with: pip install matplotlib"
        )
    else:
        print(f"\nfigure (true vs predicted poses, training curves): {path.resolve()}")
    # Times depend on the machine and what else runs on it: show the user's own numbers.
    print(f"done in {time.perf_counter() - start:.0f} s on {machine_summary()}")
    return 0


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_summary() -> str:
    """One line on this machine: CPU model, cores, torch threads, GPU, load average.

    Examples
    --------
    >>> from skpose3d.demo import machine_summary
    >>> "torch thread" in machine_summary()
    True
    """
    import torch

    cores = os.cpu_count() or 1
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = cores
    threads = torch.get_num_threads()
    parts = [
        _cpu_model(),
        f"{cores} cores" + (f" ({usable} usable)" if usable != cores else ""),
        f"{threads} torch thread{'s' if threads != 1 else ''}",
    ]
    if torch.cuda.is_available():
        parts.append(f"GPU {torch.cuda.get_device_name()}")
    try:
        load = os.getloadavg()
    except (AttributeError, OSError):  # Windows has no load average
        parts.append("load average unknown")
    else:
        parts.append("load average " + " ".join(f"{v:.1f}" for v in load) + " (1, 5, 15 min)")
    return ", ".join(parts)


_FIGURE_DPI = 80


def _figure(path: Path, test, predictions: dict, histories: dict) -> None:
    """Draw :func:`_draw_figure` and write it to ``path`` (PNG)."""
    fig = _draw_figure(test, predictions, histories)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_FIGURE_DPI)


def _draw_figure(test, predictions: dict, histories: dict):
    """True vs predicted skeletons of one test video, training curves, per-frame errors."""
    from matplotlib.figure import Figure

    from .plotting import plot_pose_3d

    video = int(np.argmax([len(v) for v in test.poses_3d]))  # the longest held-out view
    truth = test.poses_3d[video] - test.poses_3d[video][:, :1]
    temporal = predictions["temporal 27 frames"][video]
    frames = np.linspace(0, len(truth) - 1, 4).astype(int)
    fig = Figure(figsize=(13, 7), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.2, 1])
    grey = {"left": "#999999", "right": "#999999", "center": "#999999"}
    for col, frame in enumerate(frames):
        ax = top.add_subplot(1, 4, col + 1, projection="3d")
        plot_pose_3d(truth[frame], ax=ax, colors=grey, linewidth=4.0)
        plot_pose_3d(temporal[frame], ax=ax, title=f"frame {frame}")
    top.suptitle("held-out subject: truth (grey) and temporal 27-frame prediction (colour)")
    ax = bottom.add_subplot(1, 2, 1)
    for name, history in histories.items():
        ax.plot([1000 * row["loss"] for row in history], marker="o", label=name)
    ax.set(xlabel="epoch", ylabel="training MPJPE (mm)", title="training curves")
    ax.legend()
    ax = bottom.add_subplot(1, 2, 2)
    for name, pred in predictions.items():
        error = np.linalg.norm((pred[video] - pred[video][:, :1]) - truth, axis=-1).mean(-1)
        ax.plot(1000 * error, label=name, linewidth=1)
    ax.set(
        xlabel="frame",
        ylabel="MPJPE (mm)",
        title=f"test view: subject {test.subjects[video]}, trial {test.trials[video]}, "
        f"camera {test.cameras[video]}",
    )
    ax.legend()
    return fig

"""
Reproducing the Human3.6M results
=================================

Train the paper's 243-frame model on Human3.6M subjects S1, S5, S6, S7 and S8 and evaluate on
S9 and S11 with Protocol 1 (MPJPE) and Protocol 2 (P-MPJPE), per action, as in Table 1 of
Pavllo et al. (CVPR 2019), who report 46.8 mm / 36.5 mm with CPN detections and
37.2 mm / 27.2 mm with ground-truth 2D keypoints.

Human3.6M cannot be redistributed, so this example needs the community's files in the
VideoPose3D layout: ``data_3d_h36m.npz`` and a 2D file such as
``data_2d_h36m_cpn_ft_h36m_dbb.npz`` (CPN detections) or ``data_2d_h36m_gt.npz`` (ground truth).
Give their paths as the two command-line arguments or in the environment variables
``SKPOSE3D_H36M_3D`` and ``SKPOSE3D_H36M_2D``; without them the example says so and stops.
They are pickled files: only load files you trust.

The paper's configuration trains for 80 epochs over 1.5 million frames: hours on a GPU
(``device="auto"`` uses one when present), days on a CPU.
"""

import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from skpose3d import TemporalPoseLifter
from skpose3d.camera import normalize_screen_coordinates
from skpose3d.datasets import H36M_TEST_SUBJECTS, H36M_TRAIN_SUBJECTS, load_h36m
from skpose3d.metrics import mpjpe, p_mpjpe

# sphinx_gallery_start_ignore
QUICK = os.environ.get("SKPOSE3D_EXAMPLES_QUICK") == "1"
# sphinx_gallery_end_ignore

# %%
# Where the files are
# -------------------


def data_paths():
    """The 3D and 2D file paths from the command line or the environment, else None."""
    if len(sys.argv) == 3:
        return Path(sys.argv[1]), Path(sys.argv[2])
    path_3d, path_2d = os.environ.get("SKPOSE3D_H36M_3D"), os.environ.get("SKPOSE3D_H36M_2D")
    if path_3d and path_2d:
        return Path(path_3d), Path(path_2d)
    return None


# %%
# Load
# ----
# :func:`~skpose3d.datasets.load_h36m` returns one entry per (subject, action, camera): 2D
# keypoints in pixels, 3D poses in that camera's space (metres, 17 joints) and the camera
# intrinsics. Each video is normalised with its own camera's image size.


def load(path_3d, path_2d, subjects):
    data = load_h36m(path_3d, path_2d, subjects=subjects)
    # sphinx_gallery_start_ignore
    if QUICK:  # the first 100 frames of every video
        data.keypoints = [v[:100] for v in data.keypoints]
        data.poses_3d = [v[:100] for v in data.poses_3d]
    # sphinx_gallery_end_ignore
    data.X = [
        normalize_screen_coordinates(kp, cam.width, cam.height).astype(np.float32)
        for kp, cam in zip(data.keypoints, data.intrinsics)
    ]
    return data


# %%
# Train
# -----
# The paper's configuration (Section 5.3): widths 3, 3, 3, 3, 3 (243 frames), 1024 channels,
# dropout 0.25, Amsgrad with learning rate 0.001 decayed by 0.95 per epoch, 80 epochs of
# batches of 1024 clips, horizontal flips at training and test time.

PAPER = dict(
    filter_widths=(3, 3, 3, 3, 3),
    channels=1024,
    dropout=0.25,
    n_epochs=80,
    batch_size=1024,
    learning_rate=1e-3,
    lr_decay=0.95,
    flip_augmentation=True,
    test_time_flip=True,
)


def train(data):
    config = dict(PAPER)
    # sphinx_gallery_start_ignore
    if QUICK:
        config.update(filter_widths=(3, 3), channels=32, n_epochs=1, batch_size=256)
    # sphinx_gallery_end_ignore
    lifter = TemporalPoseLifter(**config, device="auto", random_state=0, verbose=1)
    return lifter.fit(data.X, data.poses_3d)


# %%
# Evaluate per action
# -------------------
# Errors are frame-weighted within an action (its videos of both test subjects and all four
# cameras) and then averaged over actions; ``"Walking 1"`` and ``"Walking"`` are one action.


def evaluate(lifter, data):
    poses = lifter.predict(data.X)
    by_action = defaultdict(list)
    for i, action in enumerate(data.actions):
        by_action[action.split(" ")[0]].append(i)
    rows = []
    for action, idx in sorted(by_action.items()):
        truth, pred = [data.poses_3d[i] for i in idx], [poses[i] for i in idx]
        rows.append((action, 1000 * mpjpe(truth, pred), 1000 * p_mpjpe(truth, pred)))
    print(f"{'action':14s} {'MPJPE':>7s} {'P-MPJPE':>8s}   (mm)")
    for action, p1, p2 in rows:
        print(f"{action:14s} {p1:7.1f} {p2:8.1f}")
    p1, p2 = np.mean([r[1] for r in rows]), np.mean([r[2] for r in rows])
    print(f"{'Average':14s} {p1:7.1f} {p2:8.1f}")
    return p1, p2


# %%
# Run
# ---

paths = data_paths()
if paths is None:
    print(
        "Skipped: the Human3.6M files are not available. Pass data_3d_h36m.npz and a 2D file "
        "(e.g. data_2d_h36m_cpn_ft_h36m_dbb.npz) as arguments, or set SKPOSE3D_H36M_3D and "
        "SKPOSE3D_H36M_2D to their paths."
    )
else:
    lifter = train(load(*paths, H36M_TRAIN_SUBJECTS))
    evaluate(lifter, load(*paths, H36M_TEST_SUBJECTS))

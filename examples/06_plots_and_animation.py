"""
Plots and animations
====================

:mod:`skpose3d.plotting` draws a 3D pose as a skeleton (left side blue, right side red),
animates predicted against true poses beside the 2D input and saves the animation as a GIF
(or MP4 where ffmpeg is installed), and plots the training curves of a fitted lifter. It needs
matplotlib (``pip install matplotlib``, or ``pip install ".[plot]"`` in the repository).
"""

# sphinx_gallery_start_ignore
import os

# sphinx_gallery_end_ignore
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from skpose3d import TemporalPoseLifter
from skpose3d.camera import normalize_screen_coordinates
from skpose3d.datasets import load_cmu_mocap, make_views
from skpose3d.plotting import animate_poses, plot_pose_3d, plot_training_curves

# sphinx_gallery_start_ignore
QUICK = os.environ.get("SKPOSE3D_EXAMPLES_QUICK") == "1"
# sphinx_gallery_end_ignore

# %%
# A lifter with a validation curve
# --------------------------------
# With ``early_stopping=True`` the lifter holds out whole videos and records their MPJPE after
# every epoch in ``history_``, next to the training loss.

mocap = load_cmu_mocap(subjects=[2, 5, 7])
mocap.videos = [video[::2] for video in mocap.videos]
# sphinx_gallery_start_ignore
if QUICK:  # four short clips
    mocap.videos = [video[:60] for video in mocap.videos[:4]]
    mocap.subjects, mocap.trials = mocap.subjects[:4], mocap.trials[:4]
# sphinx_gallery_end_ignore
views = make_views(mocap, random_state=0)
X = [
    normalize_screen_coordinates(kp, cam.width, cam.height).astype(np.float32)
    for kp, cam in zip(views.keypoints, views.intrinsics)
]
y = views.poses_3d

lifter = TemporalPoseLifter(
    channels=128, n_epochs=15, early_stopping=True, n_iter_no_change=15, random_state=0
)
# sphinx_gallery_start_ignore
if QUICK:
    lifter.set_params(channels=16, n_epochs=2)
# sphinx_gallery_end_ignore
lifter.fit(X, y)

ax = plot_training_curves(lifter)
ax.set_title("training loss and validation MPJPE")
plt.show()

# %%
# One pose
# --------
# Poses are in camera space (y down, z away from the camera); the plot turns them upright.

pose = lifter.predict(X[0])[30]
fig = plt.figure(figsize=(8, 4))
ax = fig.add_subplot(1, 2, 1, projection="3d")
plot_pose_3d(pose, ax=ax, title="predicted")
ax = fig.add_subplot(1, 2, 2, projection="3d")
plot_pose_3d(y[0][30] - y[0][30, 0], ax=ax, title="motion capture")
plt.show()

# %%
# An animation
# ------------
# The 2D input (pixels), the prediction and the truth, frame by frame, saved as a GIF in the
# working directory. In a notebook, ``IPython.display.HTML(anim.to_jshtml())`` shows it
# inline.

n = 60
# sphinx_gallery_start_ignore
if QUICK:
    n = 8
# sphinx_gallery_end_ignore
anim = animate_poses(
    lifter.predict(X[0])[:n],
    y[0][:n] - y[0][:n, :1],
    keypoints_2d=views.keypoints[0][:n],
    path="prediction.gif",
    fps=15,
)
print("saved prediction.gif:", Path("prediction.gif").stat().st_size // 1024, "kB")

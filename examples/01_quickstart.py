"""
Quickstart: lift 2D keypoint videos to 3D poses
===============================================

Train a :class:`~skpose3d.TemporalPoseLifter` on real motion capture filmed by virtual
cameras, predict the 3D poses of two subjects it has never seen, and measure the error with
the paper's four protocols.

The data are the CMU motion-capture clips bundled with skpose3d
(:func:`~skpose3d.datasets.load_cmu_mocap`), filmed by the four Human3.6M cameras with a
noisy 2D detector model (:func:`~skpose3d.datasets.make_views`), so every 2D video comes with
its exact 3D poses in camera space.
"""

# %%
# Load and film the motion capture
# --------------------------------
# ``make_views`` returns one entry per (clip, camera): 2D ``keypoints`` in pixels with a
# detection confidence, camera-space ``poses_3d`` in metres, and the camera ``intrinsics``.
# The clips are recorded at 60 frames per second; every second frame gives the 30 fps of most
# video.

# sphinx_gallery_start_ignore
import os

# sphinx_gallery_end_ignore
import matplotlib.pyplot as plt
import numpy as np

from skpose3d import TemporalPoseLifter
from skpose3d.camera import normalize_screen_coordinates
from skpose3d.datasets import CMU_TEST_SUBJECTS, CMU_TRAIN_SUBJECTS, load_cmu_mocap, make_views
from skpose3d.metrics import mpjpe, mpjve, n_mpjpe, p_mpjpe
from skpose3d.plotting import plot_pose_3d

# sphinx_gallery_start_ignore
# The test suite runs every example in a quick mode: a few short clips, one epoch.
QUICK = os.environ.get("SKPOSE3D_EXAMPLES_QUICK") == "1"
# sphinx_gallery_end_ignore
N_EPOCHS, CHANNELS = 10, 256


def load(subjects):
    mocap = load_cmu_mocap(subjects=subjects)
    mocap.videos = [video[::2] for video in mocap.videos]
    # sphinx_gallery_start_ignore
    if QUICK:  # three short clips
        mocap.videos = [video[:60] for video in mocap.videos[:3]]
        mocap.subjects, mocap.trials = mocap.subjects[:3], mocap.trials[:3]
    # sphinx_gallery_end_ignore
    return mocap


train_mocap = load(CMU_TRAIN_SUBJECTS)
test_mocap = load(CMU_TEST_SUBJECTS)

train = make_views(train_mocap, random_state=0)
test = make_views(test_mocap, random_state=1)
print(f"{len(train.keypoints)} training videos, {sum(map(len, train.keypoints))} frames")
print("one video:", train.keypoints[0].shape, "->", train.poses_3d[0].shape)

# %%
# Normalise the 2D keypoints
# --------------------------
# The network expects the paper's screen coordinates (x in [-1, 1]). Two of the Human3.6M
# cameras are 1000 x 1002 pixels and two are 1000 x 1000, so each video is normalised with its
# own camera's image size. (With one camera for all videos, the lifter's ``image_size``
# parameter does this instead.) The confidence channel is passed through.


def screen(views):
    return [
        normalize_screen_coordinates(keypoints, cam.width, cam.height).astype(np.float32)
        for keypoints, cam in zip(views.keypoints, views.intrinsics)
    ]


X_train, y_train = screen(train), train.poses_3d
X_test, y_test = screen(test), test.poses_3d

# %%
# Fit and predict
# ---------------
# Three layers of width 3 see 27 frames around each predicted frame. ``fit`` takes lists of
# videos; ``predict`` returns one ``(n_frames, 17, 3)`` array per video, root-relative, in
# metres.

# sphinx_gallery_start_ignore
if QUICK:
    N_EPOCHS, CHANNELS = 1, 32
# sphinx_gallery_end_ignore
lifter = TemporalPoseLifter(
    filter_widths=(3, 3, 3), channels=CHANNELS, n_epochs=N_EPOCHS, random_state=0
)
lifter.fit(X_train, y_train)
poses = lifter.predict(X_test)
print("receptive field:", lifter.receptive_field_, "frames")
print("prediction for the first test video:", poses[0].shape)

# %%
# Evaluate
# --------
# Errors are in the units of the data (metres); papers report millimetres. P-MPJPE aligns
# each frame by a rotation, scale and translation first; N-MPJPE by a scale only; MPJVE
# compares frame-to-frame motion (per frame at 30 fps).

for name, metric in [("MPJPE", mpjpe), ("P-MPJPE", p_mpjpe), ("N-MPJPE", n_mpjpe)]:
    print(f"{name:8s} {1000 * metric(y_test, poses):6.1f} mm")
print(f"MPJVE    {1000 * mpjve(y_test, poses):6.1f} mm/frame")
print(f"score (-MPJPE in metres): {lifter.score(X_test, y_test):.4f}")

# %%
# Look at one prediction
# ----------------------
# Blue bones are on the subject's left, red on the right (needs matplotlib).

fig = plt.figure(figsize=(8, 4))
for i, (pose, title) in enumerate([(poses[0][10], "predicted"), (y_test[0][10], "true")]):
    ax = fig.add_subplot(1, 2, i + 1, projection="3d")
    plot_pose_3d(pose - pose[0], ax=ax, title=title)
plt.show()

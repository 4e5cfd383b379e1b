"""
Semi-supervised training on unlabeled video
===========================================

3D labels need a motion-capture studio; 2D keypoints can be detected in any video. The paper's
back-projection (Section 4) uses such unlabeled videos: a second, trajectory network predicts
where the subject is in camera space, the predicted 3D pose is projected back onto the image
with the camera's intrinsics and compared with the detected keypoints, and the bone lengths of
unlabeled predictions are pulled towards those of labeled ones.

Here one CMU subject (7, walks) has 3D labels, four others (1, 2, 3, 5: jumps, runs, dances,
...) only 2D keypoints, and the test is on subject 6 (basketball), comparing a supervised
lifter trained on the labeled videos alone with a
:class:`~skpose3d.semi_supervised.SemiSupervisedLifter` that also sees the unlabeled ones.
"""

# sphinx_gallery_start_ignore
import os

# sphinx_gallery_end_ignore
import numpy as np

from skpose3d import TemporalPoseLifter
from skpose3d.camera import normalize_screen_coordinates
from skpose3d.datasets import load_cmu_mocap, make_views
from skpose3d.metrics import mpjpe, n_mpjpe
from skpose3d.semi_supervised import SemiSupervisedLifter, UnlabeledVideos

# sphinx_gallery_start_ignore
QUICK = os.environ.get("SKPOSE3D_EXAMPLES_QUICK") == "1"
# sphinx_gallery_end_ignore

# %%
# Labeled, unlabeled and test videos
# ----------------------------------
# The projection needs each unlabeled video's camera: ``make_views`` returns them in
# ``intrinsics`` (pixels, with lens distortion and image size). The keypoints are normalised
# with the same image size as their camera.


def views(subjects, seed):
    mocap = load_cmu_mocap(subjects=subjects)
    mocap.videos = [video[::2] for video in mocap.videos]
    # sphinx_gallery_start_ignore
    if QUICK:  # two short clips
        mocap.videos = [video[:60] for video in mocap.videos[:2]]
        mocap.subjects, mocap.trials = mocap.subjects[:2], mocap.trials[:2]
    # sphinx_gallery_end_ignore
    data = make_views(mocap, random_state=seed)
    data.X = [
        normalize_screen_coordinates(kp, cam.width, cam.height).astype(np.float32)
        for kp, cam in zip(data.keypoints, data.intrinsics)
    ]
    return data


labeled = views([7], seed=0)
unlabeled = views([1, 2, 3, 5], seed=1)
test = views([6], seed=2)
print(
    f"labeled: {sum(map(len, labeled.X))} frames, unlabeled: {sum(map(len, unlabeled.X))} "
    f"frames, test: {sum(map(len, test.X))} frames"
)

# %%
# Supervised baseline
# -------------------

config = dict(filter_widths=(3, 3, 3), channels=128, n_epochs=20, random_state=0)
warmup_epochs = 2
# sphinx_gallery_start_ignore
if QUICK:
    config.update(channels=16, n_epochs=2)
    warmup_epochs = 1
# sphinx_gallery_end_ignore
supervised = TemporalPoseLifter(**config).fit(labeled.X, labeled.poses_3d)

# %%
# Back-projection
# ---------------
# :class:`~skpose3d.semi_supervised.UnlabeledVideos` carries the unlabeled videos and their
# cameras. It has no length on purpose: scikit-learn slices every fit parameter as long as
# ``X``, so inside ``GridSearchCV`` or ``cross_validate`` a plain list would be cut per fold
# whenever its length happens to equal the number of labeled videos. (The other CV-safe way
# is to append the unlabeled videos to ``X`` with ``None`` as their ``y``.)
#
# The first ``warmup_epochs`` train on the labeled videos only, as in the paper.

semi = SemiSupervisedLifter(**config, warmup_epochs=warmup_epochs)
semi.fit(
    labeled.X,
    labeled.poses_3d,
    X2d_unlabeled=UnlabeledVideos(unlabeled.X, intrinsics=unlabeled.intrinsics),
)
print("loss terms of the last epoch:")
for name in ["pose", "trajectory", "projection", "bone_length"]:
    print(f"  {name:12s} {semi.history_[-1][name]:.4f}")

# %%
# Synchronised views (beyond the paper)
# -------------------------------------
# ``make_views`` films every clip with four calibrated cameras at once, so the unlabeled videos
# are synchronised views of one recording. Where one camera cannot see depth, another sees it
# in its image plane. ``multi_view_weight`` adds a term that makes the views of one instant
# agree on the 3D pose, once rotated into the world frame with each camera's rotation; it needs
# the rotations and which videos show one recording. (In the benchmark, cross-validation on
# the labeled clips chose 0.3; 1.0 outweighed the 2D loss.)

multi_view = SemiSupervisedLifter(**config, warmup_epochs=warmup_epochs, multi_view_weight=0.3)
multi_view.fit(
    labeled.X,
    labeled.poses_3d,
    X2d_unlabeled=UnlabeledVideos(
        unlabeled.X,
        intrinsics=unlabeled.intrinsics,
        rotations=unlabeled.rotations,  # world-to-camera, one per video
        recordings=unlabeled.video_ids,  # equal ids: views of one recording
    ),
)
print(f"multi-view term of the last epoch: {multi_view.history_[-1]['multi_view']:.4f}")

# %%
# Evaluation on the unseen subject
# --------------------------------
# ``SemiSupervisedLifter.predict`` returns *absolute* camera-space poses (pose + trajectory);
# the metrics centre both on the root joint, so the root-relative errors compare directly.
# N-MPJPE also removes the scale, which the paper reports for semi-supervised training.

models = [("supervised", supervised), ("semi-supervised", semi), ("+ multi-view", multi_view)]
for name, lifter in models:
    poses = lifter.predict(test.X)
    print(
        f"{name:16s} MPJPE {1000 * mpjpe(test.poses_3d, poses):6.1f} mm   "
        f"N-MPJPE {1000 * n_mpjpe(test.poses_3d, poses):6.1f} mm"
    )

# %%
# The trajectory network also gives where the subject is: the mean error of the predicted root
# position in camera space (metres).

root_pred = np.concatenate([p[:, 0] for p in semi.predict(test.X)])
root_true = np.concatenate([p[:, 0] for p in test.poses_3d])
print(f"root position error: {np.linalg.norm(root_pred - root_true, axis=-1).mean():.3f} m")

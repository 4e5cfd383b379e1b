"""
Tuning semi-supervised training by cross-validation
===================================================

:class:`~skpose3d.semi_supervised.SemiSupervisedLifter` adds three knobs to the supervised
lifter: the weight of the 2D reprojection loss (``projection_weight``), the weight of the bone
length term (``bone_length_weight``) and the number of labeled-only epochs before the unlabeled
videos join (``warmup_epochs``). This example chooses them with
:class:`~sklearn.model_selection.GridSearchCV`.

Two rules keep the search honest:

- the **unlabeled videos** reach every fold whole, wrapped in
  :class:`~skpose3d.semi_supervised.UnlabeledVideos` (a plain list as long as ``X`` would be cut
  per fold by scikit-learn);
- the **score** is measured on labeled validation videos only, of subjects the fold did not
  train on (:class:`~sklearn.model_selection.GroupKFold` over subjects): a model that fits the
  unlabeled videos' 2D well but lifts them wrongly is not rewarded.
"""

# sphinx_gallery_start_ignore
import os

# sphinx_gallery_end_ignore
import numpy as np
from sklearn.model_selection import GridSearchCV, GroupKFold

from skpose3d.camera import normalize_screen_coordinates
from skpose3d.datasets import load_cmu_mocap, make_views
from skpose3d.semi_supervised import SemiSupervisedLifter, UnlabeledVideos

# sphinx_gallery_start_ignore
QUICK = os.environ.get("SKPOSE3D_EXAMPLES_QUICK") == "1"
# sphinx_gallery_end_ignore

# %%
# Labeled subjects 1 and 2, unlabeled subjects 3 and 5
# ----------------------------------------------------
# Each unlabeled view keeps its own camera (``intrinsics``), which the projection needs; the
# keypoints of every view are normalised with its camera's image size.


def views(subjects, seed):
    mocap = load_cmu_mocap(subjects=subjects)
    mocap.videos = [video[::2] for video in mocap.videos]  # 30 frames per second
    # sphinx_gallery_start_ignore
    if QUICK:  # one short clip per subject
        keep = [int(np.flatnonzero(mocap.subjects == s)[0]) for s in subjects]
        mocap.videos = [mocap.videos[i][:50] for i in keep]
        mocap.subjects, mocap.trials = mocap.subjects[keep], mocap.trials[keep]
    # sphinx_gallery_end_ignore
    data = make_views(mocap, random_state=seed)
    data.X = [
        normalize_screen_coordinates(kp, cam.width, cam.height).astype(np.float32)
        for kp, cam in zip(data.keypoints, data.intrinsics)
    ]
    return data


labeled = views([1, 2], seed=0)
unlabeled = views([3, 5], seed=1)
unlabeled_videos = UnlabeledVideos(unlabeled.X, intrinsics=unlabeled.intrinsics)
print(f"{len(labeled.X)} labeled views, {unlabeled_videos.n_videos} unlabeled views")

# %%
# The search
# ----------
# Two folds: train on one labeled subject (plus all unlabeled videos), validate on the other.
# ``params`` passes the unlabeled videos to every ``fit``; ``score`` (negative MPJPE, metres)
# only ever sees the labeled validation subject.

lifter = SemiSupervisedLifter(filter_widths=(3, 3, 3), channels=64, n_epochs=8, random_state=0)
grid = {
    "projection_weight": [1.0, 3.0],
    "bone_length_weight": [0.0, 1.0],
    "warmup_epochs": [1, "auto"],  # auto: at least 200 labeled-only steps
}
# sphinx_gallery_start_ignore
if QUICK:
    lifter.set_params(filter_widths=(3, 3), channels=16, n_epochs=2)
    grid = {"projection_weight": [1.0, 3.0], "bone_length_weight": [0.0, 1.0],
            "warmup_epochs": [1]}  # fmt: skip
# sphinx_gallery_end_ignore
search = GridSearchCV(lifter, grid, cv=GroupKFold(n_splits=2), error_score="raise")
search.fit(labeled.X, labeled.poses_3d, groups=labeled.subjects, X2d_unlabeled=unlabeled_videos)

# %%
# Results
# -------
# MPJPE in millimetres on the held-out labeled subject, averaged over the two folds.

results = search.cv_results_
order = np.argsort(results["rank_test_score"])
print(f"{'2D weight':>9s} {'bone weight':>11s} {'warm-up':>7s} {'MPJPE':>7s}")
for i in order:
    params = results["params"][i]
    print(
        f"{params['projection_weight']:9.1f} {params['bone_length_weight']:11.1f} "
        f"{params['warmup_epochs']!s:>7} {-1000 * results['mean_test_score'][i]:7.1f}"
    )
print("best:", search.best_params_)

# %%
# The refitted model trained on both labeled subjects and every unlabeled video with the best
# parameters; it predicts absolute camera-space poses.

poses = search.best_estimator_.predict(unlabeled.X[:1])
print("predicted root of the first unlabeled view, frame 0 (m):", np.round(poses[0][0, 0], 2))

"""
Choosing the receptive field by cross-validation over subjects
==============================================================

How many frames should the network see? The paper's answer for Human3.6M is 243, but the
best value depends on the motion, the frame rate and the amount of data. This example selects
it with :class:`~sklearn.model_selection.GridSearchCV` and
:class:`~sklearn.model_selection.GroupKFold` so that every validation fold holds **subjects
that were not trained on**, as in the paper's protocol. Splitting by video or by frame instead
would put the same person (or the same motion seen by another camera) on both sides of the
split and flatter the longer receptive fields.
"""

# sphinx_gallery_start_ignore
import os

# sphinx_gallery_end_ignore
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV, GroupKFold

from skpose3d import TemporalPoseLifter
from skpose3d.camera import normalize_screen_coordinates
from skpose3d.datasets import CMU_TRAIN_SUBJECTS, load_cmu_mocap, make_views
from skpose3d.metrics import SCORERS

# sphinx_gallery_start_ignore
QUICK = os.environ.get("SKPOSE3D_EXAMPLES_QUICK") == "1"
# sphinx_gallery_end_ignore

# %%
# One sample per video, one group per subject
# -------------------------------------------
# ``X`` and ``y`` are lists of videos, so scikit-learn's splitters never cut a video; ``groups``
# holds the subject of every video. Every clip is filmed by four cameras, and all four views
# carry the same subject label, so they stay on the same side of every split.

mocap = load_cmu_mocap(subjects=CMU_TRAIN_SUBJECTS)
mocap.videos = [video[::2] for video in mocap.videos]  # 30 frames per second
# sphinx_gallery_start_ignore
if QUICK:  # two short clips of each of three subjects
    keep = np.concatenate([np.flatnonzero(mocap.subjects == s)[:2] for s in (1, 2, 5)])
    mocap.videos = [mocap.videos[i][:50] for i in keep]
    mocap.subjects, mocap.trials = mocap.subjects[keep], mocap.trials[keep]
# sphinx_gallery_end_ignore
views = make_views(mocap, random_state=0)
X = [
    normalize_screen_coordinates(keypoints, cam.width, cam.height).astype(np.float32)
    for keypoints, cam in zip(views.keypoints, views.intrinsics)
]
y, groups = views.poses_3d, views.subjects
print(f"{len(X)} videos of subjects {sorted(set(groups.tolist()))}")

# %%
# The search
# ----------
# Candidates from a single-frame model (widths 1, 1, 1) to 81 frames. ``scoring`` reports the
# four protocols at once (negated: greater is better) and ``refit`` picks the MPJPE;
# ``error_score="raise"`` makes a failing fit stop the search instead of hiding as NaN.
# ``n_jobs`` stays at its default: each fit already uses every core (see the user guide on
# distributed search to spread the fits over a cluster).

grid = {"filter_widths": [(1, 1, 1), (3, 3), (3, 3, 3), (3, 3, 3, 3)]}
lifter = TemporalPoseLifter(channels=128, n_epochs=4, random_state=0)
n_splits = len(set(groups))
# sphinx_gallery_start_ignore
if QUICK:
    lifter.set_params(channels=16, n_epochs=1)
    grid = {"filter_widths": [(1, 1), (3, 3)]}
# sphinx_gallery_end_ignore
search = GridSearchCV(
    lifter,
    grid,
    cv=GroupKFold(n_splits=n_splits),
    scoring=SCORERS,
    refit="neg_mpjpe",
    error_score="raise",
)
search.fit(X, y, groups=groups)

# %%
# Results
# -------
# Errors in millimetres, averaged over the held-out subjects. A longer receptive field mostly
# pays off in the velocity error (MPJVE): a single-frame model jitters.

results = search.cv_results_
fields = [int(np.prod(widths)) for widths in results["param_filter_widths"]]
errors = {
    name: -1000 * results[f"mean_test_neg_{key}"]
    for name, key in [("MPJPE", "mpjpe"), ("P-MPJPE", "p_mpjpe"), ("MPJVE", "mpjve")]
}
print(f"{'frames':>6s} {'MPJPE':>7s} {'P-MPJPE':>8s} {'MPJVE':>7s} {'fit s':>6s}")
for i, frames in enumerate(fields):
    print(
        f"{frames:6d} {errors['MPJPE'][i]:7.1f} {errors['P-MPJPE'][i]:8.1f} "
        f"{errors['MPJVE'][i]:7.1f} {results['mean_fit_time'][i]:6.1f}"
    )
print("best:", search.best_params_, f"({-1000 * search.best_score_:.1f} mm)")

fig, ax = plt.subplots(figsize=(5, 3.5))
for name in ["MPJPE", "P-MPJPE"]:
    ax.plot(fields, errors[name], "o-", label=name)
ax.set_xscale("log")
ax.set_xlabel("receptive field (frames)")
ax.set_ylabel("error on held-out subjects (mm)")
ax.legend()
plt.show()

# %%
# The refitted model
# ------------------
# With ``refit``, ``search.best_estimator_`` is trained on all subjects with the best
# receptive field and is ready to ``predict``.

print("refitted on all subjects:", search.best_estimator_.receptive_field_, "frames")

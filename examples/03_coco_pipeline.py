"""
From COCO detector output to 3D: a pipeline with gap filling
============================================================

2D detectors trained on COCO (Detectron, MMPose, YOLO-pose, ...) give 17 keypoints per frame
in the COCO layout, in pixels, with a confidence, and now and then miss a joint for a few
frames. The lifter wants the Human3.6M layout in normalised screen coordinates without gaps.
A :class:`~sklearn.pipeline.Pipeline` of three transformers bridges the two:

1. :class:`~skpose3d.preprocessing.GapFiller` interpolates missing keypoints (NaN or zero
   confidence) along time, per joint;
2. :class:`~skpose3d.preprocessing.KeypointMapper` converts COCO-17 to Human3.6M-17 (pelvis =
   mean of the hips, thorax = mean of the shoulders, ...);
3. :class:`~skpose3d.preprocessing.ScreenNormalizer` maps pixels to screen coordinates.

Here the "detector" is simulated: CMU motion capture filmed by two 1000 x 1000 Human3.6M
cameras, with detector noise and dropped detections, rearranged into the COCO layout.
"""

# sphinx_gallery_start_ignore
import os

# sphinx_gallery_end_ignore
import numpy as np
from sklearn.pipeline import make_pipeline

from skpose3d import TemporalPoseLifter
from skpose3d.datasets import (
    CMU_TEST_SUBJECTS,
    CMU_TRAIN_SUBJECTS,
    DetectorNoise,
    default_cameras,
    load_cmu_mocap,
    make_views,
)
from skpose3d.metrics import mpjpe
from skpose3d.preprocessing import GapFiller, KeypointMapper, ScreenNormalizer

# sphinx_gallery_start_ignore
QUICK = os.environ.get("SKPOSE3D_EXAMPLES_QUICK") == "1"
# sphinx_gallery_end_ignore

# %%
# Simulated COCO detections
# -------------------------
# ``DetectorNoise(missing="nan")`` marks undetected joints NaN with confidence 0, as a detector
# wrapper might. The COCO face keypoints (eyes, ears) have no Human3.6M counterpart; they are
# placed between the nose and the top of the head, spread along the shoulder line.

CAMERAS = [cam for cam in default_cameras() if cam.intrinsics.height == 1000]
IMAGE_SIZE = (1000, 1000)
NOISE = DetectorNoise(missing="nan", missing_rate=0.01)

# Human3.6M joint of each COCO keypoint, from the right shoulder (index 5) on.
H36M_OF_COCO_BODY = [11, 14, 12, 15, 13, 16, 4, 1, 5, 2, 6, 3]


def coco_from_h36m(kp):
    """Rearrange Human3.6M-layout detections (T, 17, 3) into the COCO layout."""
    nose, head = kp[:, 9, :2], kp[:, 10, :2]
    across = (kp[:, 11, :2] - kp[:, 14, :2]) / 2  # half the shoulder line: to the left side
    face = []
    for up, side in [(0.4, 0.15), (0.4, -0.15), (0.3, 0.35), (0.3, -0.35)]:
        face.append(nose + up * (head - nose) + side * across)  # left/right eye, left/right ear
    face = np.stack(face, axis=1)
    face_conf = np.repeat(kp[:, 9:10, 2], 4, axis=1)[..., None]
    coco = np.concatenate(
        [kp[:, 9:10], np.concatenate([face, face_conf], -1), kp[:, H36M_OF_COCO_BODY]], axis=1
    )
    return coco.astype(np.float32)


def detections(subjects, seed):
    mocap = load_cmu_mocap(subjects=subjects)
    mocap.videos = [video[::2] for video in mocap.videos]
    # sphinx_gallery_start_ignore
    if QUICK:  # three short clips
        mocap.videos = [video[:60] for video in mocap.videos[:3]]
        mocap.subjects, mocap.trials = mocap.subjects[:3], mocap.trials[:3]
    # sphinx_gallery_end_ignore
    views = make_views(mocap, cameras=CAMERAS, noise=NOISE, random_state=seed)
    return [coco_from_h36m(kp) for kp in views.keypoints], views.poses_3d


X_train, y_train = detections(CMU_TRAIN_SUBJECTS, seed=0)
X_test, y_test = detections(CMU_TEST_SUBJECTS, seed=1)
missing = np.mean([np.isnan(video[..., 0]).mean() for video in X_train])
print(f"{len(X_train)} COCO-layout videos, {100 * missing:.1f}% of keypoints missing")

# %%
# The lifter alone refuses the gaps
# ---------------------------------
# A NaN keypoint cannot go through the network: the lifter says which video, frame and joint.

lifter = TemporalPoseLifter(channels=128, n_epochs=6, random_state=0)
# sphinx_gallery_start_ignore
if QUICK:
    lifter.set_params(channels=16, n_epochs=1)
# sphinx_gallery_end_ignore
try:
    lifter.fit(X_train, y_train)
except ValueError as error:
    print("ValueError:", error)

# %%
# The pipeline
# ------------
# The transformers learn nothing from the data, so the pipeline can be cross-validated and
# searched like any estimator (e.g. over ``gapfiller__confidence_threshold`` together with
# ``temporalposelifter__filter_widths``). The confidence channel is kept as a third input
# value: filled keypoints have confidence 0, which tells the network not to trust them.

pipeline = make_pipeline(
    GapFiller(confidence_threshold=0.0),
    KeypointMapper(source="coco", target="h36m"),
    ScreenNormalizer(image_size=IMAGE_SIZE),
    lifter,
)
pipeline.fit(X_train, y_train)
poses = pipeline.predict(X_test)
print(f"MPJPE on unseen subjects: {1000 * mpjpe(y_test, poses):.1f} mm")

# %%
# What the lifter sees
# --------------------
# The first three steps alone turn COCO pixels with gaps into Human3.6M screen coordinates.

prepared = pipeline[:-1].transform(X_test[:1])[0]
print("input:", X_test[0].shape, "->", prepared.shape, "any NaN left:", np.isnan(prepared).any())
